/**
 * Upload health per compound and platform, published every interval on the compacted
 * anfang.police.upload-health.v1 (compliance scoring reads "uploading in real time" from it and
 * expires a report after 5 min, so the interval is at most a minute). Every pair ever reported and
 * every compound a platform is configured for is reported each time, with or without traffic.
 * Every figure comes from the shared store, so whichever replica reports, it reports for all:
 * backlog and oldest pending age from the outbox, the session as last recorded, success rate and
 * p99 latency from every replica's samples of the last window (each replica flushes its own
 * every interval). Also the backlog gauges for /metrics.
 */
import { topics, anfang, timestampFromDate } from '@anfang/contracts';
import type { EventPublisher } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { metrics } from '@opentelemetry/api';
import type { HealthKey, HealthStore } from '../store/health.ts';
import type { BacklogRow, OutboxStore } from '../store/outbox.ts';
import type { SessionStateName } from '../store/platforms.ts';
import { bucketPercentile, type UploadMetrics } from './metrics.ts';

const { SessionState } = anfang.police.v1;
const SESSION: Readonly<Record<SessionStateName, number>> = {
  registered: SessionState.SESSION_STATE_REGISTERED,
  unregistered: SessionState.SESSION_STATE_UNREGISTERED,
  degraded: SessionState.SESSION_STATE_DEGRADED,
};

/** The default retention of the source topics: older events are not redelivered. */
const SENT_RETENTION_MS = 7 * 24 * 3600_000;

export interface HealthReporter {
  /** Reports now (also used by tests). */
  report(): Promise<void>;
  /** Stops reporting and flushes this replica's last samples. */
  stop(): Promise<void>;
}

export function startHealthReporter(deps: {
  readonly outbox: OutboxStore;
  readonly metrics: UploadMetrics;
  readonly publisher: EventPublisher;
  readonly store: HealthStore;
  /** This process, as its samples name it. */
  readonly replica: string;
  /** The platforms and the compounds each is configured for (empty: every compound). */
  readonly platforms: () => readonly { platformId: string; compounds: readonly string[] }[];
  /** The session with a platform as last recorded by any replica. */
  readonly session: (platformId: string) => Promise<SessionStateName>;
  readonly intervalMs: number;
  /** Success rate and latency cover this much of the past (at least one interval). */
  readonly windowMs: number;
  readonly realTimeBoundMs: number;
  readonly logger: Logger;
}): HealthReporter {
  const log = deps.logger.child({ component: 'health' });
  let last: BacklogRow[] = [];
  const meter = metrics.getMeter('anfang-police-upload');
  meter
    .createObservableGauge('anfang.police_upload.backlog', { description: 'Objects waiting in the outbox' })
    .addCallback((r) => {
      for (const b of last) r.observe(b.backlog, { platform_id: b.platformId, compound_id: b.compoundId });
    });
  meter
    .createObservableGauge('anfang.police_upload.oldest_pending_age', {
      description: 'Age of the oldest waiting object',
      unit: 's',
    })
    .addCallback((r) => {
      const now = Date.now();
      for (const b of last)
        if (b.oldestEnqueuedAt)
          r.observe((now - b.oldestEnqueuedAt.getTime()) / 1000, {
            platform_id: b.platformId,
            compound_id: b.compoundId,
          });
    });

  const flush = async (): Promise<void> => {
    const window = deps.metrics.takeWindow();
    await deps.store.remember(
      window
        .filter((w) => w.compoundId && w.lastSuccessAt)
        .map(({ platformId, compoundId, lastSuccessAt }) => ({
          platformId,
          compoundId,
          ...(lastSuccessAt ? { lastSuccessAt } : {}),
        })),
    );
    await deps.store.record(deps.replica, window);
  };

  async function report(): Promise<void> {
    const now = Date.now();
    // This replica's samples first, so that its own latest answers are in the sums.
    await flush();
    last = await deps.outbox.backlog();
    const samples = await deps.store.since(new Date(now - Math.max(deps.windowMs, deps.intervalMs)));
    const platforms = deps.platforms();
    const pairs: HealthKey[] = [
      ...last.map(({ platformId, compoundId }) => ({ platformId, compoundId })),
      ...samples.map(({ platformId, compoundId }) => ({ platformId, compoundId })),
      ...platforms.flatMap((p) =>
        p.compounds.map((compoundId) => ({ platformId: p.platformId, compoundId })),
      ),
    ];
    await deps.store.remember(pairs.filter((k) => k.compoundId));
    const known = new Set(platforms.map((p) => p.platformId));
    const sessions = new Map(
      await Promise.all(
        platforms.map(async (p) => [p.platformId, await deps.session(p.platformId)] as const),
      ),
    );
    const events = (await deps.store.all())
      .filter((k) => known.has(k.platformId))
      .map(({ platformId, compoundId, lastSuccessAt: success }) => {
        const b = last.find((x) => x.platformId === platformId && x.compoundId === compoundId);
        const w = samples.find((x) => x.platformId === platformId && x.compoundId === compoundId);
        const oldestAge = b?.oldestEnqueuedAt ? now - b.oldestEnqueuedAt.getTime() : 0;
        const session = sessions.get(platformId) ?? 'unregistered';
        const answered = (w?.accepted ?? 0) + (w?.failed ?? 0);
        return {
          payload: {
            platformId,
            compoundId,
            session: SESSION[session],
            realTime: session === 'registered' && oldestAge <= deps.realTimeBoundMs,
            backlog: b?.backlog ?? 0,
            oldestPendingAgeMs: oldestAge,
            ...(success ? { lastSuccessAt: timestampFromDate(success) } : {}),
            successRate: answered === 0 ? (b?.backlog ? 0 : 1) : (w?.accepted ?? 0) / answered,
            latencyP99Ms: bucketPercentile(w?.latencyBuckets ?? [], 0.99),
          },
          options: { compoundId },
        };
      });
    if (events.length > 0) await deps.publisher.publishMany(topics.policeUploadHealth, events);
  }

  // One report at a time: under load a report can outlast the interval, and overlapping ones
  // would publish figures read before the newer one's out of order.
  let reporting: Promise<void> | undefined;
  const timer = setInterval(() => {
    reporting ??= report()
      .catch((err: unknown) => log.warn({ err }, 'upload health not reported'))
      .finally(() => (reporting = undefined));
    deps.outbox
      .pruneSent(new Date(Date.now() - SENT_RETENTION_MS))
      .catch((err: unknown) => log.warn({ err }, 'accepted ids not pruned'));
    deps.store
      .prune(new Date(Date.now() - 2 * Math.max(deps.windowMs, deps.intervalMs)))
      .catch((err: unknown) => log.warn({ err }, 'old health samples not pruned'));
  }, deps.intervalMs);
  return {
    report,
    async stop() {
      clearInterval(timer);
      await reporting;
      await flush().catch((err: unknown) => log.warn({ err }, 'last health samples not recorded'));
    },
  };
}
