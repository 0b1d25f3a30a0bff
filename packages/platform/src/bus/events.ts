/**
 * Typed events over the bus: topic definitions from the catalogue (`@anfang/contracts`), payloads
 * encoded with the topic's codec, the common `EventMeta` filled in, headers set, trace context
 * carried, duplicates skipped.
 *
 * Producer: `createEventPublisher({ bus, producer }).publish(topic, payload, { key })` fills
 * `payload.meta` (event id, type, occurred/recorded time, producer, compound, trace context),
 * sets the headers (HEADER.eventId, eventType, producer, traceparent, tracestate), and publishes
 * in a PRODUCER span.
 *
 * Consumer: `consume(bus, { group, topics, handler, dedupe })` decodes (a payload that does not
 * decode goes to the DLQ with the reason), runs the handler in a CONSUMER span whose parent is
 * the producer's context from the headers, and with `dedupe` skips events whose id this group
 * already handled (marked after the handler succeeded).
 *
 * `consumeBatch` is the same over the bus's batch handler: the handler gets a partition's
 * decoded events at once (undecodable ones are routed to the DLQ one by one), in one CONSUMER
 * span linked to each producer's context.
 */
import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { MessageCodec, TopicDefinition } from '@anfang/contracts/topics';
import type { Cache } from '../cache/types.ts';
import { describeError } from './dispatch.ts';
import { uuidv7 } from './ids.ts';
import {
  HEADER,
  PermanentError,
  type BatchResult,
  type Bus,
  type Headers,
  type OutgoingMessage,
  type ReceivedMessage,
  type RetryPolicy,
  type Subscription,
} from './types.ts';

export type { MessageCodec, TopicDefinition };

/** google.protobuf.Timestamp as protobufjs represents it (seconds may be a Long). */
export interface EventTimestamp {
  seconds?: number | string | { toNumber(): number } | null;
  nanos?: number | null;
}

/** `anfang.common.v1.EventMeta`, as protobufjs' generated interface (camelCase) holds it. */
export interface EventMeta {
  eventId?: string | null;
  eventType?: string | null;
  occurredAt?: EventTimestamp | null;
  recordedAt?: EventTimestamp | null;
  producer?: string | null;
  compoundId?: string | null;
  traceparent?: string | null;
  tracestate?: string | null;
  causationId?: string | null;
}

/** Every event payload carries the common envelope in its `meta` field. */
export interface EventPayload {
  meta?: EventMeta | null;
}

export const toTimestamp = (ms: number): EventTimestamp => ({
  seconds: Math.floor(ms / 1000),
  nanos: (((ms % 1000) + 1000) % 1000) * 1_000_000,
});

export const fromTimestamp = (ts: EventTimestamp | null | undefined): number | undefined => {
  if (!ts) return undefined;
  const s = ts.seconds;
  const seconds = s == null ? 0 : typeof s === 'object' ? s.toNumber() : Number(s);
  return seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000);
};

export interface PublishEventOptions {
  /** The entity whose order matters; default: the topic definition's `keyOf(payload)`. */
  readonly key?: string;
  readonly compoundId?: string;
  /** When it happened (device time, corrected); default: now. */
  readonly occurredAt?: Date | number;
  /** When the platform received it (e.g. the device's request); default: now. */
  readonly recordedAt?: Date | number;
  /** Given when the event has a natural id (an idempotent re-publish keeps it); default a UUIDv7. */
  readonly eventId?: string;
  /** The event this one was derived from. */
  readonly causationId?: string;
  /** Extra headers (never overriding the standard ones). */
  readonly headers?: Headers;
}

export interface EventPublisher {
  /** Publishes one event; resolves with its event id once durable. */
  publish<T, I extends EventPayload>(
    topic: TopicDefinition<T, I>,
    payload: I,
    options?: PublishEventOptions,
  ): Promise<string>;
  /** Publishes several events of one topic in one bus call; resolves with their ids in order. */
  publishMany<T, I extends EventPayload>(
    topic: TopicDefinition<T, I>,
    events: readonly { payload: I; options?: PublishEventOptions }[],
  ): Promise<string[]>;
}

