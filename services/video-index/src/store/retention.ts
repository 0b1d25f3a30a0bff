/**
 * Retention: the days of each class (configured defaults, overridden through the API, never
 * below the legal minimum) and the sweep that enforces them. The sweep takes `now`, so tests and
 * operators decide what time it is. Each batch is one transaction: lock the expired rows (skipping
 * rows another replica is sweeping and rows under an open hold), delete their objects with one
 * DeleteObjects request, delete the rows, log every deletion. A failed object delete rolls the
 * batch back: nothing is forgotten while its object still exists.
 */
import type { ObjectStore } from '@anfang/platform/objects';
import { withTransaction, type Pool } from '@anfang/platform/pg';
import {
  checkRetentionDays,
  IMAGE_CLASSES,
  retentionCutoff,
  type ImageClass,
  type RetentionDays,
} from '../domain/classes.ts';
import { HELD, removeRows, type DeletedRow } from './media.ts';
import type { Partitions } from './partitions.ts';

export interface RetentionPolicy {
  readonly imageClass: ImageClass;
  readonly days: number;
  /** '' for the configured default. */
  readonly updatedBy: string;
  readonly updatedAt: Date | undefined;
}

export interface SweepResult {
  readonly deleted: number;
  readonly batches: number;
  readonly droppedPartitions: readonly string[];
}

export interface SweepOptions {
  readonly batch: number;
  readonly pauseMs: number;
  readonly signal?: AbortSignal;
}

export interface RetentionStore {
  policies(): Promise<RetentionPolicy[]>;
  set(imageClass: ImageClass, days: number, by: string): Promise<RetentionPolicy>;
  sweep(now: Date, options: SweepOptions): Promise<SweepResult>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createRetentionStore(deps: {
  readonly pool: Pool;
  readonly objects: ObjectStore;
  readonly partitions: Partitions;
  readonly defaults: RetentionDays;
}): RetentionStore {
  const { pool, objects, partitions, defaults } = deps;

  const policies = async (): Promise<RetentionPolicy[]> => {
    const { rows } = await pool.query<{
      image_class: ImageClass;
      days: number;
      updated_by: string;
      updated_at: Date;
    }>('SELECT image_class, days, updated_by, updated_at FROM retention_policies');
    const set = new Map(rows.map((r) => [r.image_class, r]));
    return IMAGE_CLASSES.map((imageClass) => {
      const row = set.get(imageClass);
      return row
        ? { imageClass, days: row.days, updatedBy: row.updated_by, updatedAt: row.updated_at }
        : { imageClass, days: defaults[imageClass], updatedBy: '', updatedAt: undefined };
    });
  };

  /** Full bucket keys → the store's keys (the store adds its prefix back). */
  const storeKey = (key: string) => key.slice(objects.prefix.length);

  async function sweepBatch(imageClass: ImageClass, cutoff: Date, batch: number): Promise<number> {
    return withTransaction(pool, async (client) => {
      const { rows } = await client.query<{
        object_key: string;
        compound_id: string;
        captured_at: Date;
        size_bytes: string | null;
      }>(
        `SELECT m.object_key, m.compound_id, m.captured_at, m.size_bytes FROM media_index m
         WHERE m.image_class = $1 AND m.captured_at < $2 AND NOT ${HELD}
         ORDER BY m.captured_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [imageClass, cutoff, batch],
      );
      if (rows.length === 0) return 0;
      const doomed: DeletedRow[] = rows.map((r) => ({
        objectKey: r.object_key,
        compoundId: r.compound_id,
        imageClass,
        capturedAt: r.captured_at,
        sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
      }));
      // Keys outside the governed prefix are never indexed (the consumer refuses them).
      await objects.delete(doomed.map((d) => storeKey(d.objectKey)));
      await removeRows(client, doomed, 'retention');
      return doomed.length;
    });
  }

  return {
    policies,

    async set(imageClass, days, by) {
      checkRetentionDays(days);
      await pool.query(
        `INSERT INTO retention_policies (image_class, days, updated_by, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (image_class) DO UPDATE SET days = excluded.days, updated_by = excluded.updated_by,
           updated_at = excluded.updated_at`,
        [imageClass, days, by],
      );
      return (await policies()).find((p) => p.imageClass === imageClass)!;
    },

    async sweep(now, options) {
      let deleted = 0;
      let batches = 0;
      const current = await policies();
      for (const policy of current) {
        const cutoff = retentionCutoff(now, policy.days);
        for (;;) {
          if (options.signal?.aborted) return { deleted, batches, droppedPartitions: [] };
          const n = await sweepBatch(policy.imageClass, cutoff, options.batch);
          deleted += n;
          if (n === 0) break;
          batches++;
          if (n < options.batch) break;
          if (options.pauseMs > 0) await sleep(options.pauseMs);
        }
      }
      // A day older than the shortest retention is kept only for its held (or longer-kept) rows.
      const shortest = Math.min(...current.map((p) => p.days));
      const droppedPartitions = await partitions.dropEmpty(retentionCutoff(now, shortest));
      return { deleted, batches, droppedPartitions };
    },
  };
}
