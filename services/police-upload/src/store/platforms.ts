/** Upper platforms and the visible state of the session with each. */
import type { ClientBase, Pool } from '@anfang/platform/pg';

export interface Platform {
  readonly platformId: string;
  readonly name: string;
  readonly baseUrl: string;
  readonly username: string;
  readonly passwordRef: string;
  readonly tlsCaPem: string;
  readonly objectKinds: readonly string[];
  readonly compounds: readonly string[];
  readonly includeIdNumbers: boolean;
  readonly extensions: readonly string[];
  readonly keepaliveIntervalS: number;
  readonly keepaliveMisses: number;
  readonly enabled: boolean;
}

export type SessionStateName = 'registered' | 'unregistered' | 'degraded';

export interface SessionState {
  readonly state: SessionStateName;
  readonly registeredAt?: Date;
  readonly lastKeepaliveAt?: Date;
  readonly lastFailureAt?: Date;
  readonly failures: number;
  readonly lastError: string;
  readonly clockOffsetMs?: number;
  readonly clockCheckedAt?: Date;
}

const COLUMNS = `platform_id, name, base_url, username, password_ref, tls_ca_pem, object_kinds, compounds,
  include_id_numbers, extensions, keepalive_interval_s, keepalive_misses, enabled`;

interface Row {
  platform_id: string;
  name: string;
  base_url: string;
  username: string;
  password_ref: string;
  tls_ca_pem: string;
  object_kinds: string[];
  compounds: string[];
  include_id_numbers: boolean;
  extensions: string[];
  keepalive_interval_s: number;
  keepalive_misses: number;
  enabled: boolean;
}

const fromRow = (r: Row): Platform => ({
  platformId: r.platform_id,
  name: r.name,
  baseUrl: r.base_url,
  username: r.username,
  passwordRef: r.password_ref,
  tlsCaPem: r.tls_ca_pem,
  objectKinds: r.object_kinds,
  compounds: r.compounds,
  includeIdNumbers: r.include_id_numbers,
  extensions: r.extensions,
  keepaliveIntervalS: r.keepalive_interval_s,
  keepaliveMisses: r.keepalive_misses,
  enabled: r.enabled,
});

export interface PlatformStore {
  list(): Promise<Platform[]>;
  get(platformId: string): Promise<Platform | undefined>;
  session(platformId: string): Promise<SessionState>;
  recordSession(platformId: string, state: SessionState): Promise<void>;
}

/** The platforms as stored, read with the caller's connection (inside its transaction). */
export async function platformsIn(
  client: Pick<ClientBase, 'query'>,
  platformId?: string,
): Promise<Platform[]> {
  const { rows } = await client.query<Row>(
    `SELECT ${COLUMNS} FROM upper_platform WHERE $1::text IS NULL OR platform_id = $1 ORDER BY platform_id`,
    [platformId ?? null],
  );
  return rows.map(fromRow);
}

export async function upsertPlatformIn(
  client: Pick<ClientBase, 'query'>,
  p: Platform,
  by: string,
): Promise<Platform> {
  const { rows } = await client.query<Row>(
    `INSERT INTO upper_platform (platform_id, name, base_url, username, password_ref, tls_ca_pem, object_kinds,
       compounds, include_id_numbers, extensions, keepalive_interval_s, keepalive_misses, enabled, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (platform_id) DO UPDATE SET name = EXCLUDED.name, base_url = EXCLUDED.base_url,
       username = EXCLUDED.username, password_ref = EXCLUDED.password_ref, tls_ca_pem = EXCLUDED.tls_ca_pem,
       object_kinds = EXCLUDED.object_kinds, compounds = EXCLUDED.compounds,
       include_id_numbers = EXCLUDED.include_id_numbers, extensions = EXCLUDED.extensions,
       keepalive_interval_s = EXCLUDED.keepalive_interval_s, keepalive_misses = EXCLUDED.keepalive_misses,
       enabled = EXCLUDED.enabled, updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING ${COLUMNS}`,
    [
      p.platformId,
      p.name,
      p.baseUrl,
      p.username,
      p.passwordRef,
      p.tlsCaPem,
      p.objectKinds,
      p.compounds,
      p.includeIdNumbers,
      p.extensions,
      p.keepaliveIntervalS,
      p.keepaliveMisses,
      p.enabled,
      by,
    ],
  );
  return fromRow(rows[0]!);
}

export function createPlatformStore(pool: Pool): PlatformStore {
  return {
    list: () => platformsIn(pool),
    get: async (platformId) => (await platformsIn(pool, platformId))[0],
    async session(platformId) {
      const { rows } = await pool.query<{
        state: SessionStateName;
        registered_at: Date | null;
        last_keepalive_at: Date | null;
        last_failure_at: Date | null;
        failures: number;
        last_error: string;
        clock_offset_ms: number | null;
        clock_checked_at: Date | null;
      }>(`SELECT * FROM platform_session WHERE platform_id = $1`, [platformId]);
      const r = rows[0];
      if (!r) return { state: 'unregistered', failures: 0, lastError: '' };
      return {
        state: r.state,
        failures: r.failures,
        lastError: r.last_error,
        ...(r.registered_at ? { registeredAt: r.registered_at } : {}),
        ...(r.last_keepalive_at ? { lastKeepaliveAt: r.last_keepalive_at } : {}),
        ...(r.last_failure_at ? { lastFailureAt: r.last_failure_at } : {}),
        ...(r.clock_offset_ms !== null ? { clockOffsetMs: r.clock_offset_ms } : {}),
        ...(r.clock_checked_at ? { clockCheckedAt: r.clock_checked_at } : {}),
      };
    },
    async recordSession(platformId, s) {
      await pool.query(
        `INSERT INTO platform_session (platform_id, state, registered_at, last_keepalive_at, last_failure_at,
           failures, last_error, clock_offset_ms, clock_checked_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
         ON CONFLICT (platform_id) DO UPDATE SET state = EXCLUDED.state, registered_at = EXCLUDED.registered_at,
           last_keepalive_at = EXCLUDED.last_keepalive_at, last_failure_at = EXCLUDED.last_failure_at,
           failures = EXCLUDED.failures, last_error = EXCLUDED.last_error,
           clock_offset_ms = EXCLUDED.clock_offset_ms, clock_checked_at = EXCLUDED.clock_checked_at, updated_at = now()`,
        [
          platformId,
          s.state,
          s.registeredAt ?? null,
          s.lastKeepaliveAt ?? null,
          s.lastFailureAt ?? null,
          s.failures,
          s.lastError.slice(0, 500),
          s.clockOffsetMs ?? null,
          s.clockCheckedAt ?? null,
        ],
      );
    },
  };
}
