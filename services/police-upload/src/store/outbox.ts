/**
 * The durable upload outbox per platform. Objects are enqueued once per (platform, kind, id);
 * workers claim due rows with FOR UPDATE SKIP LOCKED in a transaction they keep open while the
 * batch is on the wire: the row lock is the lease, so the claim writes no new row version (nor
 * an entry in each of the table's indexes), replicas never send the same row at once, and a
 * crashed sender's rows are due again as soon as its connection closes. The answer is settled
 * in that transaction: an accepted object is deleted and its receipt written (the event outbox
 * relays it: one receipt per compound of an answered batch); a rejected one moves to
 * upload_dead_letter with the reason; one to retry gets its next attempt's time.
 */
import { anfang, timestampFromDate as timestamp, topics } from '@anfang/contracts';
import {
  outboxEventPublisher,
  withTransaction,
  type ClientBase,
  type Pool,
  type PoolClient,
} from '@anfang/platform/pg';
import type { QueryResult } from 'pg';
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
  /** This send's attempt: the attempts recorded so far (answered, not accepted) plus this one. */
  readonly attempts: number;
  readonly targetUrl: string;
}

/** Claimed rows, locked by the claim's own transaction until it is settled or given back. */
export interface ClaimedBatch {
  readonly rows: readonly OutboxRow[];
  /**
   * Records the answers (and their receipts) and ends the claim; rows without a settlement are
   * due again as they were. When the answers cannot be recorded, none is (the error is thrown),
   * and the answered rows count the attempt and are due again at `unrecordedRetryAt` — so that a
   * database refusing them is not met with a resend loop — unless another claim took them first.
   */
  settle(settlements: readonly Settlement[], producer: string, unrecordedRetryAt: Date): Promise<void>;
  /** Gives the rows back without counting an attempt: due again at `at`, or at once. */
  release(at?: Date): Promise<void>;
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
  attempts: r.attempts + 1,
  targetUrl: r.target_url,
});

export interface OutboxStore {
  /** Enqueues each object for each platform given, unless already accepted; returns how many rows were new. */
  enqueue(entries: readonly OutboxEntry[]): Promise<number>;
  /**
   * Claims up to `limit` due rows of a platform, oldest first, on a connection of the store's
   * pool held until the batch is settled or given back; undefined when none is due. The server
   * ends a claim left without a statement for `holdMs` (a hung sender), and its rows are due again.
   */
  claim(platformId: string, limit: number, holdMs: number): Promise<ClaimedBatch | undefined>;
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

/**
 * Records a batch's answers in the caller's transaction: one statement for every outcome —
 * accepted and rejected rows leave the outbox (the accepted id is remembered, the rejected row
 * becomes a dead letter), the rest wait, each answered attempt counted where its row is written
 * — and one receipt per compound of the answer.
 */
async function settleIn(
  client: ClientBase,
  settlements: readonly Settlement[],
  producer: string,
): Promise<void> {
  if (settlements.length === 0) return;
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
         enqueued_at, attempts + 1, code, reason, target_url
       FROM gone WHERE outcome = 'rejected'
       ON CONFLICT (platform_id, kind, object_id) DO UPDATE SET status_code = EXCLUDED.status_code,
         reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, rejected_at = now())
     UPDATE upload_outbox o SET next_attempt_at = r.retry_at, last_status = r.reason, attempts = o.attempts + 1
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
}

/** Ends a held claim's transaction and gives its connection back (or drops it, when it failed). */
async function end(client: PoolClient, command: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  try {
    await client.query(command);
  } catch (err) {
    client.release(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  client.release();
}

/** The claimed rows of a transaction still open on `client`: its row locks keep other senders off. */
function heldBatch(pool: Pool, client: PoolClient, rows: readonly OutboxRow[]): ClaimedBatch {
  let ended = false;
  const once = (): void => {
    if (ended) throw new Error('the claimed batch was already settled or given back');
    ended = true;
  };
  const rollback = (): Promise<void> => end(client, 'ROLLBACK').catch(() => undefined);
  return {
    rows,
    async settle(settlements, producer, unrecordedRetryAt) {
      once();
      try {
        await settleIn(client, settlements, producer);
      } catch (err) {
        // Not from a savepoint kept since the claim, which would keep the locks: rows locked by a
        // transaction and then deleted by its subtransaction cost a MultiXact per settle.
        try {
          await end(client, 'ROLLBACK');
          await pool.query(
            `UPDATE upload_outbox SET next_attempt_at = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM upload_outbox WHERE id = ANY($1::bigint[]) FOR UPDATE SKIP LOCKED)`,
            [settlements.map((s) => s.row.id), unrecordedRetryAt],
          );
        } catch {
          // The database is gone too: the rows are due again when it is back.
        }
        throw err;
      }
      await end(client, 'COMMIT');
    },
    async release(at) {
      once();
      if (at === undefined) return end(client, 'ROLLBACK');
      try {
        await client.query('UPDATE upload_outbox SET next_attempt_at = $2 WHERE id = ANY($1::bigint[])', [
          rows.map((r) => r.id),
          at,
        ]);
      } catch (err) {
        await rollback();
        throw err;
      }
      await end(client, 'COMMIT');
    },
  };
}

export function createOutboxStore(pool: Pool): OutboxStore {
  return {
    async enqueue(entries) {
      if (entries.length === 0) return 0;
      return withTransaction(pool, (tx) => enqueueIn(tx, entries));
    },

    async claim(platformId, limit, holdMs) {
      const client = await pool.connect();
      try {
        // One round trip (the simple protocol, so the values are literals): the claim's
        // transaction with its bound, and the locked rows. Without sorting, the rows are read in
        // id order from the primary key and the scan stops at the limit. Allowed to sort, the
        // planner reads and sorts every due row on every claim (the batches in flight, locked,
        // among them) while the table's statistics still describe the near-empty outbox of
        // normal operation — after an outage, until autovacuum analyzes the table.
        const results = (await client.query(
          `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${Math.ceil(holdMs)}; SET LOCAL enable_sort = off;
           SELECT id, platform_id, kind, object_id, source_event_id, compound_id, device_id, body, images, pictures,
             captured_at, enqueued_at, attempts, target_url
           FROM upload_outbox WHERE platform_id = ${client.escapeLiteral(platformId)} AND next_attempt_at <= now()
           ORDER BY id LIMIT ${Math.trunc(limit)} FOR UPDATE SKIP LOCKED`,
        )) as unknown as QueryResult<Row>[];
        const rows = results[3]!.rows;
        if (rows.length > 0) return heldBatch(pool, client, rows.map(fromRow));
        await client.query('COMMIT');
        client.release();
        return undefined;
      } catch (err) {
        await end(client, 'ROLLBACK').catch(() => undefined);
        throw err;
      }
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
