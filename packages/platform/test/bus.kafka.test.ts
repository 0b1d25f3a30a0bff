/** The bus contract against the infrastructure's Kafka 4 (KRaft). */
import { deleteTopics, infraEnv } from '@anfang/testing';
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
