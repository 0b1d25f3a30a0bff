/**
 * The loop of every bulk CSV import RPC (zones, cameras, vehicles, …): rows that failed to parse
 * or a check (e.g. outside the caller's compounds) are reported with their problems, the others
 * applied one by one, their outcomes counted; progress every `progressEvery` rows, and at the end
 * the per-row error report. A client that goes away stops it between rows. An error from `apply`
 * that `refusal` recognises is the row's problem; any other is ours and is thrown.
 */

export interface ImportRowProblem {
  readonly field: string;
  readonly description: string;
}

/** What a service's CSV parser gives per data line. */
export interface ImportRow<F> {
  readonly line: number;
  /** Absent when the line could not be read; `problems` then say why. */
  readonly fields?: F | undefined;
  readonly problems: readonly ImportRowProblem[];
}

export interface ImportRowError<R> {
  readonly line: number;
  readonly row: R;
  readonly violations: readonly ImportRowProblem[];
}

export interface ImportStep<O extends string, R> {
  readonly total: number;
  readonly processed: number;
  readonly failed: number;
  readonly outcomes: Readonly<Record<O, number>>;
  readonly done: boolean;
  /** The rows that failed; only in the last step. */
  readonly errors: readonly ImportRowError<R>[];
}

export interface ImportRowsOptions<F, O extends string> {
  /** Every outcome `apply` can give (each is counted, from 0). */
  readonly outcomes: readonly O[];
  readonly signal: AbortSignal;
  readonly apply: (fields: F) => Promise<O>;
  /** Problems of a readable row before it is applied. */
  readonly check?: (fields: F) => readonly ImportRowProblem[];
  /** The row's problems when `apply` refused it; undefined for an error that is not the row's. */
  readonly refusal?: (error: unknown, line: number) => readonly ImportRowProblem[] | undefined;
  /** Default 100. */
  readonly progressEvery?: number;
}

export const IMPORT_PROGRESS_EVERY_ROWS = 100;

export async function* importRows<R extends ImportRow<unknown>, O extends string>(
  rows: readonly R[],
  options: ImportRowsOptions<NonNullable<R['fields']>, O>,
): AsyncGenerator<ImportStep<O, R>> {
  const every = options.progressEvery ?? IMPORT_PROGRESS_EVERY_ROWS;
  const outcomes = Object.fromEntries(options.outcomes.map((o) => [o, 0])) as Record<O, number>;
  const errors: ImportRowError<R>[] = [];
  let processed = 0;
  const step = (done: boolean): ImportStep<O, R> => ({
    total: rows.length,
    processed,
    failed: errors.length,
    outcomes: { ...outcomes },
    done,
    errors: done ? errors : [],
  });
  yield step(false);
  for (const row of rows) {
    if (options.signal.aborted) return;
    const problems = [...row.problems];
    const readable = row.fields !== undefined && row.fields !== null;
    const fields = row.fields as NonNullable<R['fields']>;
    if (readable && problems.length === 0) problems.push(...(options.check?.(fields) ?? []));
    if (readable && problems.length === 0) {
      try {
        outcomes[await options.apply(fields)]++;
      } catch (error) {
        const refused = options.refusal?.(error, row.line);
        if (!refused) throw error;
        problems.push(...refused);
      }
    } else if (!readable && problems.length === 0) {
      problems.push({ field: 'row', description: 'unreadable' });
    }
    if (problems.length > 0) errors.push({ line: row.line, row, violations: problems });
    processed++;
    if (processed % every === 0) yield step(false);
  }
  yield step(true);
}

/**
 * A step as the import RPCs answer it: the counts and outcomes side by side, and on the last step
 * `done` with each failed row's line, what names it (`identify`: e.g. its name or plate) and problems.
 */
export function importResponse<O extends string, R, I extends object>(
  step: ImportStep<O, R>,
  identify: (row: R) => I,
) {
  return {
    total: step.total,
    processed: step.processed,
    failed: step.failed,
    ...step.outcomes,
    ...(step.done
      ? {
          done: true as const,
          errors: step.errors.map((e) => ({
            line: e.line,
            ...identify(e.row),
            violations: [...e.violations],
          })),
        }
      : {}),
  };
}
