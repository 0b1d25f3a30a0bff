/**
 * The chart's pre-install/pre-upgrade Job: creates every topic of the catalogue (and its .retry
 * and .dlq companions) that does not exist yet, through the platform's bus, so production
 * brokers never auto-create a topic with default partitions. Existing topics are left untouched:
 * partitions only ever grow by an operator's decision.
 */
import { allTopics } from '@anfang/contracts/topics';
import { createBus } from '@anfang/platform/bus';
import { createLogger } from '@anfang/platform/log';
import { busConfigFrom } from '@anfang/platform/service';
import { loadTopicJobConfig } from './config.ts';

const config = loadTopicJobConfig(process.env);
const logger = createLogger({ service: config.OTEL_SERVICE_NAME, level: config.LOG_LEVEL });
const busConfig = busConfigFrom(config, logger);
const bus = await createBus(
  busConfig.kind === 'kafka'
    ? { ...busConfig, replicationFactor: config.KAFKA_REPLICATION_FACTOR }
    : busConfig,
);
try {
  const topics = allTopics();
  await bus.ensureTopics(topics);
  logger.info({ topics: topics.length, kind: busConfig.kind }, 'topics of the catalogue exist');
} finally {
  await bus.close();
}
