/**
 * The bus over Apache Kafka, through kafkajs 2.2.4.
 *
 * kafkajs is no longer maintained. Nothing outside this file imports it (the benchmark's raw
 * baseline aside): services see only the `Bus` interface, so the client can be replaced (e.g. by
 * @confluentinc/kafka-javascript) without touching them.
 *
 * Producer: idempotent, acks=all, one request in flight per broker (what kafkajs' idempotent
 * sequence handling needs), Java-compatible murmur2 partitioner, replaced by a new one after a
 * failed send (see `producerSuspect`). Concurrent `publish` calls are coalesced into one
 * `sendBatch` by `PublishBatcher`.
 *
 * Consumer: one kafkajs consumer per subscription, `eachBatch` with manual offset resolution: an
 * offset is resolved only after its handler succeeded (or the message went to the retry topic or
 * the DLQ), and resolved offsets are committed after every batch (and every `commitIntervalMs`
 * inside a long one). A `batchHandler` gets the fetched batch of a partition in chunks of
 * `batchSize`; a heartbeat timer runs while a chunk is applied. Retries go through `<topic>.retry`, whose partitions are paused until a
 * message's not-before time.
 */
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  EachBatchPayload,
  ICustomPartitioner,
  IHeaders,
  ITopicConfig,
  KafkaMessage,
  LogEntry,
  Message,
  Producer,
  SASLOptions,
} from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { PublishBatcher, type PendingPublish } from './batcher.ts';
import { createDispatcher, type RawMessage } from './dispatch.ts';
import { createBusMetrics, type BusMetrics } from './metrics.ts';
import { expandTopicSpecs } from './topics.ts';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_RETRY_POLICY,
  retryTopic,
  type Bus,
  type BusLogger,
  type Headers,
  type OutgoingMessage,
  type ReplayPosition,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './types.ts';
import { oneSubscriptionPerGroup } from './groups.ts';
import { murmur2 } from './partitioner.ts';

const { Kafka, logLevel, CompressionTypes } = kafkajs;

/**
 * kafkajs' DefaultPartitioner (the Java client's: a keyed message goes to
 * `toPositive(murmur2(key)) % partitions`, an unkeyed one round-robin over the partitions with a
 * leader) with the bus's own murmur2 — the same numbers (partitioner.test.ts), in 32-bit integer
 * arithmetic instead of kafkajs' Long objects, which cost some 2.5 % of device-ingest's CPU.
 */
export const murmur2Partitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) {
      const key = Buffer.isBuffer(message.key) ? message.key : Buffer.from(String(message.key));
      return (murmur2(key) & 0x7fffffff) % partitionMetadata.length;
    }
    const counter = ((counters.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1) & 0x7fffffff;
    counters.set(topic, counter);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    return available.length > 0
      ? available[counter % available.length]!.partitionId
      : counter % partitionMetadata.length;
  };
};

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  /** Client id reported to the brokers: by convention the service name. */
  readonly clientId: string;
  readonly logger?: BusLogger;
  /** kafkajs' own log level (mapped into `logger`). Default 'warn'. */
  readonly clientLogLevel?: 'error' | 'warn' | 'info' | 'debug';
  readonly ssl?: boolean | ConnectionOptions;
  readonly sasl?: {
    mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    username: string;
    password: string;
  };
  /** Replication factor of topics created by `ensureTopics`. Default -1: the broker's default. */
  readonly replicationFactor?: number;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly producer?: {
    /** Most messages per produce request. Default 10 000. */
    readonly maxBatchMessages?: number;
    /** Most bytes per produce request. Default 256 KiB: batches big enough for throughput, small enough for latency under load (the broker takes up to 1 MiB). */
    readonly maxBatchBytes?: number;
    /** Wait before sending to fill batches. Default 0: batches fill while a send is in flight. */
    readonly lingerMs?: number;
    readonly compression?: 'none' | 'gzip';
    /** A publish not acknowledged by then rejects (it may still be written: consumers dedupe). Default 30 s. */
    readonly publishTimeoutMs?: number;
  };
  readonly consumer?: {
    readonly sessionTimeoutMs?: number;
    readonly rebalanceTimeoutMs?: number;
    readonly heartbeatIntervalMs?: number;
    /** Longest a fetch waits for data when the partitions are idle. Default 500 ms. */
    readonly maxWaitTimeMs?: number;
    readonly maxBytesPerPartition?: number;
    /** Commit resolved offsets at least this often inside a long batch. Default 1 000 ms. */
    readonly commitIntervalMs?: number;
  };
}

