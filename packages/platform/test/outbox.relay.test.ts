/**
 * Unit-level checks of the outbox relay against a real Postgres, with a recording in-test bus.
 * The end-to-end path through the real Kafka bus is test/outbox.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { SumMetricData, GaugeMetricData } from '@opentelemetry/sdk-metrics';
import { createTestDatabase } from '@anfang/testing';
import {
  createPool,
  enqueueOutbox,
  migrate,
  OUTBOX_RELAY_LOCK,
  startOutboxRelay,
  withTransaction,
} from '../src/pg/index.ts';
import type { OutboxRelay, Pool } from '../src/pg/index.ts';
import type { Bus, OutgoingMessage } from '../src/bus/types.ts';
import { HEADER } from '../src/bus/types.ts';

type Published = {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number | undefined;
};

/** Records publishes; can fail or stall on demand. */
class RecordingBus implements Pick<Bus, 'publish'> {
  readonly published: Published[] = [];
  failNext = 0;
  /** Refuses the call with this (1-based) number. */
  failCall = 0;
  delayMs = 0;
  calls = 0;
  readonly sizes: number[] = [];
  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.calls++;
    this.sizes.push(messages.length);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext > 0 || this.calls === this.failCall) {
      this.failNext = Math.max(0, this.failNext - 1);
      throw new Error('broker unavailable');
    }
    for (const m of messages) {
      this.published.push({
        topic,
        key: m.key,
        value: Buffer.from(m.value).toString(),
        headers: { ...m.headers },
        timestamp: m.timestamp,
      });
    }
  }
}

class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const quiet = { warn: () => {}, error: () => {} };
const msg = (key: string, value: string, headers?: Record<string, string>): OutgoingMessage => ({
  key,
  value: Buffer.from(value),
  ...(headers ? { headers } : {}),
});

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pending = async (pool: Pool) =>
  Number((await pool.query('SELECT count(*) AS n FROM outbox')).rows[0].n);

