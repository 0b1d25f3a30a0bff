/**
 * The header-and-rows reading every bulk import shares: UTF-8 CSV (a BOM is fine), a header row
 * naming the columns in any order and any case, unknown, repeated or missing columns refused for
 * the file as a whole (a typo must not drop a column silently), a cap on the rows. What the cells
 * mean stays with the service's parser, which reports its problems per row.
 */
import { parse } from 'csv-parse/sync';
import { CsvFileError } from './csv-upload.ts';

export interface CsvTableOptions<C extends string> {
  /** Every column the file may have (lower case). */
  readonly columns: readonly C[];
  readonly required: readonly C[];
  /** Other names a column may go by (lower case), e.g. the Chinese heading of a form. */
  readonly aliases?: Readonly<Record<string, C>>;
  /** Columns accepted and not read. */
  readonly ignored?: readonly string[];
  readonly maxRows?: number;
  /** A row with more or fewer fields than the header refuses the file (else the row reads them). */
  readonly strictFieldCount?: boolean;
}

export interface CsvTableRow<C extends string> {
  /** Line of the file where the row ends (the header is line 1). */
  readonly line: number;
  /** Fields the row has: the header's count unless the row is ragged. */
  readonly fieldCount: number;
  /** The cell of a column, trimmed; '' when the file lacks the column or the row the field. */
  cell(column: C): string;
}

export interface CsvTable<C extends string> {
  /** Of the header, in its order: the known columns' names (aliases resolved). */
  readonly columns: readonly string[];
  readonly rows: readonly CsvTableRow<C>[];
}

interface ParsedRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/** Reads the file; throws {@link CsvFileError} when it cannot be imported at all. */
export function readCsvTable<C extends string>(bytes: Uint8Array, options: CsvTableOptions<C>): CsvTable<C> {
  let records: ParsedRecord[];
  try {
    records = parse(Buffer.from(bytes), {
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: !options.strictFieldCount,
      trim: true,
    }) as unknown as ParsedRecord[];
  } catch (error) {
    throw new CsvFileError(`not valid CSV: ${error instanceof Error ? error.message : String(error)}`);
  }
  const [header, ...data] = records;
  if (!header) throw new CsvFileError('empty file: expected a header row');
  const columns = header.record.map((name) => {
    const lower = name.toLowerCase();
    return options.aliases?.[lower] ?? lower;
  });
  const known = new Set<string>([...options.columns, ...(options.ignored ?? [])]);
  const unknown = columns.filter((column) => !known.has(column));
  if (unknown.length > 0)
    throw new CsvFileError(
      `unknown column(s) ${unknown.join(', ')}; known: ${options.columns.join(', ')}`,
      header.info.lines,
    );
  const repeated = columns.find((column, index) => columns.indexOf(column) !== index);
  if (repeated) throw new CsvFileError(`column ${repeated} appears twice`, header.info.lines);
  const missing = options.required.filter((column) => !columns.includes(column));
  if (missing.length > 0)
    throw new CsvFileError(`missing required column(s) ${missing.join(', ')}`, header.info.lines);
  if (options.maxRows !== undefined && data.length > options.maxRows)
    throw new CsvFileError(`too many rows: at most ${options.maxRows} per import; split the file`);
  return {
    columns,
    rows: data.map(({ record, info }) => ({
      line: info.lines,
      fieldCount: record.length,
      cell: (column: C) => record[columns.indexOf(column)] ?? '',
    })),
  };
}
