/**
 * Report reads: the district summary rows, the daily standings behind the coverage trend, and
 * recording today's standing (one statement over every scored compound).
 */
import { scopeCondition, scopeParams, type CompoundScope } from '@anfang/platform/auth';
import type { Pool } from '@anfang/platform/pg';
import type { ProgrammeGroup } from '../domain/compound.ts';
import type { MissingRequirement, Score } from '../domain/scoring.ts';
import type { CompoundSummary, DayStanding } from '../domain/summary.ts';
import type { LevelOrNone } from '../domain/tables.ts';

/** Every compound (only the given ones when set) with its current score. */
export async function compoundSummaries(pool: Pool, only?: CompoundScope): Promise<CompoundSummary[]> {
  const { rows } = await pool.query<{
    compound_id: string;
    name: string;
    town_street: string;
    programme_group: ProgrammeGroup;
    target_level: LevelOrNone;
    level: LevelOrNone | null;
    uploading_real_time: boolean | null;
    missing: Score['missingForNextLevel'] | null;
  }>(
    `SELECT c.compound_id, c.name, c.town_street, c.programme_group, c.target_level, s.level,
       s.uploading_real_time, s.score -> 'missingForNextLevel' AS missing
     FROM compounds c LEFT JOIN scores s USING (compound_id)
     WHERE ${scopeCondition('c.compound_id', 1)}`,
    scopeParams(only),
  );
  return rows.map((r) => ({
    compoundId: r.compound_id,
    name: r.name,
    townStreet: r.town_street,
    programmeGroup: r.programme_group,
    targetLevel: r.target_level,
    level: r.level ?? undefined,
    uploadingRealTime: r.uploading_real_time ?? false,
    missingForNextLevel: (r.missing ?? []) as readonly MissingRequirement[],
  }));
}

/**
 * Records every scored compound's standing as `day`'s (replacing an earlier record of the same
 * day) and forgets the day's records of compounds deleted since. Returns the compounds recorded.
 */
export async function recordDailyStandings(pool: Pool, day: string, at: Date): Promise<number> {
  const { rowCount } = await pool.query(
    `INSERT INTO daily_standings (day, compound_id, town_street, programme_group, level, uploading_real_time, recorded_at)
     SELECT $1::date, c.compound_id, c.town_street, c.programme_group, s.level, s.uploading_real_time, $2
     FROM compounds c JOIN scores s USING (compound_id)
     ON CONFLICT (day, compound_id) DO UPDATE SET town_street = EXCLUDED.town_street,
       programme_group = EXCLUDED.programme_group, level = EXCLUDED.level,
       uploading_real_time = EXCLUDED.uploading_real_time, recorded_at = EXCLUDED.recorded_at`,
    [day, at],
  );
  await pool.query(
    `DELETE FROM daily_standings d WHERE d.day = $1::date
     AND NOT EXISTS (SELECT 1 FROM compounds c WHERE c.compound_id = d.compound_id)`,
    [day],
  );
  return rowCount ?? 0;
}

export interface TrendQuery {
  readonly from: string;
  readonly to: string;
  readonly townStreet?: string;
  readonly programmeGroup?: ProgrammeGroup;
  /** The caller's compounds, when limited. */
  readonly only?: CompoundScope;
}

export async function dailyStandings(pool: Pool, query: TrendQuery): Promise<DayStanding[]> {
  const { rows } = await pool.query<{ day: string; compounds: number; compliant: number; networked: number }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, count(*)::int AS compounds,
       count(*) FILTER (WHERE level IN ('compliant', 'quality', 'demonstration'))::int AS compliant,
       count(*) FILTER (WHERE uploading_real_time)::int AS networked
     FROM daily_standings
     WHERE day BETWEEN $1::date AND $2::date
       AND ($3::text IS NULL OR town_street = $3)
       AND ($4::text IS NULL OR programme_group = $4)
       AND ${scopeCondition('compound_id', 5)}
     GROUP BY day ORDER BY day`,
    [
      query.from,
      query.to,
      query.townStreet ?? null,
      query.programmeGroup ?? null,
      ...scopeParams(query.only),
    ],
  );
  return rows;
}
