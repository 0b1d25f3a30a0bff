import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, metrics, propagation, trace, isSpanContextValid, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  InMemorySpanExporter,
  extractTraceContext,
  getTelemetry,
  injectTraceHeaders,
  startTelemetry,
  withSpan,
} from '../src/telemetry/index.ts';

describe('startTelemetry', () => {
  it('works with no exporter at all: spans still get ids, for log correlation', async () => {
    const telemetry = startTelemetry({
      serviceName: 'no-collector',
      tracesExporter: 'none',
      metricsExporter: 'none',
    });
    expect(telemetry.metricsHandler).toBeUndefined();
    await withSpan('work', async (span) => {
      expect(isSpanContextValid(span.spanContext())).toBe(true);
      await sleep(1);
      // AsyncLocalStorage keeps the span active across awaits.
      expect(trace.getActiveSpan()).toBe(span);
    });
    await telemetry.shutdown();
    expect(getTelemetry()).toBeUndefined();
  });

  it('exports to an OTLP/HTTP collector and flushes the batch on shutdown', async () => {
    const received: { path: string; type: string | undefined; bytes: number }[] = [];
    const collector = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: req.headers['content-type'], bytes });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const { port } = collector.address() as { port: number };
    const telemetry = startTelemetry({
      serviceName: 'otlp-test',
      tracesExporter: 'otlp',
      otlpEndpoint: `http://127.0.0.1:${port}/`,
      metricsExporter: 'none',
    });
    await withSpan('exported', () => undefined);
    expect(received).toHaveLength(0); // batched, not yet sent
    await telemetry.shutdown();
    collector.close();
    expect(received.length).toBeGreaterThanOrEqual(1);
    expect(received[0]?.path).toBe('/v1/traces');
    expect(received[0]?.bytes).toBeGreaterThan(0);
  });

  it('can be started again after shutdown, and shares one instance between services in a process', async () => {
    const exporter = new InMemorySpanExporter();
    const a = startTelemetry({ serviceName: 'embedded', spanExporter: exporter, metricsExporter: 'none' });
    const b = startTelemetry({ serviceName: 'other', metricsExporter: 'none' });
    expect(b.tracerProvider).toBe(a.tracerProvider);
    await a.shutdown();
    await withSpan('still exported', () => undefined); // b still holds the providers
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['still exported']);
    await b.shutdown();
    expect(getTelemetry()).toBeUndefined();
  });

  it('serves the meter provider in Prometheus format', async () => {
    const telemetry = startTelemetry({ serviceName: 'metrics-test', metricsExporter: 'prometheus' });
    metrics
      .getMeter('t')
      .createCounter('anfang.test.events', { description: 'events' })
      .add(3, { kind: 'x' });
    const server = createServer((req, res) => telemetry.metricsHandler?.(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    server.close();
    await telemetry.shutdown();
    expect(text).toMatch(/anfang_test_events(_total)?\{[^}]*kind="x"[^}]*\} 3/);
    expect(text).toContain('service_name="metrics-test"');
  });
});

describe('trace headers', () => {
  it('inject and extract W3C trace context and baggage through plain headers', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = startTelemetry({
      serviceName: 'headers',
      spanExporter: exporter,
      metricsExporter: 'none',
    });
    const span = trace.getTracer('t').startSpan('producer');
    const ctx = propagation.setBaggage(
      trace.setSpan(context.active(), span),
      propagation.createBaggage({ compound: { value: 'c-1' } }),
    );
    const headers = injectTraceHeaders({ 'anfang-event-id': 'e1' }, ctx);
    expect(headers.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    expect(headers.baggage).toBe('compound=c-1');
    expect(headers['anfang-event-id']).toBe('e1');

    // Kafka delivers header values as bytes; HTTP may deliver arrays and mixed case.
    const traceparent = headers.traceparent!;
    const baggage = headers.baggage!;
    for (const carrier of [
      { traceparent, baggage },
      { traceparent: Buffer.from(traceparent), baggage: Buffer.from(baggage) },
      { TraceParent: [traceparent], Baggage: baggage },
    ]) {
      const extracted = extractTraceContext(carrier);
      expect(trace.getSpanContext(extracted)?.traceId).toBe(span.spanContext().traceId);
      expect(trace.getSpanContext(extracted)?.spanId).toBe(span.spanContext().spanId);
      expect(trace.getSpanContext(extracted)?.isRemote).toBe(true);
      expect(propagation.getBaggage(extracted)?.getEntry('compound')?.value).toBe('c-1');
    }
    expect(trace.getSpanContext(extractTraceContext({}))).toBeUndefined();
    span.end();
    await telemetry.shutdown();
  });

  it('withSpan records a failure and rethrows', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = startTelemetry({
      serviceName: 'with-span',
      spanExporter: exporter,
      metricsExporter: 'none',
    });
    await expect(
      withSpan('outer', () => withSpan('inner', () => Promise.reject(new Error('nope')))),
    ).rejects.toThrow('nope');
    const [inner, outer] = exporter.getFinishedSpans();
    expect(inner?.name).toBe('inner');
    expect(inner?.status.code).toBe(SpanStatusCode.ERROR);
    expect(inner?.events[0]?.name).toBe('exception');
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    await telemetry.shutdown();
  });
});

describe('telemetryOptions', () => {
  it('maps a loaded config to the options', async () => {
    const { composeEnv, loadConfig, serviceEnv, telemetryEnv } = await import('../src/config/index.ts');
    const { telemetryOptions } = await import('../src/telemetry/index.ts');
    const config = loadConfig(composeEnv(serviceEnv, telemetryEnv), {
      env: {
        OTEL_SERVICE_NAME: 'gateway',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
      },
      exitOnError: false,
    });
    expect(telemetryOptions(config)).toEqual({
      serviceName: 'gateway',
      tracesExporter: 'otlp',
      otlpEndpoint: 'http://otel:4318',
      metricsExporter: 'prometheus',
    });
  });
});
