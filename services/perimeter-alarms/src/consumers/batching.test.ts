import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { batching } from './batching.ts';

describe('batching', () => {
  it('applies a lone call at once and merges the calls made meanwhile into the next set', async () => {
    const sets: number[][] = [];
    const apply = batching(async (items: readonly number[]) => {
      sets.push([...items]);
      await sleep(10);
      return items.map((n) => n * 2);
    });
    const results = await Promise.all([[1], [2, 3], [4], []].map((items) => apply(items)));
    expect(results).toEqual([[2], [4, 6], [8], []]);
    expect(sets).toEqual([[1], [2, 3, 4]]);
  });

  it('applies a failed set again call by call, so only the call at fault fails', async () => {
    const sets: number[][] = [];
    const apply = batching(async (items: readonly number[]) => {
      sets.push([...items]);
      await sleep(1);
      if (items.includes(3)) throw new Error(`bad ${items.join(',')}`);
      return items.map((n) => n);
    });
    const settled = await Promise.allSettled([[1], [2], [3, 5], [4]].map((items) => apply(items)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toEqual(new Error('bad 3,5'));
    expect(sets).toEqual([[1], [2, 3, 5, 4], [2], [3, 5], [4]]);
  });
});
