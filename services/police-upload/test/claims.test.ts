/**
 * The claim's lease is the row lock of the transaction that claimed: against the real database,
 * two stores on pools of their own stand for two replicas' senders of one platform (one no link
 * of the running service sends for, so that only these claims touch its rows).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, poolConfig, type Pool } from '@anfang/platform/pg';
import { createOutboxStore, type ClaimedBatch, type OutboxStore } from '../src/store/outbox.ts';
import { startHarness, type Harness } from './harness.ts';

const PLATFORM = '37030300005030009099';
const PRODUCER = 'police-upload-claims-test';

let h: Harness;
let pools: Pool[];
let first: OutboxStore;
let second: OutboxStore;

beforeAll(async () => {
  h = await startHarness('police-upload-claims');
  await h.sql.query(
    `INSERT INTO upper_platform (platform_id, base_url, username, password_ref, enabled)
     VALUES ($1, 'http://127.0.0.1:9', 'u', 'none', false)`,
    [PLATFORM],
  );
  const url = poolConfig(h.sql).connectionString!;
  pools = ['claims-first', 'claims-second'].map((applicationName) =>
    createPool({ url, applicationName, max: 4 }),
  );
  [first, second] = pools.map(createOutboxStore) as [OutboxStore, OutboxStore];
});
afterAll(async () => {
  await Promise.all(pools?.map((p) => p.end()) ?? []);
  await h?.close();
});

/** Outbox rows of the test's platform, due now; returns their ids in order. */
async function enqueue(count: number): Promise<string[]> {
  await h.sql.query('DELETE FROM upload_outbox WHERE platform_id = $1', [PLATFORM]);
  const { rows } = await h.sql.query<{ id: string }>(
    `INSERT INTO upload_outbox (platform_id, kind, object_id, source_event_id, body, captured_at)
     SELECT $1, 'faces', 'object-' || i, 'event-' || i, '{}', now() FROM generate_series(1, $2) AS i
     RETURNING id`,
    [PLATFORM, count],
  );
  return rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
}

const ids = (batch: ClaimedBatch | undefined) => batch?.rows.map((r) => r.id) ?? [];
const stored = async () =>
  (
    await h.sql.query<{ id: string; ctid: string; attempts: number; due: boolean }>(
      `SELECT id, ctid::text, attempts, next_attempt_at <= now() AS due FROM upload_outbox
       WHERE platform_id = $1 ORDER BY id`,
      [PLATFORM],
    )
  ).rows;

describe('claims held by their transaction', () => {
  it('lock the rows without writing them: another claim skips them, a give-back makes them due at once', async () => {
    const enqueued = await enqueue(4);
    const before = await stored();
    const held = await first.claim(PLATFORM, 2, 5_000);
    expect(ids(held)).toEqual(enqueued.slice(0, 2));
    expect(held!.rows.map((r) => r.attempts)).toEqual([1, 1]);
    // The same row versions, attempts and due times: the claim wrote nothing.
    expect(await stored()).toEqual(before);

    const other = await second.claim(PLATFORM, 10, 5_000);
    expect(ids(other)).toEqual(enqueued.slice(2));
    await other!.release();
    await held!.release();
    const again = await second.claim(PLATFORM, 10, 5_000);
    expect(ids(again)).toEqual(enqueued);
    await again!.release();
    expect(await stored()).toEqual(before);
  });

  it('count an attempt only where the row is written: a retry, not a give-back', async () => {
    const [retried, delayed] = await enqueue(2);
    const held = (await first.claim(PLATFORM, 10, 5_000))!;
    const retryAt = new Date(Date.now() + 60_000);
    await held.settle(
      [{ row: held.rows[0]!, outcome: 'retry', code: '3', text: 'busy', retryAt }],
      PRODUCER,
      new Date(),
    );
    // Settled: the row without an answer was given back with the claim's end.
    const next = (await first.claim(PLATFORM, 10, 5_000))!;
    expect(ids(next)).toEqual([delayed]);
    await next.release(new Date(Date.now() + 60_000));
    expect(await stored()).toMatchObject([
      { id: retried, attempts: 1, due: false },
      { id: delayed, attempts: 0, due: false },
    ]);
  });

  it('end with the connection of a sender that died: its rows are claimed again at once', async () => {
    const enqueued = await enqueue(3);
    const held = (await first.claim(PLATFORM, 10, 5_000))!;
    expect(ids(held)).toEqual(enqueued);
    const killed = await h.sql.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'claims-first' AND state = 'idle in transaction'`,
    );
    expect(killed.rowCount).toBe(1);
    const again = await waitForClaim(second);
    expect(ids(again)).toEqual(enqueued);
    // The dead sender's answer cannot be recorded any more; the new claim's is.
    const accepted = (b: ClaimedBatch) =>
      b.rows.map((row) => ({ row, outcome: 'accepted' as const, code: '0', text: 'OK' }));
    await expect(held.settle(accepted(held), PRODUCER, new Date())).rejects.toThrow();
    await again.settle(accepted(again), PRODUCER, new Date());
    expect(await stored()).toEqual([]);
  });

  it('end when held past their bound without a statement (a hung sender)', async () => {
    const enqueued = await enqueue(2);
    const held = (await first.claim(PLATFORM, 10, 300))!;
    await sleep(1_000);
    const again = await waitForClaim(second);
    expect(ids(again)).toEqual(enqueued);
    await expect(
      held.settle(
        held.rows.map((row) => ({ row, outcome: 'accepted' as const, code: '0', text: 'OK' })),
        PRODUCER,
        new Date(),
      ),
    ).rejects.toThrow();
    await again.release();
    expect((await stored()).map((r) => r.attempts)).toEqual([0, 0]);
  });
});

/** The next claim that finds rows (the server notices a closed session within moments). */
async function waitForClaim(store: OutboxStore): Promise<ClaimedBatch> {
  for (let i = 0; i < 50; i += 1) {
    const batch = await store.claim(PLATFORM, 10, 5_000);
    if (batch) return batch;
    await sleep(100);
  }
  throw new Error('no rows due again');
}
