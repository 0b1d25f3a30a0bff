/**
 * Watching topics from a test: a consumer group of the test file's own (parallel files and a
 * running platform never share its messages), from the latest offsets, collecting the decoded
 * events of each topic — only those of the service under test when `producer` (and
 * `compoundId`) are given, since every test file's service publishes to the same topics.
 * Typed structurally, so any bus with the platform's `subscribe` and any topic definition of
 * the contracts fit without this package depending on them.
 */
import { uniqueName } from './names.ts';

/** The part of the platform's `Bus` a watch uses. */
export interface WatchableBus {
  subscribe(options: {
    group: string;
    topics: readonly string[];
    start?: 'earliest' | 'latest';
    handler: (message: { topic: string; value: Uint8Array }) => Promise<void>;
  }): Promise<{ close(): Promise<void> }>;
}

/** The part of a topic definition a watch uses. */
export interface WatchedTopic<T> {
  readonly name: string;
  readonly payload: { decode(bytes: Uint8Array): T };
}

export interface TopicWatchOptions {
  /** Names the watch's consumer group (`<label>-watch-<random>`). */
  readonly label: string;
  readonly topics: readonly WatchedTopic<unknown>[];
  /** Keep only events whose `meta.producer` is this. */
  readonly producer?: string;
  /** Keep only events whose `meta.compound_id` is this. */
  readonly compoundId?: string;
}

export interface TopicWatch {
  /** The events of `topic` kept so far, in arrival order: one array, filled as they arrive. */
  events<T>(topic: WatchedTopic<T>): T[];
  close(): Promise<void>;
}

interface EventMetaLike {
  readonly meta?: { readonly producer?: string | null; readonly compoundId?: string | null } | null;
}

export async function watchTopics(bus: WatchableBus, options: TopicWatchOptions): Promise<TopicWatch> {
  const kept = new Map<string, unknown[]>(options.topics.map((topic) => [topic.name, []]));
  const byName = new Map(options.topics.map((topic) => [topic.name, topic]));
  const subscription = await bus.subscribe({
    group: uniqueName(`${options.label}-watch`),
    topics: options.topics.map((topic) => topic.name),
    start: 'latest',
    handler: async (message) => {
      const topic = byName.get(message.topic);
      if (!topic) return;
      const event = topic.payload.decode(message.value) as EventMetaLike;
      if (options.producer !== undefined && event.meta?.producer !== options.producer) return;
      if (options.compoundId !== undefined && event.meta?.compoundId !== options.compoundId) return;
      kept.get(topic.name)!.push(event);
    },
  });
  return {
    events<T>(topic: WatchedTopic<T>): T[] {
      const list = kept.get(topic.name);
      if (!list) throw new Error(`topic ${topic.name} is not watched`);
      return list as T[];
    },
    close: () => subscription.close(),
  };
}
