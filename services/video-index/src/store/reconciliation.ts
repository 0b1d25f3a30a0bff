/**
 * Reconciliation of the object store and the index: the store lists keys in byte order and the
 * index reads them in the same order (object_key COLLATE "C"), so one merge pass over both finds
 * every difference with bounded memory, whatever the size of either.
 *
 * - An object with no row (an event lost, or an object nobody announced) is indexed from what its
 *   key says (policy `index`) or deleted (policy `delete`, or a key that says nothing); an object
 *   under an open hold is never deleted.
 * - A row with no object can never be served: it is removed and the removal logged.
 *
 * Objects and rows younger than the grace period are left alone: an image is written before its
 * event is published, and both may be on their way. One run at a time across replicas (advisory
 * lock); a report row records every run.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectInfo, ObjectStore } from '@anfang/platform/objects';
import { withTransaction, type Pool } from '@anfang/platform/pg';
import { byteOrder, captureKeyFacts } from '../domain/keys.ts';
import type { MediaRow } from '../domain/sources.ts';
import type { ImageClass } from '../domain/classes.ts';
import type { HoldStore } from './holds.ts';
import { logDeletions, removeRows, type DeletedRow, type MediaStore } from './media.ts';

export interface ReconciliationReport {
  readonly runId: string;
  readonly startedAt: Date;
  readonly finishedAt: Date | undefined;
  readonly objectsListed: number;
  readonly rowsCompared: number;
  readonly orphanObjects: number;
  readonly objectsIndexed: number;
  readonly objectsDeleted: number;
  readonly missingObjects: number;
  readonly rowsRemoved: number;
  readonly error: string;
  readonly sampleOrphanKeys: readonly string[];
  readonly sampleMissingKeys: readonly string[];
}

export class ReconciliationBusyError extends Error {
  override readonly name = 'ReconciliationBusyError';
}

export interface Reconciler {
  /** Runs one pass at `now`; throws ReconciliationBusyError while another replica runs one. */
  run(now: Date): Promise<ReconciliationReport>;
  reports(limit: number): Promise<ReconciliationReport[]>;
}

/** Advisory lock key of reconciliation ('vrec'). */
const RECONCILE_LOCK = 0x76726563;
const ROW_CHUNK = 2000;
const FLUSH_AT = 500;
const SAMPLE = 100;

interface IndexRow {
  object_key: string;
  compound_id: string;
  image_class: ImageClass;
  captured_at: Date;
  size_bytes: string | null;
  indexed_at: Date;
}

interface RunRow {
  run_id: string;
  started_at: Date;
  finished_at: Date | null;
  objects_listed: string;
  rows_compared: string;
  orphan_objects: string;
  objects_indexed: string;
  objects_deleted: string;
  missing_objects: string;
  rows_removed: string;
  error: string;
  sample_orphan_keys: string[];
  sample_missing_keys: string[];
}

const toReport = (r: RunRow): ReconciliationReport => ({
  runId: r.run_id,
  startedAt: r.started_at,
  finishedAt: r.finished_at ?? undefined,
  objectsListed: Number(r.objects_listed),
  rowsCompared: Number(r.rows_compared),
  orphanObjects: Number(r.orphan_objects),
  objectsIndexed: Number(r.objects_indexed),
  objectsDeleted: Number(r.objects_deleted),
  missingObjects: Number(r.missing_objects),
  rowsRemoved: Number(r.rows_removed),
  error: r.error,
  sampleOrphanKeys: r.sample_orphan_keys,
  sampleMissingKeys: r.sample_missing_keys,
});

