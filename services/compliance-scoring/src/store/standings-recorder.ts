/**
 * Records today's standing of every compound for the coverage trend: at start and then every
 * interval, so the last record of a day is at most one interval before the district's midnight.
 * Replicas may all record: the record of a day is an upsert of the same values.
 */
import type { Logger } from '@anfang/platform/log';
import type { Pool } from '@anfang/platform/pg';
import { dayIn } from '../domain/summary.ts';
import { recordDailyStandings } from './reports.ts';

export interface DailyStandingsOptions {
  readonly pool: Pool;
  readonly timeZone: string;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export function startDailyStandings(options: DailyStandingsOptions): { stop(): Promise<void> } {
  const now = options.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  const record = () => {
    running = running.then(async () => {
      const at = now();
      try {
        await recordDailyStandings(options.pool, dayIn(options.timeZone, at), at);
      } catch (err) {
        options.logger.warn({ err }, 'recording daily standings failed');
      }
    });
  };
  record();
  const timer = setInterval(record, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
