/**
 * Report rows from aggregated counts, and their CSV form (RFC 4180; a leading BOM so that the
 * spreadsheet programs the property offices use read the Chinese names as UTF-8).
 */

export interface ReportCounts {
  readonly key: string;
  readonly label: string;
  readonly rounds: number;
  readonly roundsCompleted: number;
  readonly stops: number;
  readonly stopsChecked: number;
  readonly stopsOnTime: number;
  readonly violations: number;
  readonly missed: number;
  readonly late: number;
  readonly early: number;
  readonly wrongOrder: number;
  readonly leftEarly: number;
  readonly notStarted: number;
  readonly unfinished: number;
}

export interface ReportRow extends ReportCounts {
  readonly completionRate: number;
  readonly punctuality: number;
}

const ratio = (part: number, whole: number): number =>
  whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;

export function reportRow(counts: ReportCounts): ReportRow {
  return {
    ...counts,
    completionRate: ratio(counts.roundsCompleted, counts.rounds),
    punctuality: ratio(counts.stopsOnTime, counts.stopsChecked),
  };
}

const COLUMNS: readonly (readonly [string, (row: ReportRow) => string | number])[] = [
  ['key', (row) => row.key],
  ['label', (row) => row.label],
  ['rounds', (row) => row.rounds],
  ['rounds_completed', (row) => row.roundsCompleted],
  ['completion_rate', (row) => row.completionRate],
  ['stops', (row) => row.stops],
  ['stops_checked', (row) => row.stopsChecked],
  ['stops_on_time', (row) => row.stopsOnTime],
  ['punctuality', (row) => row.punctuality],
  ['violations', (row) => row.violations],
  ['missed', (row) => row.missed],
  ['late', (row) => row.late],
  ['early', (row) => row.early],
  ['wrong_order', (row) => row.wrongOrder],
  ['left_early', (row) => row.leftEarly],
  ['not_started', (row) => row.notStarted],
  ['unfinished', (row) => row.unfinished],
];

function csvField(value: string | number): string {
  const text = String(value);
  // A leading = + - @ makes spreadsheets evaluate the cell; names come from operators' input.
  const defused = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\r\n]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}

export function csvHeader(): string {
  return `\uFEFF${COLUMNS.map(([name]) => name).join(',')}\r\n`;
}

export function csvLine(row: ReportRow): string {
  return `${COLUMNS.map(([, value]) => csvField(value(row))).join(',')}\r\n`;
}
