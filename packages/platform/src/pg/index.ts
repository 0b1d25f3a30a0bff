/**
 * Postgres for Anfang services: a pool with production defaults, transactions with retry,
 * migrations (node-pg-migrate, platform's first), the transactional outbox and its relay, and
 * processed-event marks for exactly-once consumer effects. See packages/platform/README.md.
 */
export { createPool, check, poolConfig, POOL_DEFAULTS } from './pool.ts';
export type { PoolOptions, PgLogger, Pool, PoolClient, ClientBase } from './pool.ts';
export { withTransaction, isRetryable, sqlState, RETRYABLE_SQLSTATES } from './transaction.ts';
export type { IsolationLevel, TransactionOptions } from './transaction.ts';
export {
  migrate,
  PLATFORM_MIGRATIONS_DIR,
  PLATFORM_MIGRATIONS_TABLE,
  DEFAULT_MIGRATIONS_TABLE,
} from './migrate.ts';
export type { MigrateOptions, MigrateResult } from './migrate.ts';
export {
  enqueueOutbox,
  outboxEventPublisher,
  outboxSink,
  startOutboxRelay,
  OUTBOX_TABLE,
  OUTBOX_CHANNEL,
  OUTBOX_RELAY_LOCK,
} from './outbox.ts';
export type { OutboxRelay, OutboxRelayOptions } from './outbox.ts';
export { markProcessed, markProcessedMany, pruneProcessed } from './processed.ts';
