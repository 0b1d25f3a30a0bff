/**
 * What upload health is reported from, shared by the replicas: the (platform, compound) pairs
 * it has been reported for (table upload_health_key) and each replica's samples of the
 * platform's answers and latencies (table upload_health_sample).
 */
import type { Pool } from '@anfang/platform/pg';

export interface HealthKey {
  readonly platformId: string;
  readonly compoundId: string;
  readonly lastSuccessAt?: Date;
}

/** One (platform, compound)'s answers over a span: accepted, failed, latencies in buckets. */
export interface HealthSample {
  readonly platformId: string;
  readonly compoundId: string;
  readonly accepted: number;
  readonly failed: number;
  readonly latencyBuckets: readonly number[];
}

export interface HealthStore {
  /** Adds pairs, keeping the latest success of each. */
  remember(keys: readonly HealthKey[]): Promise<void>;
  all(): Promise<HealthKey[]>;
  /** Stores a replica's samples of one interval. */
  record(replica: string, samples: readonly HealthSample[]): Promise<void>;
  /** Every replica's samples since `since`, summed per (platform, compound). */
  since(since: Date): Promise<HealthSample[]>;
  /** Forgets samples older than this; returns how many. */
  prune(olderThan: Date): Promise<number>;
}

export function createHealthStore(pool: Pool): HealthStore {
  return {
    async remember(pairs) {
      // One row per pair: a statement's ON CONFLICT may update a row only once.
      const latest = new Map<string, HealthKey>();
      for (const k of pairs) {
        const key = `${k.platformId}\u0000${k.compoundId}`;
        const held = latest.get(key);
        if (!held || (k.lastSuccessAt && (!held.lastSuccessAt || k.lastSuccessAt > held.lastSuccessAt)))
          latest.set(key, k);
      }
      const keys = [...latest.values()];
      if (keys.length === 0) return;
      await pool.query(
        `INSERT INTO upload_health_key (platform_id, compound_id, last_success_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
         ON CONFLICT (platform_id, compound_id) DO UPDATE SET last_success_at =
           greatest(upload_health_key.last_success_at, EXCLUDED.last_success_at)`,
        [
          keys.map((k) => k.platformId),
          keys.map((k) => k.compoundId),
          keys.map((k) => k.lastSuccessAt ?? null),
        ],
      );
    },
    async all() {
      const { rows } = await pool.query<{
        platform_id: string;
        compound_id: string;
        last_success_at: Date | null;
      }>(
        `SELECT h.platform_id, h.compound_id, h.last_success_at FROM upload_health_key h
         JOIN upper_platform p USING (platform_id)`,
      );
      return rows.map((r) => ({
        platformId: r.platform_id,
        compoundId: r.compound_id,
        ...(r.last_success_at ? { lastSuccessAt: r.last_success_at } : {}),
      }));
    },
    async record(replica, samples) {
      if (samples.length === 0) return;
      // Buckets as text: a two-dimensional array parameter must be rectangular, and one row's
      // array per sample is what is stored anyway. A platform removed meanwhile drops its samples.
      await pool.query(
        `INSERT INTO upload_health_sample (platform_id, compound_id, replica, accepted, failed, latency_buckets)
         SELECT s.p, s.c, $1, s.a, s.f, s.b::integer[]
         FROM unnest($2::text[], $3::text[], $4::integer[], $5::integer[], $6::text[]) AS s(p, c, a, f, b)
         WHERE EXISTS (SELECT 1 FROM upper_platform u WHERE u.platform_id = s.p)`,
        [
          replica,
          samples.map((s) => s.platformId),
          samples.map((s) => s.compoundId),
          samples.map((s) => s.accepted),
          samples.map((s) => s.failed),
          samples.map((s) => `{${s.latencyBuckets.join(',')}}`),
        ],
      );
    },
    async since(since) {
      const { rows } = await pool.query<{
        platform_id: string;
        compound_id: string;
        accepted: number;
        failed: number;
        latency_buckets: number[];
      }>(
        `SELECT platform_id, compound_id, accepted, failed, latency_buckets FROM upload_health_sample
         WHERE recorded_at > $1`,
        [since],
      );
      const sums = new Map<
        string,
        { platformId: string; compoundId: string; accepted: number; failed: number; latencyBuckets: number[] }
      >();
      for (const r of rows) {
        const key = `${r.platform_id}\u0000${r.compound_id}`;
        const sum = sums.get(key) ?? {
          platformId: r.platform_id,
          compoundId: r.compound_id,
          accepted: 0,
          failed: 0,
          latencyBuckets: [],
        };
        sums.set(key, sum);
        sum.accepted += r.accepted;
        sum.failed += r.failed;
        for (const [i, n] of r.latency_buckets.entries())
          sum.latencyBuckets[i] = (sum.latencyBuckets[i] ?? 0) + n;
      }
      return [...sums.values()];
    },
    async prune(olderThan) {
      const { rowCount } = await pool.query('DELETE FROM upload_health_sample WHERE recorded_at < $1', [
        olderThan,
      ]);
      return rowCount ?? 0;
    },
  };
}
