/**
 * The round scheduler: every interval, materialise rounds from schedules and close the rounds
 * whose planned end plus grace has passed. Every replica runs it; materialising takes a
 * transaction advisory lock (one replica does it per tick) and closing takes rounds with
 * FOR UPDATE SKIP LOCKED (replicas share the work, never close one round twice).
 */
import type { Logger } from '@anfang/platform/log';
import type { RoundStore, SchedulerWindow } from '../store/rounds.ts';

export interface Scheduler {
  /** One pass now (at start-up, so rounds exist before the first check-in); resolves when done. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function startScheduler(options: {
  readonly rounds: RoundStore;
  readonly window: SchedulerWindow;
  readonly intervalMs: number;
  readonly logger: Logger;
}): Scheduler {
  const { rounds, window, intervalMs } = options;
  const log = options.logger.child({ component: 'scheduler' });
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function pass(): Promise<void> {
    const at = new Date();
    const created = await rounds.materialise(at, window);
    const closed = await rounds.closeDue(at);
    if (created || closed) log.info({ created: created ?? 0, closed }, 'rounds scheduled');
  }

  function tick(): Promise<void> {
    // Passes never overlap in one replica: a slow pass delays the next instead of racing it.
    running = running
      .then(pass)
      .catch((error: unknown) => log.error({ err: error }, 'scheduler pass failed'));
    return running;
  }

  const timer = setInterval(() => {
    if (!stopped) void tick();
  }, intervalMs);
  timer.unref();

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
