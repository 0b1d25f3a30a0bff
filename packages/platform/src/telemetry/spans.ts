import { SpanStatusCode, trace, type Span, type SpanOptions } from '@opentelemetry/api';

export const TRACER_NAME = '@anfang/platform';

/** Marks a span failed with the error recorded as an exception event. */
export function recordError(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  else span.recordException(String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * Runs `fn` in a new active span (child of the active one), ends it, and records a thrown error.
 * `await withSpan('reconcile zone', async (span) => { ... })`.
 */
export async function withSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions & { readonly tracer?: string } = {},
): Promise<T> {
  const tracer = trace.getTracer(options.tracer ?? TRACER_NAME);
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Histogram buckets (seconds) for request durations, as the OpenTelemetry semantic conventions advise. */
export const DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;
