/**
 * The escalation job: every interval, alarms whose acknowledge deadline passed move one level
 * up. Every replica runs it; the store takes due alarms with FOR UPDATE SKIP LOCKED, so two
 * replicas never escalate one alarm twice for one missed deadline.
 */
import type { Logger } from '@anfang/platform/log';
import type { AlarmStore } from '../store/alarms.ts';

/** Alarms per transaction: a backlog after an outage is worked off in short transactions. */
const BATCH = 200;

export interface EscalationJob {
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function startEscalationJob(options: {
  readonly alarms: AlarmStore;
  readonly intervalMs: number;
  readonly logger: Logger;
}): EscalationJob {
  const { alarms, intervalMs } = options;
  const log = options.logger.child({ component: 'escalation' });
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function pass(): Promise<void> {
    let escalated = 0;
    for (;;) {
      const batch = await alarms.escalateDue(new Date(), BATCH);
      escalated += batch;
      if (batch < BATCH || stopped) break;
    }
    if (escalated) log.info({ escalated }, 'alarms escalated');
  }

  function tick(): Promise<void> {
    // Passes never overlap in one replica: a slow pass delays the next instead of racing it.
    running = running
      .then(pass)
      .catch((error: unknown) => log.error({ err: error }, 'escalation pass failed'));
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
