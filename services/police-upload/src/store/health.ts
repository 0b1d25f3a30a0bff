/** The (platform, compound) pairs upload health is reported for (table upload_health_key). */
import type { Pool } from '@anfang/platform/pg';

export interface HealthKey {
  readonly platformId: string;
  readonly compoundId: string;
  readonly lastSuccessAt?: Date;
}

export interface HealthKeyStore {
  /** Adds pairs, keeping the latest success of each. */
  remember(keys: readonly HealthKey[]): Promise<void>;
  all(): Promise<HealthKey[]>;
}

export function createHealthKeyStore(pool: Pool): HealthKeyStore {
  return {
    async remember(given) {
      // One row per pair: one statement may not update a row twice (ON CONFLICT), and a report
      // names a pair once per source (backlog, this window's uploads, the platform's compounds).
      const latest = new Map<string, HealthKey>();
      for (const k of given) {
        const id = `${k.platformId}\u0000${k.compoundId}`;
        const seen = latest.get(id);
        if (!seen?.lastSuccessAt || (k.lastSuccessAt && k.lastSuccessAt > seen.lastSuccessAt))
          latest.set(id, k);
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
  };
}
