import { AssignerProtocol, Kafka, type Admin, type ITopicConfig, type KafkaConfig, logLevel } from 'kafkajs';
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
    await createTopicsWithLeaders(admin, [
      {
        topic,
        numPartitions: options.partitions ?? 1,
        replicationFactor: 1,
        ...(options.configEntries ? { configEntries: options.configEntries } : {}),
      },
    ]);
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

/**
 * Creates the missing ones of the given topics (e.g. the catalogue's `allTopics()`) and waits
 * until every partition has a leader — what the runner and the chart's topic job do before
 * services start, for tests that start a service on their own.
 */
export async function ensureTopics(specs: readonly { name: string; partitions: number }[]): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          topics: missing.map((s) => ({ topic: s.name, numPartitions: s.partitions })),
          waitForLeaders: false,
        });
      } catch (error) {
        // A concurrent test file created them first: that is the state we want.
        if (!/exist/i.test(String((error as Error).message))) throw error;
      }
    }
    await waitForLeaders(
      admin,
      specs.map((s) => s.name),
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates the topics and returns once every partition of them has a leader. Not kafkajs' own
 * wait (`createTopics({ waitForLeaders: true })`): it gives up when a broker that has just started
 * answers UNKNOWN_TOPIC_OR_PARTITION for the topic it has just created.
 */
export async function createTopicsWithLeaders(admin: Admin, topics: ITopicConfig[]): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  await waitForLeaders(
    admin,
    topics.map((t) => t.topic),
  );
}

/** Until every partition of the topics has a leader (at most 30 s). */
async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await admin
      .fetchTopicMetadata({ topics })
      .then((m) =>
        m.topics.every((t) => t.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0)),
      )
      .catch(() => false);
    if (ready) return;
    if (Date.now() > deadline)
      throw new Error(`partitions of ${topics.join(', ')} still without leaders after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface GroupMember {
  readonly memberId: string;
  readonly clientId: string;
  /** Topic → the partitions assigned to this member. */
  readonly partitions: Readonly<Record<string, readonly number[]>>;
}

/**
 * The members of a consumer group and the partitions each holds: how scale-out tests show that
 * two instances of a service split the work.
 */
export async function groupMembers(groupId: string): Promise<GroupMember[]> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return (groups[0]?.members ?? []).map((m) => {
      const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      return { memberId: m.memberId, clientId: m.clientId, partitions: decoded?.assignment ?? {} };
    });
  } finally {
    await admin.disconnect();
  }
}
