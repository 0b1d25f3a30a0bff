/**
 * Evidence from other services' events, applied in the consumer's transaction. Each apply
 * returns the compounds whose score may have changed (none when the event is older than what is
 * held: the registry topic is compacted and replayed, status and health may arrive late).
 */
import type { ClientBase, Pool } from '@anfang/platform/pg';
import type { PatrolEvidence, StorageEvidence } from '../domain/scoring.ts';
import type { ModuleCode } from '../domain/tables.ts';

export interface DeviceState {
  readonly deviceId: string;
  readonly compoundId: string;
  readonly module: ModuleCode;
  readonly buildingCode: string;
  readonly active: boolean;
  /** Registry revision; a state at or below the one held is ignored. */
  readonly revision: number;
}

export interface DeviceStatus {
  readonly deviceId: string;
  /** From the event's meta; fills in a device the registry has not told us about yet. */
  readonly compoundId: string;
  readonly module: ModuleCode;
  readonly online: boolean;
  readonly at: Date;
}

export interface UploadHealth {
  readonly compoundId: string;
  readonly platformId: string;
  readonly realTime: boolean;
  readonly at: Date;
}

export async function applyDeviceState(tx: ClientBase, state: DeviceState): Promise<string[]> {
  const { rows: before } = await tx.query<{ compound_id: string }>(
    'SELECT compound_id FROM devices WHERE device_id = $1 FOR UPDATE',
    [state.deviceId],
  );
  const { rowCount } = await tx.query(
    `INSERT INTO devices (device_id, compound_id, module, building_code, active, registry_revision)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (device_id) DO UPDATE SET compound_id = $2, module = $3, building_code = $4,
       active = $5, registry_revision = $6
     WHERE devices.registry_revision < $6`,
    [state.deviceId, state.compoundId, state.module, state.buildingCode, state.active, state.revision],
  );
  if (rowCount === 0) return [];
  // Sorted: two devices moving between the same compounds lock them in the same order.
  return [...new Set([before[0]?.compound_id, state.compoundId].filter((c): c is string => !!c))].sort();
}

export async function applyDeviceStatus(tx: ClientBase, status: DeviceStatus): Promise<string[]> {
  // A device first seen through its status has no registry revision (0): the registry's state,
  // whenever it comes, replaces its compound and module.
  const { rows } = await tx.query<{ compound_id: string }>(
    `INSERT INTO devices (device_id, compound_id, module, online, status_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (device_id) DO UPDATE SET online = $4, status_at = $5
     WHERE devices.status_at IS NULL OR devices.status_at <= $5
     RETURNING compound_id`,
    [status.deviceId, status.compoundId, status.module, status.online, status.at],
  );
  return rows.map((r) => r.compound_id).filter(Boolean);
}

export async function applyUploadHealth(tx: ClientBase, health: UploadHealth): Promise<string[]> {
  const { rowCount } = await tx.query(
    `INSERT INTO upload_health (compound_id, platform_id, real_time, reported_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (compound_id, platform_id) DO UPDATE SET real_time = $3, reported_at = $4, expired = false
     WHERE upload_health.reported_at <= $4`,
    [health.compoundId, health.platformId, health.realTime, health.at],
  );
  return rowCount === 0 ? [] : [health.compoundId];
}

export interface StorageReport extends Omit<StorageEvidence, 'expired'> {
  readonly compoundId: string;
  readonly at: Date;
}

export interface PatrolReport extends Omit<PatrolEvidence, 'expired'> {
  readonly compoundId: string;
  readonly at: Date;
}

/** video-index's report replaces the one held unless it is older (compacted topics replay). */
export async function applyStorageReport(tx: ClientBase, report: StorageReport): Promise<string[]> {
  const { rowCount } = await tx.query(
    `INSERT INTO storage_evidence (compound_id, backend_retention_days, retention_enforced, zones, reported_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (compound_id) DO UPDATE SET backend_retention_days = $2, retention_enforced = $3, zones = $4,
       reported_at = $5, expired = false
     WHERE storage_evidence.reported_at <= $5`,
    [
      report.compoundId,
      report.backendRetentionDays,
      report.retentionEnforced,
      JSON.stringify(report.zones),
      report.at,
    ],
  );
  return rowCount === 0 ? [] : [report.compoundId];
}

/** patrol's report replaces the one held unless it is older. */
export async function applyPatrolReport(tx: ClientBase, report: PatrolReport): Promise<string[]> {
  const { rowCount } = await tx.query(
    `INSERT INTO patrol_evidence (compound_id, routes, checkpoints, window_hours, rounds_due, rounds_completed, reported_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (compound_id) DO UPDATE SET routes = $2, checkpoints = $3, window_hours = $4, rounds_due = $5,
       rounds_completed = $6, reported_at = $7, expired = false
     WHERE patrol_evidence.reported_at <= $7`,
    [
      report.compoundId,
      report.routes,
      report.checkpoints,
      report.windowHours,
      report.roundsDue,
      report.roundsCompleted,
      report.at,
    ],
  );
  return rowCount === 0 ? [] : [report.compoundId];
}

/**
 * Records when devices last produced data (the newest time wins; devices not known here are
 * skipped). One statement for a whole batch of sightings.
 */
export async function recordDataSeen(pool: Pool, seen: ReadonlyMap<string, Date>): Promise<void> {
  if (seen.size === 0) return;
  await pool.query(
    `UPDATE devices d SET last_data_at = v.at
     FROM unnest($1::text[], $2::timestamptz[]) AS v(device_id, at)
     WHERE d.device_id = v.device_id AND (d.last_data_at IS NULL OR d.last_data_at < v.at)`,
    [[...seen.keys()], [...seen.values()]],
  );
}

/**
 * Brings the stored "producing" flags of data devices and "expired" flags of upload, storage and
 * patrol reports up to `now`; returns the compounds whose evidence changed (to rescore).
 */
export async function refreshTimedEvidence(
  pool: Pool,
  options: {
    now: Date;
    dataWindowMs: number;
    dataModules: readonly ModuleCode[];
    uploadTtlMs: number;
    storageTtlMs: number;
    patrolTtlMs: number;
  },
): Promise<string[]> {
  const dataCutoff = new Date(options.now.getTime() - options.dataWindowMs);
  const { rows: devices } = await pool.query<{ compound_id: string }>(
    `UPDATE devices SET producing = NOT producing
     WHERE module = ANY($1::int[]) AND compound_id <> ''
       AND producing IS DISTINCT FROM (coalesce(last_data_at, first_known_at) >= $2)
     RETURNING compound_id`,
    [options.dataModules, dataCutoff],
  );
  const { rows: uploads } = await pool.query<{ compound_id: string }>(
    `UPDATE upload_health SET expired = true WHERE NOT expired AND reported_at < $1 RETURNING compound_id`,
    [new Date(options.now.getTime() - options.uploadTtlMs)],
  );
  const expire = async (table: 'storage_evidence' | 'patrol_evidence', ttlMs: number) =>
    (
      await pool.query<{ compound_id: string }>(
        `UPDATE ${table} SET expired = true WHERE NOT expired AND reported_at < $1 RETURNING compound_id`,
        [new Date(options.now.getTime() - ttlMs)],
      )
    ).rows;
  const storage = await expire('storage_evidence', options.storageTtlMs);
  const patrol = await expire('patrol_evidence', options.patrolTtlMs);
  return [...new Set([...devices, ...uploads, ...storage, ...patrol].map((r) => r.compound_id))].sort();
}