/** The smallest string above every string that starts with `prefix` (byte order). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export function createReconciler(deps: {
  readonly pool: Pool;
  readonly objects: ObjectStore;
  readonly media: MediaStore;
  readonly holds: HoldStore;
  /** The folder of images inside the store, e.g. `captures/`. */
  readonly folder: string;
  readonly graceMs: number;
  readonly orphanPolicy: 'index' | 'delete';
}): Reconciler {
  const { pool, objects, media, holds, folder, graceMs, orphanPolicy } = deps;
  const low = objects.prefix + folder;
  const high = prefixEnd(low);

  async function* indexRows(): AsyncGenerator<IndexRow> {
    let after = '';
    for (;;) {
      const { rows } = await pool.query<IndexRow>(
        `SELECT object_key, compound_id, image_class, captured_at, size_bytes, indexed_at FROM media_index
         WHERE object_key >= $1 AND object_key < $2 AND object_key > $3
         ORDER BY object_key LIMIT $4`,
        [low, high, after, ROW_CHUNK],
      );
      yield* rows;
      if (rows.length < ROW_CHUNK) return;
      after = rows[rows.length - 1]!.object_key;
    }
  }

  async function pass(
    now: Date,
    report: { -readonly [K in keyof ReconciliationReport]: ReconciliationReport[K] } & {
      sampleOrphanKeys: string[];
      sampleMissingKeys: string[];
    },
  ): Promise<void> {
    const youngerThan = now.getTime() - graceMs;
    let orphans: ObjectInfo[] = [];
    let missing: IndexRow[] = [];

    const flushOrphans = async () => {
      const batch = orphans;
      orphans = [];
      if (batch.length === 0) return;
      const toIndex: MediaRow[] = [];
      const toDelete: DeletedRow[] = [];
      for (const o of batch) {
        const facts = captureKeyFacts(o.key);
        if (facts && orphanPolicy === 'index') {
          // The key gives the day; the write time places it within the day when it agrees.
          const sameDay =
            Math.floor(o.lastModified.getTime() / 86_400_000) * 86_400_000 === facts.capturedOn.getTime();
          toIndex.push({
            objectKey: objects.prefix + o.key,
            capturedAt: sameDay ? o.lastModified : facts.capturedOn,
            compoundId: facts.compoundId,
            deviceId: facts.deviceId,
            eventType: 'reconciliation',
            eventId: report.runId,
            imageClass: 'general',
            plateNumber: '',
            personId: '',
            contentType: '',
            sizeBytes: o.size,
            sha256: '',
          });
        } else {
          toDelete.push({
            objectKey: objects.prefix + o.key,
            compoundId: facts?.compoundId ?? '',
            imageClass: 'general',
            capturedAt: o.lastModified,
            sizeBytes: o.size,
          });
        }
      }
      if (toIndex.length) report.objectsIndexed += await media.write(toIndex);
      if (toDelete.length) {
        const held = await holds.heldKeys(toDelete.map((d) => d.objectKey));
        const free = toDelete.filter((d) => !held.has(d.objectKey));
        await objects.delete(free.map((d) => d.objectKey.slice(objects.prefix.length)));
        await withTransaction(pool, (client) => logDeletions(client, free, 'orphan_object'));
        report.objectsDeleted += free.length;
      }
    };

    const flushMissing = async () => {
      const batch = missing;
      missing = [];
      if (batch.length === 0) return;
      await withTransaction(pool, (client) =>
        removeRows(
          client,
          batch.map((r) => ({
            objectKey: r.object_key,
            compoundId: r.compound_id,
            imageClass: r.image_class,
            capturedAt: r.captured_at,
            sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
          })),
          'missing_object',
        ),
      );
      report.rowsRemoved += batch.length;
    };

    const orphan = async (o: ObjectInfo) => {
      if (o.lastModified.getTime() > youngerThan) return;
      report.orphanObjects++;
      if (report.sampleOrphanKeys.length < SAMPLE) report.sampleOrphanKeys.push(objects.prefix + o.key);
      orphans.push(o);
      if (orphans.length >= FLUSH_AT) await flushOrphans();
    };
    const gone = async (r: IndexRow) => {
      if (r.indexed_at.getTime() > youngerThan) return;
      report.missingObjects++;
      if (report.sampleMissingKeys.length < SAMPLE) report.sampleMissingKeys.push(r.object_key);
      missing.push(r);
      if (missing.length >= FLUSH_AT) await flushMissing();
    };

    const listed = objects.list(folder)[Symbol.asyncIterator]();
    const rows = indexRows();
    let o = await listed.next();
    let r = await rows.next();
    let objectMatched = false;
    if (!o.done) report.objectsListed++;
    while (!o.done || !r.done) {
      const order = o.done ? 1 : r.done ? -1 : byteOrder(objects.prefix + o.value.key, r.value.object_key);
      if (order < 0) {
        if (!objectMatched) await orphan(o.value!);
        o = await listed.next();
        objectMatched = false;
        if (!o.done) report.objectsListed++;
      } else if (order > 0) {
        report.rowsCompared++;
        await gone(r.value!);
        r = await rows.next();
      } else {
        // Equal: the row is served; the object may have more rows (one key, two capture times).
        report.rowsCompared++;
        objectMatched = true;
        r = await rows.next();
      }
    }
    await flushOrphans();
    await flushMissing();
  }

  return {
    async run(now) {
      const lock = await pool.connect();
      try {
        const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
          RECONCILE_LOCK,
        ]);
        if (!rows[0]?.ok) throw new ReconciliationBusyError('a reconciliation is already running');
        try {
          const report = {
            runId: randomUUID(),
            startedAt: now,
            finishedAt: undefined as Date | undefined,
            objectsListed: 0,
            rowsCompared: 0,
            orphanObjects: 0,
            objectsIndexed: 0,
            objectsDeleted: 0,
            missingObjects: 0,
            rowsRemoved: 0,
            error: '',
            sampleOrphanKeys: [] as string[],
            sampleMissingKeys: [] as string[],
          };
          await pool.query('INSERT INTO reconciliation_runs (run_id, started_at) VALUES ($1, $2)', [
            report.runId,
            report.startedAt,
          ]);
          try {
            await pass(now, report);
            report.finishedAt = new Date();
          } catch (error) {
            report.error = error instanceof Error ? error.message : String(error);
          }
          await pool.query(
            `UPDATE reconciliation_runs SET finished_at = $2, objects_listed = $3, rows_compared = $4,
               orphan_objects = $5, objects_indexed = $6, objects_deleted = $7, missing_objects = $8,
               rows_removed = $9, error = $10, sample_orphan_keys = $11, sample_missing_keys = $12
             WHERE run_id = $1`,
            [
              report.runId,
              report.finishedAt ?? null,
              report.objectsListed,
              report.rowsCompared,
              report.orphanObjects,
              report.objectsIndexed,
              report.objectsDeleted,
              report.missingObjects,
              report.rowsRemoved,
              report.error,
              report.sampleOrphanKeys,
              report.sampleMissingKeys,
            ],
          );
          return report;
        } finally {
          await lock.query('SELECT pg_advisory_unlock($1)', [RECONCILE_LOCK]);
        }
      } finally {
        lock.release();
      }
    },

    async reports(limit) {
      const { rows } = await pool.query<RunRow>(
        'SELECT * FROM reconciliation_runs ORDER BY started_at DESC LIMIT $1',
        [limit],
      );
      return rows.map(toReport);
    },
  };
}
