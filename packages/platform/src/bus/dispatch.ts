/**
 * What happens to one consumed message, the same for both buses: call the handler; on a
 * `PermanentError` send it to `<topic>.dlq`; on any other error send it to `<topic>.retry` with
 * the next attempt number and a not-before time (or, when the topic has no retry companion,
 * retry in place with back-off); after the last attempt send it to the DLQ. A message from
 * `<topic>.retry` is handled only by the group that failed it and not before its time.
 *
 * A batch (`handleBatch`, one partition's messages in offset order) goes to the batch handler in
 * one call; when that call throws, the batch is split in halves and each applied again, down to
 * single messages, which then fail (and are routed) exactly as above, so one bad message costs
 * about log2(batch) extra calls and the rest of the batch is still applied. Messages the batch
 * handler reports as failed are routed one by one after it returned. Messages of a retry topic
 * are handled one at a time (each has its own attempt and not-before time).
 *
 * An error that says a dependency cannot be reached (`isUnavailable`: the database or a server
 * refusing or dropping connections) is not the message's fault: the message is held where it is
 * and tried again with back-off, using up no attempt, until the dependency is back. Otherwise an
 * outage longer than the attempts' back-off (1+2+4+8 s by default) sent every message of it to
 * the DLQ — seen when Postgres restarted under load (e2e infra-restarts: identity dead-lettered
 * acknowledged swipes while its database was down 34 s).
 *
 * Errors from the handler never escape; an error escaping from here means the bus itself could
 * not publish to the retry topic or DLQ, and the caller must not commit past the message.
 */
import type { BusMetrics } from './metrics.ts';
import {
  HEADER,
  PermanentError,
  dlqTopic,
  retryTopic,
  type BusLogger,
  type BatchHandler,
  type Headers,
  type MessageHandler,
  type OutgoingMessage,
  type ReceivedMessage,
  type RetryPolicy,
} from './types.ts';

/** A message as fetched: `topic` is the physical topic (possibly `<topic>.retry`). */
export type RawMessage = ReceivedMessage;

export type Outcome =
  | { readonly kind: 'done' }
  /** A retried message whose time has not come: pause its partition until `until`. */
  | { readonly kind: 'wait'; readonly until: number }
  /** The subscription is closing (or the member lost its partitions) during an in-place retry. */
  | { readonly kind: 'stopped' };

const DONE: Outcome = { kind: 'done' };
const STOPPED: Outcome = { kind: 'stopped' };
const RETRY_SUFFIX = '.retry';

export interface DispatcherOptions {
  readonly group: string;
  /** One of the two (a subscription's). */
  readonly handler?: MessageHandler | undefined;
  readonly batchHandler?: BatchHandler | undefined;
  readonly policy: RetryPolicy;
  readonly logger: BusLogger;
  readonly metrics: BusMetrics;
  /** The bus's own publish (batched, durable). */
  readonly publish: (topic: string, messages: readonly OutgoingMessage[]) => Promise<void>;
  /** Physical retry topics this subscription reads. */
  readonly retryTopics: ReadonlySet<string>;
  /** Whether a topic exists (for `<topic>.retry` and `<topic>.dlq`). */
  readonly topicExists: (topic: string) => boolean;
  readonly signal: AbortSignal;
}

/** How far a batch got: its first `handled` messages are finished; `outcome` is about the next. */
export interface BatchOutcome {
  readonly handled: number;
  readonly outcome: Outcome;
}

export interface Dispatcher {
  handle(message: RawMessage, heartbeat?: () => Promise<void>): Promise<Outcome>;
  /** Messages of one physical partition, in offset order. */
  handleBatch(messages: readonly RawMessage[], heartbeat?: () => Promise<void>): Promise<BatchOutcome>;
}

export const backoffMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 1));

export const isPermanent = (error: unknown): boolean =>
  error instanceof PermanentError || (error instanceof Error && error.name === 'PermanentError');

/** One line, bounded: reasons travel in headers. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${String(error)}`;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 1000 ? `${line.slice(0, 997)}...` : line;
}

const errorType = (error: unknown): string => (error instanceof Error ? error.name : typeof error);

/** Socket errors of a server that is down, restarting or unreachable. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * Postgres: class 08 (connection exception) and the server shutting down or starting up
 * (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now).
 */
