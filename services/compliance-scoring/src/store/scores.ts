/**
 * Scores: recompute a compound from the evidence held (in the caller's transaction), keep the
 * current score, record level changes in the history and publish them through the outbox.
 */
import { topics } from '@anfang/contracts';
import { scopeCondition, scopeParams, type CompoundScope } from '@anfang/platform/auth';
import { outboxEventPublisher, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import { TABLE_OF_CATEGORY, type Category, type ProgrammeGroup } from '../domain/compound.ts';
import type { CompoundStanding } from '../domain/coverage.ts';
import { levelToProto, missingToProto, tableToProto } from '../domain/proto-map.ts';
import {
  DATA_MODULES,
  scoreCompound,
  type CompoundEvidence,
  type DeviceEvidence,
  type MissingRequirement,
  type Score,
  type ZoneStorage,
} from '../domain/scoring.ts';
import type { LevelOrNone, ModuleCode, TableId, TableVersion } from '../domain/tables.ts';

export interface StoredScore extends Score {
  readonly compoundId: string;
  readonly computedAt: Date;
}

export interface LevelChange {
  readonly previousLevel: LevelOrNone | undefined;
  readonly level: LevelOrNone;
  readonly table: TableId;
  readonly tableVersion: string;
  readonly missingForNextLevel: readonly MissingRequirement[];
  readonly triggerEventId: string;
  readonly changedAt: Date;
  /** Paging position. */
  readonly id: number;
}

export interface Scorer {
  /**
   * Rescores a compound inside `tx` (which must be a transaction): locks the compound row so
   * concurrent rescorings of one compound run one after the other on fresh evidence. Returns
   * undefined when the compound is not registered.
   */
  rescore(tx: ClientBase, compoundId: string, triggerEventId: string): Promise<StoredScore | undefined>;
  /**
   * Rescores every compound whose score is missing or was computed with another table version
   * (all of them with `all`), one transaction each; returns how many were rescored.
   */
  rescoreStale(options?: { all?: boolean }): Promise<number>;
  get(compoundId: string): Promise<StoredScore | undefined>;
  history(compoundId: string, options: { before?: number; limit: number }): Promise<LevelChange[]>;
  /** Every compound's standing for the coverage figures (only the given ones when set). */
  standings(only?: CompoundScope): Promise<CompoundStanding[]>;
}

export interface ScorerOptions {
  readonly pool: Pool;
  readonly version: TableVersion;
  /** Producer of the level-changed events (the service name). */
  readonly producer: string;
  readonly now?: () => Date;
}

interface ScoreRow {
  compound_id: string;
  score: Score;
  computed_at: Date;
}

/**
 * What a compound's score is computed from, as held now; undefined when the compound is not
 * registered. With `lock` the compound row is locked (`tx` must then be a transaction).
 */
export async function readCompoundEvidence(
  client: ClientBase | Pool,
  compoundId: string,
  { lock }: { lock: boolean },
): Promise<CompoundEvidence | undefined> {
  const { rows: compounds } = await client.query<{
    category: Category;
    building_codes: string[];
    visual_platform_enabled: boolean;
  }>(
    `SELECT category, building_codes, visual_platform_enabled FROM compounds
     WHERE compound_id = $1 ${lock ? 'FOR UPDATE' : ''}`,
    [compoundId],
  );
  const compound = compounds[0];
  if (!compound) return undefined;
  const { rows: devices } = await client.query<{
    device_id: string;
    module: ModuleCode;
    building_code: string;
    active: boolean;
    online: boolean;
    producing: boolean;
  }>(
    'SELECT device_id, module, building_code, active, online, producing FROM devices WHERE compound_id = $1',
    [compoundId],
  );
  const { rows: uploads } = await client.query<{ platform_id: string; real_time: boolean; expired: boolean }>(
    'SELECT platform_id, real_time, expired FROM upload_health WHERE compound_id = $1 ORDER BY platform_id',
    [compoundId],
  );
  const { rows: storage } = await client.query<{
    backend_retention_days: number;
    retention_enforced: boolean;
    zones: ZoneStorage[];
    expired: boolean;
  }>(
    'SELECT backend_retention_days, retention_enforced, zones, expired FROM storage_evidence WHERE compound_id = $1',
    [compoundId],
  );
  const { rows: patrol } = await client.query<{
    routes: number;
    checkpoints: number;
    window_hours: number;
    rounds_due: number;
    rounds_completed: number;
    expired: boolean;
  }>(
    `SELECT routes, checkpoints, window_hours, rounds_due, rounds_completed, expired
     FROM patrol_evidence WHERE compound_id = $1`,
    [compoundId],
  );
  const s = storage[0];
  const p = patrol[0];
  return {
    table: TABLE_OF_CATEGORY[compound.category],
    buildingCodes: compound.building_codes,
    visualPlatformEnabled: compound.visual_platform_enabled,
    devices: devices.map((d): DeviceEvidence => ({
      deviceId: d.device_id,
      module: d.module,
      buildingCode: d.building_code,
      active: d.active,
      online: d.online,
      ...(DATA_MODULES.has(d.module) ? { producing: d.producing } : {}),
    })),
    uploads: uploads.map((u) => ({ platformId: u.platform_id, realTime: u.real_time, expired: u.expired })),
    storage: s && {
      backendRetentionDays: s.backend_retention_days,
      retentionEnforced: s.retention_enforced,
      zones: s.zones,
      expired: s.expired,
    },
    patrol: p && {
      routes: p.routes,
      checkpoints: p.checkpoints,
      windowHours: p.window_hours,
      roundsDue: p.rounds_due,
      roundsCompleted: p.rounds_completed,
      expired: p.expired,
    },
  };
}

export function createScorer(options: ScorerOptions): Scorer {
  const { pool, version, producer } = options;
  const now = options.now ?? (() => new Date());

  const scorer: Scorer = {
    async rescore(tx, compoundId, triggerEventId) {
      const evidence = await readCompoundEvidence(tx, compoundId, { lock: true });
      if (!evidence) return undefined;
      const score = scoreCompound(version, evidence);
      const at = now();
      const { rows: previous } = await tx.query<{ level: LevelOrNone }>(
        'SELECT level FROM scores WHERE compound_id = $1',
        [compoundId],
      );
      const previousLevel = previous[0]?.level;
      await tx.query(
        `INSERT INTO scores (compound_id, level, table_id, table_version, uploading_real_time, score, computed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (compound_id) DO UPDATE SET level = $2, table_id = $3, table_version = $4,
           uploading_real_time = $5, score = $6, computed_at = $7`,
        [
          compoundId,
          score.level,
          score.table,
          score.tableVersion,
          score.uploadingRealTime,
          JSON.stringify(score),
          at,
        ],
      );
      if (previousLevel !== score.level) {
        await tx.query(
          `INSERT INTO score_history (compound_id, previous_level, level, table_id, table_version,
             missing_for_next_level, trigger_event_id, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            compoundId,
            previousLevel ?? null,
            score.level,
            score.table,
            score.tableVersion,
            JSON.stringify(score.missingForNextLevel),
            triggerEventId,
            at,
          ],
        );
        await outboxEventPublisher(tx, producer).publish(
          topics.complianceLevelChanged,
          {
            compoundId,
            previousLevel: levelToProto(previousLevel),
            level: levelToProto(score.level),
            table: tableToProto(score.table),
            tableVersion: score.tableVersion,
            missingForNextLevel: score.missingForNextLevel.map(missingToProto),
            triggerEventId,
          },
          { compoundId, ...(triggerEventId ? { causationId: triggerEventId } : {}) },
        );
      }
      return { ...score, compoundId, computedAt: at };
    },

    async rescoreStale({ all = false } = {}) {
      const { rows } = await pool.query<{ compound_id: string }>(
        `SELECT c.compound_id FROM compounds c LEFT JOIN scores s USING (compound_id)
         WHERE $1 OR s.table_version IS DISTINCT FROM $2 ORDER BY c.compound_id`,
        [all, version.version],
      );
      for (const { compound_id } of rows)
        await withTransaction(pool, (tx) => scorer.rescore(tx, compound_id, ''));
      return rows.length;
    },

    async get(compoundId) {
      const { rows } = await pool.query<ScoreRow>(
        'SELECT compound_id, score, computed_at FROM scores WHERE compound_id = $1',
        [compoundId],
      );
      const row = rows[0];
      return row ? { ...row.score, compoundId: row.compound_id, computedAt: row.computed_at } : undefined;
    },

    async history(compoundId, { before, limit }) {
      const { rows } = await pool.query<{
        id: string;
        previous_level: LevelOrNone | null;
        level: LevelOrNone;
        table_id: TableId;
        table_version: string;
        missing_for_next_level: MissingRequirement[];
        trigger_event_id: string;
        changed_at: Date;
      }>(
        `SELECT id, previous_level, level, table_id, table_version, missing_for_next_level,
           trigger_event_id, changed_at
         FROM score_history WHERE compound_id = $1 AND ($2::bigint IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3`,
        [compoundId, before ?? null, limit],
      );
      return rows.map((r) => ({
        id: Number(r.id),
        previousLevel: r.previous_level ?? undefined,
        level: r.level,
        table: r.table_id,
        tableVersion: r.table_version,
        missingForNextLevel: r.missing_for_next_level,
        triggerEventId: r.trigger_event_id,
        changedAt: r.changed_at,
      }));
    },

    async standings(only) {
      const { rows } = await pool.query<{
        compound_id: string;
        town_street: string;
        programme_group: ProgrammeGroup;
        level: LevelOrNone | null;
        uploading_real_time: boolean | null;
      }>(
        `SELECT c.compound_id, c.town_street, c.programme_group, s.level, s.uploading_real_time
         FROM compounds c LEFT JOIN scores s USING (compound_id)
         WHERE ${scopeCondition('c.compound_id', 1)}`,
        scopeParams(only),
      );
      return rows.map((r) => ({
        compoundId: r.compound_id,
        townStreet: r.town_street,
        programmeGroup: r.programme_group,
        level: r.level ?? undefined,
        uploadingRealTime: r.uploading_real_time ?? false,
      }));
    },
  };
  return scorer;
}
