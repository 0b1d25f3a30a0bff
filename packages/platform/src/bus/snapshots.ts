/**
 * State snapshots per compound on a compacted topic (evidence other services judge by): every
 * compound each interval, so a consumer can tell a silent producer from an unchanged state by the
 * snapshot's age, and the compounds that changed shortly after the change (changes within the
 * debounce go out together). Publications run one at a time, so a full one never overtakes the
 * newer state of a change.
 */
import type { Logger } from '../log/index.ts';

export interface SnapshotPublisher {
  /** Publishes these compounds (every known compound when omitted) now; returns how many. */
  publish(compoundIds?: readonly string[]): Promise<number>;
  /** The compound's state changed ('all': every compound's, e.g. a district-wide policy). */
  changed(compoundId: string): void;
  /** Stops the interval and waits for the publication in progress. */
  stop(): Promise<void>;
}

export const ALL_COMPOUNDS = 'all';

export function startSnapshotPublisher(options: {
  /** What is published (the log says it). */
  readonly name: string;
  /** Publishes the snapshots of these compounds, or of every known compound when undefined. */
  readonly publish: (compoundIds: readonly string[] | undefined) => Promise<number>;
  readonly intervalMs: number;
  readonly debounceMs: number;
  readonly logger: Logger;
}): SnapshotPublisher {
  const log = options.logger.child({ component: 'snapshots', snapshot: options.name });
  let dirty = new Set<string>();
  let debounce: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const publish = (compoundIds?: readonly string[]): Promise<number> => {
    const next = running.catch(() => undefined).then(() => options.publish(compoundIds));
    running = next;
    return next;
  };
  const report = (when: string) => (err: unknown) =>
    log.warn({ err }, `${options.name} not published ${when}; the next interval publishes it`);

  const timer = setInterval(() => publish().catch(report('at its interval')), options.intervalMs);
  timer.unref();
  // At start, so a restarted producer does not leave its snapshots to go stale for an interval.
  publish().catch(report('at start'));

  return {
    publish,
    changed(compoundId) {
      dirty.add(compoundId);
      debounce ??= setTimeout(() => {
        debounce = undefined;
        const ids = dirty;
        dirty = new Set();
        publish(ids.has(ALL_COMPOUNDS) ? undefined : [...ids]).catch(report('after a change'));
      }, options.debounceMs);
    },
    async stop() {
      clearInterval(timer);
      clearTimeout(debounce);
      debounce = undefined;
      await running.catch(() => undefined);
    },
  };
}
