/**
 * Zones, their arming (current state on the zone, every change in zone_arming_changes) and the
 * on-duty rules, in Postgres.
 */
import { randomUUID } from 'node:crypto';
import { sqlState, withTransaction, type Pool } from '@anfang/platform/pg';
import type { Arming } from '../domain/flood.ts';

export type ZoneKind = 'wall' | 'fence' | 'water_edge' | 'pipe';

export interface ZoneInput {
  readonly compoundId: string;
  readonly name: string;
  readonly kind: ZoneKind;
  readonly sensorDeviceIds: readonly string[];
  readonly cameraDeviceIds: readonly string[];
}

export interface Zone extends ZoneInput {
  readonly zoneId: string;
  readonly arming: Arming;
  readonly armingUntil: Date | undefined;
  readonly armingChangedBy: string;
  readonly armingChangedAt: Date;
  readonly createdAt: Date;
}

export interface DutyRule {
  readonly compoundId: string;
  /** '' for the whole compound. */
  readonly zoneId: string;
  readonly teamId: string;
  readonly escalationTeamIds: readonly string[];
}

export class ZoneNameTakenError extends Error {
  override readonly name = 'ZoneNameTakenError';
}

export interface ZoneStore {
  create(input: ZoneInput): Promise<Zone>;
  /** Undefined when there is no such zone. */
  update(zoneId: string, input: Omit<ZoneInput, 'compoundId'>): Promise<Zone | undefined>;
  /** An imported row: matched by compound and name, created or brought up to date. */
  importRow(input: ZoneInput): Promise<'created' | 'updated' | 'unchanged'>;
  get(zoneId: string): Promise<Zone | undefined>;
  list(compoundId: string): Promise<Zone[]>;
  delete(zoneId: string): Promise<boolean>;
  setArming(
    zoneId: string,
    change: { arming: Arming; until: Date | undefined; reason: string; changedBy: string },
  ): Promise<Zone | undefined>;
  setDutyRule(rule: DutyRule): Promise<DutyRule>;
  listDutyRules(compoundId: string): Promise<DutyRule[]>;
}

interface ZoneRow {
  zone_id: string;
  compound_id: string;
  name: string;
  kind: ZoneKind;
  sensor_device_ids: string[];
  camera_device_ids: string[];
  arming: Arming;
  arming_until: Date | null;
  arming_changed_by: string;
  arming_changed_at: Date;
  created_at: Date;
}

function zoneOf(row: ZoneRow): Zone {
  return {
    zoneId: row.zone_id,
    compoundId: row.compound_id,
    name: row.name,
    kind: row.kind,
    sensorDeviceIds: row.sensor_device_ids,
    cameraDeviceIds: row.camera_device_ids,
    arming: row.arming,
    armingUntil: row.arming_until ?? undefined,
    armingChangedBy: row.arming_changed_by,
    armingChangedAt: row.arming_changed_at,
    createdAt: row.created_at,
  };
}

const UNIQUE_VIOLATION = '23505';

async function nameChecked<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (sqlState(error) === UNIQUE_VIOLATION)
      throw new ZoneNameTakenError(`a zone named "${name}" exists in this compound`);
    throw error;
  }
}

