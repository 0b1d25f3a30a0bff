/** The camera registry in Postgres: operator rows, completed from device-ingest's registry. */
import { randomUUID } from 'node:crypto';
import { scopeCondition, scopeParams, type CompoundScope } from '@anfang/platform/auth';
import { sqlState, type Pool } from '@anfang/platform/pg';
import type { CameraFields, ZoneGroup } from '../domain/camera.ts';
import { MIN_FRONTEND_STORAGE_DAYS } from '../domain/classes.ts';

export interface Camera extends CameraFields {
  readonly cameraId: string;
  readonly decommissioned: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export class CameraConflictError extends Error {
  override readonly name = 'CameraConflictError';
}

export interface CameraFilter {
  readonly compoundId: string;
  readonly zoneGroup?: ZoneGroup | undefined;
  readonly nonCompliantOnly: boolean;
  readonly nameContains: string;
  /** Names after this one (keyset). */
  readonly after: string;
  readonly limit: number;
}

/** A registry entry of device-ingest, as far as a camera is concerned. */
export interface RegistryCamera {
  readonly deviceId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly zoneGroup: ZoneGroup;
  readonly gb28181Id: string;
  readonly decommissioned: boolean;
  readonly revision: number;
}

export interface CameraStore {
  create(fields: CameraFields): Promise<Camera>;
  update(cameraId: string, fields: Omit<CameraFields, 'compoundId'>): Promise<Camera | undefined>;
  importRow(fields: CameraFields): Promise<'created' | 'updated' | 'unchanged'>;
  get(cameraId: string): Promise<Camera | undefined>;
  list(filter: CameraFilter): Promise<Camera[]>;
  delete(cameraId: string): Promise<boolean>;
  applyRegistry(entry: RegistryCamera): Promise<void>;
  /** Per compound: cameras below the front-end minimum (or not reported), and all cameras. */
  frontendCompliance(
    scope: CompoundScope | undefined,
  ): Promise<{ compoundId: string; nonCompliant: number; total: number }[]>;
}

interface CameraRow {
  camera_id: string;
  compound_id: string;
  name: string;
  zone_group: ZoneGroup;
  device_id: string | null;
  rtsp_url: string;
  gb28181_id: string;
  position: string;
  frontend_storage_days: number;
  decommissioned: boolean;
  created_at: Date;
  updated_at: Date;
}

const toCamera = (r: CameraRow): Camera => ({
  cameraId: r.camera_id,
  compoundId: r.compound_id,
  name: r.name,
  zoneGroup: r.zone_group,
  deviceId: r.device_id ?? '',
  rtspUrl: r.rtsp_url,
  gb28181Id: r.gb28181_id,
  position: r.position,
  frontendStorageDays: r.frontend_storage_days,
  decommissioned: r.decommissioned,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

function conflict(error: unknown): never {
  if (sqlState(error) === '23505') {
    const constraint = (error as { constraint?: string }).constraint ?? '';
    throw new CameraConflictError(
      constraint.includes('device_id')
        ? 'another camera has this device_id'
        : 'another camera of the compound has this name',
    );
  }
  throw error;
}

const same = (a: Camera, b: CameraFields) =>
  a.zoneGroup === b.zoneGroup &&
  a.deviceId === b.deviceId &&
  a.rtspUrl === b.rtspUrl &&
  a.gb28181Id === b.gb28181Id &&
  a.position === b.position &&
  a.frontendStorageDays === b.frontendStorageDays;

export function createCameraStore(pool: Pool): CameraStore {
  const store: CameraStore = {
    async create(f) {
      const { rows } = await pool
        .query<CameraRow>(
          `INSERT INTO cameras (camera_id, compound_id, name, zone_group, device_id, rtsp_url, gb28181_id,
                                position, frontend_storage_days)
           VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9) RETURNING *`,
          [
            randomUUID(),
            f.compoundId,
            f.name,
            f.zoneGroup,
            f.deviceId,
            f.rtspUrl,
            f.gb28181Id,
            f.position,
            f.frontendStorageDays,
          ],
        )
        .catch(conflict);
      return toCamera(rows[0]!);
    },

    async update(cameraId, f) {
      const { rows } = await pool
        .query<CameraRow>(
          `UPDATE cameras SET name = $2, zone_group = $3, device_id = NULLIF($4, ''), rtsp_url = $5,
                  gb28181_id = $6, position = $7, frontend_storage_days = $8, updated_at = now()
           WHERE camera_id = $1 RETURNING *`,
          [
            cameraId,
            f.name,
            f.zoneGroup,
            f.deviceId,
            f.rtspUrl,
            f.gb28181Id,
            f.position,
            f.frontendStorageDays,
          ],
        )
        .catch(conflict);
      return rows[0] ? toCamera(rows[0]) : undefined;
    },

    async importRow(f) {
      const { rows } = await pool.query<CameraRow>(
        'SELECT * FROM cameras WHERE compound_id = $1 AND name = $2',
        [f.compoundId, f.name],
      );
      const existing = rows[0] ? toCamera(rows[0]) : undefined;
      if (!existing) {
        await store.create(f);
        return 'created';
      }
      if (same(existing, f)) return 'unchanged';
      await store.update(existing.cameraId, f);
      return 'updated';
    },

    async get(cameraId) {
      const { rows } = await pool.query<CameraRow>('SELECT * FROM cameras WHERE camera_id = $1', [cameraId]);
      return rows[0] ? toCamera(rows[0]) : undefined;
    },

    async list(filter) {
      const { rows } = await pool.query<CameraRow>(
        `SELECT * FROM cameras
         WHERE compound_id = $1
           AND ($2::text IS NULL OR zone_group = $2)
           AND (NOT $3 OR frontend_storage_days < $4)
           AND ($5 = '' OR strpos(lower(name), lower($5)) > 0)
           AND name > $6
         ORDER BY name LIMIT $7`,
        [
          filter.compoundId,
          filter.zoneGroup ?? null,
          filter.nonCompliantOnly,
          MIN_FRONTEND_STORAGE_DAYS,
          filter.nameContains,
          filter.after,
          filter.limit,
        ],
      );
      return rows.map(toCamera);
    },

    async delete(cameraId) {
      const { rowCount } = await pool.query('DELETE FROM cameras WHERE camera_id = $1', [cameraId]);
      return (rowCount ?? 0) > 0;
    },

    async applyRegistry(e) {
      const params = [
        randomUUID(),
        e.compoundId,
        e.name,
        e.zoneGroup,
        e.deviceId,
        e.gb28181Id,
        e.decommissioned,
        e.revision,
      ];
      try {
        // A revision older than the one applied is a replay of the compacted topic: ignored.
        await pool.query(
          `INSERT INTO cameras (camera_id, compound_id, name, zone_group, device_id, gb28181_id, decommissioned,
                                registry_revision)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (device_id) DO UPDATE SET
             compound_id = excluded.compound_id, zone_group = excluded.zone_group,
             gb28181_id = CASE WHEN excluded.gb28181_id = '' THEN cameras.gb28181_id ELSE excluded.gb28181_id END,
             decommissioned = excluded.decommissioned, registry_revision = excluded.registry_revision,
             updated_at = now()
           WHERE cameras.registry_revision < excluded.registry_revision`,
          params,
        );
      } catch (error) {
        if (sqlState(error) !== '23505') throw error;
        // An operator registered the camera by name before device-ingest knew it: link the two.
        await pool.query(
          `UPDATE cameras SET device_id = $5, zone_group = $4,
                  gb28181_id = CASE WHEN $6 = '' THEN gb28181_id ELSE $6 END,
                  decommissioned = $7, registry_revision = $8, updated_at = now()
           WHERE compound_id = $2 AND name = $3 AND device_id IS NULL AND $1::uuid IS NOT NULL`,
          params,
        );
      }
    },

    async frontendCompliance(scope) {
      const { rows } = await pool.query<{ compound_id: string; non_compliant: string; total: string }>(
        `SELECT compound_id, count(*) FILTER (WHERE frontend_storage_days < $1) AS non_compliant, count(*) AS total
         FROM cameras WHERE NOT decommissioned AND ${scopeCondition('compound_id', 2)}
         GROUP BY compound_id ORDER BY compound_id`,
        [MIN_FRONTEND_STORAGE_DAYS, ...scopeParams(scope)],
      );
      return rows.map((r) => ({
        compoundId: r.compound_id,
        nonCompliant: Number(r.non_compliant),
        total: Number(r.total),
      }));
    },
  };
  return store;
}
