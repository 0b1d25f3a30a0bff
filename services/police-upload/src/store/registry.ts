/**
 * The registry snapshot (table registry_record: the latest event of each person, house and
 * registered vehicle) and the entitlement lock under which live registry uploads and back-fills
 * meet. The consumer records a batch's registry events and enqueues them for the platforms
 * entitled at that moment holding the lock shared; UpdatePlatform holds it exclusively while it
 * changes a platform and back-fills from the snapshot. Either the batch commits first (the
 * back-fill reads its records) or the change does (the batch reads the new entitlements), so a
 * record changing while a platform is being entitled is neither missed nor enqueued twice.
 */
import { topics } from '@anfang/contracts';
import { withTransaction, type ClientBase, type Pool, type PoolClient } from '@anfang/platform/pg';
import { backfillObjects, snapshotTopics, type SnapshotEvent } from '../domain/backfill.ts';
import { devicesIn } from './devices.ts';
import { enqueueIn, type OutboxEntry } from './outbox.ts';
import { platformsIn, upsertPlatformIn, type Platform } from './platforms.ts';

const LOCK = 'police-upload:entitlements';

export interface RegistryRecord {
  readonly topic: string;
  readonly recordId: string;
  readonly compoundId: string;
  readonly eventId: string;
  readonly occurredAt: Date;
  readonly payload: Uint8Array;
}

/** The payload codecs of the snapshot's topics. */
const CODECS: ReadonlyMap<string, { decode(bytes: Uint8Array): unknown }> = new Map(
  [topics.identityPersonRegistry, topics.identityHouseRegistry, topics.vehicleRegistry].map((t) => [
    t.name,
    t.payload,
  ]),
);

/** Runs `fn` in a transaction holding the entitlement lock (exclusive: a platform changes). */
export function withEntitlementLock<T>(
  pool: Pool,
  mode: 'shared' | 'exclusive',
  fn: (tx: PoolClient) => Promise<T>,
): Promise<T> {
  return withTransaction(pool, async (tx) => {
    await tx.query(
      `SELECT ${mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'}(hashtext($1))`,
      [LOCK],
    );
    return fn(tx);
  });
}

/** Keeps each record's latest event (an older one, redelivered, changes nothing). */
export async function recordIn(tx: ClientBase, records: readonly RegistryRecord[]): Promise<void> {
  // One row per record and statement; a record's events come in order (one key, one partition).
  const latest = [...new Map(records.map((r) => [`${r.topic} ${r.recordId}`, r])).values()];
  if (latest.length === 0) return;
  await tx.query(
    `INSERT INTO registry_record (topic, record_id, compound_id, event_id, occurred_at, payload)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[])
     ON CONFLICT (topic, record_id) DO UPDATE SET compound_id = EXCLUDED.compound_id,
       event_id = EXCLUDED.event_id, occurred_at = EXCLUDED.occurred_at, payload = EXCLUDED.payload,
       updated_at = now()
     WHERE registry_record.occurred_at <= EXCLUDED.occurred_at`,
    [
      latest.map((r) => r.topic),
      latest.map((r) => r.recordId),
      latest.map((r) => r.compoundId),
      latest.map((r) => r.eventId),
      latest.map((r) => r.occurredAt),
      latest.map((r) => Buffer.from(r.payload)),
    ],
  );
}

/** The snapshot's records of these topics in these compounds (every compound when none given). */
export async function snapshotIn(
  tx: ClientBase,
  topicNames: readonly string[],
  compounds: readonly string[],
): Promise<SnapshotEvent[]> {
  if (topicNames.length === 0) return [];
  const { rows } = await tx.query<{ topic: string; event_id: string; payload: Buffer }>(
    `SELECT topic, event_id, payload FROM registry_record
     WHERE topic = ANY($1::text[]) AND (cardinality($2::text[]) = 0 OR compound_id = ANY($2::text[]))
     ORDER BY occurred_at, record_id`,
    [topicNames, compounds],
  );
  return rows.map((r) => ({
    topic: r.topic,
    eventId: r.event_id,
    payload: CODECS.get(r.topic)!.decode(r.payload),
  }));
}

export interface EntitlementStore {
  /**
   * Stores a platform and, in the same transaction, enqueues what it may now receive of the
   * registry and the device catalogue that it could not before; returns how many objects.
   */
  update(platform: Platform, by: string): Promise<{ platform: Platform; backfilled: number }>;
  /**
   * A consumer batch: its entries, and its registry events built for the enabled platforms as
   * stored now (`registry` is pure: it may run again if the transaction is retried).
   */
  enqueue<F>(
    entries: readonly OutboxEntry[],
    registry: (platforms: readonly Platform[]) => {
      entries: OutboxEntry[];
      records: RegistryRecord[];
      failed: F;
    },
  ): Promise<{ entries: OutboxEntry[]; failed: F }>;
}

export function createEntitlementStore(pool: Pool): EntitlementStore {
  return {
    update: (platform, by) =>
      withEntitlementLock(pool, 'exclusive', async (tx) => {
        const [before] = await platformsIn(tx, platform.platformId);
        const after = await upsertPlatformIn(tx, platform, by);
        const objects = backfillObjects(
          before,
          after,
          await snapshotIn(tx, snapshotTopics(after), after.compounds),
          await devicesIn(tx, after.compounds),
        );
        const backfilled = await enqueueIn(
          tx,
          objects.map((object) => ({ platformId: after.platformId, object })),
        );
        return { platform: after, backfilled };
      }),

    async enqueue(entries, registry) {
      return withEntitlementLock(pool, 'shared', async (tx) => {
        const built = registry((await platformsIn(tx)).filter((p) => p.enabled));
        await recordIn(tx, built.records);
        const all = [...entries, ...built.entries];
        await enqueueIn(tx, all);
        return { entries: all, failed: built.failed };
      });
    },
  };
}
