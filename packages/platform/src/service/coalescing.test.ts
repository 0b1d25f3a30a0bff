import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { coalescing } from './coalescing.ts';

const doubling =
  (sets: number[][], fail?: (items: readonly number[]) => boolean) => async (items: readonly number[]) => {
    sets.push([...items]);
    await sleep(5);
    if (fail?.(items)) throw new Error(`bad ${items.join(',')}`);
    return items.map((n) => n * 2);
  };

describe('coalescing', () => {
  it('applies a lone call at once and merges the calls made meanwhile into the next set', async () => {
    const sets: number[][] = [];
    const apply = coalescing(doubling(sets), { onFailure: 'alone' });
    const results = await Promise.all([[1], [2, 3], [4], []].map((items) => apply(items)));
    expect(results).toEqual([[2], [4, 6], [8], []]);
    expect(sets).toEqual([[1], [2, 3, 4]]);
  });

  it('puts at most maxItems items in a set, never splitting a call', async () => {
    const sets: number[][] = [];
    const apply = coalescing(doubling(sets), { onFailure: 'alone', maxItems: 3 });
    const results = await Promise.all([[1], [2], [3, 4], [5], [6, 7, 8, 9]].map((items) => apply(items)));
    expect(results).toEqual([[2], [4], [6, 8], [10], [12, 14, 16, 18]]);
    expect(sets).toEqual([[1], [2, 3, 4], [5], [6, 7, 8, 9]]);
  });

  it("'alone': a failed set is applied again call by call, so only the call at fault fails", async () => {
    const sets: number[][] = [];
    const apply = coalescing(
      doubling(sets, (items) => items.includes(3)),
      { onFailure: 'alone' },
    );
    const settled = await Promise.allSettled([[1], [2], [3, 5], [4]].map((items) => apply(items)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toEqual(new Error('bad 3,5'));
    expect(sets).toEqual([[1], [2, 3, 5, 4], [2], [3, 5], [4]]);
  });

  it("'all': every call of a failed set gets its error, and the next set is applied", async () => {
    const sets: number[][] = [];
    const apply = coalescing(
      doubling(sets, (items) => items.includes(3)),
      { onFailure: 'all' },
    );
    const first = apply([1]);
    const failing = [apply([2]), apply([3])].map((p) => p.catch((error: unknown) => error));
    await first;
    expect(await Promise.all(failing)).toEqual([new Error('bad 2,3'), new Error('bad 2,3')]);
    expect(await apply([4])).toEqual([8]);
    expect(sets).toEqual([[1], [2, 3], [4]]);
  });

  it('lingerMs: a lone call waits that long, and the calls arriving meanwhile join its set', async () => {
    const sets: number[][] = [];
    const apply = coalescing(doubling(sets), { onFailure: 'alone', lingerMs: 20 });
    const first = apply([1]);
    await sleep(5);
    const second = apply([2]);
    expect(await Promise.all([first, second])).toEqual([[2], [4]]);
    expect(sets).toEqual([[1, 2]]);
    // Idle again: the next lone call lingers too, rather than being applied at once.
    const third = apply([3]);
    await sleep(5);
    expect(sets).toEqual([[1, 2]]);
    expect(await third).toEqual([6]);
    expect(sets).toEqual([[1, 2], [3]]);
  });
});
