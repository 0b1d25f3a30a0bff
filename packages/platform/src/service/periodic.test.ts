import { describe, expect, it } from 'vitest';
import { createLogger } from '../log/index.ts';
import { startPeriodic } from './periodic.ts';

const logger = createLogger({ service: 'periodic-test', level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startPeriodic', () => {
  it('runs on its interval, never overlapping, and keeps going after a failure', async () => {
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const job = startPeriodic(
      'test',
      20,
      async () => {
        overlapped ||= running > 0;
        running++;
        runs++;
        await sleep(30);
        running--;
        if (runs === 1) throw new Error('first run fails');
      },
      logger,
      0,
    );
    await sleep(250);
    await job.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(overlapped).toBe(false);
  });

  it('runs at once when woken, and once more after a run that was woken mid-way', async () => {
    const started: number[] = [];
    const job = startPeriodic(
      'test',
      60_000,
      async () => {
        started.push(Date.now());
        await sleep(50);
      },
      logger,
      60_000,
    );
    job.wake();
    await sleep(20);
    expect(started).toHaveLength(1);
    job.wake();
    job.wake();
    await sleep(120);
    // The two wakes during the run gave exactly one more run, not two, and not a minute later.
    expect(started).toHaveLength(2);
    await job.stop();
  });

  it('stops: aborts the run in progress and waits for it', async () => {
    let aborted = false;
    const job = startPeriodic(
      'test',
      10,
      async (signal) => {
        await sleep(40);
        aborted = signal.aborted;
      },
      logger,
      0,
    );
    await sleep(10);
    await job.stop();
    expect(aborted).toBe(true);
  });
});
