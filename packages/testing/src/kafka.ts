import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { infraEnv, withHint } from './env.ts';
import { uniqueName } from './names.ts';

/** A kafkajs client for the infrastructure's Kafka (quiet logs unless told otherwise). */
export function kafkaClient(config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'anfang-test',
    brokers: infraEnv().kafkaBrokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    retry: { retries: 3 },
    ...config,
  });
}

export interface TestTopic {
  topic: string;
  drop(): Promise<void>;
}

/** Creates a fresh topic (topics are never auto-created) and waits until it has a leader. */
export async function createTestTopic(
  label: string,
  options: { partitions?: number; configEntries?: { name: string; value: string }[] } = {},
): Promise<TestTopic> {
  const topic = uniqueName(label);
  const admin = kafkaClient().admin();
  try {
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: options.partitions ?? 1,
          replicationFactor: 1,
          ...(options.configEntries ? { configEntries: options.configEntries } : {}),
        },
      ],
    });
  } catch (err) {
    throw withHint(err, `creating test topic ${topic}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return { topic, drop: () => deleteTopics([topic]) };
}

/** Deletes the given topics, best effort (unknown topics and errors are ignored): for test cleanup. */
export async function deleteTopics(names: string[]): Promise<void> {
  const topics = [...new Set(names.filter(Boolean))];
  if (topics.length === 0) return;
  const admin = kafkaClient({ retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return;
    try {
      await admin.deleteTopics({ topics: present, timeout: 15_000 });
    } catch {
      for (const t of present)
        await admin.deleteTopics({ topics: [t], timeout: 15_000 }).catch(() => undefined);
    }
  } catch {
    // best effort
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
