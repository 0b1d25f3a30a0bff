/**
 * Bulk import of parsed compound CSV rows through the platform's import loop: valid rows are
 * created or replaced one by one (each with its rescoring), refused rows are reported with their
 * line and the compound's name.
 */
import { importRows } from '@anfang/platform/grpc';
import type { CsvRow } from '../domain/csv.ts';
import type { CompoundStore } from './compounds.ts';

export function importCompoundRows(store: CompoundStore, rows: readonly CsvRow[], signal: AbortSignal) {
  return importRows(
    rows.map((row) => ({
      line: row.line,
      fields: row.input,
      problems: row.violations,
      compoundName: row.input.name,
    })),
    { outcomes: ['created', 'updated', 'unchanged'], signal, apply: (input) => store.upsert(input) },
  );
}