/**
 * Runs an admin request again while Kafka answers with a retriable error: right after a topic
 * is created, its partitions' leaders can lag the metadata for a moment (NOT_LEADER_FOR_PARTITION,
 * LEADER_NOT_AVAILABLE); on a fresh cluster the first group request creates __consumer_offsets and
 * its coordinators answer NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for a while. kafkajs'
 * admin does not retry those for offset and group requests. While __consumer_offsets is still
 * being created (50 partitions: slow on a busy machine) kafkajs gives up finding a coordinator
 * with an error it marks non-retriable (KafkaJSGroupCoordinatorNotFound); here it is retried too.
 */
export async function whileRetriable<T>(request: () => Promise<T>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await request();
    } catch (error) {
      const retriable =
        (error as { retriable?: boolean }).retriable === true ||
        (error as { name?: string }).name === 'KafkaJSGroupCoordinatorNotFound';
      if (!retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const noopLogger: BusLogger = { info() {}, warn() {}, error() {} };

/**
 * Answers of the group coordinator that are part of normal group life: kafkajs' connection logs
 * every error answer at ERROR — one line per heartbeat while a group rebalances (each replica
 * that starts or stops), dozens a minute — and then handles them itself (the runner re-joins, and
 * logs that at WARN). At debug they stay findable without paging anyone.
 */
const ROUTINE_COORDINATOR_ANSWERS = new Set([
  'The group is rebalancing, so a rejoin is needed',
  'This is not the correct coordinator for this group',
  "The coordinator is loading and hence can't process requests for this group",
]);

function isRoutineConnectionError(namespace: string, error: unknown): boolean {
  return namespace === 'Connection' && typeof error === 'string' && ROUTINE_COORDINATOR_ANSWERS.has(error);
}

/** kafkajs' log entries into the service's logger (exported for its test). */
export function toLogCreator(logger: BusLogger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields = { component: 'kafkajs', namespace, ...extra };
      const text = `kafkajs: ${message}`;
      if (level === logLevel.ERROR && isRoutineConnectionError(namespace, extra.error))
        logger.debug?.(fields, text);
      else if (level === logLevel.ERROR) logger.error(fields, text);
      else if (level === logLevel.WARN) logger.warn(fields, text);
      else if (level === logLevel.INFO) logger.info(fields, text);
      else logger.debug?.(fields, text);
    };
}

const levelOf = (level: KafkaBusOptions['clientLogLevel']): kafkajs.logLevel =>
  level === 'error'
    ? logLevel.ERROR
    : level === 'info'
      ? logLevel.INFO
      : level === 'debug'
        ? logLevel.DEBUG
        : logLevel.WARN;

function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function headersOf(headers: IHeaders | undefined): Headers {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out;
}

function toRaw(topic: string, partition: number, message: KafkaMessage): RawMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : '',
    value: message.value ?? new Uint8Array(0),
    headers: headersOf(message.headers),
    timestamp: Number(message.timestamp),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bus: ${what} not acknowledged within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export interface KafkaBus extends Bus {
  readonly kind: 'kafka';
}

export async function createKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const logger = options.logger ?? noopLogger;
  const metrics: BusMetrics = createBusMetrics('kafka');
  const producerOptions = options.producer ?? {};
  const consumerOptions = options.consumer ?? {};
  const publishTimeoutMs = producerOptions.publishTimeoutMs ?? 30_000;
  const compression = producerOptions.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;

  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    ...(options.sasl ? { sasl: options.sasl as SASLOptions } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: levelOf(options.clientLogLevel),
    logCreator: toLogCreator(logger),
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
  });

  const admin: Admin = kafka.admin();
  const newProducer = (): Producer =>
    kafka.producer({
      createPartitioner: murmur2Partitioner,
      idempotent: true,
      // kafkajs serialises idempotent produce requests per broker; 1 keeps its sequence numbers right.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // An idempotent producer must not give up (kafkajs warns otherwise); publishTimeoutMs bounds the caller's wait.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
  let producer = newProducer();
  await Promise.all([admin.connect(), producer.connect()]);

  /**
   * Whether the producer's sequence numbers can no longer be trusted. A send that failed may
   * still have been written (a broker going down writes what it took and closes the connection
   * before answering), but kafkajs takes its sequence numbers back on any failure and gives them
   * to the next send. The broker takes that send, when it has as many messages per partition, for
   * a resend of the written one: it answers "written" with the old offset and drops it — an
   * acknowledged message lost (seen when the broker restarted under load: contract test
   * bus.kafka.restart.test.ts). So after a failed send the next one goes through a new producer
   * (a new producer id: sequence numbers of its own, nothing to mistake for a resend). The failed
   * send's messages were refused to their callers, who send them again: at worst a duplicate,
   * which consumers drop by event id.
   */
  let producerSuspect = false;
  const renewProducer = async (): Promise<void> => {
    const old = producer;
    producer = newProducer();
    await withTimeout(old.disconnect(), 5_000, 'disconnect of the old producer').catch(() => undefined);
    await producer.connect();
    producerSuspect = false;
    logger.info({}, 'bus: a send failed; publishing through a new producer');
  };

  let knownTopics = new Set<string>();
  const refreshTopics = async (): Promise<Set<string>> => {
    knownTopics = new Set(await admin.listTopics());
    return knownTopics;
  };
  await refreshTopics();

  const send = async (batch: readonly PendingPublish[]): Promise<void> => {
    const byTopic = new Map<string, Message[]>();
    const now = String(Date.now());
    for (const entry of batch) {
      let list = byTopic.get(entry.topic);
      if (!list) byTopic.set(entry.topic, (list = []));
      for (const m of entry.messages) {
        list.push({
          key: m.key,
          value: toBuffer(m.value),
          headers: m.headers ? { ...m.headers } : {},
          timestamp: m.timestamp === undefined ? now : String(m.timestamp),
        });
      }
    }
    const started = performance.now();
    try {
      if (producerSuspect) await renewProducer();
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        acks: -1,
        timeout: options.requestTimeoutMs ?? 30_000,
        compression,
      });
    } catch (error) {
      producerSuspect = true;
      const seconds = (performance.now() - started) / 1000;
      for (const [topic] of byTopic)
        metrics.published(topic, 0, seconds, error instanceof Error ? error.name : 'error');
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    for (const [topic, messages] of byTopic) metrics.published(topic, messages.length, seconds);
  };

  const batcher = new PublishBatcher(send, {
    maxMessages: producerOptions.maxBatchMessages ?? 10_000,
    maxBytes: producerOptions.maxBatchBytes ?? 256 * 1024,
    ...(producerOptions.lingerMs !== undefined ? { lingerMs: producerOptions.lingerMs } : {}),
  });

  const subscriptions = new Set<Subscription>();
  let closed = false;

  // kafkajs' idempotent producer retries an unknown topic for ever: refuse it up front.
  const requireTopic = async (topic: string): Promise<void> => {
    if (knownTopics.has(topic) || (await refreshTopics()).has(topic)) return;
    throw new Error(`bus: topic ${topic} does not exist (ensureTopics first)`);
  };

  const publish = async (topic: string, messages: readonly OutgoingMessage[]): Promise<void> => {
    await requireTopic(topic);
    await withTimeout(batcher.publish(topic, messages), publishTimeoutMs, `publish to ${topic}`);
  };

  async function ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const wanted = expandTopicSpecs(specs);
    const existing = await refreshTopics();
    const missing = wanted.filter((t) => !existing.has(t.name));
    const present = wanted.filter((t) => existing.has(t.name));
    if (missing.length > 0) {
      const topics: ITopicConfig[] = missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: options.replicationFactor ?? -1,
        configEntries: [
          { name: 'cleanup.policy', value: t.compacted ? 'compact' : 'delete' },
          { name: 'retention.ms', value: String(t.retentionMs) },
        ],
      }));
      // Another process may create the same topics at the same time: kafkajs reports that as
      // "already exists" (false or an error naming it), which is success here. Not kafkajs' wait
      // for leaders (ours follows): it throws when a broker that has just started answers
      // UNKNOWN_TOPIC_OR_PARTITION for a topic it has just created.
      try {
        await admin.createTopics({ topics, waitForLeaders: false });
      } catch (error) {
        if (
          !(error instanceof Error) ||
          !/exist/i.test(`${error.message} ${JSON.stringify((error as { errors?: unknown }).errors ?? '')}`)
        )
          throw error;
      }
      logger.info({ topics: missing.map((t) => t.name) }, 'bus: created topics');
    }
    // A topic another process is still creating "exists" before its partitions have leaders:
    // return only when every partition of every wanted topic can take writes.
    await waitForLeaders(wanted.map((t) => t.name));
    if (present.length > 0) {
      const { topics } = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      for (const t of topics) {
        const spec = present.find((p) => p.name === t.name);
        if (spec && t.partitions.length !== spec.partitions) {
          logger.warn(
            { topic: t.name, partitions: t.partitions.length, wanted: spec.partitions },
            'bus: topic exists with a different partition count; left as is',
          );
        }
      }
    }
    await refreshTopics();
  }

  async function waitForLeaders(names: readonly string[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let reason: string;
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [...names] });
        const leaderless = topics.filter((t) =>
          t.partitions.some((p) => p.leader < 0 || p.partitionErrorCode !== 0),
        );
        if (leaderless.length === 0) return;
        reason = `partitions without a leader in ${leaderless.map((t) => t.name).join(', ')}`;
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) throw new Error(`bus: topics not ready after ${timeoutMs} ms: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
    if (closed) throw new Error('bus: subscribe after close');
    const { group } = subscribeOptions;
    // A message handler is called a message at a time; chunks only space out the checks below.
    const chunkSize = subscribeOptions.batchHandler
      ? Math.max(1, subscribeOptions.batchSize ?? DEFAULT_BATCH_SIZE)
      : 16;
    const heartbeatIntervalMs = consumerOptions.heartbeatIntervalMs ?? 3_000;
    const start = subscribeOptions.start ?? 'latest';
    const policy = subscribeOptions.retry ?? DEFAULT_RETRY_POLICY;
    const topics = [...new Set(subscribeOptions.topics)];
    if (topics.length === 0) throw new Error('bus: subscribe needs at least one topic');
    await refreshTopics();
    for (const topic of topics)
      if (!knownTopics.has(topic)) throw new Error(`bus: topic ${topic} does not exist (ensureTopics first)`);
    const retryTopics = topics.map(retryTopic).filter((t) => knownTopics.has(t));
    const all = [...topics, ...retryTopics];

    // Partitions with no committed offset: a new group. They start at the end as of now (for
    // 'latest', and always for retry topics), so whatever is published after subscribe resolves is
    // delivered: kafkajs alone would resolve 'latest' at its first fetch, a little later.
    const committed = await whileRetriable(() => admin.fetchOffsets({ groupId: group, topics: all }));
    const seekOnJoin = new Map<string, Map<number, string>>();
    for (const { topic, partitions } of committed) {
      const fresh = partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition);
      if (fresh.length === 0 || (start === 'earliest' && !retryTopics.includes(topic))) continue;
      const ends = await whileRetriable(() => admin.fetchTopicOffsets(topic));
      const positions = new Map<number, string>();
      for (const p of ends) if (fresh.includes(p.partition)) positions.set(p.partition, p.high);
      seekOnJoin.set(topic, positions);
    }

    const abort = new AbortController();
    const consumer: Consumer = kafka.consumer({
      groupId: group,
      sessionTimeout: consumerOptions.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: consumerOptions.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: heartbeatIntervalMs,
      maxWaitTimeInMs: consumerOptions.maxWaitTimeMs ?? 500,
      ...(consumerOptions.maxBytesPerPartition !== undefined
        ? { maxBytesPerPartition: consumerOptions.maxBytesPerPartition }
        : {}),
      allowAutoTopicCreation: false,
      // A crash (e.g. the broker went away) restarts the consumer instead of leaving it dead.
      // kafkajs restarts only after a retriable error; a group coordinator still not found when
      // its retries run out (a broker down longer than they last) is not one in kafkajs 2.2.4,
      // and left the consumer dead after the broker was back: patches/kafkajs@2.2.4.patch makes
      // it one (seen in e2e/test/infra-restarts.test.ts in a fresh-clone CI run).
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 10_000,
        retries: 10,
        restartOnFailure: async () => !abort.signal.aborted,
      },
    });
    const resumeTimers = new Set<NodeJS.Timeout>();
    const commitIntervalMs = consumerOptions.commitIntervalMs ?? 1_000;

    const dispatcher = createDispatcher({
      group,
      handler: subscribeOptions.handler,
      batchHandler: subscribeOptions.batchHandler,
      policy,
      logger,
      metrics,
      publish,
      retryTopics: new Set(retryTopics),
      topicExists: (topic) => knownTopics.has(topic),
      signal: abort.signal,
    });

    let joined = false;
    let firstJoin = true;
    let onJoined: (() => void) | undefined;
    const joinedOnce = new Promise<void>((resolve) => (onJoined = resolve));
    // The positions sought on the first join are committed as well (once the consumer runs: a
    // commit before that is dropped). Otherwise a partition that gets its first message while
    // the service is down (killed, restarted) has still no committed offset when it is back,
    // and would start at the end as of then, skipping that message.
    let pin: { topic: string; partition: number; offset: string }[] = [];
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      joined = true;
      if (firstJoin) {
        firstJoin = false;
        const assignment = event.payload.memberAssignment;
        for (const [topic, positions] of seekOnJoin) {
          for (const partition of assignment[topic] ?? []) {
            const offset = positions.get(partition);
            if (offset === undefined) continue;
            consumer.seek({ topic, partition, offset });
            pin.push({ topic, partition, offset });
          }
        }
      }
      onJoined?.();
    });
    consumer.on(consumer.events.FETCH_START, () => {
      if (pin.length === 0) return;
      const offsets = pin;
      pin = [];
      consumer.commitOffsets(offsets).catch((error: unknown) => {
        logger.warn({ group, error: String(error) }, 'bus: committing the start positions failed');
      });
    });
    consumer.on(consumer.events.CRASH, (event) => {
      logger.error(
        { group, error: String(event.payload.error), restart: event.payload.restart },
        'bus: kafka consumer crashed',
      );
    });

    const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
      const {
        batch,
        resolveOffset,
        heartbeat,
        commitOffsetsIfNecessary,
        uncommittedOffsets,
        isRunning,
        isStale,
        pause,
      } = payload;
      let lastCommit = Date.now();
      // The last offset whose message is finished (handled, or routed to retry/DLQ). Resolved in
      // one call before each commit rather than per message (kafkajs' Long arithmetic is costly).
      let last: string | undefined;
      let resolved: string | undefined;
      const commit = async (): Promise<void> => {
        if (last !== undefined && last !== resolved) {
          resolveOffset(last);
          resolved = last;
        }
        await commitOffsetsIfNecessary(uncommittedOffsets());
      };
      // A long batch handler call would starve kafkajs' heartbeats (sent only from here).
      const beat = setInterval(() => void heartbeat().catch(() => undefined), heartbeatIntervalMs);
      try {
        const messages = batch.messages;
        for (let from = 0; from < messages.length; from += chunkSize) {
          // isStale (a seek arrived) is checked per chunk: it is not free in kafkajs.
          if (!isRunning() || abort.signal.aborted || isStale()) break;
          const chunk = messages.slice(from, from + chunkSize);
          let result;
          try {
            result = await dispatcher.handleBatch(
              chunk.map((message) => toRaw(batch.topic, batch.partition, message)),
              heartbeat,
            );
          } catch (error) {
            // Could not publish to the retry topic or DLQ: leave the offsets unresolved, so the
            // messages are fetched again after a pause.
            logger.error(
              {
                group,
                topic: batch.topic,
                partition: batch.partition,
                offset: chunk[0]!.offset,
                error: String(error),
              },
              'bus: could not route a failed message; will re-deliver it',
            );
            await sleep(1_000, abort.signal);
            break;
          }
          if (result.handled > 0) last = chunk[result.handled - 1]!.offset;
          const { outcome } = result;
          if (outcome.kind === 'wait') {
            const resume = pause();
            const timer = setTimeout(
              () => {
                resumeTimers.delete(timer);
                resume();
              },
              Math.max(0, outcome.until - Date.now()),
            );
            resumeTimers.add(timer);
            break;
          }
          if (outcome.kind === 'stopped') break;
          if (Date.now() - lastCommit >= commitIntervalMs) {
            await commit();
            lastCommit = Date.now();
            await heartbeat();
          }
        }
      } finally {
        clearInterval(beat);
        await commit();
      }
      if (last !== undefined)
        metrics.lag(batch.topic, group, batch.partition, Number(batch.highWatermark) - Number(last) - 1);
    };

    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: start === 'earliest' });
    if (retryTopics.length > 0) await consumer.subscribe({ topics: retryTopics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: subscribeOptions.partitionsConcurrently ?? 1,
      eachBatch,
    });
    if (!joined) {
      const timeoutMs = (consumerOptions.rebalanceTimeoutMs ?? 60_000) + 10_000;
      const ok = await Promise.race([joinedOnce.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!ok) {
        abort.abort();
        await consumer.disconnect().catch(() => {});
        throw new Error(`bus: consumer group ${group} did not join within ${timeoutMs} ms`);
      }
    }

    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close() {
        closing ??= (async () => {
          abort.abort();
          for (const timer of resumeTimers) clearTimeout(timer);
          resumeTimers.clear();
          try {
            await consumer.disconnect();
          } finally {
            metrics.forget(group);
            subscriptions.delete(subscription);
          }
        })();
        return closing;
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Commits offsets for a group that has no running members, the way kafkajs' admin.setOffsets
   * does (a short-lived member joins, seeks, commits, leaves) but without its 5 s fetch wait.
   */
  async function commitAsEmptyGroup(
    group: string,
    topic: string,
    partitions: readonly { partition: number; offset: string }[],
  ): Promise<void> {
    const { groups } = await whileRetriable(() => admin.describeGroups([group]));
    const state = groups[0]?.state ?? 'Dead';
    if (state !== 'Empty' && state !== 'Dead')
      throw new Error(
        `bus: the consumer group ${group} must have no running members to replay (state ${state})`,
      );
    if (partitions.length === 0) return;
    const consumer = kafka.consumer({
      groupId: group,
      maxWaitTimeInMs: 50,
      sessionTimeout: consumerOptions.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: consumerOptions.heartbeatIntervalMs ?? 3_000,
      allowAutoTopicCreation: false,
      retry: { retries: 3, restartOnFailure: async () => false },
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      const committed = new Promise<void>((resolve, reject) => {
        // Seeks are applied (and, with autoCommit, committed) before the first fetch.
        consumer.on(consumer.events.FETCH, () => resolve());
        consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      });
      const running = consumer.run({
        autoCommit: true,
        eachBatchAutoResolve: false,
        eachBatch: async () => {},
      });
      // run() creates its consumer group synchronously: register the seeks before it fetches.
      consumer.pause([{ topic }]);
      for (const p of partitions) consumer.seek({ topic, partition: p.partition, offset: p.offset });
      await running;
      await withTimeout(committed, 60_000, `offset commit for ${group}`);
    } finally {
      await consumer.disconnect().catch(() => {});
    }
  }

  async function replay(group: string, topic: string, position: ReplayPosition): Promise<void> {
    let partitions: { partition: number; offset: string }[];
    switch (position.kind) {
      case 'earliest':
      case 'latest': {
        const ends = await whileRetriable(() => admin.fetchTopicOffsets(topic));
        partitions = ends.map((p) => ({
          partition: p.partition,
          offset: position.kind === 'earliest' ? p.low : p.high,
        }));
        break;
      }
      case 'timestamp':
        partitions = (
          await whileRetriable(() => admin.fetchTopicOffsetsByTimestamp(topic, position.timestamp))
        ).map((p) => ({
          partition: p.partition,
          offset: p.offset,
        }));
        break;
      case 'offsets':
        partitions = position.offsets.map((p) => ({ partition: p.partition, offset: p.offset }));
        break;
    }
    await commitAsEmptyGroup(group, topic, partitions);
  }

  return {
    kind: 'kafka',
    ensureTopics,
    publish,
    subscribe: oneSubscriptionPerGroup(subscribe),
    replay,
    async check() {
      if (closed) throw new Error('bus: closed');
      await withTimeout(admin.describeCluster(), 5_000, 'describeCluster');
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
      // Bounded: a broker that is gone must not hold up shutdown.
      await withTimeout(batcher.close(), publishTimeoutMs, 'flush on close').catch((error: unknown) =>
        logger.warn({ error: String(error) }, 'bus: unacknowledged messages at close'),
      );
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}
