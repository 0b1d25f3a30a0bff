/**
 * The round scheduler's pass: materialise rounds from schedules and close the rounds whose
 * planned end plus grace has passed. Every replica runs it (`startPeriodic`); materialising takes
 * a transaction advisory lock (one replica does it per pass) and closing takes rounds with
 * FOR UPDATE SKIP LOCKED (replicas share the work, never close one round twice).
 */
import type { Logger } from '@anfang/platform/log';
import type { RoundStore, SchedulerWindow } from '../store/rounds.ts';

export function roundSchedulerPass(options: {
  readonly rounds: RoundStore;
  readonly window: SchedulerWindow;
  readonly logger: Logger;
}): () => Promise<{ created: number; closed: number }> {
  const { rounds, window } = options;
  const log = options.logger.child({ component: 'scheduler' });
  return async () => {
    const at = new Date();
    const created = (await rounds.materialise(at, window)) ?? 0;
    const closed = await rounds.closeDue(at);
    if (created || closed) log.info({ created, closed }, 'rounds scheduled');
    return { created, closed };
  };
}
