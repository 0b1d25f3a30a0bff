/**
 * The environment of the chart's hook Jobs: the topic Job reads the same Kafka settings the
 * services read (busEnv), so one block of values configures both.
 */
import {
  busEnv,
  composeEnv,
  envFragment,
  loadConfig,
  serviceEnv,
  z,
  type Env,
} from '@anfang/platform/config';

export const topicJobEnv = envFragment({
  /** Replication factor of created topics; -1 leaves it to the brokers' default. */
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(-1).default(-1),
});

export const topicJobSchema = composeEnv(serviceEnv, busEnv, topicJobEnv);

export type TopicJobConfig = z.output<typeof topicJobSchema>;

export function loadTopicJobConfig(env: Env): TopicJobConfig {
  return loadConfig(topicJobSchema, { env, exitOnError: true });
}
