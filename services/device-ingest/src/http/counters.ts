import { metrics, type Counter } from '@opentelemetry/api';

/**
 * A counter of device requests, created on first use: instruments must not exist before
 * telemetry starts, and the listener's modules are loaded before it does.
 */
export function requestCounter(name: string, description: string): () => Counter {
  let counter: Counter | undefined;
  return () =>
    (counter ??= metrics
      .getMeter('anfang-device-ingest')
      .createCounter(name, { description, unit: '{request}' }));
}
