/**
 * The outbox end to end: producers commit rows in Postgres, relays publish them through the
 * real Kafka bus (`@anfang/platform/bus`), a consumer group receives them — per-key order kept,
 * nothing from rolled-back transactions, nothing lost across a relay hand-over, trace context
 * carried from the producing transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createTestDatabase, deleteTopics, infraEnv, uniqueName, waitFor } from '@anfang/testing';
import { createKafkaBus, HEADER } from '../src/bus/index.ts';
import type { KafkaBus, ReceivedMessage, Subscription } from '../src/bus/index.ts';
import { createPool, enqueueOutbox, migrate, startOutboxRelay, withTransaction } from '../src/pg/index.ts';
import type { OutboxRelay, Pool } from '../src/pg/index.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('outbox → Kafka bus', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Pool;
  let bus: KafkaBus;
  let consumerBus: KafkaBus;
  let subscription: Subscription | undefined;
  const topic = uniqueName('anfang.test.outbox');
  const received: ReceivedMessage[] = [];

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    db = await createTestDatabase('outbox-kafka');
    pool = createPool({ url: db.url, applicationName: 'outbox-kafka-test', logger: quiet, max: 12 });
    await migrate(pool);
    await pool.query('CREATE TABLE devices (id text PRIMARY KEY, version int NOT NULL)');
    const { kafkaBrokers } = infraEnv();
    const make = (clientId: string) =>
      createKafkaBus({
        brokers: kafkaBrokers,
        clientId,
        replicationFactor: 1,
        consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
        logger: quiet,
      });
    bus = await make('outbox-relay-test');
    consumerBus = await make('outbox-consumer-test');
    await bus.ensureTopics([{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);
    subscription = await consumerBus.subscribe({
      group: uniqueName('outbox-consumer'),
      topics: [topic],
      start: 'earliest',
      handler: async (m) => {
        received.push(m);
      },
    });
  });

  afterAll(async () => {
    await subscription?.close();
    await consumerBus?.close();
    await bus?.close();
    await pool?.end();
    await db?.drop();
    await deleteTopics([topic]);
  });

  it('delivers every committed change once per event id, in per-key order, across a relay hand-over', async () => {
    const devices = Array.from({ length: 6 }, (_, i) => `device-${i}`);
    await pool.query('INSERT INTO devices SELECT unnest($1::text[]), 0', [devices]);
    const relays: OutboxRelay[] = [
      startOutboxRelay({ pool, bus, pollIntervalMs: 200, standbyRetryMs: 200, batchSize: 50, logger: quiet }),
      startOutboxRelay({ pool, bus, pollIntervalMs: 200, standbyRetryMs: 200, batchSize: 50, logger: quiet }),
    ];
    const committed = new Map<string, number>(); // device -> last committed version
    const rolledBack = new Set<string>();

    const change = async (i: number) => {
      const device = devices[i % devices.length]!;
      const fail = i % 10 === 7;
      try {
        await withTransaction(pool, async (c) => {
          // The entity's row lock orders the writers of one key; the outbox row follows the write.
          const { rows } = await c.query<{ version: number }>(
            'UPDATE devices SET version = version + 1 WHERE id = $1 RETURNING version',
            [device],
          );
          const version = rows[0]!.version;
          await enqueueOutbox(c, topic, [
            {
              key: device,
              value: Buffer.from(JSON.stringify({ device, version, i })),
              headers: { [HEADER.eventType]: 'anfang.test.DeviceChanged' },
            },
          ]);
          if (fail) {
            rolledBack.add(`${device}:${version}:${i}`);
            throw new Error('simulated failure after enqueue');
          }
          committed.set(device, Math.max(committed.get(device) ?? 0, version));
        });
      } catch (err) {
        if (!fail) throw err;
      }
    };

    // First half, then a rolling restart of the active relay (the standby takes over), then the rest.
    await Promise.all(Array.from({ length: 120 }, (_, i) => change(i)));
    const active = relays.find((r) => r.active);
    expect(active).toBeDefined();
    await active!.stop();
    relays.push(
      startOutboxRelay({ pool, bus, pollIntervalMs: 200, standbyRetryMs: 200, batchSize: 50, logger: quiet }),
    );
    await Promise.all(Array.from({ length: 120 }, (_, i) => change(120 + i)));

    const expected = [...committed.values()].reduce((a, b) => a + b, 0);
    expect(expected).toBe(240 - 24);
    await waitFor(async () => new Set(received.map((m) => m.headers[HEADER.eventId])).size >= expected, {
      timeoutMs: 60_000,
    });
    await waitFor(
      async () => Number((await pool.query('SELECT count(*) AS n FROM outbox')).rows[0].n) === 0,
      {
        timeoutMs: 10_000,
      },
    );

    // Deduplicate by event id (delivery is at-least-once), keeping the first delivery.
    const seen = new Set<string>();
    const unique = received.filter((m) => {
      const id = m.headers[HEADER.eventId]!;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    expect(unique).toHaveLength(expected);
    for (const device of devices) {
      const mine = unique.filter((m) => m.key === device);
      const versions = mine.map(
        (m) => (JSON.parse(Buffer.from(m.value).toString()) as { version: number }).version,
      );
      // Rolled-back transactions consumed no version (their UPDATE rolled back too): 1, 2, 3, ...
      expect(versions).toEqual(Array.from({ length: committed.get(device)! }, (_, k) => k + 1));
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
    }
    for (const m of unique) {
      expect(m.headers[HEADER.eventType]).toBe('anfang.test.DeviceChanged');
      expect(m.topic).toBe(topic);
    }
    await Promise.all(relays.map((r) => r.stop()));
  });

  it('carries the producing transaction’s trace context to the consumer', async () => {
    const relay = startOutboxRelay({ pool, bus, pollIntervalMs: 100, logger: quiet });
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const spanId = 'b7ad6b7169203331';
      const ctx = trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
      await context.with(ctx, () =>
        withTransaction(pool, (c) =>
          enqueueOutbox(c, topic, [
            { key: 'traced', value: Buffer.from('traced'), headers: { [HEADER.eventId]: 'traced-1' } },
          ]),
        ),
      );
      await waitFor(async () => received.some((m) => m.headers[HEADER.eventId] === 'traced-1'), {
        timeoutMs: 30_000,
      });
      const m = received.find((r) => r.headers[HEADER.eventId] === 'traced-1')!;
      expect(m.headers[HEADER.traceparent]).toBe(`00-${traceId}-${spanId}-01`);
    } finally {
      await relay.stop();
    }
  });
});
