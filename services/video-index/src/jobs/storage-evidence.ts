/**
 * Storage evidence for compliance scoring: per compound, the back-end retention (the shortest of
 * the class policies, which apply to every compound) and the front-end storage of its cameras per
 * zone group, on the compacted anfang.video.storage-evidence.v1 — for every compound each
 * interval, and for the compounds concerned after a camera or a retention policy changes.
 */
import { topics } from '@anfang/contracts';
import {
  ALL_COMPOUNDS,
  startSnapshotPublisher,
  type EventPublisher,
  type SnapshotPublisher,
} from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import type { Pool } from '@anfang/platform/pg';
import { MODULE_OF_ZONE_GROUP, type ZoneGroup } from '../domain/camera.ts';
import { MIN_FRONTEND_STORAGE_DAYS, MIN_RETENTION_DAYS } from '../domain/classes.ts';
import type { CameraStore } from '../store/cameras.ts';
import type { RetentionStore } from '../store/retention.ts';

export interface StorageEvidence extends SnapshotPublisher {
  /** The outcome of the last retention sweep. */
  swept(ok: boolean): void;
}

export function startStorageEvidence(deps: {
  readonly pool: Pool;
  readonly retention: Pick<RetentionStore, 'policies'>;
  readonly publisher: EventPublisher;
  readonly intervalMs: number;
  readonly debounceMs: number;
  readonly logger: Logger;
}): StorageEvidence {
  let enforced = true;

  async function publish(compoundIds: readonly string[] | undefined): Promise<number> {
    const backendDays = Math.min(...(await deps.retention.policies()).map((p) => p.days));
    const { rows } = await deps.pool.query<{
      compound_id: string;
      zone_group: ZoneGroup | null;
      cameras: number;
      compliant: number;
      shortest: number | null;
    }>(
      `WITH known AS (
         SELECT DISTINCT compound_id FROM cameras WHERE $1::text[] IS NULL OR compound_id = ANY($1)
         UNION
         SELECT DISTINCT compound_id FROM storage_figures WHERE $1::text[] IS NULL OR compound_id = ANY($1)
       )
       SELECT k.compound_id, c.zone_group, count(c.camera_id)::int AS cameras,
              (count(c.camera_id) FILTER (WHERE c.frontend_storage_days >= $2))::int AS compliant,
              min(c.frontend_storage_days) AS shortest
       FROM known k LEFT JOIN cameras c ON c.compound_id = k.compound_id AND NOT c.decommissioned
       GROUP BY k.compound_id, c.zone_group ORDER BY k.compound_id, c.zone_group`,
      [compoundIds ?? null, MIN_FRONTEND_STORAGE_DAYS],
    );
    const byCompound = new Map<string, typeof rows>();
    for (const row of rows)
      byCompound.set(row.compound_id, [...(byCompound.get(row.compound_id) ?? []), row]);
    // A compound asked for by name but unknown (its last camera deleted) still gets its evidence.
    for (const id of compoundIds ?? []) if (!byCompound.has(id)) byCompound.set(id, []);
    const events = [...byCompound].map(([compoundId, zones]) => ({
      payload: {
        compoundId,
        backendRetentionDays: backendDays,
        minBackendDays: MIN_RETENTION_DAYS,
        minFrontendDays: MIN_FRONTEND_STORAGE_DAYS,
        retentionEnforced: enforced,
        zones: zones
          .filter((z) => z.zone_group !== null)
          .map((z) => ({
            module: MODULE_OF_ZONE_GROUP[z.zone_group!],
            cameras: z.cameras,
            frontendCompliant: z.compliant,
            shortestFrontendDays: z.shortest ?? 0,
          })),
      },
      options: { compoundId },
    }));
    if (events.length > 0) await deps.publisher.publishMany(topics.videoStorageEvidence, events);
    return events.length;
  }

  const snapshots = startSnapshotPublisher({
    name: 'storage evidence',
    publish,
    intervalMs: deps.intervalMs,
    debounceMs: deps.debounceMs,
    logger: deps.logger,
  });
  return {
    ...snapshots,
    swept(ok) {
      if (ok === enforced) return;
      enforced = ok;
      snapshots.changed(ALL_COMPOUNDS);
    },
  };
}

/** The camera store, telling `changed` which compound each write touched. */
export function noticingCameraChanges(
  cameras: CameraStore,
  changed: (compoundId: string) => void,
): CameraStore {
  return {
    ...cameras,
    async create(fields) {
      const camera = await cameras.create(fields);
      changed(camera.compoundId);
      return camera;
    },
    async update(cameraId, fields) {
      const camera = await cameras.update(cameraId, fields);
      if (camera) changed(camera.compoundId);
      return camera;
    },
    async importRow(fields) {
      const outcome = await cameras.importRow(fields);
      if (outcome !== 'unchanged') changed(fields.compoundId);
      return outcome;
    },
    async delete(cameraId) {
      const camera = await cameras.get(cameraId);
      const deleted = await cameras.delete(cameraId);
      if (deleted && camera) changed(camera.compoundId);
      return deleted;
    },
    async applyRegistry(entry) {
      await cameras.applyRegistry(entry);
      changed(entry.compoundId);
    },
  };
}

/** The retention store, telling `changed` when a policy (which applies to every compound) changed. */
export function noticingPolicyChanges(
  retention: RetentionStore,
  changed: (all: 'all') => void,
): RetentionStore {
  return {
    ...retention,
    async set(imageClass, days, by) {
      const policy = await retention.set(imageClass, days, by);
      changed(ALL_COMPOUNDS);
      return policy;
    },
  };
}
