/**
 * The search over stored access records (written by records.ts with each decision): a
 * compound's records newest first, keyset-paged on (occurred_at, record_id), with the door's
 * and person's names joined in. Names are decrypted here and masked or revealed by the edge;
 * a revealing read writes its audit row in the transaction that reads the names. Retention
 * deletes the oldest records in batches.
 */
import { anfang } from '@anfang/contracts';
import type { FieldCipher } from '@anfang/platform/crypto';
import { withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import type { Reason } from '../domain/decision.ts';
import type { AuditContext } from './registry.ts';

const { DeviceRef } = anfang.common.v1;

export interface AccessRecordQuery {
  readonly compoundId: string;
  readonly doorId?: string;
  readonly personId?: string;
  /** Inclusive. */
  readonly from?: Date;
  /** Exclusive. */
  readonly to?: Date;
  readonly allowed?: boolean;
  /** The keyset position after the previous page's last row. */
  readonly before?: { readonly at: Date; readonly recordId: string };
  readonly limit: number;
}

export interface StoredAccessRecord {
  readonly recordId: string;
  readonly occurredAt: Date;
  readonly compoundId: string;
  readonly doorId: string | null;
  readonly doorName: string | null;
  readonly device: anfang.common.v1.DeviceRef;
  readonly personId: string | null;
  /** Decrypted: the caller masks it unless the read is audited. */
  readonly personName: string | null;
  readonly role: number;
  readonly credentialType: number;
  readonly credentialMasked: string;
  readonly allowed: boolean;
  readonly reason: Reason;
  readonly direction: number;
  readonly snapshotKey: string | null;
  readonly path: number;
  readonly visitorPassId: string | null;
}

interface Row {
  record_id: string;
  occurred_at: Date;
  compound_id: string;
  door_id: string | null;
  door_name: string | null;
  device: Buffer;
  person_id: string | null;
  name_enc: string | null;
  role: number;
  credential_type: number;
  credential_masked: string;
  allowed: boolean;
  reason: Reason;
  direction: number;
  snapshot_key: string | null;
  path: number;
  visitor_pass_id: string | null;
}

export interface AccessRecordStore {
  /** One page (the caller asks for one row more than it shows); with `audit`, the read is audited. */
  list(query: AccessRecordQuery, audit?: AuditContext): Promise<StoredAccessRecord[]>;
  /** Deletes up to `batch` records older than `before`; returns how many. */
  prune(before: Date, batch: number): Promise<number>;
}

export function createAccessRecordStore(options: {
  readonly pool: Pool;
  readonly cipher: FieldCipher;
}): AccessRecordStore {
  const { pool, cipher } = options;

  async function select(client: ClientBase | Pool, q: AccessRecordQuery): Promise<Row[]> {
    const { rows } = await client.query<Row>(
      `SELECT r.*, d.name AS door_name, p.name_enc
         FROM access_records r
         LEFT JOIN doors d ON d.door_id = r.door_id
         LEFT JOIN persons p ON p.person_id = r.person_id
        WHERE r.compound_id = $1
          AND ($2::uuid IS NULL OR r.door_id = $2)
          AND ($3::uuid IS NULL OR r.person_id = $3)
          AND ($4::timestamptz IS NULL OR r.occurred_at >= $4)
          AND ($5::timestamptz IS NULL OR r.occurred_at < $5)
          AND ($6::boolean IS NULL OR r.allowed = $6)
          AND ($7::timestamptz IS NULL OR (r.occurred_at, r.record_id) < ($7, $8::uuid))
        ORDER BY r.occurred_at DESC, r.record_id DESC
        LIMIT $9`,
      [
        q.compoundId,
        q.doorId ?? null,
        q.personId ?? null,
        q.from ?? null,
        q.to ?? null,
        q.allowed ?? null,
        q.before?.at ?? null,
        q.before?.recordId ?? null,
        q.limit,
      ],
    );
    return rows;
  }

  const fromRow = (row: Row): StoredAccessRecord => ({
    recordId: row.record_id,
    occurredAt: row.occurred_at,
    compoundId: row.compound_id,
    doorId: row.door_id,
    doorName: row.door_name,
    device: DeviceRef.decode(row.device),
    personId: row.person_id,
    personName: row.person_id && row.name_enc ? cipher.decryptString(row.name_enc, row.person_id) : null,
    role: row.role,
    credentialType: row.credential_type,
    credentialMasked: row.credential_masked,
    allowed: row.allowed,
    reason: row.reason,
    direction: row.direction,
    snapshotKey: row.snapshot_key,
    path: row.path,
    visitorPassId: row.visitor_pass_id,
  });

  return {
    async list(query, audit) {
      if (!audit) return (await select(pool, query)).map(fromRow);
      return withTransaction(pool, async (client) => {
        const records = (await select(client, query)).map(fromRow);
        const personIds = [...new Set(records.flatMap((r) => (r.personName ? [r.personId!] : [])))];
        // One row per person whose name was shown, like a GetPerson with reveal.
        if (personIds.length > 0)
          await client.query(
            `INSERT INTO audit_log (actor_subject, actor_role, purpose, action, subject_kind, subject_id, fields)
             SELECT $1, $2, $3, 'access-record.read', 'person', unnest($4::text[]), ARRAY['name']`,
            [audit.caller.subject, audit.caller.role, audit.purpose, personIds],
          );
        return records;
      });
    },

    async prune(before, batch) {
      const { rowCount } = await pool.query(
        `DELETE FROM access_records WHERE record_id IN (
           SELECT record_id FROM access_records WHERE occurred_at < $1
            ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, batch],
      );
      return rowCount ?? 0;
    },
  };
}

/** Records are pruned this many at a time, so one sweep after a long pause holds no long locks. */
const PRUNE_BATCH = 5_000;

/** Deletes every record older than `before`, a batch at a time; returns how many. */
export async function pruneAccessRecords(
  store: AccessRecordStore,
  before: Date,
  signal?: AbortSignal,
): Promise<number> {
  let total = 0;
  while (!signal?.aborted) {
    const deleted = await store.prune(before, PRUNE_BATCH);
    total += deleted;
    if (deleted < PRUNE_BATCH) break;
  }
  return total;
}
