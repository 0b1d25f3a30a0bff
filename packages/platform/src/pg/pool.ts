import pg from 'pg';
import type { ClientBase, Pool, PoolClient, PoolConfig } from 'pg';

/** The slice of a logger the storage parts use; a pino logger fits it. */
export interface PgLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

export interface PoolOptions {
  /** postgres://user:password@host:port/database — never logged. */
  readonly url: string;
  /** Shown in pg_stat_activity; by convention the service name (OTEL_SERVICE_NAME). */
  readonly applicationName: string;
  /** Most connections the pool opens. Default 10. */
  readonly max?: number;
  /** Server-side limit for one statement. Default 30 s; 0 disables. */
  readonly statementTimeoutMs?: number;
  /** Server-side limit for waiting on a row/table lock. Default 10 s; 0 disables. */
  readonly lockTimeoutMs?: number;
  /** The server ends a session left idle inside a transaction this long. Default 60 s. */
  readonly idleInTransactionTimeoutMs?: number;
  /** An idle pooled connection is closed after this long. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Giving up on opening a connection (or waiting for a free one). Default 10 s. */
  readonly connectionTimeoutMs?: number;
  /** Connections are recycled after this long (spreads load after a failover). Default 30 min. */
  readonly maxLifetimeSeconds?: number;
  readonly ssl?: PoolConfig['ssl'];
  /** Where connection errors of idle or checked-out clients are reported. Default: stderr JSON line. */
  readonly logger?: PgLogger;
}

export const POOL_DEFAULTS = {
  max: 10,
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
  connectionTimeoutMs: 10_000,
  maxLifetimeSeconds: 30 * 60,
} as const;

/** A logger that writes one JSON line to stderr; used when the caller gives none. */
export const stderrLogger: PgLogger = {
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', ...obj, msg })}\n`),
  error: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'error', ...obj, msg })}\n`),
};

/** Error fields that are safe to log (no connection string, no parameters). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { err: { name: err.name, message: err.message, ...(code !== undefined ? { code } : {}) } };
  }
  return { err: { message: String(err) } };
}

/**
 * A pg pool with production defaults. Every client it creates carries a permanent `error`
 * listener, so a connection that dies while idle or checked out is logged and discarded
 * instead of crashing the process (node-postgres emits `error` on the client, and an
 * unhandled `error` event would be fatal).
 */
export function createPool(options: PoolOptions): Pool {
  const logger = options.logger ?? stderrLogger;
  const config: PoolConfig = {
    connectionString: options.url,
    application_name: options.applicationName,
    max: options.max ?? POOL_DEFAULTS.max,
    idleTimeoutMillis: options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? POOL_DEFAULTS.connectionTimeoutMs,
    maxLifetimeSeconds: options.maxLifetimeSeconds ?? POOL_DEFAULTS.maxLifetimeSeconds,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
  };
  const statementTimeout = options.statementTimeoutMs ?? POOL_DEFAULTS.statementTimeoutMs;
  const lockTimeout = options.lockTimeoutMs ?? POOL_DEFAULTS.lockTimeoutMs;
  const idleInTx = options.idleInTransactionTimeoutMs ?? POOL_DEFAULTS.idleInTransactionTimeoutMs;
  if (statementTimeout > 0) config.statement_timeout = statementTimeout;
  if (lockTimeout > 0) config.lock_timeout = lockTimeout;
  if (idleInTx > 0) config.idle_in_transaction_session_timeout = idleInTx;

  const pool = new pg.Pool(config);
  const application = options.applicationName;
  pool.on('error', (err) => {
    logger.warn({ ...errorFields(err), application }, 'postgres: idle client error; connection discarded');
  });
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      logger.warn({ ...errorFields(err), application }, 'postgres: client connection error');
    });
  });
  return pool;
}

/** The connection settings a pool was created with (for dedicated, non-pooled connections). */
export function poolConfig(pool: Pool): PoolConfig {
  return { ...(pool as unknown as { options: PoolConfig }).options };
}

/** Readiness: a round trip within `timeoutMs` (default 2 s). Throws when the database cannot serve. */
export async function check(pool: Pool, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`postgres: no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([pool.query('SELECT 1'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type { ClientBase, Pool, PoolClient };
