import { describe, expect, it } from 'vitest';
import { importRows, type ImportRow } from './import-rows.ts';

type Row = ImportRow<{ name: string }> & { readonly name: string };
const row = (
  line: number,
  name: string | undefined,
  problems: { field: string; description: string }[] = [],
): Row => ({
  line,
  name: name ?? '',
  fields: name === undefined ? undefined : { name },
  problems,
});

async function all<T>(steps: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const s of steps) out.push(s);
  return out;
}

describe('importRows', () => {
  it('applies readable rows, reports the others with their problems, and counts outcomes', async () => {
    const rows = [
      row(2, 'a'),
      row(3, undefined, [{ field: 'kind', description: 'one of wall, fence' }]),
      row(4, 'outside'),
      row(5, 'taken'),
      row(6, 'a'),
    ];
    const seen = new Set<string>();
    const steps = await all(
      importRows(rows, {
        outcomes: ['created', 'unchanged'],
        signal: new AbortController().signal,
        check: (f) =>
          f.name === 'outside'
            ? [{ field: 'compound_id', description: "outside the caller's compounds" }]
            : [],
        apply: async (f) => {
          if (f.name === 'taken') throw new RangeError('name taken');
          if (seen.has(f.name)) return 'unchanged';
          seen.add(f.name);
          return 'created';
        },
        refusal: (error) =>
          error instanceof RangeError ? [{ field: 'name', description: error.message }] : undefined,
        progressEvery: 2,
      }),
    );
    expect(steps.map((s) => [s.processed, s.done])).toEqual([
      [0, false],
      [2, false],
      [4, false],
      [5, true],
    ]);
    const last = steps.at(-1)!;
    expect(last).toMatchObject({ total: 5, processed: 5, failed: 3, outcomes: { created: 1, unchanged: 1 } });
    expect(last.errors.map((e) => [e.line, e.row.name, e.violations[0]!.field])).toEqual([
      [3, '', 'kind'],
      [4, 'outside', 'compound_id'],
      [5, 'taken', 'name'],
    ]);
  });

  it('throws an error that is not the row’s, and stops when the caller goes away', async () => {
    const boom = importRows([row(2, 'a')], {
      outcomes: ['created'],
      signal: new AbortController().signal,
      apply: async () => {
        throw new Error('database down');
      },
      refusal: () => undefined,
    });
    await expect(all(boom)).rejects.toThrow('database down');
    const gone = new AbortController();
    gone.abort();
    const steps = await all(
      importRows([row(2, 'a')], { outcomes: ['created'], signal: gone.signal, apply: async () => 'created' }),
    );
    expect(steps).toHaveLength(1);
  });
});
