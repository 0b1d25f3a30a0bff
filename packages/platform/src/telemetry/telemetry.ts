import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  context,
  metrics,
  propagation,
  trace,
  type Attributes,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import {
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';

export type TracesExporterKind = 'otlp' | 'console' | 'none';
export type MetricsExporterKind = 'prometheus' | 'none';
export type MetricsHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface TelemetryOptions {
  /** `OTEL_SERVICE_NAME`. */
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** `OTEL_TRACES_EXPORTER`; default `none` (spans still get ids for log correlation). */
  readonly tracesExporter?: TracesExporterKind;
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`, OTLP/HTTP base URL; `/v1/traces` is appended. */
  readonly otlpEndpoint?: string;
  /** `OTEL_METRICS_EXPORTER`; default `prometheus`, served by the HTTP helper at `/metrics`. */
  readonly metricsExporter?: MetricsExporterKind;
  /** Replaces `tracesExporter` (tests inject an `InMemorySpanExporter`). */
  readonly spanExporter?: SpanExporter;
  /** Default: `batch` for OTLP, `simple` for console and an injected exporter. */
  readonly spanProcessor?: 'batch' | 'simple';
  /** Fraction of new root traces sampled (parent-based otherwise). Default 1. */
  readonly sampleRatio?: number;
  readonly resourceAttributes?: Attributes;
}

export interface Telemetry {
  readonly serviceName: string;
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
  /** Serves the Prometheus text exposition; undefined when metrics are off. */
  readonly metricsHandler: MetricsHandler | undefined;
  forceFlush(): Promise<void>;
  /**
   * Flushes spans and metrics, then unregisters the global providers (once every user of a shared
   * instance has called it). Idempotent.
   */
  shutdown(): Promise<void>;
}

/** The telemetry keys of a loaded config (`serviceEnv` + `telemetryEnv` of @anfang/platform/config). */
export interface TelemetryConfig {
  readonly OTEL_SERVICE_NAME: string;
  readonly OTEL_TRACES_EXPORTER: TracesExporterKind;
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  readonly OTEL_METRICS_EXPORTER: MetricsExporterKind;
}

/** `startTelemetry(telemetryOptions(config))`. */
export function telemetryOptions(config: TelemetryConfig): TelemetryOptions {
  return {
    serviceName: config.OTEL_SERVICE_NAME,
    tracesExporter: config.OTEL_TRACES_EXPORTER,
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    metricsExporter: config.OTEL_METRICS_EXPORTER,
  };
}

let current: Telemetry | undefined;
let users = 0;

/** The telemetry started by {@link startTelemetry}, if any. */
export function getTelemetry(): Telemetry | undefined {
  return current;
}

/**
 * Registers, globally: the AsyncLocalStorage context manager, the W3C trace-context and baggage
 * propagators, a tracer provider and a meter provider. Call it as the first statement of main,
 * right after `loadConfig`, before anything that creates spans or instruments.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (current) {
    // Embedded mode runs several services in one process: they share the first one's providers,
    // and the last `shutdown()` flushes and unregisters them.
    users++;
    return shared(current);
  }
  users = 1;

  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );

  const resource = defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_INSTANCE_ID]: `${hostname()}-${randomUUID().slice(0, 8)}`,
      ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
      ...options.resourceAttributes,
    }),
  );

  const spanProcessors: SpanProcessor[] = [];
  const exporter = options.spanExporter ?? makeSpanExporter(options);
  if (exporter) {
    const kind = options.spanProcessor ?? (exporter instanceof OTLPTraceExporter ? 'batch' : 'simple');
    spanProcessors.push(
      kind === 'batch' ? new BatchSpanProcessor({ exporter }) : new SimpleSpanProcessor({ exporter }),
    );
  }
  const ratio = options.sampleRatio ?? 1;
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors,
    sampler: new ParentBasedSampler({
      root: ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio),
    }),
  });
  trace.setGlobalTracerProvider(tracerProvider);

  const prometheus =
    (options.metricsExporter ?? 'prometheus') === 'prometheus'
      ? new PrometheusExporter({ preventServerStart: true })
      : undefined;
  const meterProvider = new MeterProvider({ resource, readers: prometheus ? [prometheus] : [] });
  metrics.setGlobalMeterProvider(meterProvider);

  let stopping: Promise<void> | undefined;
  const telemetry: Telemetry = {
    serviceName: options.serviceName,
    tracerProvider,
    meterProvider,
    metricsHandler: prometheus ? (req, res) => prometheus.getMetricsRequestHandler(req, res) : undefined,
    async forceFlush() {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown() {
      stopping ??= (async () => {
        const results = await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
        trace.disable();
        metrics.disable();
        propagation.disable();
        context.disable();
        if (current === telemetry) {
          current = undefined;
          users = 0;
        }
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return stopping;
    },
  };
  current = telemetry;
  return shared(telemetry);
}

/** A handle whose shutdown only releases this user's share. */
function shared(telemetry: Telemetry): Telemetry {
  let released = false;
  return {
    ...telemetry,
    forceFlush: () => telemetry.forceFlush(),
    async shutdown() {
      if (released) return;
      released = true;
      users--;
      if (users <= 0) await telemetry.shutdown();
      else await telemetry.forceFlush();
    },
  };
}

function makeSpanExporter(options: TelemetryOptions): SpanExporter | undefined {
  switch (options.tracesExporter ?? 'none') {
    case 'otlp': {
      if (!options.otlpEndpoint) throw new Error('tracesExporter otlp needs otlpEndpoint');
      return new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
    }
    case 'console':
      return new ConsoleSpanExporter();
    case 'none':
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Carrying context in plain string headers (HTTP, Kafka).

export type HeaderValue = string | readonly string[] | Uint8Array | undefined;
export type HeaderCarrier = Readonly<Record<string, HeaderValue>>;

const headerGetter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    let value = carrier[key];
    if (value === undefined) {
      const lower = key.toLowerCase();
      const found = Object.keys(carrier).find((k) => k.toLowerCase() === lower);
      value = found === undefined ? undefined : carrier[found];
    }
    if (value === undefined) return undefined;
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array)
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    return (value as readonly string[]).map(String);
  },
};

const headerSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** Writes `traceparent` (+ `tracestate`, `baggage`) of `ctx` into `headers` and returns them. */
export function injectTraceHeaders<T extends Record<string, string>>(
  headers: T = {} as T,
  ctx: Context = context.active(),
): T & TraceHeaders {
  propagation.inject(ctx, headers, headerSetter);
  return headers as T & TraceHeaders;
}

/** The headers {@link injectTraceHeaders} may add (absent when there is no valid span). */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
  [name: string]: string | undefined;
}

/** The context carried by `headers` (values may be strings, string arrays or bytes), over `base`. */
export function extractTraceContext(headers: HeaderCarrier, base: Context = context.active()): Context {
  return propagation.extract(base, headers, headerGetter);
}
