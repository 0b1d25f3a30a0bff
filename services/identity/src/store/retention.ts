/**
 * Visitor data retention (SPEC §5: keep personal data no longer than needed): a periodic sweep
 * deletes visits that ended more than the retention period ago, with their visitors' personal
 * data once no visit is left. Replicas may sweep at the same time: rows are claimed with SKIP
 * LOCKED and deleting twice finds nothing.
 */
import type { Logger } from '@anfang/platform/log';
import type { RegistryStore } from './registry.ts';

const DAY_MS = 86_400_000;

export interface VisitorRetention {
  /** One sweep now (also what the timer runs); resolves with what it deleted. */
  sweep(): Promise<{ passes: number; visitors: number }>;
  stop(): Promise<void>;
}

export function startVisitorRetention(options: {
  readonly registry: Pick<RegistryStore, 'purgeVisits'>;
  readonly retentionDays: number;
  readonly intervalMs: number;
  readonly logger: Logger;
}): VisitorRetention {
  const log = options.logger.child({ component: 'visitor-retention' });
  let running: Promise<unknown> = Promise.resolve();

  async function sweep() {
    const before = new Date(Date.now() - options.retentionDays * DAY_MS);
    let total = { passes: 0, visitors: 0 };
    // In batches, so one sweep after a long pause neither holds locks long nor stops early.
    for (;;) {
      const batch = await options.registry.purgeVisits(before);
      total = { passes: total.passes + batch.passes, visitors: total.visitors + batch.visitors };
      if (batch.passes === 0) break;
    }
    if (total.passes > 0)
      log.info({ ...total, retentionDays: options.retentionDays }, 'visitor data deleted');
    return total;
  }

  const timer = setInterval(() => {
    running = sweep().catch((error: unknown) =>
      log.warn({ err: error }, 'visitor retention sweep failed; next run retries'),
    );
  }, options.intervalMs);
  timer.unref();

  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
