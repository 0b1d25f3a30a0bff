import { describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from './names.ts';

describe('uniqueName', () => {
  it('is label-<random>, lowercase and valid for topics, buckets and databases', () => {
    for (const label of ['Orders Service', 'a', '', '--x--', 'xn--weird', 'ÜBER_lang'.repeat(20)]) {
      const name = uniqueName(label);
      expect(name).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
      expect(name.length).toBeGreaterThanOrEqual(3);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).not.toMatch(/^xn--/);
      expect(name).not.toContain('--');
    }
    expect(uniqueName('Orders Service')).toMatch(/^orders-service-[a-z0-9]{10}$/);
    expect(uniqueName('x')).not.toBe(uniqueName('x'));
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : 0), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('times out with the message and the last error', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 50, intervalMs: 10, message: 'never ready' },
      ),
    ).rejects.toThrow(/never ready \(waited 50 ms; last error: boom\)/);
  });
});
