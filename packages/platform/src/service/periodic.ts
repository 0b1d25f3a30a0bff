/**
 * A background job of a service: runs after `firstAfterMs`, then every `intervalMs`, never
 * overlapping itself; a failure is logged and the job runs again at its next interval. `wake`
 * asks for a run now (after a change the job should act on), coalesced with a run in progress;
 * `stop` aborts the run in progress (jobs check the signal between batches) and waits for it.
 */
import type { Logger } from '../log/index.ts';

export interface PeriodicJob {
  /** Runs as soon as the current run (if any) ends, instead of at the next interval. */
  wake(): void;
  stop(): Promise<void>;
}

export function startPeriodic(
  name: string,
  intervalMs: number,
  run: (signal: AbortSignal) => Promise<unknown>,
  logger: Logger,
  firstAfterMs = intervalMs,
): PeriodicJob {
  const abort = new AbortController();
  let current: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let again = false;
  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    again = false;
    current = run(abort.signal)
      .then(
        (result) => logger.debug({ job: name, result }, 'job ran'),
        (err: unknown) => logger.warn({ err, job: name }, 'job failed; it runs again at its next interval'),
      )
      .finally(() => {
        current = undefined;
        if (!abort.signal.aborted) schedule(again ? 0 : intervalMs);
      });
  };
  schedule(firstAfterMs);
  return {
    wake() {
      if (abort.signal.aborted) return;
      if (current) again = true;
      else schedule(0);
    },
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await current;
    },
  };
}
