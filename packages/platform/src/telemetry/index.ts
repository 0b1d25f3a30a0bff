/**
 * OpenTelemetry traces and metrics, started first in main. See README.md § telemetry.
 */
export {
  extractTraceContext,
  getTelemetry,
  injectTraceHeaders,
  startTelemetry,
  telemetryOptions,
  type HeaderCarrier,
  type HeaderValue,
  type MetricsExporterKind,
  type MetricsHandler,
  type Telemetry,
  type TelemetryConfig,
  type TelemetryOptions,
  type TraceHeaders,
  type TracesExporterKind,
} from './telemetry.ts';
export { DURATION_BUCKETS_SECONDS, TRACER_NAME, recordError, withSpan } from './spans.ts';
export { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
