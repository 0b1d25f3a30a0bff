/**
 * `anfang.devices.online` / `anfang.devices.offline` per compound (Prometheus
 * `anfang_devices_offline{compound_id}`): what the "devices offline" alert reads. Counted in
 * Postgres, where every replica's transitions meet, and cached for a scrape interval so several
 * scrapers cost one query. Every replica reports the same figures: aggregate with `max`.
 */
import { metrics, type ObservableResult } from '@opentelemetry/api';
import type { Logger } from '@anfang/platform/log';
import type { ActivityStore } from '../store/activity.ts';

type Counts = Awaited<ReturnType<ActivityStore['statusCounts']>>;

export function registerDeviceStatusMetrics(
  activity: Pick<ActivityStore, 'statusCounts'>,
  logger: Logger,
  maxAgeMs = 15_000,
): { close(): void } {
  const meter = metrics.getMeter('anfang-device-ingest');
  const online = meter.createObservableGauge('anfang.devices.online', {
    description: 'Active devices online, per compound',
  });
  const offline = meter.createObservableGauge('anfang.devices.offline', {
    description: 'Active devices offline (or never seen), per compound',
  });
  let cached: { at: number; counts: Counts } | undefined;
  const read = async (): Promise<Counts> => {
    if (cached && Date.now() - cached.at < maxAgeMs) return cached.counts;
    try {
      cached = { at: Date.now(), counts: await activity.statusCounts() };
    } catch (err) {
      logger.warn({ err }, 'device status metrics not read');
      // The last figures stand rather than a gap that would silence the alert.
    }
    return cached?.counts ?? [];
  };
  const observe = async (result: ObservableResult, key: 'online' | 'offline') => {
    for (const c of await read()) result.observe(c[key], { compound_id: c.compoundId });
  };
  const onOnline = (result: ObservableResult) => observe(result, 'online');
  const onOffline = (result: ObservableResult) => observe(result, 'offline');
  online.addCallback(onOnline);
  offline.addCallback(onOffline);
  return {
    close() {
      online.removeCallback(onOnline);
      offline.removeCallback(onOffline);
    },
  };
}