export interface EventPublisherOptions {
  /** Where events go: a bus, or a transaction's outbox (`outboxEventPublisher` in pg). */
  readonly bus: Pick<Bus, 'publish'> & { readonly kind: string };
  /** The producing service's name (OTEL_SERVICE_NAME). */
  readonly producer: string;
}

const tracer = () => trace.getTracer('anfang-bus');

const messagingSystem = (bus: { readonly kind: string }): string =>
  bus.kind === 'kafka' ? 'kafka' : `anfang-${bus.kind}`;

export function createEventPublisher({ bus, producer }: EventPublisherOptions): EventPublisher {
  function build<T, I extends EventPayload>(
    topic: TopicDefinition<T, I>,
    payload: I,
    options: PublishEventOptions,
    carrier: Record<string, string>,
  ) {
    const now = Date.now();
    const eventId = options.eventId ?? uuidv7(now);
    const occurred =
      options.occurredAt === undefined
        ? now
        : typeof options.occurredAt === 'number'
          ? options.occurredAt
          : options.occurredAt.getTime();
    // Built per event: no temporary objects for the optional fields (device-ingest builds
    // thousands a second, and its CPU goes to the garbage collector before anything else).
    const meta: EventMeta = {
      ...payload.meta,
      eventId,
      eventType: topic.payload.typeName,
      occurredAt: toTimestamp(occurred),
      recordedAt: toTimestamp(
        options.recordedAt === undefined
          ? now
          : typeof options.recordedAt === 'number'
            ? options.recordedAt
            : options.recordedAt.getTime(),
      ),
      producer,
      traceparent: carrier[HEADER.traceparent] ?? '',
      tracestate: carrier[HEADER.tracestate] ?? '',
    };
    if (options.compoundId !== undefined) meta.compoundId = options.compoundId;
    if (options.causationId !== undefined) meta.causationId = options.causationId;
    const value = topic.payload.encode({ ...payload, meta } as I);
    const headers: Record<string, string> = {
      ...options.headers,
      [HEADER.eventId]: eventId,
      [HEADER.eventType]: topic.payload.typeName,
      [HEADER.producer]: producer,
    };
    const traceparent = carrier[HEADER.traceparent];
    const tracestate = carrier[HEADER.tracestate];
    if (traceparent) headers[HEADER.traceparent] = traceparent;
    if (tracestate) headers[HEADER.tracestate] = tracestate;
    const message: OutgoingMessage = {
      key: options.key ?? topic.keyOf(payload),
      value,
      headers,
      timestamp: now,
    };
    return { eventId, message };
  }

  async function send<T, I extends EventPayload>(
    topic: TopicDefinition<T, I>,
    events: readonly { payload: I; options?: PublishEventOptions }[],
  ): Promise<string[]> {
    const span = tracer().startSpan(`send ${topic.name}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': messagingSystem(bus),
        'messaging.operation.name': 'send',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic.name,
        'messaging.batch.message_count': events.length,
      },
    });
    const ctx = trace.setSpan(context.active(), span);
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier);
    try {
      const built = events.map((e) => build(topic, e.payload, e.options ?? {}, carrier));
      if (built.length === 1) span.setAttribute('messaging.message.id', built[0]!.eventId);
      await context.with(ctx, () =>
        bus.publish(
          topic.name,
          built.map((b) => b.message),
        ),
      );
      return built.map((b) => b.eventId);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  return {
    async publish(topic, payload, options) {
      const [id] = await send(topic, [{ payload, options }]);
      return id!;
    },
    publishMany(topic, events) {
      return events.length === 0 ? Promise.resolve([]) : send(topic, events);
    },
  };
}

// ---- consuming ---------------------------------------------------------------------------------

/** What `consume` hands to the handler. */
export interface ConsumedEvent<T, I = T> {
  readonly topic: TopicDefinition<T, I>;
  readonly payload: T;
  /** From the header, else from `payload.meta`; '' when neither has one. */
  readonly eventId: string;
  readonly meta: EventMeta;
  /** 1 for the first delivery, then the retry attempt. */
  readonly attempt: number;
}

/** The part of the cache interface dedupe needs (Redis or in-process). */
export type EventDedupe = Pick<Cache, 'get' | 'getMany' | 'setIfAbsent'>;

/** Any topic definition, whatever its payload type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTopicDefinition = TopicDefinition<any, any>;

/** The event a handler receives for a topic definition (a union over several). */
export type EventOf<D extends AnyTopicDefinition> =
  D extends TopicDefinition<infer T, infer I> ? ConsumedEvent<T, I> : never;

export interface ConsumeOptions<D extends AnyTopicDefinition> {
  readonly group: string;
  readonly topics: readonly D[];
  readonly handler: (event: EventOf<D>, message: ReceivedMessage) => Promise<void>;
  /** Skip events this group already handled (by event id). */
  readonly dedupe?: EventDedupe;
  /** How long a handled event id is remembered. Default 7 days (the default topic retention). */
  readonly dedupeTtlMs?: number;
  readonly start?: 'earliest' | 'latest';
  readonly retry?: RetryPolicy;
  readonly partitionsConcurrently?: number;
}

const DEFAULT_DEDUPE_TTL_MS = 7 * 24 * 3600 * 1000;

export function dedupeKey(group: string, eventId: string): string {
  return `bus:handled:${group}:${eventId}`;
}

function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
  span.setAttribute('error.type', error instanceof Error ? error.name : 'error');
}

/** What `consume` and `consumeBatch` share: instruments, decoding, the subscription's options. */
function consumerParts(bus: Bus, options: Omit<ConsumeOptions<AnyTopicDefinition>, 'handler'>) {
  const byName = new Map<string, AnyTopicDefinition>(options.topics.map((t) => [t.name, t]));
  const meter = metrics.getMeter('anfang-bus');
  const undecodable: Counter = meter.createCounter('anfang.bus.undecodable', {
    description: 'Messages whose payload did not decode (sent to the DLQ).',
    unit: '{message}',
  });
  return {
    ttl: options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS,
    duplicates: meter.createCounter('anfang.bus.duplicates', {
      description: 'Events skipped because this group already handled their id.',
      unit: '{message}',
    }),
    attributesOf: (topic: string): Attributes => ({
      'messaging.system': messagingSystem(bus),
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': options.group,
    }),
    /** The event a message carries; a `PermanentError` when it cannot carry one. */
    decode(message: ReceivedMessage, attrs: Attributes): ConsumedEvent<EventPayload> {
      const definition = byName.get(message.topic);
      if (!definition) throw new PermanentError(`no topic definition for ${message.topic}`);
      let payload: EventPayload;
      try {
        payload = definition.payload.decode(message.value) as EventPayload;
      } catch (error) {
        undecodable.add(1, attrs);
        throw new PermanentError(`undecodable ${definition.payload.typeName}: ${describeError(error)}`);
      }
      const meta: EventMeta = payload?.meta ?? {};
      const eventId = message.headers[HEADER.eventId] ?? meta.eventId ?? '';
      const attempt = Number.parseInt(message.headers[HEADER.retryAttempt] ?? '1', 10) || 1;
      return { topic: definition, payload, eventId, meta, attempt };
    },
    subscription: {
      group: options.group,
      topics: options.topics.map((t) => t.name),
      ...(options.start ? { start: options.start } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.partitionsConcurrently ? { partitionsConcurrently: options.partitionsConcurrently } : {}),
    },
  };
}

export function consume<D extends AnyTopicDefinition>(
  bus: Bus,
  options: ConsumeOptions<D>,
): Promise<Subscription> {
  const { group, dedupe } = options;
  const { ttl, duplicates, attributesOf, decode, subscription } = consumerParts(bus, options);

  return bus.subscribe({
    ...subscription,
    handler: async (message) => {
      const attrs = attributesOf(message.topic);
      const parent = propagation.extract(ROOT_CONTEXT, message.headers);
      const parentSpan = trace.getSpanContext(parent);
      const links: Link[] = parentSpan ? [{ context: parentSpan }] : [];
      const span = tracer().startSpan(
        `process ${message.topic}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            ...attrs,
            'messaging.operation.name': 'process',
            'messaging.operation.type': 'process',
            'messaging.destination.partition.id': String(message.partition),
            'messaging.kafka.offset': Number(message.offset),
            'messaging.kafka.message.key': message.key,
          },
        },
        parent,
      );
      const ctx = trace.setSpan(parent, span);
      try {
        await context.with(ctx, async () => {
          const event = decode(message, attrs) as EventOf<D>;
          const { eventId } = event;
          if (eventId) span.setAttribute('messaging.message.id', eventId);
          if (dedupe && eventId && (await dedupe.get(dedupeKey(group, eventId))) !== null) {
            duplicates.add(1, attrs);
            span.setAttribute('anfang.bus.duplicate', true);
            return;
          }
          await options.handler(event, message);
          if (dedupe && eventId) await dedupe.setIfAbsent(dedupeKey(group, eventId), '1', ttl);
        });
      } catch (error) {
        failSpan(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  });
}

