/**
 * A trace started in a gRPC call continues through a Kafka message into the consumer:
 * gRPC client → EchoService server → typed event publisher → real Kafka → `consume` handler,
 * all spans captured by an in-memory exporter.
 */
import { SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { EchoService, topics } from '@anfang/contracts';
import { deleteTopics, infraEnv, uniqueName, waitFor } from '@anfang/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consume,
  createEventPublisher,
  createKafkaBus,
  type KafkaBus,
  type Subscription,
} from '../src/bus/index.ts';
import {
  createGrpcClient,
  createGrpcServer,
  grpcService,
  type GrpcClient,
  type GrpcServer,
} from '../src/grpc/index.ts';
import { createLogger } from '../src/log/index.ts';
import {
  InMemorySpanExporter,
  startTelemetry,
  type ReadableSpan,
  type Telemetry,
} from '../src/telemetry/index.ts';

const exporter = new InMemorySpanExporter();
const logger = createLogger({ service: 'trace-test', level: 'warn' });
const topic = { ...topics.deviceStatusChanged, name: uniqueName('anfang-trace-test') };

let telemetry: Telemetry;
let bus: KafkaBus;
let server: GrpcServer;
let client: GrpcClient<typeof EchoService.definition>;
let subscription: Subscription;
const consumed: { eventId: string; deviceId: string | null | undefined; active: SpanContext | undefined }[] =
  [];

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'trace-test', spanExporter: exporter, metricsExporter: 'none' });
  bus = await createKafkaBus({
    brokers: infraEnv().kafkaBrokers,
    clientId: 'trace-test',
    replicationFactor: 1,
    consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
    logger: { info: () => {}, warn: () => {}, error: (fields, message) => console.error(message, fields) },
  });
  await bus.ensureTopics([{ name: topic.name, partitions: 1, retentionMs: 3_600_000 }]);

  subscription = await consume(bus, {
    group: uniqueName('trace-test'),
    topics: [topic],
    start: 'earliest',
    handler: async (event) => {
      consumed.push({
        eventId: event.eventId,
        deviceId: event.payload.device?.deviceId,
        active: trace.getActiveSpan()?.spanContext(),
      });
    },
  });

  const publisher = createEventPublisher({ bus, producer: 'trace-test' });
  server = await createGrpcServer({
    services: [
      grpcService(EchoService.definition, {
        async echo(request) {
          // The handler runs in the SERVER span; the event is published as its descendant.
          await publisher.publish(
            topic,
            { device: { deviceId: `d-${request.message}` } },
            { key: `d-${request.message}` },
          );
          return { message: request.message, payload: request.payload };
        },
      }),
    ],
    port: 0,
    host: '127.0.0.1',
    logger,
  });
  client = createGrpcClient(EchoService.definition, `127.0.0.1:${server.port}`, { deadlineMs: 10_000 });
});

afterAll(async () => {
  client?.close();
  await subscription?.close();
  await server?.shutdown(1000);
  await bus?.close();
  await deleteTopics([topic.name, `${topic.name}.retry`, `${topic.name}.dlq`]);
  await telemetry?.shutdown();
});

function ancestry(span: ReadableSpan, byId: Map<string, ReadableSpan>): ReadableSpan[] {
  const chain: ReadableSpan[] = [];
  let current: ReadableSpan | undefined = span;
  while (current) {
    chain.push(current);
    const parent: string | undefined = current.parentSpanContext?.spanId;
    current = parent ? byId.get(parent) : undefined;
  }
  return chain;
}

describe('trace propagation', () => {
  it('continues a trace from a gRPC call through Kafka into the consumer', async () => {
    const response = await client.echo({ message: 'trace-1' });
    expect(response.message).toBe('trace-1');

    const consumerSpan = await waitFor(
      () => exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER),
      { timeoutMs: 30_000, message: 'the consumer span never ended' },
    );
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const clientSpan = spans.find(
      (s) => s.kind === SpanKind.CLIENT && s.name === 'anfang.platform.v1.EchoService/Echo',
    );
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
    const producerSpan = spans.find((s) => s.kind === SpanKind.PRODUCER);
    expect(clientSpan).toBeDefined();
    expect(serverSpan).toBeDefined();
    expect(producerSpan).toBeDefined();

    // One trace, started by the gRPC client.
    const traceId = clientSpan!.spanContext().traceId;
    expect(clientSpan!.parentSpanContext).toBeUndefined();
    for (const s of [serverSpan!, producerSpan!, consumerSpan]) expect(s.spanContext().traceId).toBe(traceId);

    // The consumer span descends from the client span: consumer → producer → server → client.
    const chain = ancestry(consumerSpan, byId).map((s) => s.kind);
    expect(chain).toEqual([SpanKind.CONSUMER, SpanKind.PRODUCER, SpanKind.SERVER, SpanKind.CLIENT]);
    expect(consumerSpan.parentSpanContext?.isRemote).toBe(true); // crossed Kafka in the headers
    expect(serverSpan!.parentSpanContext?.isRemote).toBe(true); // crossed gRPC in the metadata

    // The handler ran inside the consumer span (its logs carry the same trace id).
    expect(consumed).toHaveLength(1);
    expect(consumed[0]?.deviceId).toBe('d-trace-1');
    expect(consumed[0]?.active?.traceId).toBe(traceId);
    expect(consumed[0]?.active?.spanId).toBe(consumerSpan.spanContext().spanId);
  });
});
