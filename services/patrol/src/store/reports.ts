/**
 * Report figures, aggregated in Postgres over closed rounds (an open round has no final figures)
 * and their raised violations.
 */
import type { Pool } from '@anfang/platform/pg';
import { reportRow, type ReportRow } from '../domain/report.ts';

export type ReportGrouping = 'guard' | 'route' | 'compound';

export interface ReportQuery {
  readonly compoundId: string;
  readonly from: Date;
  readonly to: Date;
  readonly groupBy: ReportGrouping;
}

export interface Report {
  readonly rows: ReportRow[];
  readonly unknownCheckIns: number;
}

const GROUP_SQL: Readonly<Record<ReportGrouping, { key: string; label: string; join: string }>> = {
  guard: { key: 'r.guard_id::text', label: 'g.name', join: 'JOIN guards g ON g.guard_id = r.guard_id' },
  route: { key: 'r.route_id::text', label: 'rt.name', join: 'JOIN routes rt ON rt.route_id = r.route_id' },
  compound: { key: 'r.compound_id', label: 'r.compound_id', join: '' },
};

export interface ReportStore {
  report(query: ReportQuery): Promise<Report>;
}

export function createReportStore(pool: Pool): ReportStore {
  return {
    async report(query) {
      const group = GROUP_SQL[query.groupBy];
      const { rows } = await pool.query(
        `WITH closed AS (
           SELECT r.round_id, r.status, r.stops_total, r.stops_checked, r.stops_on_time,
                  ${group.key} AS key, ${group.label} AS label
             FROM rounds r ${group.join}
            WHERE r.compound_id = $1 AND r.closed_at IS NOT NULL AND r.planned_start >= $2 AND r.planned_start < $3
         ), raised AS (
           SELECT v.round_id, v.kind FROM violations v JOIN closed USING (round_id) WHERE v.status = 'raised'
         )
         SELECT c.key, min(c.label) AS label,
                count(*)::int AS rounds,
                count(*) FILTER (WHERE c.status = 'completed')::int AS rounds_completed,
                sum(c.stops_total)::int AS stops,
                sum(c.stops_checked)::int AS stops_checked,
                sum(c.stops_on_time)::int AS stops_on_time,
                coalesce(sum(v.total), 0)::int AS violations,
                coalesce(sum(v.missed), 0)::int AS missed,
                coalesce(sum(v.late), 0)::int AS late,
                coalesce(sum(v.early), 0)::int AS early,
                coalesce(sum(v.wrong_order), 0)::int AS wrong_order,
                coalesce(sum(v.left_early), 0)::int AS left_early,
                coalesce(sum(v.not_started), 0)::int AS not_started,
                coalesce(sum(v.unfinished), 0)::int AS unfinished
           FROM closed c
           LEFT JOIN (
             SELECT round_id,
                    count(*) AS total,
                    count(*) FILTER (WHERE kind = 'missed_checkpoint') AS missed,
                    count(*) FILTER (WHERE kind = 'late') AS late,
                    count(*) FILTER (WHERE kind = 'early') AS early,
                    count(*) FILTER (WHERE kind = 'wrong_order') AS wrong_order,
                    count(*) FILTER (WHERE kind = 'duty_point_left_early') AS left_early,
                    count(*) FILTER (WHERE kind = 'round_not_started') AS not_started,
                    count(*) FILTER (WHERE kind = 'round_unfinished') AS unfinished
               FROM raised GROUP BY round_id
           ) v USING (round_id)
          GROUP BY c.key
          ORDER BY min(c.label), c.key`,
        [query.compoundId, query.from, query.to],
      );
      const { rows: unknown } = await pool.query(
        `SELECT count(*)::int AS n FROM check_ins
          WHERE compound_id = $1 AND unknown IS NOT NULL AND occurred_at >= $2 AND occurred_at < $3`,
        [query.compoundId, query.from, query.to],
      );
      return {
        rows: rows.map((row: Record<string, unknown>) =>
          reportRow({
            key: row.key as string,
            label: row.label as string,
            rounds: row.rounds as number,
            roundsCompleted: row.rounds_completed as number,
            stops: row.stops as number,
            stopsChecked: row.stops_checked as number,
            stopsOnTime: row.stops_on_time as number,
            violations: row.violations as number,
            missed: row.missed as number,
            late: row.late as number,
            early: row.early as number,
            wrongOrder: row.wrong_order as number,
            leftEarly: row.left_early as number,
            notStarted: row.not_started as number,
            unfinished: row.unfinished as number,
          }),
        ),
        unknownCheckIns: (unknown[0] as { n: number }).n,
      };
    },
  };
}
