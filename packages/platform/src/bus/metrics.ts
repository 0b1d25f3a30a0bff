import {
  metrics,
  type Attributes,
  type Counter,
  type Histogram,
  type ObservableGauge,
} from '@opentelemetry/api';

/**
 * The bus's instruments, on the meter `anfang-bus`. Created per bus from the global meter
 * provider at construction time, so telemetry must be started before the bus (as it is in every
 * service's composition root). Names follow the OpenTelemetry messaging conventions where one
 * exists; the rest are `anfang.bus.*`.
 */
export interface BusMetrics {
  published(topic: string, count: number, seconds: number, error?: string): void;
  consumed(topic: string, group: string, seconds: number): void;
  /** `consumed` bound to one topic and group (the per-message path). */
  consumer(topic: string, group: string): { consumed(seconds: number): void };
  failed(topic: string, group: string, errorType: string): void;
  retried(topic: string, group: string): void;
  deadLettered(topic: string, group: string, reason: 'permanent' | 'exhausted'): void;
  lag(topic: string, group: string, partition: number, lag: number): void;
  forget(group: string): void;
}

export function createBusMetrics(system: 'kafka' | 'embedded'): BusMetrics {
  const meter = metrics.getMeter('anfang-bus');
  const sent: Counter = meter.createCounter('messaging.client.sent.messages', {
    description: 'Messages acknowledged by the bus (durable).',
    unit: '{message}',
  });
  const publishDuration: Histogram = meter.createHistogram('messaging.client.operation.duration', {
    description: 'Time from publish to acknowledgement, per publish call.',
    unit: 's',
  });
  const consumed: Counter = meter.createCounter('messaging.client.consumed.messages', {
    description: 'Messages handled successfully.',
    unit: '{message}',
  });
  const processDuration: Histogram = meter.createHistogram('messaging.process.duration', {
    description: 'Handler time per message.',
    unit: 's',
  });
  const failed: Counter = meter.createCounter('anfang.bus.failed', {
    description: 'Handler failures (each failed attempt).',
    unit: '{message}',
  });
  const retried: Counter = meter.createCounter('anfang.bus.retried', {
    description: 'Messages sent to <topic>.retry.',
    unit: '{message}',
  });
  const dlq: Counter = meter.createCounter('anfang.bus.dlq', {
    description: 'Messages sent to <topic>.dlq.',
    unit: '{message}',
  });
  const lags = new Map<string, { attrs: Attributes; value: number }>();
  const lagGauge: ObservableGauge = meter.createObservableGauge('anfang.bus.consumer.lag', {
    description: 'Messages behind the end of the partition, as of the last fetch.',
    unit: '{message}',
  });
  lagGauge.addCallback((result) => {
    for (const { attrs, value } of lags.values()) result.observe(value, attrs);
  });

  // Attribute sets are reused per (topic, group): the consumer path records per message.
  const attrCache = new Map<string, Attributes>();
  const base = (topic: string, group?: string): Attributes => {
    const key = group === undefined ? topic : `${topic}\u0000${group}`;
    let attrs = attrCache.get(key);
    if (!attrs) {
      attrs = Object.freeze(
        group === undefined
          ? { 'messaging.system': system, 'messaging.destination.name': topic }
          : {
              'messaging.system': system,
              'messaging.destination.name': topic,
              'messaging.consumer.group.name': group,
            },
      );
      if (attrCache.size > 10_000) attrCache.clear();
      attrCache.set(key, attrs);
    }
    return attrs;
  };

  return {
    published(topic, count, seconds, error) {
      const attrs = error
        ? { ...base(topic), 'error.type': error, 'messaging.operation.name': 'send' }
        : { ...base(topic), 'messaging.operation.name': 'send' };
      if (!error) sent.add(count, base(topic));
      publishDuration.record(seconds, attrs);
    },
    consumed(topic, group, seconds) {
      const attrs = base(topic, group);
      consumed.add(1, attrs);
      processDuration.record(seconds, attrs);
    },
    consumer(topic, group) {
      const attrs = base(topic, group);
      return {
        consumed(seconds) {
          consumed.add(1, attrs);
          processDuration.record(seconds, attrs);
        },
      };
    },
    failed(topic, group, errorType) {
      failed.add(1, { ...base(topic, group), 'error.type': errorType });
    },
    retried(topic, group) {
      retried.add(1, base(topic, group));
    },
    deadLettered(topic, group, reason) {
      dlq.add(1, { ...base(topic, group), 'anfang.dlq.reason': reason });
    },
    lag(topic, group, partition, value) {
      lags.set(`${group}\u0000${topic}\u0000${partition}`, {
        attrs: { ...base(topic, group), 'messaging.destination.partition.id': String(partition) },
        value: Math.max(0, value),
      });
    },
    forget(group) {
      for (const key of lags.keys()) if (key.startsWith(`${group}\u0000`)) lags.delete(key);
    },
  };
}
