/**
 * Bulk import of parsed CSV rows: valid rows are created or replaced one by one (each with its
 * rescoring), refused rows are reported with their line; progress is yielded as it goes.
 */
import type { CsvRow } from '../domain/csv.ts';
import type { Violation } from '../domain/compound.ts';
import type { CompoundStore } from './compounds.ts';

export interface ImportProgress {
  readonly processed: number;
  readonly total: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly done: boolean;
  readonly errors: readonly { line: number; compoundName: string; violations: readonly Violation[] }[];
}

export interface ImportOptions {
  /** Yield progress every this many rows (and at the end). */
  readonly progressEvery?: number;
  readonly signal?: AbortSignal;
  /** Why a row failed to store, for the log. */
  readonly onRowError?: (line: number, error: unknown) => void;
}

export async function* importCompoundRows(
  store: CompoundStore,
  rows: readonly CsvRow[],
  options: ImportOptions = {},
): AsyncGenerator<ImportProgress> {
  const every = options.progressEvery ?? 100;
  const counts = { processed: 0, total: rows.length, created: 0, updated: 0, unchanged: 0, failed: 0 };
  const errors: ImportProgress['errors'][number][] = [];
  yield { ...counts, done: false, errors: [] };
  for (const row of rows) {
    if (options.signal?.aborted) return;
    if (row.violations.length > 0) {
      counts.failed++;
      errors.push({ line: row.line, compoundName: row.input.name, violations: row.violations });
    } else {
      try {
        counts[await store.upsert(row.input)]++;
      } catch (error) {
        options.onRowError?.(row.line, error);
        counts.failed++;
        errors.push({
          line: row.line,
          compoundName: row.input.name,
          violations: [{ field: 'row', description: 'could not be stored; see the service log' }],
        });
      }
    }
    counts.processed++;
    if (counts.processed % every === 0 && counts.processed < counts.total)
      yield { ...counts, done: false, errors: [] };
  }
  yield { ...counts, done: true, errors };
}