const PG_UNAVAILABLE = /^(08...|57P0[123])$/;
/** node-postgres reports a dropped connection or a pool that cannot connect in time without a code. */
const PG_UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/** Whether an error means a dependency cannot be reached (see the file's comment), through `cause`s and aggregates. */
export function isUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || PG_UNAVAILABLE.test(code))) return true;
  if (PG_UNAVAILABLE_MESSAGE.test(error.message)) return true;
  if (error instanceof AggregateError && error.errors.some((e) => isUnavailable(e, depth + 1))) return true;
  return isUnavailable(error.cause, depth + 1);
}

/** The longest a message held for an unavailable dependency waits between tries: back soon after it is. */
const UNAVAILABLE_MAX_BACKOFF_MS = 5_000;

export function isRetryTopic(topic: string): boolean {
  return topic.endsWith(RETRY_SUFFIX);
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { group, batchHandler, policy, logger, metrics, publish, retryTopics, topicExists, signal } = options;
  const handler: MessageHandler =
    options.handler ??
    (batchHandler
      ? async (message) => {
          const failed = (await batchHandler([message]))?.failed;
          if (failed?.has(0)) throw failed.get(0);
        }
      : () => Promise.reject(new Error('bus: a subscription needs a handler or a batchHandler')));

  const sourceHeaders = (raw: RawMessage, headers: Headers): Headers =>
    headers[HEADER.dlqSourceTopic] !== undefined
      ? headers
      : {
          ...headers,
          [HEADER.dlqSourceTopic]: raw.topic,
          [HEADER.dlqSourcePartition]: String(raw.partition),
          [HEADER.dlqSourceOffset]: raw.offset,
        };

  async function deadLetter(
    topic: string,
    raw: RawMessage,
    reason: string,
    kind: 'permanent' | 'exhausted',
  ): Promise<void> {
    const target = dlqTopic(topic);
    const fields = { topic, group, partition: raw.partition, offset: raw.offset, key: raw.key, reason };
    if (!topicExists(target)) {
      logger.error(fields, `bus: ${target} does not exist; message dropped`);
      return;
    }
    const headers: Record<string, string> = {
      ...sourceHeaders(raw, raw.headers),
      [HEADER.dlqReason]: reason,
      [HEADER.dlqFailedAt]: new Date().toISOString(),
      [HEADER.dlqConsumerGroup]: group,
    };
    delete headers[HEADER.retryNotBefore];
    delete headers[HEADER.retryGroup];
    await publish(target, [{ key: raw.key, value: raw.value, headers }]);
    metrics.deadLettered(topic, group, kind);
    logger.warn(fields, `bus: message sent to ${target}`);
  }

  async function pauseFor(ms: number, heartbeat?: () => Promise<void>): Promise<boolean> {
    const until = Date.now() + ms;
    while (!signal.aborted) {
      const left = until - Date.now();
      if (left <= 0) return true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1_000));
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
      if (heartbeat && !signal.aborted) {
        try {
          await heartbeat();
        } catch {
          return false; // rebalancing: give the partition back without committing past it
        }
      }
    }
    return false;
  }

  const perTopic = new Map<string, ReturnType<BusMetrics['consumer']>>();
  const consumedMetric = (topic: string): ReturnType<BusMetrics['consumer']> => {
    let m = perTopic.get(topic);
    if (!m) perTopic.set(topic, (m = metrics.consumer(topic, group)));
    return m;
  };

  /**
   * Handles one message; with `failure`, the first attempt already failed with that error (in a
   * batch) and is routed without calling the handler again.
   */
  async function handle(
    raw: RawMessage,
    heartbeat?: () => Promise<void>,
    failure?: { readonly error: unknown },
  ): Promise<Outcome> {
    let topic = raw.topic;
    let attempt = 1;
    if (retryTopics.has(raw.topic)) {
      topic = raw.topic.slice(0, -RETRY_SUFFIX.length);
      if (raw.headers[HEADER.retryGroup] !== group) return DONE;
      const notBefore = Number(raw.headers[HEADER.retryNotBefore] ?? 0);
      if (notBefore > Date.now()) return { kind: 'wait', until: notBefore };
      attempt = Math.max(2, Number.parseInt(raw.headers[HEADER.retryAttempt] ?? '2', 10) || 2);
    }
    const message: ReceivedMessage = topic === raw.topic ? raw : { ...raw, topic };
    let pending = failure;
    let unavailableFor = 0;
    for (;;) {
      let error: unknown;
      if (pending) {
        error = pending.error;
        pending = undefined;
      } else {
        const started = performance.now();
        try {
          await handler(message);
          consumedMetric(topic).consumed((performance.now() - started) / 1000);
          return DONE;
        } catch (thrown) {
          error = thrown;
        }
      }
      metrics.failed(topic, group, errorType(error));
      const reason = describeError(error);
      if (isPermanent(error)) {
        await deadLetter(topic, raw, `permanent: ${reason}`, 'permanent');
        return DONE;
      }
      if (isUnavailable(error)) {
        unavailableFor++;
        const delay = Math.min(UNAVAILABLE_MAX_BACKOFF_MS, backoffMs(policy, unavailableFor));
        logger.warn(
          { topic, group, partition: raw.partition, offset: raw.offset, attempt, delayMs: delay, reason },
          'bus: a dependency is unavailable; holding the message',
        );
        if (!(await pauseFor(delay, heartbeat))) return STOPPED;
        continue;
      }
      if (attempt >= policy.maxAttempts) {
        await deadLetter(topic, raw, `exhausted after ${attempt} attempts: ${reason}`, 'exhausted');
        return DONE;
      }
      const delay = backoffMs(policy, attempt);
      const target = retryTopic(topic);
      if (topicExists(target)) {
        const headers: Headers = {
          ...sourceHeaders(raw, raw.headers),
          [HEADER.retryAttempt]: String(attempt + 1),
          [HEADER.retryNotBefore]: String(Date.now() + delay),
          [HEADER.retryGroup]: group,
          [HEADER.retryReason]: reason,
        };
        await publish(target, [{ key: raw.key, value: raw.value, headers }]);
        metrics.retried(topic, group);
        logger.info(
          { topic, group, partition: raw.partition, offset: raw.offset, attempt, delayMs: delay, reason },
          `bus: handler failed, retrying through ${target}`,
        );
        return DONE;
      }
      logger.warn(
        { topic, group, partition: raw.partition, offset: raw.offset, attempt, delayMs: delay, reason },
        'bus: handler failed, retrying in place',
      );
      if (!(await pauseFor(delay, heartbeat))) return STOPPED;
      attempt++;
    }
  }

  async function oneByOne(
    messages: readonly RawMessage[],
    heartbeat?: () => Promise<void>,
  ): Promise<BatchOutcome> {
    for (let n = 0; n < messages.length; n++) {
      const outcome = await handle(messages[n]!, heartbeat);
      if (outcome.kind !== 'done') return { handled: n, outcome };
    }
    return { handled: messages.length, outcome: DONE };
  }

  async function applyBatch(
    apply: BatchHandler,
    messages: readonly RawMessage[],
    heartbeat?: () => Promise<void>,
  ): Promise<BatchOutcome> {
    if (messages.length === 1) {
      const outcome = await handle(messages[0]!, heartbeat);
      return { handled: outcome.kind === 'done' ? 1 : 0, outcome };
    }
    const started = performance.now();
    let failed: ReadonlyMap<number, unknown> | undefined;
    try {
      failed = (await apply(messages))?.failed;
    } catch (error) {
      if (signal.aborted) return { handled: 0, outcome: STOPPED };
      logger.debug?.(
        { topic: messages[0]!.topic, group, size: messages.length, error: describeError(error) },
        'bus: batch failed; applying its halves',
      );
      const half = messages.length >>> 1;
      const first = await applyBatch(apply, messages.slice(0, half), heartbeat);
      if (first.outcome.kind !== 'done') return first;
      const second = await applyBatch(apply, messages.slice(half), heartbeat);
      return { handled: half + second.handled, outcome: second.outcome };
    }
    const seconds = (performance.now() - started) / 1000 / messages.length;
    const metric = consumedMetric(messages[0]!.topic);
    for (let n = 0; n < messages.length; n++) {
      if (failed?.has(n)) {
        const outcome = await handle(messages[n]!, heartbeat, { error: failed.get(n) });
        if (outcome.kind !== 'done') return { handled: n, outcome };
      } else metric.consumed(seconds);
    }
    return { handled: messages.length, outcome: DONE };
  }

  return {
    handle: (raw, heartbeat) => handle(raw, heartbeat),
    handleBatch(messages, heartbeat) {
      if (messages.length === 0) return Promise.resolve({ handled: 0, outcome: DONE });
      if (!batchHandler || retryTopics.has(messages[0]!.topic)) return oneByOne(messages, heartbeat);
      return applyBatch(batchHandler, messages, heartbeat);
    },
  };
}
