import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log/index.ts';
import { ALL_COMPOUNDS, startSnapshotPublisher, type SnapshotPublisher } from './snapshots.ts';

const logger = createLogger({ service: 'snapshots-test', level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startSnapshotPublisher', () => {
  let publisher: SnapshotPublisher | undefined;
  afterEach(async () => {
    await publisher?.stop();
  });

  function start(intervalMs: number, fail = () => false) {
    const calls: (readonly string[] | undefined)[] = [];
    publisher = startSnapshotPublisher({
      name: 'test',
      publish: async (ids) => {
        calls.push(ids);
        if (fail()) throw new Error('bus down');
        return ids?.length ?? 0;
      },
      intervalMs,
      debounceMs: 20,
      logger,
    });
    return calls;
  }

  it('publishes everything at start and each interval', async () => {
    const calls = start(50);
    await sleep(130);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.every((ids) => ids === undefined)).toBe(true);
  });

  it('publishes the changed compounds together after the debounce; ALL_COMPOUNDS means every one', async () => {
    const calls = start(60_000);
    await sleep(10);
    publisher!.changed('c1');
    publisher!.changed('c2');
    publisher!.changed('c1');
    await sleep(60);
    expect(calls.slice(1)).toEqual([['c1', 'c2']]);
    publisher!.changed('c3');
    publisher!.changed(ALL_COMPOUNDS);
    await sleep(60);
    expect(calls.slice(2)).toEqual([undefined]);
  });

  it('keeps going after a failed publication', async () => {
    let failing = true;
    const calls = start(60_000, () => failing);
    await sleep(10);
    failing = false;
    await expect(publisher!.publish(['c1'])).resolves.toBe(1);
    expect(calls).toEqual([undefined, ['c1']]);
  });
});
