/**
 * Child process of the bus contract's crash test (run with `node`, killed with SIGKILL):
 *
 *   kafka <brokers,...> <topic> <group>   |   embedded <pgUrl> <topic> <group>
 *
 * subscribes from the earliest offset with a batch handler that prints `BATCH <values>` for the
 * first batch it gets and then never returns, so the batch is applied but never committed.
 */
import { writeSync } from 'node:fs';
import { createEmbeddedBus, createKafkaBus, type Bus } from '../src/bus/index.ts';

const [kind, address, topic, group] = process.argv.slice(2);
if (!kind || !address || !topic || !group) throw new Error('usage: kafka|embedded <address> <topic> <group>');

const bus: Bus =
  kind === 'kafka'
    ? await createKafkaBus({
        brokers: address.split(','),
        clientId: 'bus-batch-child',
        // The broker's smallest session: the killed member is dropped from the group soon.
        consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
      })
    : await createEmbeddedBus({
        connectionString: address,
        consumer: { heartbeatIntervalMs: 250, sessionTimeoutMs: 3_000, pollIntervalMs: 250 },
        retentionSweepIntervalMs: 0,
      });

await bus.subscribe({
  group,
  topics: [topic],
  start: 'earliest',
  batchHandler: async (messages) => {
    writeSync(1, `BATCH ${messages.map((m) => Buffer.from(m.value).toString()).join(',')}\n`);
    await new Promise(() => undefined);
  },
});
writeSync(1, 'READY\n');
