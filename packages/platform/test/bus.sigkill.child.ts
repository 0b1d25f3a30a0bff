/**
 * Child process of bus.embedded.sigkill.test.ts (run with `node`, killed with SIGKILL).
 *
 *   producer <pgUrl> <topic>          publishes events one by one (10 calls in flight) for ever;
 *                                     prints `SEND <id>` before and `ACK <id>` after each publish
 *   consumer <pgUrl> <topic> <group> <run>
 *                                     consumes with the typed layer; records every delivery in
 *                                     sigkill_deliveries, and applies the effect exactly once
 *                                     (sigkill_counts, deduped by sigkill_marks in the same transaction)
 *
 * Lines are written with writeSync, so what the parent reads was printed before any kill.
 */
import { writeSync } from 'node:fs';
import pg from 'pg';
import { eventCodecs } from '@anfang/contracts';
import {
  consume,
  createEmbeddedBus,
  createEventPublisher,
  uuidv7,
  type TopicDefinition,
} from '../src/bus/index.ts';

const [mode, url, topicName, group, run] = process.argv.slice(2);
if (!mode || !url || !topicName) throw new Error('usage: producer|consumer <pgUrl> <topic> [group run]');

const codec = eventCodecs['anfang.device.v1.DeviceStatusChanged'];
type Status = ReturnType<typeof codec.decode>;
type StatusInit = Parameters<typeof codec.encode>[0];
const topic: TopicDefinition<Status, StatusInit> = {
  name: topicName,
  description: 'sigkill test',
  producers: ['sigkill-producer'],
  consumers: ['sigkill-consumer'],
  key: 'device',
  keyOf: (m) => m.device?.deviceId ?? '',
  payload: codec,
  partitions: 4,
  retentionMs: 24 * 3600 * 1000,
  compacted: false,
  companions: true,
  personalData: false,
};

const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};

const bus = await createEmbeddedBus({
  connectionString: url,
  consumer: { heartbeatIntervalMs: 250, sessionTimeoutMs: 2_000, pollIntervalMs: 200, maxBatchMessages: 50 },
  retentionSweepIntervalMs: 0,
});

if (mode === 'producer') {
  await bus.ensureTopics([topic]);
  const publisher = createEventPublisher({ bus, producer: 'sigkill-producer' });
  say('READY');
  let n = 0;
  const worker = async (): Promise<never> => {
    for (;;) {
      const id = uuidv7();
      const device = `device-${n++ % 37}`;
      say(`SEND ${id}`);
      await publisher.publish(topic, { device: { deviceId: device } }, { eventId: id });
      say(`ACK ${id}`);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
} else if (mode === 'consumer') {
  if (!group || !run) throw new Error('consumer needs <group> <run>');
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query(
    `CREATE TABLE IF NOT EXISTS sigkill_deliveries (event_id text NOT NULL, run int NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
  );
  await pool.query(`CREATE TABLE IF NOT EXISTS sigkill_marks (event_id text PRIMARY KEY, run int NOT NULL)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS sigkill_counts (device text PRIMARY KEY, n int NOT NULL)`);
  await consume(bus, {
    group,
    topics: [topic],
    start: 'earliest',
    handler: async (event) => {
      await pool.query('INSERT INTO sigkill_deliveries (event_id, run) VALUES ($1, $2)', [
        event.eventId,
        Number(run),
      ]);
      // The effect (a counter, not idempotent by itself) and its dedupe mark commit together:
      // applied exactly once per event id.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const mark = await client.query(
          'INSERT INTO sigkill_marks (event_id, run) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING',
          [event.eventId, Number(run)],
        );
        if (mark.rowCount === 1) {
          await client.query(
            'INSERT INTO sigkill_counts (device, n) VALUES ($1, 1) ON CONFLICT (device) DO UPDATE SET n = sigkill_counts.n + 1',
            [event.payload.device?.deviceId ?? ''],
          );
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
      say(`GOT ${event.eventId}`);
    },
  });
  say('READY');
} else {
  throw new Error(`unknown mode ${mode}`);
}
