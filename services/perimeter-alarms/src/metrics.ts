/**
 * `anfang_alarms_unacknowledged{compound_id}` and `anfang_alarms_unacknowledged_oldest_age`
 * (seconds): what the "alarms unacknowledged" alert reads. Counted in Postgres, where every
 * replica's alarms meet, and cached for a scrape interval so several scrapers cost one query.
 * Every replica reports the same figures: aggregate with `max`.
 */
import { metrics, type ObservableResult } from '@opentelemetry/api';
import type { Logger } from '@anfang/platform/log';
import type { AlarmStore } from './store/alarms.ts';

type Unacknowledged = Awaited<ReturnType<AlarmStore['unacknowledged']>>;

export function registerAlarmMetrics(
  alarms: Pick<AlarmStore, 'unacknowledged'>,
  logger: Logger,
  maxAgeMs = 15_000,
): { close(): void } {
  const meter = metrics.getMeter('anfang-perimeter-alarms');
  const count = meter.createObservableGauge('anfang.alarms.unacknowledged', {
    description: 'Alarms raised and not yet acknowledged, per compound',
  });
  const oldestAge = meter.createObservableGauge('anfang.alarms.unacknowledged.oldest_age', {
    description: 'Seconds since the oldest unacknowledged alarm of the compound was raised',
  });
  let cached: { at: number; figures: Unacknowledged } | undefined;
  const read = async (): Promise<Unacknowledged> => {
    if (cached && Date.now() - cached.at < maxAgeMs) return cached.figures;
    try {
      cached = { at: Date.now(), figures: await alarms.unacknowledged() };
    } catch (err) {
      logger.warn({ err }, 'alarm metrics not read');
      // The last figures stand rather than a gap that would silence the alert.
    }
    return cached?.figures ?? [];
  };
  const onCount = async (result: ObservableResult) => {
    for (const f of await read()) result.observe(f.count, { compound_id: f.compoundId });
  };
  const onOldestAge = async (result: ObservableResult) => {
    const now = Date.now();
    for (const f of await read())
      result.observe((now - f.oldestRaisedAt.getTime()) / 1000, { compound_id: f.compoundId });
  };
  count.addCallback(onCount);
  oldestAge.addCallback(onOldestAge);
  return {
    close() {
      count.removeCallback(onCount);
      oldestAge.removeCallback(onOldestAge);
    },
  };
}
