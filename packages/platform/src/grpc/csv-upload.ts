/**
 * CSV files sent in a request (bulk imports): the one way every service refuses an empty, too
 * large or unreadable file. The service's parser throws {@link CsvFileError} for a file it cannot
 * read at all (header, encoding, row count); row-level problems stay in its per-row report.
 */
import { InvalidArgumentError } from './errors.ts';

/** Largest CSV accepted in one request: below gRPC's default 4 MiB message limit. */
export const MAX_CSV_BYTES = 4 * 1024 * 1024 - 64 * 1024;

/** A file that cannot be imported at all; `line` when one line is to blame. */
export class CsvFileError extends Error {
  override readonly name = 'CsvFileError';
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.line = line;
  }
}

/** The parsed file, or INVALID_ARGUMENT on `field` saying what is wrong with it. */
export function parseCsvUpload<T>(
  bytes: Uint8Array | null | undefined,
  parse: (bytes: Uint8Array) => T,
  field = 'csv',
): T {
  if (!bytes || bytes.length === 0)
    throw new InvalidArgumentError(`${field} is empty`, [{ field, description: 'required: the CSV file' }]);
  if (bytes.length > MAX_CSV_BYTES)
    throw new InvalidArgumentError(`${field} too large`, [
      { field, description: `at most ${MAX_CSV_BYTES} bytes per import; split the file` },
    ]);
  try {
    return parse(bytes);
  } catch (error) {
    if (error instanceof CsvFileError)
      throw new InvalidArgumentError(error.message, [{ field, description: error.message }], {
        reason: 'CSV_INVALID',
      });
    throw error;
  }
}
