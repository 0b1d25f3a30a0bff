/**
 * What a process's scavenges promoted to the old generation, from `v8.GCProfiler`: the old
 * spaces' growth across each scavenge (large objects included). Promoted objects outlived two
 * scavenges; once they die they are the garbage the mark-compacts are paid to find, so a
 * request path that promotes what lives only as long as a request costs mark-compacts and
 * their pauses. Imported by benchmark probes preloaded into a service child (no dependencies).
 */
import { GCProfiler, type GCProfilerResult } from 'node:v8';

export interface Promotion {
  readonly scavenges: number;
  /** Bytes the scavenges moved to the old generation. */
  readonly bytes: number;
  readonly markCompacts: number;
  /** Every collection's cost, ms. */
  readonly gcMs: number;
}

type HeapSpaces = GCProfilerResult['statistics'][number]['beforeGC']['heapSpaceStatistics'];
const OLD_SPACES = new Set(['old_space', 'lo_space']);
const oldBytes = (spaces: HeapSpaces): number =>
  spaces.reduce((sum, space) => (OLD_SPACES.has(space.spaceName) ? sum + space.spaceUsedSize : sum), 0);

export function promotionOf(statistics: GCProfilerResult['statistics']): Promotion {
  let scavenges = 0;
  let bytes = 0;
  let markCompacts = 0;
  let gcMs = 0;
  for (const gc of statistics) {
    gcMs += gc.cost / 1000;
    if (gc.gcType === 'Scavenge') {
      scavenges++;
      bytes += Math.max(
        0,
        oldBytes(gc.afterGC.heapSpaceStatistics) - oldBytes(gc.beforeGC.heapSpaceStatistics),
      );
    } else if (gc.gcType === 'MarkSweepCompact') markCompacts++;
  }
  return { scavenges, bytes, markCompacts, gcMs };
}

/** Records from now on; `take()` returns what happened since the last take (or the start). */
export function recordPromotion(): { take(): Promotion } {
  let profiler = new GCProfiler();
  profiler.start();
  return {
    take() {
      const { statistics } = profiler.stop();
      profiler = new GCProfiler();
      profiler.start();
      return promotionOf(statistics);
    },
  };
}
