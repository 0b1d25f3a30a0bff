import type { Pool, PoolClient } from 'pg';

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions {
  /** Default: the server's default (read committed). */
  readonly isolation?: IsolationLevel;
  readonly readOnly?: boolean;
  /** Attempts including the first when the transaction fails with a retryable error. Default 5. */
  readonly maxAttempts?: number;
  /** First back-off; doubles per attempt with full jitter, capped at 1 s. Default 20 ms. */
  readonly initialBackoffMs?: number;
}

/** SQLSTATEs after which the whole transaction may simply be run again. */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

const ISOLATION_SQL: Record<IsolationLevel, string> = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

/** The SQLSTATE of a pg error, looking through `cause` chains. */
export function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isRetryable(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && RETRYABLE_SQLSTATES.has(code);
}

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled connection and returns its result. On a
 * serialization failure or deadlock (at any statement or at COMMIT) the transaction is rolled
 * back and `fn` runs again, so `fn` must have no effects outside the database (publish through
 * the outbox instead). Any other error rolls back and is rethrown. A connection whose ROLLBACK
 * fails is destroyed, never returned to the pool.
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const initialBackoff = options.initialBackoffMs ?? 20;
  let begin = 'BEGIN';
  if (options.isolation) begin += ` ISOLATION LEVEL ${ISOLATION_SQL[options.isolation]}`;
  if (options.readOnly) begin += ' READ ONLY';

  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      if (attempt >= maxAttempts || !isRetryable(err)) throw err;
    } finally {
      client.release(broken);
    }
    const cap = Math.min(1_000, initialBackoff * 2 ** (attempt - 1));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
  }
}
