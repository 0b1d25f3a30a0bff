/**
 * The escalation pass: alarms whose acknowledge deadline passed move one level up. Every
 * replica runs it (`startPeriodic`); the store takes due alarms with FOR UPDATE SKIP LOCKED, so
 * two replicas never escalate one alarm twice for one missed deadline.
 */
import type { Logger } from '@anfang/platform/log';
import type { AlarmStore } from '../store/alarms.ts';

/** Alarms per transaction: a backlog after an outage is worked off in short transactions. */
const BATCH = 200;

export function escalationPass(options: {
  readonly alarms: AlarmStore;
  readonly logger: Logger;
}): (signal: AbortSignal) => Promise<{ escalated: number }> {
  const { alarms } = options;
  const log = options.logger.child({ component: 'escalation' });
  return async (signal) => {
    let escalated = 0;
    for (;;) {
      const batch = await alarms.escalateDue(new Date(), BATCH);
      escalated += batch;
      if (batch < BATCH || signal.aborted) break;
    }
    if (escalated) log.info({ escalated }, 'alarms escalated');
    return { escalated };
  };
}
