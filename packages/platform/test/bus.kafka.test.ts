/** The bus contract against the infrastructure's Kafka 4 (KRaft), and what is Kafka's own. */
import { createTestTopic, deleteTopics, infraEnv, kafkaClient } from '@anfang/testing';
import { describe, expect, it } from 'vitest';
import { createKafkaBus } from '../src/bus/index.ts';
import { busContract } from './bus.contract.ts';

busContract('kafka', async () => {
  const { kafkaBrokers } = infraEnv();
  return {
    newBus: () =>
      createKafkaBus({
        brokers: kafkaBrokers,
        clientId: 'bus-contract-test',
        replicationFactor: 1,
        consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
        logger: {
          info: () => {},
          warn: () => {},
          error: (fields, message) => console.error(message, fields),
        },
      }),
    child: ['kafka', kafkaBrokers.join(',')],
    sessionTimeoutMs: 10_000,
    cleanup: (topics) => deleteTopics(topics),
  };
});

describe('kafka bus: a send that failed after the broker wrote part of it', () => {
  // One produce request carries both publishes; the broker writes the small message and refuses
  // the oversized one, and kafkajs fails the whole send — one way to a send that failed although
  // the broker wrote it (a broker restart is the other: bus.kafka.restart.test.ts). kafkajs then
  // hands the written message's sequence number to the next send, which the broker took for a
  // resend and dropped while answering "written".
  it('costs no later publish its message', async () => {
    const capped = await createTestTopic('bus-capped', {
      configEntries: [{ name: 'max.message.bytes', value: '1024' }],
    });
    const plain = await createTestTopic('bus-plain');
    // Created after the topics, so it knows them: both publishes reach the batcher in one tick.
    const bus = await createKafkaBus({ brokers: infraEnv().kafkaBrokers, clientId: 'bus-failed-send-test' });
    const encoder = new TextEncoder();
    try {
      const [first, oversized] = await Promise.allSettled([
        bus.publish(plain.topic, [{ key: 'k', value: encoder.encode('first') }]),
        bus.publish(capped.topic, [{ key: 'k', value: new Uint8Array(4096) }]),
      ]);
      expect(oversized.status).toBe('rejected');
      expect(first.status, 'both publishes went in one send').toBe('rejected');

      // Acknowledged: it must be in the log, after the failed send's message (which was written
      // all the same; its caller sends it again, a duplicate consumers drop by event id).
      await bus.publish(plain.topic, [{ key: 'k', value: encoder.encode('second') }]);
      const admin = kafkaClient().admin();
      await admin.connect();
      try {
        const [partition] = await admin.fetchTopicOffsets(plain.topic);
        expect(partition?.high, "messages in the log: the failed send's and the acknowledged one").toBe('2');
      } finally {
        await admin.disconnect();
      }
    } finally {
      await bus.close();
      await Promise.all([capped.drop(), plain.drop()]);
    }
  });
});
