/**
 * The image index in Postgres: batched upserts (one statement per batch, idempotent on the
 * object key), keyset search, storage figures kept in step with every insert and delete, the
 * enricher's size updates, and the deletion log.
 */
import { scopeCondition, scopeParams, type CompoundScope } from '@anfang/platform/auth';
import type { ClientBase, Pool } from '@anfang/platform/pg';
import { withTransaction } from '@anfang/platform/pg';
import type { ImageClass } from '../domain/classes.ts';
import type { MediaRow } from '../domain/sources.ts';
import type { Position } from '../domain/page-token.ts';
import type { Partitions } from './partitions.ts';

export interface IndexedImage extends MediaRow {
  readonly held: boolean;
}

export interface SearchQuery {
  readonly compoundId: string;
  readonly deviceIds: readonly string[];
  readonly from: Date;
  readonly to: Date;
  readonly eventType: string;
  readonly plateNumber: string;
  readonly personId: string;
  readonly imageClass: ImageClass | undefined;
  readonly after: Position | undefined;
  readonly limit: number;
}

export interface StorageFigure {
  readonly compoundId: string;
  readonly imageClass: ImageClass;
  readonly objects: number;
  readonly bytes: number;
  readonly oldest: Date | undefined;
  readonly newest: Date | undefined;
}

/** A row on its way out, as the deletion log records it. */
export interface DeletedRow {
  readonly objectKey: string;
  readonly compoundId: string;
  readonly imageClass: ImageClass;
  readonly capturedAt: Date;
  readonly sizeBytes: number | null;
}

export type DeletionReason = 'retention' | 'orphan_object' | 'missing_object';

export interface MediaStore {
  /** Upserts the rows in one statement; returns how many were new. */
  write(rows: readonly MediaRow[]): Promise<number>;
  search(query: SearchQuery): Promise<IndexedImage[]>;
  figures(scope: CompoundScope | undefined): Promise<StorageFigure[]>;
  /** Rows whose size nobody reported, oldest first. */
  unsized(limit: number): Promise<{ objectKey: string; capturedAt: Date }[]>;
  setSizes(sizes: readonly { objectKey: string; capturedAt: Date; sizeBytes: number }[]): Promise<void>;
  /** The compound of each of these keys the index holds. */
  existing(objectKeys: readonly string[]): Promise<Map<string, string>>;
  /** One image by its key, if indexed. */
  get(objectKey: string): Promise<IndexedImage | undefined>;
}

/** Active-hold test of the row aliased `m`. */
export const HELD = `EXISTS (SELECT 1 FROM held_objects ho JOIN holds h USING (hold_id)
                             WHERE ho.object_key = m.object_key AND h.released_at IS NULL)`;

interface ImageRow {
  object_key: string;
  captured_at: Date;
  compound_id: string;
  device_id: string;
  event_type: string;
  event_id: string;
  image_class: ImageClass;
  plate_number: string;
  person_id: string;
  content_type: string;
  size_bytes: string | null;
  sha256: string;
  held: boolean;
}

const toImage = (r: ImageRow): IndexedImage => ({
  objectKey: r.object_key,
  capturedAt: r.captured_at,
  compoundId: r.compound_id,
  deviceId: r.device_id,
  eventType: r.event_type,
  eventId: r.event_id,
  imageClass: r.image_class,
  plateNumber: r.plate_number,
  personId: r.person_id,
  contentType: r.content_type,
  sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
  sha256: r.sha256,
  held: r.held,
});

/** Within one batch a key appears once: later events add what earlier ones lacked. */
function mergeByKey(rows: readonly MediaRow[]): MediaRow[] {
  const byKey = new Map<string, MediaRow>();
  for (const row of rows) {
    const seen = byKey.get(row.objectKey);
    byKey.set(
      row.objectKey,
      seen
        ? {
            ...seen,
            plateNumber: seen.plateNumber || row.plateNumber,
            personId: seen.personId || row.personId,
            sizeBytes: seen.sizeBytes ?? row.sizeBytes,
            sha256: seen.sha256 || row.sha256,
          }
        : row,
    );
  }
  // Key order: concurrent batches lock the same rows in the same order (no deadlock).
  return [...byKey.values()].sort((a, b) =>
    a.objectKey < b.objectKey ? -1 : a.objectKey > b.objectKey ? 1 : 0,
  );
}

export interface FigureDelta {
  readonly compoundId: string;
  readonly imageClass: ImageClass;
  readonly objects: number;
  readonly bytes: number;
}

/** Index rows as figure changes: each counts one object and its known bytes, added or taken off. */
export const rowDeltas = (
  rows: readonly { compoundId: string; imageClass: ImageClass; sizeBytes: number | null }[],
  sign: 1 | -1,
): FigureDelta[] =>
  rows.map((r) => ({
    compoundId: r.compoundId,
    imageClass: r.imageClass,
    objects: sign,
    bytes: sign * (r.sizeBytes ?? 0),
  }));