export interface ConsumeBatchOptions<D extends AnyTopicDefinition> extends Omit<
  ConsumeOptions<D>,
  'handler'
> {
  /**
   * Applies a partition's events in order, all or none (throwing splits the batch, see the
   * bus). It may report events it could not apply while it applied the others, by index into
   * `events` (a `PermanentError` goes to the DLQ, any other error is retried).
   */
  readonly handler: (
    events: readonly EventOf<D>[],
    messages: readonly ReceivedMessage[],
  ) => Promise<BatchResult | void>;
  /** Most events per handler call. Default the bus's (500). */
  readonly batchSize?: number;
}

export function consumeBatch<D extends AnyTopicDefinition>(
  bus: Bus,
  options: ConsumeBatchOptions<D>,
): Promise<Subscription> {
  const { group, dedupe } = options;
  const { ttl, duplicates, attributesOf, decode, subscription } = consumerParts(bus, options);

  return bus.subscribe({
    ...subscription,
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    batchHandler: async (messages) => {
      const first = messages[0]!;
      const attrs = attributesOf(first.topic);
      const links: Link[] = [];
      for (const message of messages) {
        const parent = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, message.headers));
        if (parent) links.push({ context: parent });
      }
      const span = tracer().startSpan(
        `process ${first.topic}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            ...attrs,
            'messaging.operation.name': 'process',
            'messaging.operation.type': 'process',
            'messaging.destination.partition.id': String(first.partition),
            'messaging.batch.message_count': messages.length,
          },
        },
        ROOT_CONTEXT,
      );
      const ctx = trace.setSpan(ROOT_CONTEXT, span);
      try {
        return await context.with(ctx, async (): Promise<BatchResult> => {
          const failed = new Map<number, unknown>();
          const decoded: { index: number; event: EventOf<D> }[] = [];
          messages.forEach((message, index) => {
            try {
              decoded.push({ index, event: decode(message, attrs) as EventOf<D> });
            } catch (error) {
              failed.set(index, error);
            }
          });
          let fresh = decoded;
          if (dedupe) {
            const ids = decoded.filter((d) => d.event.eventId).map((d) => dedupeKey(group, d.event.eventId));
            const seen = new Set(ids.length > 0 ? await handledKeys(dedupe, ids) : []);
            fresh = decoded.filter((d) => !d.event.eventId || !seen.has(dedupeKey(group, d.event.eventId)));
            if (fresh.length < decoded.length) duplicates.add(decoded.length - fresh.length, attrs);
          }
          if (fresh.length > 0) {
            const result = await options.handler(
              fresh.map((d) => d.event),
              fresh.map((d) => messages[d.index]!),
            );
            for (const [n, error] of result?.failed ?? []) {
              const entry = fresh[n];
              if (entry) failed.set(entry.index, error);
            }
          }
          if (dedupe)
            await Promise.all(
              fresh
                .filter((d) => d.event.eventId && !failed.has(d.index))
                .map((d) => dedupe.setIfAbsent(dedupeKey(group, d.event.eventId), '1', ttl)),
            );
          if (failed.size > 0) span.setAttribute('anfang.bus.failed_in_batch', failed.size);
          return { failed };
        });
      } catch (error) {
        failSpan(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  });
}

async function handledKeys(dedupe: EventDedupe, keys: readonly string[]): Promise<string[]> {
  const values = await dedupe.getMany(keys);
  return keys.filter((_, n) => values[n] !== null && values[n] !== undefined);
}
