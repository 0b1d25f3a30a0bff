/**
 * Evidence that changes with time rather than with an event: whether gates and door terminals
 * produced data within the window (sightings from the capture topics, kept in memory and written
 * in one statement per flush), and whether each upper platform's upload report, video-index's
 * storage report and patrol's report are still recent.
 * A sweep flips the stored flags when a window passes and rescores the compounds concerned, one
 * transaction each, so a gate that falls silent drops its compound's level without any event.
 * Replicas may all sweep: the flag update is one statement, and rescoring is idempotent.
 */
import type { Logger } from '@anfang/platform/log';
import { withTransaction, type Pool } from '@anfang/platform/pg';
import { DATA_MODULES } from '../domain/scoring.ts';
import { recordDataSeen, refreshTimedEvidence } from '../store/evidence.ts';
import type { Scorer } from '../store/scores.ts';

export interface TimedEvidenceOptions {
  readonly pool: Pool;
  readonly scorer: Scorer;
  readonly logger: Logger;
  readonly dataWindowMs: number;
  readonly uploadTtlMs: number;
  readonly storageTtlMs: number;
  readonly patrolTtlMs: number;
  /** How often sightings are written and windows checked. */
  readonly sweepIntervalMs: number;
  readonly now?: () => Date;
}

export interface TimedEvidence {
  /** A device produced data at `at` (platform clock). */
  seen(deviceId: string, at: Date): void;
  /** Writes the sightings held and rescores what changed; returns the compounds rescored. */
  sweep(): Promise<string[]>;
  stop(): Promise<void>;
}

export function startTimedEvidence(options: TimedEvidenceOptions): TimedEvidence {
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ component: 'timed-evidence' });
  let pending = new Map<string, Date>();
  let running: Promise<string[]> = Promise.resolve([]);

  const sweepOnce = async (): Promise<string[]> => {
    const seen = pending;
    pending = new Map();
    try {
      await recordDataSeen(options.pool, seen);
    } catch (err) {
      // Put the sightings back (newest wins) so the next sweep writes them.
      for (const [id, at] of seen)
        if (!((pending.get(id)?.getTime() ?? 0) > at.getTime())) pending.set(id, at);
      throw err;
    }
    const compounds = await refreshTimedEvidence(options.pool, {
      now: now(),
      dataWindowMs: options.dataWindowMs,
      dataModules: [...DATA_MODULES],
      uploadTtlMs: options.uploadTtlMs,
      storageTtlMs: options.storageTtlMs,
      patrolTtlMs: options.patrolTtlMs,
    });
    for (const compoundId of compounds)
      await withTransaction(options.pool, (tx) => options.scorer.rescore(tx, compoundId, ''));
    if (compounds.length > 0)
      log.info({ compounds: compounds.length }, 'rescored on data window or report expiry');
    return compounds;
  };

  const sweep = () => {
    running = running.catch(() => []).then(sweepOnce);
    return running;
  };
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => log.warn({ err }, 'timed evidence sweep failed'));
  }, options.sweepIntervalMs);
  timer.unref();

  return {
    seen(deviceId, at) {
      const held = pending.get(deviceId);
      if (!held || held < at) pending.set(deviceId, at);
    },
    sweep,
    async stop() {
      clearInterval(timer);
      await sweep().catch((err: unknown) => log.warn({ err }, 'final timed evidence sweep failed'));
    },
  };
}