export function createZoneStore(pool: Pool): ZoneStore {
  return {
    create(input) {
      return nameChecked(input.name, async () => {
        const { rows } = await pool.query<ZoneRow>(
          `INSERT INTO zones (zone_id, compound_id, name, kind, sensor_device_ids, camera_device_ids)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
          [
            randomUUID(),
            input.compoundId,
            input.name,
            input.kind,
            input.sensorDeviceIds,
            input.cameraDeviceIds,
          ],
        );
        return zoneOf(rows[0]!);
      });
    },

    update(zoneId, input) {
      return nameChecked(input.name, async () => {
        const { rows } = await pool.query<ZoneRow>(
          `UPDATE zones SET name = $2, kind = $3, sensor_device_ids = $4, camera_device_ids = $5
            WHERE zone_id = $1 RETURNING *`,
          [zoneId, input.name, input.kind, input.sensorDeviceIds, input.cameraDeviceIds],
        );
        return rows[0] ? zoneOf(rows[0]) : undefined;
      });
    },

    importRow(input) {
      return withTransaction(pool, async (tx) => {
        const sorted = (ids: readonly string[]) => [...ids].sort().join(';');
        const { rows } = await tx.query<ZoneRow>(
          'SELECT * FROM zones WHERE compound_id = $1 AND name = $2 FOR UPDATE',
          [input.compoundId, input.name],
        );
        const existing = rows[0];
        if (!existing) {
          // ON CONFLICT: two imports of one file at once both find nothing; one creates, one skips.
          const created = await tx.query(
            `INSERT INTO zones (zone_id, compound_id, name, kind, sensor_device_ids, camera_device_ids)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (compound_id, name) DO NOTHING`,
            [
              randomUUID(),
              input.compoundId,
              input.name,
              input.kind,
              input.sensorDeviceIds,
              input.cameraDeviceIds,
            ],
          );
          return created.rowCount === 1 ? 'created' : 'unchanged';
        }
        if (
          existing.kind === input.kind &&
          sorted(existing.sensor_device_ids) === sorted(input.sensorDeviceIds) &&
          sorted(existing.camera_device_ids) === sorted(input.cameraDeviceIds)
        )
          return 'unchanged';
        await tx.query(
          'UPDATE zones SET kind = $2, sensor_device_ids = $3, camera_device_ids = $4 WHERE zone_id = $1',
          [existing.zone_id, input.kind, input.sensorDeviceIds, input.cameraDeviceIds],
        );
        return 'updated';
      });
    },

    async get(zoneId) {
      const { rows } = await pool.query<ZoneRow>('SELECT * FROM zones WHERE zone_id = $1', [zoneId]);
      return rows[0] ? zoneOf(rows[0]) : undefined;
    },

    async list(compoundId) {
      const { rows } = await pool.query<ZoneRow>('SELECT * FROM zones WHERE compound_id = $1 ORDER BY name', [
        compoundId,
      ]);
      return rows.map(zoneOf);
    },

    async delete(zoneId) {
      const result = await pool.query('DELETE FROM zones WHERE zone_id = $1', [zoneId]);
      return (result.rowCount ?? 0) > 0;
    },

    setArming(zoneId, change) {
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<ZoneRow>(
          `UPDATE zones SET arming = $2, arming_until = $3, arming_changed_by = $4, arming_changed_at = now()
            WHERE zone_id = $1 RETURNING *`,
          [zoneId, change.arming, change.until ?? null, change.changedBy],
        );
        if (!rows[0]) return undefined;
        await tx.query(
          `INSERT INTO zone_arming_changes (zone_id, arming, until, reason, changed_by, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            zoneId,
            change.arming,
            change.until ?? null,
            change.reason,
            change.changedBy,
            rows[0].arming_changed_at,
          ],
        );
        return zoneOf(rows[0]);
      });
    },

    async setDutyRule(rule) {
      await pool.query(
        `INSERT INTO duty_rules (compound_id, zone_id, team_id, escalation_team_ids) VALUES ($1, $2, $3, $4)
         ON CONFLICT (compound_id, zone_id) DO UPDATE
           SET team_id = EXCLUDED.team_id, escalation_team_ids = EXCLUDED.escalation_team_ids`,
        [rule.compoundId, rule.zoneId, rule.teamId, rule.escalationTeamIds],
      );
      return rule;
    },

    async listDutyRules(compoundId) {
      const { rows } = await pool.query<{
        compound_id: string;
        zone_id: string;
        team_id: string;
        escalation_team_ids: string[];
      }>('SELECT * FROM duty_rules WHERE compound_id = $1 ORDER BY zone_id', [compoundId]);
      return rows.map((row) => ({
        compoundId: row.compound_id,
        zoneId: row.zone_id,
        teamId: row.team_id,
        escalationTeamIds: row.escalation_team_ids,
      }));
    },
  };
}
