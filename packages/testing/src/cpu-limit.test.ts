import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuLimit } from './cpu-limit.ts';

describe('cpuLimit', () => {
  it('refuses a limit of no CPU', async () => {
    await expect(cpuLimit('anfang-test-zero', 0)).rejects.toThrow(/above 0 cores/);
  });

  it('holds a busy process to its share of one core', { timeout: 20_000 }, async () => {
    const limit = await cpuLimit(`anfang-test-${process.pid}`, 0.05);
    // Only where this machine gives no writable cgroup; then the benchmark says it ran unlimited.
    if (!limit) return;
    // A child spinning for 1.5 s of wall time, reporting the CPU it got.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const end = Date.now() + 1500; while (Date.now() < end); const u = process.cpuUsage(); console.log((u.user + u.system) / 1e6);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await limit.add(child.pid!);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const throttled = await limit.throttledPeriods();
    await limit.remove();
    // Held back in most of its 15 periods of 100 ms (a busy machine's own scheduling does not
    // count here: only the quota's), and never above its share: about 0.08 CPU seconds.
    expect(throttled).toBeGreaterThanOrEqual(5);
    expect(Number(out)).toBeGreaterThan(0);
    expect(Number(out)).toBeLessThan(0.4);
  });
});
