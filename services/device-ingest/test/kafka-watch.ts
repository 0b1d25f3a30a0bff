/**
 * A test's view of catalogue topics: a kafkajs consumer in a fresh group that starts at each
 * topic's current end, so a test sees only what it caused, however much history the shared
 * topics hold (benchmarks, earlier runs). The end offsets are fetched with the admin client first
 * and the consumer seeks to them when it joins (kafkajs alone would resolve "latest" at its first
 * fetch, a little later): nothing published after `watchFromEnd` is called is missed, nothing
 * published before it is read. It resolves once the consumer has joined its group, so the test's
 * own time limits are not spent on the join. (Not admin.setOffsets: kafkajs implements it by
 * joining the group with a consumer, one join per topic — seconds each.)
 */
import { randomUUID } from 'node:crypto';
import { kafkaClient } from '@anfang/testing';
import { whileRetriable } from '@anfang/platform/bus';

// kafkajs is @anfang/testing's dependency, not this package's: its types through kafkaClient.
type Consumer = ReturnType<ReturnType<typeof kafkaClient>['consumer']>;
type EachMessage = NonNullable<NonNullable<Parameters<Consumer['run']>[0]>['eachMessage']>;
export type EachMessagePayload = Parameters<EachMessage>[0];

export interface TopicWatch {
  readonly consumer: Consumer;
  close(): Promise<void>;
}

export async function watchFromEnd(options: {
  readonly label: string;
  readonly topics: readonly string[];
  readonly eachMessage: (payload: EachMessagePayload) => Promise<void>;
  readonly maxWaitTimeInMs?: number;
  readonly joinTimeoutMs?: number;
}): Promise<TopicWatch> {
  const groupId = `${options.label}-watch-${randomUUID()}`;
  const topics = [...new Set(options.topics)];
  const kafka = kafkaClient();

  const ends = new Map<string, Map<number, string>>();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics)
      ends.set(
        topic,
        new Map(
          (await whileRetriable(() => admin.fetchTopicOffsets(topic))).map((p) => [p.partition, p.high]),
        ),
      );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100 });
  const joinTimeoutMs = options.joinTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let firstJoin = true;
  const joined = new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${groupId}: consumer did not join within ${joinTimeoutMs} ms`)),
      joinTimeoutMs,
    );
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (!firstJoin) return;
      firstJoin = false;
      // A fresh group has no committed offsets: start every assigned partition at the end above.
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment))
        for (const partition of partitions) {
          const offset = ends.get(topic)?.get(partition);
          if (offset !== undefined) consumer.seek({ topic, partition, offset });
        }
      resolve();
    });
  });
  joined.catch(() => undefined); // awaited below; a failure before that must not be unhandled
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({ eachMessage: options.eachMessage });
    await joined;
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { consumer, close: () => consumer.disconnect().catch(() => undefined) };
}
