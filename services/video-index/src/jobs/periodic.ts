/**
 * A job that runs after `firstAfterMs` and then every `intervalMs` (never overlapping itself), logs its failures
 * and keeps going; `stop` aborts the run in progress at its next batch and waits for it.
 */
import type { Logger } from '@anfang/platform/log';

export interface PeriodicJob {
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
  const tick = () => {
    current = run(abort.signal)
      .then(
        (result) => logger.debug({ job: name, result }, 'job ran'),
        (err: unknown) => logger.warn({ err, job: name }, 'job failed; it runs again at its next interval'),
      )
      .finally(() => {
        current = undefined;
        if (!abort.signal.aborted) {
          timer = setTimeout(tick, intervalMs);
          timer.unref();
        }
      });
  };
  timer = setTimeout(tick, firstAfterMs);
  timer.unref();
  return {
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await current;
    },
  };
}
