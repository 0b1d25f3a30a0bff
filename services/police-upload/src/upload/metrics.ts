/**
 * Upload metrics per platform and compound: OpenTelemetry instruments for /metrics, and a
 * window of the same figures (accepted, failed, capture → accepted latencies in buckets) that the
 * health reporter flushes to the shared store, where every replica's windows are summed.
 */
import { metrics } from '@opentelemetry/api';
import type { Settlement } from '../store/outbox.ts';
import type { SessionStateName } from '../store/platforms.ts';

export interface WindowFigures {
  readonly platformId: string;
  readonly compoundId: string;
  readonly accepted: number;
  readonly failed: number;
  /** Accepted objects per bucket of LATENCY_BUCKETS_MS. */
  readonly latencyBuckets: readonly number[];
  readonly lastSuccessAt?: Date;
}

export interface UploadMetrics {
  settled(platformId: string, settlements: readonly Settlement[], answeredAt: number): void;
  requestLatency(platformId: string, ms: number): void;
  session(platformId: string, state: SessionStateName): void;
  clockOffset(platformId: string, ms: number): void;
  sessionState(platformId: string): SessionStateName;
  /** The window since the last call, per platform and compound; starts a new one. */
  takeWindow(): WindowFigures[];
}

const STATE_VALUE: Readonly<Record<SessionStateName, number>> = {
  registered: 1,
  degraded: 0.5,
  unregistered: 0,
};
/**
 * Upper bounds of the latency buckets: 1 ms, then 10 % wider each, up to an hour (one more
 * bucket holds the rest). Counts in the same buckets add up across replicas; a percentile read
 * from them is at most 10 % above the true one.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = (() => {
  const bounds = [1];
  while (bounds.at(-1)! < 3_600_000) bounds.push(Math.ceil(bounds.at(-1)! * 1.1));
  return bounds;
})();

/** The bucket of a latency: the first whose bound is not below it. */
export function latencyBucket(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (LATENCY_BUCKETS_MS[mid]! < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The `q` percentile of bucketed counts, as its bucket's upper bound (0 without counts). */
export function bucketPercentile(counts: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [i, n] of counts.entries()) {
    seen += n;
    if (seen >= rank) return LATENCY_BUCKETS_MS[Math.min(i, LATENCY_BUCKETS_MS.length - 1)]!;
  }
  return LATENCY_BUCKETS_MS.at(-1)!;
}

export function createUploadMetrics(): UploadMetrics {
  const meter = metrics.getMeter('anfang-police-upload');
  const objects = meter.createCounter('anfang.police_upload.objects', {
    description: 'Objects answered by the upper platform, by outcome (accepted, rejected, retry)',
  });
  const latency = meter.createHistogram('anfang.police_upload.latency', {
    description: 'Capture → accepted by the upper platform',
    unit: 'ms',
  });
  const request = meter.createHistogram('anfang.police_upload.request.duration', {
    description: 'Upload request round trip',
    unit: 'ms',
  });
  const sessions = new Map<string, SessionStateName>();
  const offsets = new Map<string, number>();
  meter
    .createObservableGauge('anfang.police_upload.session', {
      description: '1 registered, 0.5 degraded, 0 not',
    })
    .addCallback((r) => {
      for (const [platformId, state] of sessions) r.observe(STATE_VALUE[state], { platform_id: platformId });
    });
  meter
    .createObservableGauge('anfang.police_upload.clock_offset', {
      description: 'Upper platform clock − ours',
      unit: 'ms',
    })
    .addCallback((r) => {
      for (const [platformId, ms] of offsets) r.observe(ms, { platform_id: platformId });
    });

  interface Window {
    accepted: number;
    failed: number;
    latencyBuckets: number[];
    lastSuccessAt?: Date;
  }
  let windows = new Map<string, Window>();

  return {
    settled(platformId, settlements, answeredAt) {
      for (const s of settlements) {
        const attributes = { platform_id: platformId, compound_id: s.row.compoundId, outcome: s.outcome };
        objects.add(1, attributes);
        const key = `${platformId}\u0000${s.row.compoundId}`;
        const w = windows.get(key) ?? {
          accepted: 0,
          failed: 0,
          latencyBuckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
        };
        windows.set(key, w);
        if (s.outcome === 'accepted') {
          const ms = answeredAt - s.row.capturedAt.getTime();
          latency.record(ms, { platform_id: platformId, compound_id: s.row.compoundId });
          w.accepted += 1;
          w.lastSuccessAt = new Date(answeredAt);
          w.latencyBuckets[latencyBucket(ms)]! += 1;
        } else w.failed += 1;
      }
    },
    requestLatency(platformId, ms) {
      request.record(ms, { platform_id: platformId });
    },
    session(platformId, state) {
      sessions.set(platformId, state);
    },
    clockOffset(platformId, ms) {
      offsets.set(platformId, ms);
    },
    sessionState: (platformId) => sessions.get(platformId) ?? 'unregistered',
    takeWindow() {
      const taken = windows;
      windows = new Map();
      return [...taken].map(([key, w]) => {
        const [platformId, compoundId] = key.split('\u0000') as [string, string];
        return {
          platformId,
          compoundId,
          accepted: w.accepted,
          failed: w.failed,
          latencyBuckets: w.latencyBuckets,
          ...(w.lastSuccessAt ? { lastSuccessAt: w.lastSuccessAt } : {}),
        };
      });
    },
  };
}

export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