/** Applies figure changes summed per compound and class, in key order (no deadlock between writers). */
export async function adjustFigures(client: ClientBase, deltas: readonly FigureDelta[]): Promise<void> {
  const sums = new Map<
    string,
    { compoundId: string; imageClass: ImageClass; objects: number; bytes: number }
  >();
  for (const d of deltas) {
    const key = `${d.compoundId}\u0000${d.imageClass}`;
    const s = sums.get(key) ?? { compoundId: d.compoundId, imageClass: d.imageClass, objects: 0, bytes: 0 };
    s.objects += d.objects;
    s.bytes += d.bytes;
    sums.set(key, s);
  }
  if (sums.size === 0) return;
  const list = [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
  await client.query(
    `INSERT INTO storage_figures (compound_id, image_class, objects, bytes)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
     ON CONFLICT (compound_id, image_class) DO UPDATE SET
       objects = storage_figures.objects + excluded.objects, bytes = storage_figures.bytes + excluded.bytes`,
    [
      list.map((s) => s.compoundId),
      list.map((s) => s.imageClass),
      list.map((s) => s.objects),
      list.map((s) => s.bytes),
    ],
  );
}

/** Removes index rows, logs each removal and its reason, and takes them off the figures. */
export async function removeRows(
  client: ClientBase,
  rows: readonly DeletedRow[],
  reason: DeletionReason,
): Promise<void> {
  if (rows.length === 0) return;
  const keys = rows.map((r) => r.objectKey);
  const times = rows.map((r) => r.capturedAt);
  const { rows: removed } = await client.query<{
    object_key: string;
    compound_id: string;
    image_class: ImageClass;
    captured_at: Date;
    size_bytes: string | null;
  }>(
    `DELETE FROM media_index m USING unnest($1::text[], $2::timestamptz[]) AS d(object_key, captured_at)
     WHERE m.object_key = d.object_key COLLATE "C" AND m.captured_at = d.captured_at
     RETURNING m.object_key, m.compound_id, m.image_class, m.captured_at, m.size_bytes`,
    [keys, times],
  );
  const gone = removed.map((r) => ({
    objectKey: r.object_key,
    compoundId: r.compound_id,
    imageClass: r.image_class,
    capturedAt: r.captured_at,
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
  }));
  await logDeletions(client, gone, reason);
  await adjustFigures(client, rowDeltas(gone, -1));
}

export async function logDeletions(
  client: ClientBase,
  rows: readonly DeletedRow[],
  reason: DeletionReason,
): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO deletions (object_key, compound_id, image_class, captured_at, size_bytes, reason)
     SELECT k, c, cl, t, s, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
       AS d(k, c, cl, t, s)`,
    [
      rows.map((r) => r.objectKey),
      rows.map((r) => r.compoundId),
      rows.map((r) => r.imageClass),
      rows.map((r) => r.capturedAt),
      rows.map((r) => r.sizeBytes),
      reason,
    ],
  );
}

export function createMediaStore(pool: Pool, partitions: Partitions): MediaStore {
  return {
    async write(input) {
      if (input.length === 0) return 0;
      const rows = mergeByKey(input);
      await partitions.ensure(rows.map((r) => r.capturedAt));
      return withTransaction(pool, async (client) => {
        // One statement for the whole batch: arrays bind as 12 parameters whatever the row count.
        const { rows: inserted } = await client.query<{
          object_key: string;
          compound_id: string;
          image_class: ImageClass;
          size_bytes: string | null;
        }>(
          `INSERT INTO media_index (object_key, captured_at, compound_id, device_id, event_type, event_id,
                                    image_class, plate_number, person_id, content_type, size_bytes, sha256)
           SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
                                $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[])
           ON CONFLICT (object_key, captured_at) DO NOTHING
           RETURNING object_key, compound_id, image_class, size_bytes`,
          [
            rows.map((r) => r.objectKey),
            rows.map((r) => r.capturedAt),
            rows.map((r) => r.compoundId),
            rows.map((r) => r.deviceId),
            rows.map((r) => r.eventType),
            rows.map((r) => r.eventId),
            rows.map((r) => r.imageClass),
            rows.map((r) => r.plateNumber),
            rows.map((r) => r.personId),
            rows.map((r) => r.contentType),
            rows.map((r) => r.sizeBytes),
            rows.map((r) => r.sha256),
          ],
        );
        // Rows already indexed (another event forwarded the same image) gain what they lacked.
        const fresh = new Set(inserted.map((r) => r.object_key));
        const known = rows.filter(
          (r) => !fresh.has(r.objectKey) && (r.plateNumber !== '' || r.personId !== '' || r.sha256 !== ''),
        );
        if (known.length > 0)
          await client.query(
            `UPDATE media_index m SET
               plate_number = CASE WHEN m.plate_number = '' THEN d.plate ELSE m.plate_number END,
               person_id = CASE WHEN m.person_id = '' THEN d.person ELSE m.person_id END,
               sha256 = CASE WHEN m.sha256 = '' THEN d.sha ELSE m.sha256 END
             FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[])
               AS d(object_key, captured_at, plate, person, sha)
             WHERE m.object_key = d.object_key COLLATE "C" AND m.captured_at = d.captured_at
               AND ((m.plate_number = '' AND d.plate <> '') OR (m.person_id = '' AND d.person <> '')
                    OR (m.sha256 = '' AND d.sha <> ''))`,
            [
              known.map((r) => r.objectKey),
              known.map((r) => r.capturedAt),
              known.map((r) => r.plateNumber),
              known.map((r) => r.personId),
              known.map((r) => r.sha256),
            ],
          );
        await adjustFigures(
          client,
          rowDeltas(
            inserted.map((r) => ({
              compoundId: r.compound_id,
              imageClass: r.image_class,
              sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
            })),
            1,
          ),
        );
        return inserted.length;
      });
    },

    async search(q) {
      const { rows } = await pool.query<ImageRow>(
        `SELECT m.*, ${HELD} AS held FROM media_index m
         WHERE m.compound_id = $1
           AND m.captured_at >= $2 AND m.captured_at < $3
           AND (cardinality($4::text[]) = 0 OR m.device_id = ANY($4))
           AND ($5 = '' OR m.event_type = $5)
           AND ($6 = '' OR m.plate_number = $6)
           AND ($7 = '' OR m.person_id = $7)
           AND ($8::text IS NULL OR m.image_class = $8)
           AND ($9::timestamptz IS NULL OR (m.captured_at, m.object_key) < ($9, $10::text COLLATE "C"))
         ORDER BY m.captured_at DESC, m.object_key DESC
         LIMIT $11`,
        [
          q.compoundId,
          q.from,
          q.to,
          q.deviceIds,
          q.eventType,
          q.plateNumber,
          q.personId,
          q.imageClass ?? null,
          q.after?.capturedAt ?? null,
          q.after?.objectKey ?? '',
          q.limit,
        ],
      );
      return rows.map(toImage);
    },

    async figures(scope) {
      const { rows } = await pool.query<{
        compound_id: string;
        image_class: ImageClass;
        objects: string;
        bytes: string;
        oldest: Date | null;
        newest: Date | null;
      }>(
        `SELECT f.compound_id, f.image_class, f.objects, f.bytes,
                (SELECT min(captured_at) FROM media_index m
                  WHERE m.compound_id = f.compound_id AND m.image_class = f.image_class) AS oldest,
                (SELECT max(captured_at) FROM media_index m
                  WHERE m.compound_id = f.compound_id AND m.image_class = f.image_class) AS newest
         FROM storage_figures f
         WHERE f.objects > 0 AND ${scopeCondition('f.compound_id', 1)}
         ORDER BY f.compound_id, f.image_class`,
        scopeParams(scope),
      );
      return rows.map((r) => ({
        compoundId: r.compound_id,
        imageClass: r.image_class,
        objects: Number(r.objects),
        bytes: Number(r.bytes),
        oldest: r.oldest ?? undefined,
        newest: r.newest ?? undefined,
      }));
    },

    async unsized(limit) {
      const { rows } = await pool.query<{ object_key: string; captured_at: Date }>(
        'SELECT object_key, captured_at FROM media_index WHERE size_bytes IS NULL ORDER BY captured_at LIMIT $1',
        [limit],
      );
      return rows.map((r) => ({ objectKey: r.object_key, capturedAt: r.captured_at }));
    },

    async setSizes(sizes) {
      if (sizes.length === 0) return;
      await withTransaction(pool, async (client) => {
        const { rows } = await client.query<{
          compound_id: string;
          image_class: ImageClass;
          size_bytes: string;
        }>(
          `UPDATE media_index m SET size_bytes = d.size
           FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) AS d(object_key, captured_at, size)
           WHERE m.object_key = d.object_key COLLATE "C" AND m.captured_at = d.captured_at AND m.size_bytes IS NULL
           RETURNING m.compound_id, m.image_class, m.size_bytes`,
          [sizes.map((s) => s.objectKey), sizes.map((s) => s.capturedAt), sizes.map((s) => s.sizeBytes)],
        );
        // Objects were counted when indexed; only their bytes are new.
        await adjustFigures(
          client,
          rows.map((r) => ({
            compoundId: r.compound_id,
            imageClass: r.image_class,
            objects: 0,
            bytes: Number(r.size_bytes),
          })),
        );
      });
    },

    async get(objectKey) {
      const { rows } = await pool.query<ImageRow>(
        `SELECT m.*, ${HELD} AS held FROM media_index m WHERE m.object_key = $1 LIMIT 1`,
        [objectKey],
      );
      return rows[0] ? toImage(rows[0]) : undefined;
    },

    async existing(objectKeys) {
      if (objectKeys.length === 0) return new Map();
      const { rows } = await pool.query<{ object_key: string; compound_id: string }>(
        'SELECT object_key, compound_id FROM media_index WHERE object_key = ANY($1::text[])',
        [objectKeys],
      );
      return new Map(rows.map((r) => [r.object_key, r.compound_id]));
    },
  };
}
