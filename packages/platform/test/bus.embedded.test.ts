/** The bus contract against the embedded log, on a fresh database of the infrastructure's Postgres. */
import pg from 'pg';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@anfang/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedBus, type Bus, type ReceivedMessage } from '../src/bus/index.ts';
import { busContract } from './bus.contract.ts';

let db: TestDatabase | undefined;

busContract('embedded (Postgres)', async () => {
  db = await createTestDatabase('bus-embedded');
  const url = db.url;
  return {
    newBus: () =>
      createEmbeddedBus({
        connectionString: url,
        poolSize: 6,
        consumer: { heartbeatIntervalMs: 250, sessionTimeoutMs: 3_000, pollIntervalMs: 250 },
        retentionSweepIntervalMs: 0,
      }),
    child: ['embedded', url],
    sessionTimeoutMs: 3_000,
    cleanup: async () => {
      await db?.drop();
    },
  };
});

describe('embedded log specifics', () => {
  let specific: TestDatabase | undefined;
  const buses: { close(): Promise<void> }[] = [];
  const day = 24 * 3600 * 1000;

  const newBus = async () => {
    specific ??= await createTestDatabase('bus-embedded-specific');
    const bus = await createEmbeddedBus({
      connectionString: specific.url,
      poolSize: 4,
      consumer: { heartbeatIntervalMs: 250, sessionTimeoutMs: 3_000, pollIntervalMs: 250 },
      retentionSweepIntervalMs: 0,
    });
    buses.push(bus);
    return bus;
  };
  const collect = async (bus: Bus, topic: string) => {
    const received: ReceivedMessage[] = [];
    const sub = await bus.subscribe({
      group: uniqueName('g'),
      topics: [topic],
      start: 'earliest',
      handler: async (m) => void received.push(m),
    });
    buses.unshift(sub);
    return received;
  };
  const text = (m: ReceivedMessage) => Buffer.from(m.value).toString();

  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => {});
    await specific?.drop();
  });

  it('a consumer never reads past an append that is still in flight, and a rolled-back append leaves no gap', async () => {
    const bus = await newBus();
    const topic = uniqueName('bus-inflight');
    await bus.ensureTopics([{ name: topic, partitions: 1, retentionMs: day }]);
    const received = await collect(bus, topic);
    const client = new pg.Client({ connectionString: specific!.url });
    await client.connect();
    const append = (value: string) =>
      client.query(
        'SELECT bus.append($1::text[], $2::int[], $3::text[], $4::bytea[], $5::jsonb, $6::bigint[])',
        [[topic], [0], ['k'], [Buffer.from(value)], '[{}]', [Date.now()]],
      );
    try {
      // A rolled-back append returns its offset.
      await client.query('BEGIN');
      await append('rolled-back');
      await client.query('ROLLBACK');
      // An append in flight (not committed) holds its partition: a later publish waits behind it.
      await client.query('BEGIN');
      await append('first');
      let secondDone = false;
      const second = bus
        .publish(topic, [{ key: 'k', value: Buffer.from('second') }])
        .then(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 800));
      expect(secondDone).toBe(false);
      expect(received).toEqual([]);
      await client.query('COMMIT');
      await second;
      await waitFor(() => received.length >= 2, { timeoutMs: 10_000 });
      expect(received.map((m) => [m.offset, text(m)])).toEqual([
        ['0', 'first'],
        ['1', 'second'],
      ]);
    } finally {
      await client.end();
    }
  });

  it('the retention sweep deletes expired prefixes and superseded values of compacted topics', async () => {
    const bus = await newBus();
    const timed = uniqueName('bus-retention');
    const compacted = uniqueName('bus-compacted');
    await bus.ensureTopics([
      { name: timed, partitions: 2, retentionMs: 60_000 },
      { name: compacted, partitions: 2, retentionMs: -1, compacted: true },
    ]);
    const now = Date.now();
    await bus.publish(timed, [
      ...Array.from({ length: 5 }, (_, i) => ({
        key: 'same',
        value: Buffer.from(`old-${i}`),
        timestamp: now - 120_000 + i,
      })),
      ...Array.from({ length: 3 }, (_, i) => ({
        key: 'same',
        value: Buffer.from(`new-${i}`),
        timestamp: now + i,
      })),
    ]);
    await bus.publish(compacted, [
      { key: 'k1', value: Buffer.from('k1-v1') },
      { key: 'k2', value: Buffer.from('k2-v1') },
      { key: 'k1', value: Buffer.from('k1-v2') },
    ]);
    await bus.sweep();
    const timedReceived = await collect(bus, timed);
    const compactedReceived = await collect(bus, compacted);
    await waitFor(() => timedReceived.length >= 3 && compactedReceived.length >= 2, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(timedReceived.map(text)).toEqual(['new-0', 'new-1', 'new-2']);
    expect(timedReceived.map((m) => m.offset)).toEqual(['5', '6', '7']);
    expect(compactedReceived.map(text).sort()).toEqual(['k1-v2', 'k2-v1']);
  });
});
