/**
 * Report rows from aggregated counts, and their CSV form (RFC 4180; a leading BOM so that the
 * spreadsheet programs the property offices use read the Chinese names as UTF-8).
 */
import { CSV_BOM, csvLine } from '@anfang/platform/grpc';

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

export function csvHeader(): string {
  return CSV_BOM + csvLine(COLUMNS.map(([name]) => name));
}

export function csvRecord(row: ReportRow): string {
  return csvLine(COLUMNS.map(([, value]) => value(row)));
}
