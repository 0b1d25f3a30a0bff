/**
 * The bus: one interface over Kafka (production) and the embedded Postgres-backed log
 * (single-site mode). Both give the same guarantees, and one contract suite
 * (test/bus.contract.ts) proves it against each:
 *
 * - `publish` resolves only when every message is durable (Kafka acks=all; a committed row);
 * - messages with the same key land on the same partition and are delivered in order;
 * - each consumer group sees every message at least once and resumes from its committed offset;
 * - a handler that throws a `PermanentError` (or whose message cannot be decoded) sends the
 *   message to `<topic>.dlq` with the reason in headers, and the consumer goes on;
 * - any other error is retried through `<topic>.retry` with back-off, then sent to the DLQ;
 * - a group can be rewound to a position and replay;
 * - a consumer group subscribes ONCE per bus, with all its topics: a second `subscribe` of a
 *   group whose subscription is open is refused (members of one group subscribed to different
 *   topic sets would be assigned partitions they never read, and lose those messages).
 */

export type Headers = Record<string, string>;

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
  /** Log-compacted (latest value per key) instead of time-retained. */
  readonly compacted?: boolean;
  /**
   * Also create `<name>.retry` and `<name>.dlq` (same partitions, time-retained; the DLQ keeps
   * messages at least 30 days). A `TopicDefinition` from the catalogue is a `TopicSpec`.
   */
  readonly companions?: boolean;
}

export interface OutgoingMessage {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers?: Headers;
  /** Milliseconds since the epoch; defaults to the time of publishing. */
  readonly timestamp?: number;
}

export interface ReceivedMessage {
  /**
   * The topic the message was published to. A message coming back from `<topic>.retry` shows
   * `<topic>` here, carries `HEADER.retryAttempt`, and its partition and offset are those of
   * the retry topic.
   */
  readonly topic: string;
  readonly partition: number;
  /** Decimal string: Kafka offsets are 64-bit. */
  readonly offset: string;
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: Headers;
  readonly timestamp: number;
}

export interface RetryPolicy {
  /** Attempts including the first; after the last one the message goes to the DLQ. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

/**
 * What a batch handler reports besides success: messages it could not apply while it applied
 * the others (by index into the batch, with the error), e.g. payloads that do not decode. Each
 * is routed as if a message handler had thrown that error (a `PermanentError` to the DLQ, any
 * other to `<topic>.retry`).
 */
export interface BatchResult {
  readonly failed?: ReadonlyMap<number, unknown>;
}

/**
 * Applies the messages of ONE partition in offset order, at most `batchSize` at a time. When it
 * throws, nothing of the batch counts as applied: the bus splits the batch and applies the
 * halves again, down to single messages, so only the message at fault is retried or dead-lettered
 * (a handler that applies a batch in one transaction gets exactly that). Offsets are committed
 * only after the batch is applied.
 */
export type BatchHandler = (messages: readonly ReceivedMessage[]) => Promise<BatchResult | void>;

/** One of `handler` (a message at a time) or `batchHandler` (a partition's fetched messages). */
export type SubscribeHandler =
  | { readonly handler: MessageHandler; readonly batchHandler?: never; readonly batchSize?: never }
  | {
      readonly batchHandler: BatchHandler;
      readonly handler?: never;
      /** Most messages per call of `batchHandler`. Default 500. */
      readonly batchSize?: number;
    };

export type SubscribeOptions = SubscribeHandler & {
  /** Consumer group: by convention the service name. */
  readonly group: string;
  readonly topics: readonly string[];
  /**
   * Where a group with no committed offset starts. Default: 'latest', meaning every message
   * published after `subscribe` resolved is delivered.
   */
  readonly start?: 'earliest' | 'latest';
  readonly retry?: RetryPolicy;
  /** Partitions handled in parallel (order is kept within a partition). Default 1. */
  readonly partitionsConcurrently?: number;
};

export interface Subscription {
  /** Stops fetching, lets in-flight handlers finish, commits, leaves the group. */
  close(): Promise<void>;
}

export type ReplayPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'timestamp'; readonly timestamp: number }
  | { readonly kind: 'offsets'; readonly offsets: readonly { partition: number; offset: string }[] };

export interface Bus {
  readonly kind: 'kafka' | 'embedded';
  /** Creates missing topics (and their .retry/.dlq companions when asked) with the given specs. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Resolves when every message is durable; rejects otherwise (nothing is half-acknowledged). */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Moves a group's committed position; the group must have no running members. */
  replay(group: string, topic: string, position: ReplayPosition): Promise<void>;
  /** Throws when the bus cannot serve (used by /readyz). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by a handler for a message that will never succeed: it goes to the DLQ at once. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/** Header names shared by every producer and consumer; one place, one spelling. */
export const HEADER = {
  eventId: 'anfang-event-id',
  eventType: 'anfang-event-type',
  producer: 'anfang-producer',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** Attempt number of a message coming back from `<topic>.retry` (the first delivery is 1). */
  retryAttempt: 'anfang-retry-attempt',
  /** Milliseconds since the epoch before which a retried message is not handled. */
  retryNotBefore: 'anfang-retry-not-before',
  /** The group that failed: `<topic>.retry` is shared, other groups skip the message. */
  retryGroup: 'anfang-retry-group',
  /** The last error of a retried message (kept for the DLQ). */
  retryReason: 'anfang-retry-reason',
  /** Why it is in the DLQ: `permanent: <error>`, `exhausted after N attempts: <error>`. */
  dlqReason: 'anfang-dlq-reason',
  /** Where the message was first consumed from (kept across retries). */
  dlqSourceTopic: 'anfang-dlq-source-topic',
  dlqSourcePartition: 'anfang-dlq-source-partition',
  dlqSourceOffset: 'anfang-dlq-source-offset',
  dlqFailedAt: 'anfang-dlq-failed-at',
  dlqConsumerGroup: 'anfang-dlq-consumer-group',
} as const;

export const retryTopic = (topic: string): string => `${topic}.retry`;
export const dlqTopic = (topic: string): string => `${topic}.dlq`;

/**
 * Where the bus reports what it does. Pino-compatible (fields first), so a pino logger can be
 * passed as is; the bus never depends on the log module.
 */
export interface BusLogger {
  debug?(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const DEFAULT_BATCH_SIZE = 500;

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
};
