import { describe, expect, it } from 'vitest';
import { backoffMs, verdicts } from './delivery.ts';

describe('verdicts', () => {
  it('accepts 0, dead-letters invalid content, retries the rest and the unmentioned', () => {
    expect(
      verdicts(
        ['a', 'b', 'c', 'd'],
        [
          { id: 'a', code: 0, text: 'OK' },
          { id: 'b', code: 8, text: 'FaceID must be 48 characters' },
          { id: 'c', code: 2, text: 'busy' },
        ],
      ).map((v) => v.outcome),
    ).toEqual(['accepted', 'rejected', 'retry', 'retry']);
  });
});

describe('backoffMs', () => {
  it('doubles up to the cap, within [ceiling/2, ceiling]', () => {
    expect(backoffMs(1, 500, 10_000, () => 1)).toBe(500);
    expect(backoffMs(3, 500, 10_000, () => 1)).toBe(2000);
    expect(backoffMs(30, 500, 10_000, () => 1)).toBe(10_000);
    expect(backoffMs(30, 500, 10_000, () => 0)).toBe(5000);
  });
});
