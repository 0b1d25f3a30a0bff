import { describe, expect, it } from 'vitest';
import type { MediaRow } from '../domain/sources.ts';
import { createIndexWriter } from './index-writer.ts';

const row = (objectKey: string) => ({ objectKey }) as MediaRow;

describe('createIndexWriter', () => {
  it('writes what gathers during a write as one batch, in order', async () => {
    const writes: string[][] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const writer = createIndexWriter(
      async (rows) => {
        writes.push(rows.map((r) => r.objectKey));
        if (writes.length === 1) await first;
      },
      { maxRows: 3, lingerMs: 0 },
    );
    const done = [writer.add([row('a')])];
    await new Promise((resolve) => setImmediate(resolve));
    done.push(writer.add([row('b')]), writer.add([row('c'), row('d')]), writer.add([row('e')]));
    release();
    await Promise.all(done);
    expect(writes).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
  });

  it('fails every caller of a failed write and carries on', async () => {
    let fail = true;
    const writer = createIndexWriter(
      async () => {
        if (fail) throw new Error('db down');
      },
      { maxRows: 10, lingerMs: 1 },
    );
    const results = await Promise.allSettled([writer.add([row('a')]), writer.add([row('b')])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(writer.add([row('c')])).resolves.toBeUndefined();
  });
});
