/**
 * The bus contract: the same tests against every implementation (bus.kafka.test.ts on the
 * infrastructure's Kafka, bus.embedded.test.ts on a fresh Postgres database). Each test makes
 * its own topics (unique names) and groups, and closes what it opened.
 */
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, metrics, propagation, trace, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { uniqueName, waitFor } from '@anfang/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '../src/cache/memory.ts';
import {
  HEADER,
  PermanentError,
  consume,
  consumeBatch,
  createEventPublisher,
  partitionForKey,
  type Bus,
  type ReceivedMessage,
  type EventMeta,
  type Subscription,
  type TopicDefinition,
  type TopicSpec,
} from '../src/bus/index.ts';
import { eventCodecs } from '@anfang/contracts';

export interface BusFixture {
  /** A new, independent bus on the same backend (as another process would have). */
  newBus(): Promise<Bus>;
  /** Arguments of test/bus.batch.child.ts naming this backend: a bus in another process. */
  readonly child: readonly string[];
  /** The consumer session timeout of `newBus`'s buses. */
  readonly sessionTimeoutMs: number;
  /** Called once after all tests, with every topic the suite created. */
  cleanup(topics: string[]): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const text = (value: Uint8Array): string => decoder.decode(value);
const DAY = 24 * 3600 * 1000;
const FAST_RETRY = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 400 };

// One set of OpenTelemetry providers for the whole file, registered before any bus exists.
const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const metricReader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
let telemetryReady = false;
function setUpTelemetry(): void {
  if (telemetryReady) return;
  telemetryReady = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));
}

async function metricSum(name: string, attrs: Record<string, string>): Promise<number> {
  const { resourceMetrics } = await metricReader.collect();
  let sum = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints) {
        if (Object.entries(attrs).every(([k, v]) => point.attributes[k] === v)) sum += Number(point.value);
      }
    }
  }
  return sum;
}

