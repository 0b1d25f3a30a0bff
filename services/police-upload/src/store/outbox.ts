/**
 * The durable upload outbox per platform. Objects are enqueued once per (platform, kind, id);
 * workers claim due rows with SKIP LOCKED and a lease (next_attempt_at moved ahead), so replicas
 * never send the same row at once and a crashed sender's rows come back after the lease. An
 * accepted object is deleted and its receipt written in the same transaction (the event outbox
 * relays it: one receipt per compound of an answered batch); a rejected one moves to
 * upload_dead_letter with the reason.
 */
import { anfang, timestampFromDate as timestamp, topics } from '@anfang/contracts';
import { outboxEventPublisher, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import type { EnvelopeName, Obj } from '@anfang/gat1400';
import type { ImageToFetch, UploadObject } from '../domain/objects.ts';

const { UploadObjectKind, UploadOutcome } = anfang.police.v1;

/** An object to send to a platform. */
export interface OutboxEntry {
  readonly platformId: string;
  readonly object: UploadObject;
  /** The pictures of `object.images`, in their order, when they were read at enqueue. */
  readonly pictures?: EnqueuedPictures;
}

/** Pictures read at enqueue: base64 in the order of the object's images, and their size in bytes. */
export interface EnqueuedPictures {
  readonly base64: readonly string[];
  readonly bytes: number;
}

export interface OutboxRow {
  readonly id: string;
  readonly platformId: string;
  readonly kind: EnvelopeName;
  readonly objectId: string;
  readonly sourceEventId: string;
  readonly compoundId: string;
  readonly deviceId: string;
  readonly body: Obj;
  readonly images: readonly ImageToFetch[];
  /** The pictures' base64 in the order of `images` when read at enqueue; absent: read them now. */
  readonly pictures?: readonly string[];
  readonly capturedAt: Date;
  readonly enqueuedAt: Date;
  readonly attempts: number;
  readonly targetUrl: string;
}

export interface Settlement {
  readonly row: OutboxRow;
  readonly outcome: 'accepted' | 'rejected' | 'retry';
  readonly code: string;
  readonly text: string;
  /** For retry: when to try again. */
  readonly retryAt?: Date;
}

export interface BacklogRow {
  readonly platformId: string;
  readonly compoundId: string;
  readonly backlog: number;
  readonly oldestEnqueuedAt?: Date;
}

export interface DeadLetter {
  readonly id: string;
  readonly platformId: string;
  readonly kind: string;
  readonly objectId: string;
  readonly sourceEventId: string;
  readonly compoundId: string;
  readonly statusCode: string;
  readonly reason: string;
  readonly attempts: number;
  readonly rejectedAt: Date;
}

const KIND_OF: Readonly<Partial<Record<EnvelopeName, number>>> = {
  faces: UploadObjectKind.UPLOAD_OBJECT_KIND_FACE,
  motorVehicles: UploadObjectKind.UPLOAD_OBJECT_KIND_MOTOR_VEHICLE,
  persons: UploadObjectKind.UPLOAD_OBJECT_KIND_PERSON,
  apes: UploadObjectKind.UPLOAD_OBJECT_KIND_DEVICE,
  doorDevices: UploadObjectKind.UPLOAD_OBJECT_KIND_DEVICE,
  personInfos: UploadObjectKind.UPLOAD_OBJECT_KIND_PERSON_INFO,
  houseInfos: UploadObjectKind.UPLOAD_OBJECT_KIND_HOUSE_INFO,
  carInfos: UploadObjectKind.UPLOAD_OBJECT_KIND_CAR_INFO,
  subscribeNotifications: UploadObjectKind.UPLOAD_OBJECT_KIND_SUBSCRIBE_NOTIFICATION,
  dispositionNotifications: UploadObjectKind.UPLOAD_OBJECT_KIND_DISPOSITION_NOTIFICATION,
};

interface Row {
  id: string;
  platform_id: string;
  kind: EnvelopeName;
  object_id: string;
  source_event_id: string;
  compound_id: string;
  device_id: string;
  body: Obj;
  images: ImageToFetch[];
  pictures: string[] | null;
  captured_at: Date;
  enqueued_at: Date;
  attempts: number;
  target_url: string;
}

const fromRow = (r: Row): OutboxRow => ({
  id: r.id,
  platformId: r.platform_id,
  kind: r.kind,
  objectId: r.object_id,
  sourceEventId: r.source_event_id,
  compoundId: r.compound_id,
  deviceId: r.device_id,
  body: r.body,
  images: r.images,
  ...(r.pictures ? { pictures: r.pictures } : {}),
  capturedAt: r.captured_at,
  enqueuedAt: r.enqueued_at,
  attempts: r.attempts,
  targetUrl: r.target_url,
});

export interface OutboxStore {
  /** Enqueues each object for each platform given, unless already accepted; returns how many rows were new. */
  enqueue(entries: readonly OutboxEntry[]): Promise<number>;
  /** Claims up to `limit` due rows of a platform for `leaseMs`, oldest first. */
  claim(platformId: string, limit: number, leaseMs: number): Promise<OutboxRow[]>;
  settle(settlements: readonly Settlement[], producer: string): Promise<void>;
  /** Gives claimed rows back without counting an attempt (the platform was unreachable). */
  release(rows: readonly OutboxRow[], at: Date): Promise<void>;
  backlog(platformId?: string): Promise<BacklogRow[]>;
  /** Bytes of pictures read at enqueue that each platform's outbox holds (platforms holding none left out). */
  enqueuedPictureBytes(): Promise<Map<string, number>>;
  /** Forgets accepted objects older than this (the source topics no longer hold their events). */
  pruneSent(olderThan: Date): Promise<number>;
  deadLetters(platformId: string, limit: number): Promise<DeadLetter[]>;
  /** Moves dead letters back into the outbox (after the cause was fixed); returns how many. */
  retryDeadLetters(platformId: string, ids: readonly string[]): Promise<number>;
}

/**
 * Enqueues within the caller's transaction (a command result and the notification it causes
 * commit together); returns how many rows were new.
 */
export async function enqueueIn(tx: ClientBase, entries: readonly OutboxEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO upload_outbox (platform_id, kind, object_id, source_event_id, compound_id, device_id, body,
       images, captured_at, target_url, next_attempt_at, pictures, picture_bytes)
     SELECT a, b, c, d, e, f, g, h, i, j, coalesce(k, now()), l, m
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[],
       $8::jsonb[], $9::timestamptz[], $10::text[], $11::timestamptz[], $12::jsonb[], $13::integer[])
       AS x(a, b, c, d, e, f, g, h, i, j, k, l, m)
     WHERE NOT EXISTS (SELECT 1 FROM upload_sent s WHERE s.platform_id = a AND s.kind = b AND s.object_id = c)
     ON CONFLICT (platform_id, kind, object_id) DO NOTHING
     RETURNING id`,
    [
      entries.map((e) => e.platformId),
      entries.map((e) => e.object.kind),
      entries.map((e) => e.object.objectId),
      entries.map((e) => e.object.sourceEventId),
      entries.map((e) => e.object.compoundId),
      entries.map((e) => e.object.deviceId),
      entries.map((e) => JSON.stringify(e.object.body)),
      entries.map((e) => JSON.stringify(e.object.images)),
      entries.map((e) => e.object.capturedAt),
      entries.map((e) => e.object.targetUrl ?? ''),
      entries.map((e) => e.object.notBefore ?? null),
      entries.map((e) => (e.pictures ? JSON.stringify(e.pictures.base64) : null)),
      entries.map((e) => e.pictures?.bytes ?? 0),
    ],
  );
  if (rows.length === 0) return 0;
  // An insert that waited for a settling transaction deleting the same object saw neither
  // that row nor its upload_sent entry; this statement's fresh snapshot sees the entry.
  const { rowCount } = await tx.query(
    `DELETE FROM upload_outbox o USING upload_sent s
     WHERE o.id = ANY($1::bigint[]) AND s.platform_id = o.platform_id AND s.kind = o.kind
       AND s.object_id = o.object_id`,
    [rows.map((r) => r.id)],
  );
  return rows.length - (rowCount ?? 0);
}

export function createOutboxStore(pool: Pool): OutboxStore {
  return {
    async enqueue(entries) {
      if (entries.length === 0) return 0;
      return withTransaction(pool, (tx) => enqueueIn(tx, entries));
    },

    async claim(platformId, limit, leaseMs) {
      const { rows } = await pool.query<Row>(
        `UPDATE upload_outbox o SET next_attempt_at = now() + make_interval(secs => $3::double precision / 1000),
           attempts = o.attempts + 1
         FROM (SELECT id FROM upload_outbox WHERE platform_id = $1 AND next_attempt_at <= now()
               ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) due
         WHERE o.id = due.id
         RETURNING o.id, o.platform_id, o.kind, o.object_id, o.source_event_id, o.compound_id, o.device_id, o.body,
           o.images, o.pictures, o.captured_at, o.enqueued_at, o.attempts, o.target_url`,
        [platformId, limit, leaseMs],
      );
      return rows.map(fromRow).sort((a, b) => Number(a.id) - Number(b.id));
    },

    async settle(settlements, producer) {
      if (settlements.length === 0) return;
      await withTransaction(pool, async (client) => {
        // One statement for every outcome: accepted and rejected rows leave the outbox (the
        // accepted id is remembered, the rejected row becomes a dead letter), the rest wait.
        await client.query(
          `WITH r AS (
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
               AS r(id, outcome, code, reason, retry_at)),
           gone AS (
             DELETE FROM upload_outbox o USING r WHERE o.id = r.id AND r.outcome <> 'retry'
             RETURNING o.platform_id, o.kind, o.object_id, o.source_event_id, o.compound_id, o.device_id, o.body,
               o.images, o.captured_at, o.enqueued_at, o.attempts, o.target_url, r.outcome, r.code, r.reason),
           sent AS (
             INSERT INTO upload_sent (platform_id, kind, object_id)
             SELECT platform_id, kind, object_id FROM gone WHERE outcome = 'accepted' ON CONFLICT DO NOTHING),
           dead AS (
             INSERT INTO upload_dead_letter (platform_id, kind, object_id, source_event_id, compound_id, device_id,
               body, images, captured_at, enqueued_at, attempts, status_code, reason, target_url)
             SELECT platform_id, kind, object_id, source_event_id, compound_id, device_id, body, images, captured_at,
               enqueued_at, attempts, code, reason, target_url
             FROM gone WHERE outcome = 'rejected'
             ON CONFLICT (platform_id, kind, object_id) DO UPDATE SET status_code = EXCLUDED.status_code,
               reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, rejected_at = now())
           UPDATE upload_outbox o SET next_attempt_at = r.retry_at, last_status = r.reason
           FROM r WHERE o.id = r.id AND r.outcome = 'retry'`,
          [
            settlements.map((s) => s.row.id),
            settlements.map((s) => s.outcome),
            settlements.map((s) => s.code),
            settlements.map((s) =>
              s.outcome === 'retry' ? `${s.code} ${s.text}`.trim().slice(0, 500) : s.text.slice(0, 2000),
            ),
            settlements.map((s) => s.retryAt ?? new Date()),
          ],
        );
        const byCompound = new Map<string, Settlement[]>();
        for (const s of settlements) {
          if (s.outcome === 'retry') continue;
          const done = byCompound.get(s.row.compoundId);
          if (done) done.push(s);
          else byCompound.set(s.row.compoundId, [s]);
        }
        if (byCompound.size > 0) {
          const answeredAt = new Date();
          // One receipt per compound of the answer (the topic's key), not one per object.
          await outboxEventPublisher(client, producer).publishMany(
            topics.policeUploadBatchReceipt,
            [...byCompound].map(([compoundId, done]) => ({
              payload: {
                platformId: done[0]!.row.platformId,
                answeredAt: timestamp(answeredAt),
                objects: done.map((s) => ({
                  objectKind: KIND_OF[s.row.kind] ?? UploadObjectKind.UPLOAD_OBJECT_KIND_UNSPECIFIED,
                  objectId: s.row.objectId,
                  sourceEventId: s.row.sourceEventId,
                  deviceId: s.row.deviceId,
                  outcome:
                    s.outcome === 'accepted'
                      ? UploadOutcome.UPLOAD_OUTCOME_ACCEPTED
                      : UploadOutcome.UPLOAD_OUTCOME_REJECTED,
                  statusCode: s.code,
                  statusString: s.text.slice(0, 500),
                  attempts: s.row.attempts,
                  enqueuedAt: timestamp(s.row.enqueuedAt),
                })),
              },
              options: { compoundId, occurredAt: answeredAt },
            })),
          );
        }
      });
    },

    async release(rows, at) {
      if (rows.length === 0) return;
      await pool.query(
        `UPDATE upload_outbox SET next_attempt_at = $2, attempts = GREATEST(attempts - 1, 0) WHERE id = ANY($1::bigint[])`,
        [rows.map((r) => r.id), at],
      );
    },

    async backlog(platformId) {
      const { rows } = await pool.query<{
        platform_id: string;
        compound_id: string;
        backlog: string;
        oldest: Date | null;
      }>(
        `SELECT platform_id, compound_id, count(*) AS backlog, min(enqueued_at) AS oldest FROM upload_outbox
         WHERE ($1::text IS NULL OR platform_id = $1) GROUP BY platform_id, compound_id ORDER BY 1, 2`,
        [platformId ?? null],
      );
      return rows.map((r) => ({
        platformId: r.platform_id,
        compoundId: r.compound_id,
        backlog: Number(r.backlog),
        ...(r.oldest ? { oldestEnqueuedAt: r.oldest } : {}),
      }));
    },

    async enqueuedPictureBytes() {
      const { rows } = await pool.query<{ platform_id: string; bytes: string }>(
        `SELECT platform_id, sum(picture_bytes) AS bytes FROM upload_outbox WHERE picture_bytes > 0
         GROUP BY platform_id`,
      );
      return new Map(rows.map((r) => [r.platform_id, Number(r.bytes)]));
    },

    async pruneSent(olderThan) {
      const { rowCount } = await pool.query('DELETE FROM upload_sent WHERE sent_at < $1', [olderThan]);
      return rowCount ?? 0;
    },

    async deadLetters(platformId, limit) {
      const { rows } = await pool.query<{
        id: string;
        platform_id: string;
        kind: string;
        object_id: string;
        source_event_id: string;
        compound_id: string;
        status_code: string;
        reason: string;
        attempts: number;
        rejected_at: Date;
      }>(
        `SELECT id, platform_id, kind, object_id, source_event_id, compound_id, status_code, reason, attempts, rejected_at
         FROM upload_dead_letter WHERE platform_id = $1 ORDER BY rejected_at DESC, id DESC LIMIT $2`,
        [platformId, limit],
      );
      return rows.map((r) => ({
        id: r.id,
        platformId: r.platform_id,
        kind: r.kind,
        objectId: r.object_id,
        sourceEventId: r.source_event_id,
        compoundId: r.compound_id,
        statusCode: r.status_code,
        reason: r.reason,
        attempts: r.attempts,
        rejectedAt: r.rejected_at,
      }));
    },

    async retryDeadLetters(platformId, ids) {
      const { rowCount } = await pool.query(
        `WITH moved AS (
           DELETE FROM upload_dead_letter WHERE platform_id = $1 AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
           RETURNING platform_id, kind, object_id, source_event_id, compound_id, device_id, body, images, captured_at,
             enqueued_at, target_url)
         INSERT INTO upload_outbox (platform_id, kind, object_id, source_event_id, compound_id, device_id, body, images,
           captured_at, enqueued_at, target_url)
         SELECT * FROM moved ON CONFLICT (platform_id, kind, object_id) DO NOTHING`,
        [platformId, ids.length > 0 ? ids : null],
      );
      return rowCount ?? 0;
    },
  };
}
