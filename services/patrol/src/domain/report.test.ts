import { describe, expect, it } from 'vitest';
import { csvHeader, csvRecord, reportRow, type ReportCounts } from './report.ts';

const counts: ReportCounts = {
  key: 'g1',
  label: '王, "老" 五',
  rounds: 3,
  roundsCompleted: 2,
  stops: 9,
  stopsChecked: 7,
  stopsOnTime: 5,
  violations: 4,
  missed: 2,
  late: 1,
  early: 0,
  wrongOrder: 1,
  leftEarly: 0,
  notStarted: 0,
  unfinished: 1,
};

describe('report rows', () => {
  it('computes rates to four decimals, zero when there is nothing to divide', () => {
    const row = reportRow(counts);
    expect(row.completionRate).toBe(0.6667);
    expect(row.punctuality).toBe(0.7143);
    const empty = reportRow({ ...counts, rounds: 0, roundsCompleted: 0, stopsChecked: 0, stopsOnTime: 0 });
    expect([empty.completionRate, empty.punctuality]).toEqual([0, 0]);
  });

  it('writes RFC 4180 CSV with a BOM and quotes what needs quoting', () => {
    expect(csvHeader().startsWith('\uFEFFkey,label,rounds,')).toBe(true);
    expect(csvRecord(reportRow(counts))).toBe(
      'g1,"王, ""老"" 五",3,2,0.6667,9,7,5,0.7143,4,2,1,0,1,0,0,1\r\n',
    );
  });

  it('defuses spreadsheet formulas in names', () => {
    expect(csvRecord(reportRow({ ...counts, label: '=HYPERLINK("x")' }))).toContain(`"'=HYPERLINK(""x"")"`);
  });
});