export function busContract(label: string, setup: () => Promise<BusFixture>): void {
  describe(`bus contract: ${label}`, () => {
    let fixture: BusFixture;
    const topicsCreated: string[] = [];
    const open: { close(): Promise<void> }[] = [];

    beforeAll(async () => {
      setUpTelemetry();
      fixture = await setup();
    });
    afterEach(async () => {
      // Subscriptions first, then buses.
      const all = open.splice(0).reverse();
      for (const o of all) await o.close().catch(() => {});
    });
    afterAll(async () => {
      await fixture?.cleanup(topicsCreated);
    });

    const newBus = async (): Promise<Bus> => {
      const bus = await fixture.newBus();
      open.push(bus);
      return bus;
    };
    const track = <T extends Subscription>(s: T): T => {
      open.push(s);
      return s;
    };
    const makeTopic = async (
      bus: Bus,
      name: string,
      partitions: number,
      extra: Partial<TopicSpec> = {},
    ): Promise<string> => {
      const topic = uniqueName(`bus-${name}`);
      const spec: TopicSpec = { name: topic, partitions, retentionMs: DAY, ...extra };
      await bus.ensureTopics([spec]);
      topicsCreated.push(topic, `${topic}.retry`, `${topic}.dlq`);
      return topic;
    };
    /** Collects what a group receives. */
    const collect = async (
      bus: Bus,
      topic: string | string[],
      group: string,
      opts: {
        start?: 'earliest' | 'latest';
        partitionsConcurrently?: number;
        handler?: (m: ReceivedMessage) => Promise<void>;
      } = {},
    ) => {
      const received: ReceivedMessage[] = [];
      const sub = track(
        await bus.subscribe({
          group,
          topics: Array.isArray(topic) ? topic : [topic],
          start: opts.start ?? 'earliest',
          retry: FAST_RETRY,
          ...(opts.partitionsConcurrently ? { partitionsConcurrently: opts.partitionsConcurrently } : {}),
          handler: async (m) => {
            if (opts.handler) await opts.handler(m);
            received.push(m);
          },
        }),
      );
      return { received, sub };
    };

    it('ensureTopics is idempotent and creates the .retry/.dlq companions; check() passes', async () => {
      const bus = await newBus();
      await bus.check();
      const topic = await makeTopic(bus, 'ensure', 3, { companions: true });
      await bus.ensureTopics([{ name: topic, partitions: 3, retentionMs: DAY, companions: true }]);
      // Each companion exists: publishing to it succeeds.
      await bus.publish(`${topic}.retry`, [{ key: 'k', value: bytes('r') }]);
      await bus.publish(`${topic}.dlq`, [{ key: 'k', value: bytes('d') }]);
    });

    it('publish to an unknown topic rejects', async () => {
      const bus = await newBus();
      await expect(bus.publish(uniqueName('bus-nope'), [{ key: 'k', value: bytes('x') }])).rejects.toThrow();
    });

    it('publishes and consumes: key, value, headers, timestamp, and the Kafka partition of the key', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'basic', 4);
      const ts = Date.now() - 60_000;
      const messages = Array.from({ length: 20 }, (_, i) => ({
        key: `device-${i}`,
        value: bytes(`v${i}`),
        headers: { 'x-n': String(i) },
        timestamp: ts + i,
      }));
      await bus.publish(topic, messages);
      const { received } = await collect(bus, topic, uniqueName('g-basic'));
      await waitFor(() => received.length >= 20, { timeoutMs: 20_000, message: 'all 20 delivered' });
      for (const m of received) {
        const i = Number(m.headers['x-n']);
        expect(m.topic).toBe(topic);
        expect(m.key).toBe(`device-${i}`);
        expect(text(m.value)).toBe(`v${i}`);
        expect(m.timestamp).toBe(ts + i);
        expect(m.partition).toBe(partitionForKey(`device-${i}`, 4));
        expect(m.offset).toMatch(/^\d+$/);
      }
      expect(new Set(received.map((m) => m.headers['x-n'])).size).toBe(20);
    });

    it('a new group with start "latest" gets only what is published after subscribe resolved', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'latest', 2);
      await bus.publish(topic, [{ key: 'a', value: bytes('before') }]);
      const { received } = await collect(bus, topic, uniqueName('g-latest'), { start: 'latest' });
      await bus.publish(topic, [{ key: 'a', value: bytes('after') }]);
      await waitFor(() => received.length >= 1, { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 500));
      expect(received.map((m) => text(m.value))).toEqual(['after']);
    });

    it('a group with start "latest" that was down gets what was published meanwhile, on partitions it never read too', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'latest-down', 4);
      const group = uniqueName('g-latest-down');
      const first = await collect(bus, topic, group, { start: 'latest' });
      await first.sub.close();
      // No member runs now, and the group has never had a message on any partition.
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      await bus.publish(
        topic,
        keys.map((k) => ({ key: k, value: bytes(`while down ${k}`) })),
      );
      const second = await collect(bus, topic, group, { start: 'latest' });
      await waitFor(() => second.received.length >= keys.length, {
        timeoutMs: 30_000,
        message: 'what was published while the group was down',
      }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}: ${second.received.length} of ${keys.length}`, {
          cause: error,
        });
      });
      expect(second.received.map((m) => text(m.value)).sort()).toEqual(keys.map((k) => `while down ${k}`));
    });

    it('keeps per-key order across many keys and partitions, with partitions handled concurrently', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'order', 6);
      const keys = 100;
      const perKey = 20;
      // Not awaited one by one: concurrent publish calls must keep call order per key.
      const sends: Promise<void>[] = [];
      for (let seq = 0; seq < perKey; seq++) {
        for (let k = 0; k < keys; k++)
          sends.push(bus.publish(topic, [{ key: `key-${k}`, value: bytes(String(seq)) }]));
      }
      await Promise.all(sends);
      const lastSeen = new Map<string, number>();
      const violations: string[] = [];
      const { received } = await collect(bus, topic, uniqueName('g-order'), {
        partitionsConcurrently: 3,
        handler: async (m) => {
          const seq = Number(text(m.value));
          const prev = lastSeen.get(m.key) ?? -1;
          if (seq !== prev + 1) violations.push(`${m.key}: ${prev} then ${seq}`);
          lastSeen.set(m.key, seq);
          if (seq % 7 === 0) await new Promise((r) => setImmediate(r));
        },
      });
      await waitFor(() => received.length >= keys * perKey, {
        timeoutMs: 40_000,
        message: 'all ordered messages delivered',
      });
      expect(violations).toEqual([]);
      expect(received.length).toBe(keys * perKey);
    });

    it('acknowledged messages are durable: a new bus and a new group read every one', async () => {
      const writer = await newBus();
      const topic = await makeTopic(writer, 'durable', 3);
      const n = 500;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          writer.publish(topic, [{ key: `k${i % 17}`, value: bytes(`m${i}`) }]),
        ),
      );
      await writer.close();
      const reader = await newBus();
      const { received } = await collect(reader, topic, uniqueName('g-durable'));
      await waitFor(() => received.length >= n, { timeoutMs: 30_000 });
      expect(new Set(received.map((m) => text(m.value))).size).toBe(n);
    });

    it('a group resumes from its committed offset after close and reopen', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'resume', 2);
      const group = uniqueName('g-resume');
      await bus.publish(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: bytes(`first-${i}`) })),
      );
      const first = await collect(bus, topic, group);
      await waitFor(() => first.received.length >= 5, { timeoutMs: 20_000 });
      await first.sub.close();
      await bus.publish(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: bytes(`second-${i}`) })),
      );
      const bus2 = await newBus();
      const second = await collect(bus2, topic, group);
      await waitFor(() => second.received.length >= 5, { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 500));
      expect(second.received.map((m) => text(m.value)).sort()).toEqual(
        Array.from({ length: 5 }, (_, i) => `second-${i}`),
      );
    });

    it('two groups each see every message', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'groups', 3);
      await bus.publish(
        topic,
        Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: bytes(`${i}`) })),
      );
      const a = await collect(bus, topic, uniqueName('g-a'));
      const b = await collect(bus, topic, uniqueName('g-b'));
      await waitFor(() => a.received.length >= 30 && b.received.length >= 30, { timeoutMs: 20_000 });
      expect(new Set(a.received.map((m) => text(m.value))).size).toBe(30);
      expect(new Set(b.received.map((m) => text(m.value))).size).toBe(30);
    });

    it('two members of one group (two buses) split the partitions with no duplicates in steady state', async () => {
      const busA = await newBus();
      const busB = await newBus();
      const topic = await makeTopic(busA, 'members', 4);
      const group = uniqueName('g-members');
      const a = await collect(busA, topic, group, { start: 'latest' });
      const b = await collect(busB, topic, group, { start: 'latest' });
      // Wait for the rebalance to settle: probes on every partition reach both members.
      const probeKeys = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9'];
      await waitFor(
        async () => {
          await busA.publish(
            topic,
            probeKeys.map((k) => ({ key: k, value: bytes('probe') })),
          );
          await new Promise((r) => setTimeout(r, 300));
          const partsA = new Set(a.received.map((m) => m.partition));
          const partsB = new Set(b.received.map((m) => m.partition));
          return (
            partsA.size > 0 &&
            partsB.size > 0 &&
            [...partsA].every((p) => !partsB.has(p)) &&
            partsA.size + partsB.size === 4
          );
        },
        { timeoutMs: 40_000, intervalMs: 500, message: 'both members own partitions' },
      );
      await new Promise((r) => setTimeout(r, 500));
      const n = 400;
      await busA.publish(
        topic,
        Array.from({ length: n }, (_, i) => ({ key: `key-${i}`, value: bytes(`real-${i}`) })),
      );
      const real = () => [...a.received, ...b.received].filter((m) => text(m.value).startsWith('real-'));
      await waitFor(() => real().length >= n, {
        timeoutMs: 30_000,
        message: 'all steady-state messages delivered',
      });
      await new Promise((r) => setTimeout(r, 500));
      const values = real().map((m) => text(m.value));
      expect(values.length).toBe(n);
      expect(new Set(values).size).toBe(n);
      expect(a.received.some((m) => text(m.value).startsWith('real-'))).toBe(true);
      expect(b.received.some((m) => text(m.value).startsWith('real-'))).toBe(true);
      const partsA = new Set(
        a.received.filter((m) => text(m.value).startsWith('real-')).map((m) => m.partition),
      );
      const partsB = new Set(
        b.received.filter((m) => text(m.value).startsWith('real-')).map((m) => m.partition),
      );
      expect([...partsA].filter((p) => partsB.has(p))).toEqual([]);
    });

    it('a failing handler is retried through <topic>.retry with back-off until it succeeds; other groups are not affected', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'retry', 2, { companions: true });
      const attempts: { attempt: string | undefined; at: number; topic: string }[] = [];
      const group = uniqueName('g-retry');
      const done: string[] = [];
      track(
        await bus.subscribe({
          group,
          topics: [topic],
          start: 'earliest',
          retry: FAST_RETRY,
          handler: async (m) => {
            if (text(m.value) === 'flaky') {
              attempts.push({ attempt: m.headers[HEADER.retryAttempt], at: Date.now(), topic: m.topic });
              if (attempts.length < 3) throw new Error(`transient failure ${attempts.length}`);
            }
            done.push(text(m.value));
          },
        }),
      );
      const other = await collect(bus, topic, uniqueName('g-other'));
      await bus.publish(topic, [
        { key: 'k1', value: bytes('flaky'), headers: { [HEADER.eventId]: 'e-flaky' } },
        { key: 'k2', value: bytes('fine') },
      ]);
      await waitFor(() => done.includes('flaky'), {
        timeoutMs: 30_000,
        message: 'flaky message finally handled',
      });
      expect(done.filter((d) => d === 'flaky')).toHaveLength(1);
      expect(done).toContain('fine');
      expect(attempts.map((a) => a.attempt)).toEqual([undefined, '2', '3']);
      expect(attempts.every((a) => a.topic === topic)).toBe(true);
      // Back-off: 100 ms, then 200 ms (at least).
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(90);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(190);
      await new Promise((r) => setTimeout(r, 500));
      expect(other.received.map((m) => text(m.value)).sort()).toEqual(['fine', 'flaky']);
      expect(await metricSum('anfang.bus.retried', { 'messaging.destination.name': topic })).toBe(2);
    });

    it('retries exhausted, a permanent error: to <topic>.dlq with reason headers, and the consumer goes on', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'dlq', 2, { companions: true });
      const group = uniqueName('g-dlq');
      const handled: string[] = [];
      track(
        await bus.subscribe({
          group,
          topics: [topic],
          start: 'earliest',
          retry: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 100 },
          handler: async (m) => {
            const v = text(m.value);
            if (v === 'poison') throw new PermanentError('cannot ever work');
            if (v === 'always-fails') throw new Error('still broken');
            handled.push(v);
          },
        }),
      );
      const dlq = await collect(bus, `${topic}.dlq`, uniqueName('g-dlq-reader'));
      await bus.publish(topic, [
        { key: 'same', value: bytes('poison'), headers: { 'x-original': 'kept' } },
        { key: 'same', value: bytes('after-poison') },
        { key: 'other', value: bytes('always-fails') },
        { key: 'other', value: bytes('after-failure') },
      ]);
      await waitFor(() => dlq.received.length >= 2, {
        timeoutMs: 30_000,
        message: 'two messages in the DLQ',
      });
      await waitFor(() => handled.includes('after-poison') && handled.includes('after-failure'), {
        timeoutMs: 10_000,
      });
      const poison = dlq.received.find((m) => text(m.value) === 'poison')!;
      expect(poison.key).toBe('same');
      expect(poison.headers[HEADER.dlqReason]).toBe('permanent: PermanentError: cannot ever work');
      expect(poison.headers[HEADER.dlqSourceTopic]).toBe(topic);
      expect(poison.headers[HEADER.dlqSourcePartition]).toBe(String(partitionForKey('same', 2)));
      expect(poison.headers[HEADER.dlqSourceOffset]).toMatch(/^\d+$/);
      expect(poison.headers[HEADER.dlqConsumerGroup]).toBe(group);
      expect(Number.isNaN(Date.parse(poison.headers[HEADER.dlqFailedAt]!))).toBe(false);
      expect(poison.headers['x-original']).toBe('kept');
      const exhausted = dlq.received.find((m) => text(m.value) === 'always-fails')!;
      expect(exhausted.headers[HEADER.dlqReason]).toBe('exhausted after 3 attempts: Error: still broken');
      expect(exhausted.headers[HEADER.dlqSourceTopic]).toBe(topic);
      expect(exhausted.headers[HEADER.retryAttempt]).toBe('3');
      expect(await metricSum('anfang.bus.dlq', { 'messaging.destination.name': topic })).toBe(2);
    });

    it('an undecodable payload goes to the DLQ with the reason and the typed consumer goes on', async () => {
      const bus = await newBus();
      const topicName = await makeTopic(bus, 'undecodable', 1, { companions: true });
      const statuses = statusTopic(topicName);
      const got: string[] = [];
      track(
        await consume(bus, {
          group: uniqueName('g-undec'),
          topics: [statuses],
          start: 'earliest',
          retry: FAST_RETRY,
          handler: async (e) => void got.push(e.payload.device?.deviceId ?? ''),
        }),
      );
      const dlq = await collect(bus, `${topicName}.dlq`, uniqueName('g-undec-dlq'));
      await bus.publish(topicName, [{ key: 'x', value: new Uint8Array([0xff, 0x00, 0x13]) }]);
      const publisher = createEventPublisher({ bus, producer: 'contract-test' });
      await publisher.publish(statuses, { device: { deviceId: 'readable' } });
      await waitFor(() => got.includes('readable') && dlq.received.length === 1, { timeoutMs: 30_000 });
      expect(dlq.received[0]!.headers[HEADER.dlqReason]).toMatch(
        /^permanent: PermanentError: undecodable anfang\.device\.v1\.DeviceStatusChanged: /,
      );
    });

    it('a batch handler gets a partition at once; poison in the middle goes to the DLQ with its reason; a failed batch is split so only the bad message is retried', async () => {
      const bus = await newBus();
      const topicName = await makeTopic(bus, 'batch', 1, { companions: true });
      const statuses = statusTopic(topicName);
      const group = uniqueName('g-batch');
      const applied: string[] = [];
      const sizes: number[] = [];
      let calls = 0;
      const publisher = createEventPublisher({ bus, producer: 'contract-test' });
      const device = (n: number) => ({ payload: { device: { deviceId: `d${n}` } } });
      // One publish: the consumer finds them all in its first fetch.
      await publisher.publishMany(
        statuses,
        Array.from({ length: 10 }, (_, n) => device(n)),
      );
      await bus.publish(topicName, [{ key: 'garbage', value: new Uint8Array([0xff, 0x00, 0x13]) }]);
      await publisher.publishMany(statuses, [
        { payload: { device: { deviceId: 'fails-once' } } },
        { payload: { device: { deviceId: 'never' } } },
        ...Array.from({ length: 10 }, (_, n) => device(10 + n)),
      ]);
      const dlq = await collect(bus, `${topicName}.dlq`, uniqueName('g-batch-dlq'));
      track(
        await consumeBatch(bus, {
          group,
          topics: [statuses],
          start: 'earliest',
          retry: FAST_RETRY,
          handler: async (events) => {
            calls++;
            const ids = events.map((e) => e.payload.device?.deviceId ?? '');
            // Applied all or nothing, like a transaction: a throw leaves no trace. 'fails-once'
            // fails its first delivery, in whatever batch, and succeeds when retried.
            if (events.some((e) => e.payload.device?.deviceId === 'fails-once' && e.attempt === 1))
              throw new Error('transient');
            const never = ids.indexOf('never');
            sizes.push(events.length);
            applied.push(...ids.filter((id) => id !== 'never'));
            if (never >= 0) return { failed: new Map([[never, new PermanentError('never applies')]]) };
          },
        }),
      );
      await waitFor(() => applied.length >= 21 && dlq.received.length >= 2, {
        timeoutMs: 30_000,
        message: '21 applied and 2 in the DLQ',
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(applied.filter((id) => id !== 'fails-once').sort()).toEqual(
        Array.from({ length: 20 }, (_, n) => `d${n}`).sort(),
      );
      // The failed batch's other messages were applied in its halves, the bad one through the retry topic.
      expect(applied.filter((id) => id === 'fails-once')).toEqual(['fails-once']);
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(calls).toBeLessThan(21);
      const reasons = dlq.received.map((m) => m.headers[HEADER.dlqReason]).sort();
      expect(reasons[0]).toBe('permanent: PermanentError: never applies');
      expect(reasons[1]).toMatch(
        /^permanent: PermanentError: undecodable anfang\.device\.v1\.DeviceStatusChanged: /,
      );
    });

    it('a batch applied but not committed when its process dies is delivered again', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'batch-crash', 1);
      const group = uniqueName('g-batch-crash');
      const values = Array.from({ length: 8 }, (_, n) => `m${n}`);
      await bus.publish(
        topic,
        values.map((v) => ({ key: 'k', value: bytes(v) })),
      );
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('./bus.batch.child.ts', import.meta.url)), ...fixture.child, topic, group],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
      const lines: string[] = [];
      createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
      try {
        await waitFor(() => lines.some((l) => l.startsWith('BATCH ')), {
          timeoutMs: 60_000,
          message: 'the child got its batch',
        });
      } finally {
        child.kill('SIGKILL');
      }
      expect(await exited).toBe('SIGKILL');
      const first = lines
        .find((l) => l.startsWith('BATCH '))!
        .slice(6)
        .split(',');
      expect(first.length).toBeGreaterThan(0);
      const again: string[] = [];
      track(
        await bus.subscribe({
          group,
          topics: [topic],
          start: 'earliest',
          batchHandler: async (messages) => void again.push(...messages.map((m) => text(m.value))),
        }),
      );
      await waitFor(() => again.length >= values.length, {
        timeoutMs: 60_000,
        message: 'every message delivered to the next member',
      });
      expect(again).toEqual(values);
      expect(values.slice(0, first.length)).toEqual(first);
    }, 120_000);

    it('a batch that outlasts the session keeps its partition and is committed once', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'batch-long', 1);
      const group = uniqueName('g-batch-long');
      await bus.publish(topic, [
        { key: 'k', value: bytes('slow') },
        { key: 'k', value: bytes('a') },
      ]);
      const seen: string[] = [];
      const sub = await bus.subscribe({
        group,
        topics: [topic],
        start: 'earliest',
        batchHandler: async (messages) => {
          const values = messages.map((m) => text(m.value));
          if (values.includes('slow') && !seen.includes('slow'))
            await new Promise((r) => setTimeout(r, fixture.sessionTimeoutMs + 1_500));
          seen.push(...values);
        },
      });
      track(sub);
      await waitFor(() => seen.length >= 2, { timeoutMs: 60_000, message: 'the long batch applied' });
      await bus.publish(topic, [{ key: 'k', value: bytes('after') }]);
      await waitFor(() => seen.includes('after'), { timeoutMs: 30_000, message: 'the next one' });
      await sub.close();
      expect(seen).toEqual(['slow', 'a', 'after']);
      // Committed: a new member of the group gets only what comes next.
      const next = await collect(bus, topic, group);
      await bus.publish(topic, [{ key: 'k', value: bytes('last') }]);
      await waitFor(() => next.received.length >= 1, { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 300));
      expect(next.received.map((m) => text(m.value))).toEqual(['last']);
    }, 120_000);

    it('replays a group from earliest, from a timestamp, from offsets and from latest; refuses while members run', async () => {
      const bus = await newBus();
      const topic = await makeTopic(bus, 'replay', 2);
      const group = uniqueName('g-replay');
      const base = Date.now() - 3_600_000;
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => ({
          key: `k${i}`,
          value: bytes(`${i}`),
          timestamp: base + i * 1000,
        })),
      );
      const first = await collect(bus, topic, group);
      await waitFor(() => first.received.length >= 10, { timeoutMs: 20_000 });
      await expect(bus.replay(group, topic, { kind: 'earliest' })).rejects.toThrow();
      await first.sub.close();

      const again = async (): Promise<string[]> => {
        const r = await collect(bus, topic, group);
        await new Promise((res) => setTimeout(res, 1_500));
        await r.sub.close();
        return r.received.map((m) => text(m.value)).sort((x, y) => Number(x) - Number(y));
      };
      await bus.replay(group, topic, { kind: 'earliest' });
      expect(await again()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      await bus.replay(group, topic, { kind: 'timestamp', timestamp: base + 6_000 });
      expect(await again()).toEqual(['6', '7', '8', '9']);
      const partition = partitionForKey('k3', 2);
      await bus.replay(group, topic, { kind: 'offsets', offsets: [{ partition, offset: '0' }] });
      const fromOffsets = await again();
      const onPartition = Array.from({ length: 10 }, (_, i) => i)
        .filter((i) => partitionForKey(`k${i}`, 2) === partition)
        .map(String);
      expect(fromOffsets).toEqual(onPartition);
      await bus.replay(group, topic, { kind: 'earliest' });
      await bus.replay(group, topic, { kind: 'latest' });
      expect(await again()).toEqual([]);
    });

    it('typed events: meta and headers filled, trace continues from producer to consumer, duplicates skipped', async () => {
      const bus = await newBus();
      const topicName = await makeTopic(bus, 'events', 2, { companions: true });
      const statuses = statusTopic(topicName);
      const cache = createMemoryCache({ keyPrefix: 'test:' });
      const handled: {
        id: string;
        text: string;
        traceId: string | undefined;
        meta: EventMeta | null | undefined;
        headers: Record<string, string>;
      }[] = [];
      const group = uniqueName('g-events');
      track(
        await consume(bus, {
          group,
          topics: [statuses],
          start: 'earliest',
          dedupe: cache,
          retry: FAST_RETRY,
          handler: async (event, message) => {
            handled.push({
              id: event.eventId,
              text: event.payload.device?.deviceId ?? '',
              traceId: trace.getActiveSpan()?.spanContext().traceId,
              meta: event.payload.meta,
              headers: message.headers,
            });
          },
        }),
      );
      const publisher = createEventPublisher({ bus, producer: 'contract-test' });
      const tracer = trace.getTracer('contract');
      let rootTraceId = '';
      const occurredAt = new Date('2026-01-02T03:04:05.678Z');
      const id = await tracer.startActiveSpan('rpc', async (span) => {
        rootTraceId = span.spanContext().traceId;
        try {
          return await publisher.publish(
            statuses,
            { device: { deviceId: 'hello' } },
            {
              key: 'device-1',
              compoundId: '370303001001001',
              occurredAt,
              eventId: '0190f0b4-0000-7000-8000-000000000001',
            },
          );
        } finally {
          span.end();
        }
      });
      expect(id).toBe('0190f0b4-0000-7000-8000-000000000001');
      // The same event again (a resend): skipped.
      await publisher.publish(statuses, { device: { deviceId: 'hello' } }, { key: 'device-1', eventId: id });
      // The key defaults to the topic's keyOf(payload).
      const second = await publisher.publish(statuses, { device: { deviceId: 'second' } });
      expect(second).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      await waitFor(() => handled.some((h) => h.text === 'second'), { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 300));
      expect(handled.map((h) => h.text).sort()).toEqual(['hello', 'second']);
      const first = handled.find((h) => h.text === 'hello')!;
      expect(first.id).toBe(id);
      expect(first.traceId).toBe(rootTraceId);
      expect(first.headers[HEADER.eventId]).toBe(id);
      expect(first.headers[HEADER.eventType]).toBe('anfang.device.v1.DeviceStatusChanged');
      expect(first.headers[HEADER.producer]).toBe('contract-test');
      expect(first.headers[HEADER.traceparent]).toMatch(new RegExp(`^00-${rootTraceId}-[0-9a-f]{16}-0[01]$`));
      expect(first.meta?.eventId).toBe(id);
      expect(first.meta?.eventType).toBe('anfang.device.v1.DeviceStatusChanged');
      expect(first.meta?.producer).toBe('contract-test');
      expect(first.meta?.compoundId).toBe('370303001001001');
      expect(first.meta?.occurredAt).toEqual({
        seconds: Math.floor(occurredAt.getTime() / 1000),
        nanos: 678_000_000,
      });
      expect(first.meta?.traceparent).toBe(first.headers[HEADER.traceparent]);
      const finished = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === rootTraceId);
      const send = finished.find((s) => s.kind === SpanKind.PRODUCER && s.name === `send ${topicName}`);
      const process = finished.find((s) => s.kind === SpanKind.CONSUMER && s.name === `process ${topicName}`);
      expect(send).toBeDefined();
      expect(process).toBeDefined();
      expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
      expect(process!.links.map((l) => l.context.spanId)).toContain(send!.spanContext().spanId);
      expect(await metricSum('anfang.bus.duplicates', { 'messaging.destination.name': topicName })).toBe(1);
      expect(
        await metricSum('messaging.client.consumed.messages', {
          'messaging.destination.name': topicName,
          'messaging.consumer.group.name': group,
        }),
      ).toBe(3);
    });
  });
}

const statusCodec = eventCodecs['anfang.device.v1.DeviceStatusChanged'];
type Status = ReturnType<typeof statusCodec.decode>;
type StatusInit = Parameters<typeof statusCodec.encode>[0];

/** A test topic carrying a generated payload type, keyed by device like the catalogue's. */
export function statusTopic(name: string): TopicDefinition<Status, StatusInit> {
  return {
    name,
    description: 'bus contract test topic',
    producers: ['contract-test'],
    consumers: ['contract-test'],
    key: 'device',
    keyOf: (m) => m.device?.deviceId ?? '',
    payload: statusCodec,
    partitions: 2,
    retentionMs: DAY,
    compacted: false,
    companions: true,
    personalData: false,
  };
}