describe('outbox relay (recording bus)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Pool;
  const relays: OutboxRelay[] = [];
  const start = (options: Omit<Parameters<typeof startOutboxRelay>[0], 'pool'> & { pool?: Pool }) => {
    const relay = startOutboxRelay({ pool, logger: quiet, ...options });
    relays.push(relay);
    return relay;
  };

  beforeAll(async () => {
    db = await createTestDatabase('outbox-relay');
    pool = createPool({ url: db.url, applicationName: 'outbox-relay-test', logger: quiet, max: 12 });
    await migrate(pool, {});
    await pool.query('CREATE TABLE entities (key text PRIMARY KEY, version int NOT NULL)');
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await pool.query('DELETE FROM outbox');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('publishes only committed rows, with event id, trace-free headers kept and the enqueue timestamp', async () => {
    const bus = new RecordingBus();
    start({ bus, pollIntervalMs: 50 });
    await expect(
      withTransaction(pool, async (c) => {
        await enqueueOutbox(c, 'anfang.test.rolled-back.v1', [msg('k', 'never')]);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    const before = Date.now();
    await withTransaction(pool, (c) =>
      enqueueOutbox(c, 'anfang.test.events.v1', [
        msg('k1', 'one', { [HEADER.eventId]: 'given-id', 'x-custom': 'yes' }),
        msg('k2', 'two'),
        { key: 'k3', value: new Uint8Array([0, 255, 1]), timestamp: 1_700_000_000_000 },
      ]),
    );
    await until(() => bus.published.length === 3);
    expect(bus.published.map((p) => p.topic)).toEqual(Array(3).fill('anfang.test.events.v1'));
    const [a, b, c] = bus.published;
    expect(a).toMatchObject({
      key: 'k1',
      value: 'one',
      headers: { [HEADER.eventId]: 'given-id', 'x-custom': 'yes' },
    });
    expect(b!.headers[HEADER.eventId]).toMatch(/^[0-9a-f-]{36}$/);
    expect(b!.timestamp).toBeGreaterThanOrEqual(before);
    expect(c!.timestamp).toBe(1_700_000_000_000);
    await until(async () => (await pending(pool)) === 0);
  });

  it('keeps per-key order when writers serialise on the entity, across many transactions', async () => {
    const bus = new RecordingBus();
    start({ bus, pollIntervalMs: 20, batchSize: 7 });
    const keys = ['device-a', 'device-b', 'device-c'];
    await pool.query(
      `INSERT INTO entities SELECT unnest($1::text[]), 0 ON CONFLICT (key) DO UPDATE SET version = 0`,
      [keys],
    );
    // 60 concurrent transactions; each bumps its entity's version under the row lock, then enqueues it.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        withTransaction(pool, async (c) => {
          const key = keys[i % keys.length]!;
          const { rows } = await c.query<{ version: number }>(
            'UPDATE entities SET version = version + 1 WHERE key = $1 RETURNING version',
            [key],
          );
          await new Promise((r) => setTimeout(r, Math.random() * 10));
          await enqueueOutbox(c, 'anfang.test.ordered.v1', [msg(key, String(rows[0]!.version))]);
        }),
      ),
    );
    await until(() => bus.published.length === 60);
    for (const key of keys) {
      const versions = bus.published.filter((p) => p.key === key).map((p) => Number(p.value));
      expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
  });

  it('wakes on NOTIFY without waiting for the poll interval', async () => {
    const bus = new RecordingBus();
    const relay = start({ bus, pollIntervalMs: 60_000 });
    await until(() => relay.active);
    await new Promise((r) => setTimeout(r, 100)); // the relay is now idle, sleeping for a minute
    const t0 = Date.now();
    await withTransaction(pool, (c) => enqueueOutbox(c, 'anfang.test.notify.v1', [msg('k', 'v')]));
    await until(() => bus.published.length === 1, 5_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('falls back to polling when no notification arrives', async () => {
    const bus = new RecordingBus();
    const relay = start({ bus, pollIntervalMs: 100 });
    await until(() => relay.active);
    await pool.query(
      `INSERT INTO outbox (topic, key, value, message_ts) VALUES ('anfang.test.poll.v1', 'k', 'v'::bytea, 0)`,
    );
    await until(() => bus.published.length === 1, 3_000);
  });

  it('keeps rows until the bus accepted them, retrying failures in order', async () => {
    const bus = new RecordingBus();
    bus.failNext = 3;
    const reader = new TestReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
    start({ bus, pollIntervalMs: 20, maxBackoffMs: 200, meter });
    await withTransaction(pool, (c) =>
      enqueueOutbox(c, 'anfang.test.retry.v1', [msg('k', '1'), msg('k', '2'), msg('k', '3')]),
    );
    await until(() => bus.published.length === 3);
    expect(bus.published.map((p) => p.value)).toEqual(['1', '2', '3']);
    expect(bus.calls).toBe(4);
    await until(async () => (await pending(pool)) === 0);

    const collect = async () => {
      const { resourceMetrics } = await reader.collect();
      const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      const byName = (n: string) => all.find((m) => m.descriptor.name === n);
      const sum = (n: string) =>
        ((byName(n) as SumMetricData | undefined)?.dataPoints ?? []).reduce((t, p) => t + p.value, 0);
      const gauge = (n: string) => (byName(n) as GaugeMetricData | undefined)?.dataPoints[0]?.value;
      return { sum, gauge };
    };
    const m = await collect();
    expect(m.sum('anfang.outbox.published')).toBe(3);
    expect(m.sum('anfang.outbox.failures')).toBe(3);
    expect(m.gauge('anfang.outbox.relay.active')).toBe(1);
    // The backlog gauge is a sample; it reaches 0 once the relay looked again.
    await until(async () => (await collect()).gauge('anfang.outbox.pending') === 0);
  });

  it('sends a round in chunks, in order; a refused chunk and the rows after it stay for the retry', async () => {
    const bus = new RecordingBus();
    bus.failCall = 2;
    start({ bus, pollIntervalMs: 20, maxBackoffMs: 200, batchSize: 10, publishChunk: 4 });
    const values = Array.from({ length: 10 }, (_, i) => String(i));
    await withTransaction(pool, (c) =>
      enqueueOutbox(
        c,
        'anfang.test.chunks.v1',
        values.map((v) => msg('k', v)),
      ),
    );
    await until(() => bus.published.length === 10);
    await until(async () => (await pending(pool)) === 0);
    expect(bus.published.map((p) => p.value)).toEqual(values);
    // 4 sent, 4 refused (and 2 never tried), then the next round sends the 6 left in 4 + 2.
    expect(bus.sizes).toEqual([4, 4, 4, 2]);
  });

  it('only one relay per database is active; another takes over when it stops', async () => {
    const bus = new RecordingBus();
    const first = start({ bus, pollIntervalMs: 20, standbyRetryMs: 100 });
    await until(() => first.active);
    const second = start({ bus, pollIntervalMs: 20, standbyRetryMs: 100 });
    await new Promise((r) => setTimeout(r, 300));
    expect(second.active).toBe(false);

    const produce = (from: number, n: number) =>
      withTransaction(pool, (c) =>
        enqueueOutbox(
          c,
          'anfang.test.failover.v1',
          Array.from({ length: n }, (_, i) => msg('k', String(from + i))),
        ),
      );
    await produce(0, 50);
    await until(() => bus.published.length === 50);
    await first.stop();
    await produce(50, 50);
    await until(() => second.active, 3_000);
    await until(() => bus.published.length === 100);
    expect(bus.published.map((p) => Number(p.value))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('a standby takes over when the active relay session dies', async () => {
    const bus = new RecordingBus();
    const first = start({ bus, pollIntervalMs: 20, standbyRetryMs: 100, maxBackoffMs: 200 });
    await until(() => first.active);
    const second = start({ bus, pollIntervalMs: 20, standbyRetryMs: 100, maxBackoffMs: 200 });
    // Only this test database's relay: the shared server runs other relays under the same key.
    const killed = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND (classid::bigint << 32 | objid::bigint) = $1`,
      [OUTBOX_RELAY_LOCK.toString()],
    );
    expect(killed.rowCount).toBe(1);
    await until(() => first.active !== second.active || second.active, 5_000);
    await withTransaction(pool, (c) => enqueueOutbox(c, 'anfang.test.takeover.v1', [msg('k', 'after')]));
    await until(() => bus.published.some((p) => p.value === 'after'), 5_000);
    expect([first.active, second.active].filter(Boolean)).toHaveLength(1);
  });

  it('stop() waits for the in-flight batch to be published and deleted', async () => {
    const bus = new RecordingBus();
    bus.delayMs = 400;
    const relay = start({ bus, pollIntervalMs: 20, batchSize: 10 });
    await withTransaction(pool, (c) =>
      enqueueOutbox(
        c,
        'anfang.test.stop.v1',
        Array.from({ length: 25 }, (_, i) => msg('k', String(i))),
      ),
    );
    await until(() => bus.calls === 1);
    await relay.stop();
    expect(bus.published).toHaveLength(10);
    expect(await pending(pool)).toBe(15);
    // The rest goes out with the next relay, in order.
    start({ bus: ((bus.delayMs = 0), bus), pollIntervalMs: 20 });
    await until(() => bus.published.length === 25);
    expect(bus.published.map((p) => Number(p.value))).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });
});
