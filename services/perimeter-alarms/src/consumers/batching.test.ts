import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { batching } from './batching.ts';

describe('batching', () => {
  it('applies a lone call at once and gathers the calls made meanwhile into the next batch', async () => {
    const batches: number[][] = [];
    const apply = batching(async (items: readonly number[]) => {
      batches.push([...items]);
      await sleep(10);
      return items.map((n) => n * 2);
    });
    const results = await Promise.all([1, 2, 3, 4].map((n) => apply(n)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('applies a failed batch again one by one, so only the call at fault fails', async () => {
    const batches: number[][] = [];
    const apply = batching(async (items: readonly number[]) => {
      batches.push([...items]);
      await sleep(1);
      if (items.includes(3)) throw new Error(`bad ${items.join(',')}`);
      return items.map((n) => n);
    });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => apply(n)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toEqual(new Error('bad 3'));
    expect(batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });
});
