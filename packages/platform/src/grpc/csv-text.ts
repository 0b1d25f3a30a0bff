/**
 * CSV files for people to open in spreadsheets (Excel, WPS): RFC 4180 (CRLF, quoted fields), a
 * byte-order mark so the spreadsheet reads UTF-8, and text cells that would run as a formula
 * (a leading = + - @, tab or CR; names come from imported files and operators' input) defused
 * with a leading apostrophe. Numbers and booleans are written as they are.
 */
export type CsvValue = string | number | boolean;

export const CSV_BOM = '\uFEFF';

export function csvField(value: CsvValue): string {
  const text = String(value);
  const defused = typeof value === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}

/** One record, with its CRLF. */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** A whole file: the byte-order mark, then one line per row. */
export function csvText(rows: readonly (readonly CsvValue[])[]): string {
  return CSV_BOM + rows.map(csvLine).join('');
}
