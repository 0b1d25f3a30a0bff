import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { runner } from 'node-pg-migrate';
import type { MigrationBuilder } from 'node-pg-migrate';
import type { PgLogger } from './pool.ts';

/** The platform's own migrations (outbox, processed events). */
export const PLATFORM_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const PLATFORM_MIGRATIONS_TABLE = 'platform_migrations';
export const DEFAULT_MIGRATIONS_TABLE = 'migrations';

export interface MigrateOptions {
  /** The service's migrations folder (beside its store), a path or a file: URL. Omit to apply only the platform's. */
  readonly dir?: string | URL;
  /** Table recording the service's applied migrations. Default `migrations`. */
  readonly table?: string;
  /** Apply the platform's migrations first (tracked in `platform_migrations`). Default true. */
  readonly platform?: boolean;
  /** Schema for the migrations and the migrations table. Default `public`. */
  readonly schema?: string;
  readonly logger?: PgLogger;
}

export interface MigrateResult {
  /** Names of platform migrations applied by this call. */
  readonly platform: readonly string[];
  /** Names of service migrations applied by this call. */
  readonly service: readonly string[];
}

type MigrationModule = {
  up?: (pgm: MigrationBuilder) => Promise<void> | void;
  down?: ((pgm: MigrationBuilder) => Promise<void> | void) | false;
};

/**
 * Loads TypeScript/JavaScript migrations with Node's own `import()` (type stripping), so a
 * migration is plain erasable TypeScript like the rest of the code base.
 */
async function nativeImportLoader(filePaths: string[]) {
  const units = [];
  for (const filePath of filePaths) {
    const actions = (await import(pathToFileURL(filePath).href)) as MigrationModule;
    units.push({ id: filePath, filePaths: [filePath], actions });
  }
  return units;
}

/** Anything that is not a migration: dotfiles, declaration files, and other extensions. */
const IGNORE_PATTERN = String.raw`(\..*)|(.*\.d\.ts)|(.*(?<!\.sql|\.ts|\.js|\.mjs))`;

/**
 * Applies pending migrations with node-pg-migrate: first the platform's (unless
 * `platform: false`), then the service's from `dir`, each set tracked in its own table.
 *
 * Concurrency: node-pg-migrate holds a session advisory lock (`pg_advisory_lock(7241865325823964)`,
 * database-scoped) while it reads the migrations table and applies; we run it in `wait` mode,
 * so replicas starting together apply each migration exactly once — the later ones wait, then
 * find nothing to do. All pending migrations of one set run in a single transaction (a migration
 * may opt out with `pgm.noTransaction()`), and the order of already-applied ones is checked.
 *
 * The migration session has no statement or lock timeout and is closed afterwards (never
 * returned to the pool with session state left over).
 */
export async function migrate(target: Pool | string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const sets: { dir: string; table: string; key: keyof MigrateResult }[] = [];
  if (options.platform ?? true) {
    sets.push({ dir: PLATFORM_MIGRATIONS_DIR, table: PLATFORM_MIGRATIONS_TABLE, key: 'platform' });
  }
  if (options.dir !== undefined) {
    const dir = options.dir instanceof URL ? fileURLToPath(options.dir) : options.dir;
    const table = options.table ?? DEFAULT_MIGRATIONS_TABLE;
    if (table === PLATFORM_MIGRATIONS_TABLE)
      throw new Error(`migrations table ${table} is reserved for the platform`);
    sets.push({ dir, table, key: 'service' });
  }
  const result: { platform: string[]; service: string[] } = { platform: [], service: [] };
  const log = options.logger;
  const logger = {
    debug: () => {},
    info: (msg: string) => log?.info?.({ component: 'migrate' }, msg),
    warn: (msg: string) => log?.warn({ component: 'migrate' }, msg),
    error: (msg: string) => log?.error({ component: 'migrate' }, msg),
  };

  for (const set of sets) {
    const { client, dispose } = await connect(target);
    try {
      // The pool's statement/lock timeouts must not cut a long migration or the lock wait short.
      await client.query('SET statement_timeout = 0; SET lock_timeout = 0');
      const applied = await runner({
        dbClient: client,
        dir: set.dir,
        ignorePattern: IGNORE_PATTERN,
        migrationsTable: set.table,
        ...(options.schema ? { schema: options.schema, createSchema: true } : {}),
        direction: 'up',
        checkOrder: true,
        singleTransaction: true,
        advisoryLockMode: 'wait',
        migrationLoaderStrategies: [
          { extensions: ['.sql'], loader: 'sql' },
          { extensions: ['.ts', '.js', '.mjs', '.mts'], loader: nativeImportLoader },
        ],
        logger,
      });
      result[set.key].push(...applied.map((m) => m.name));
    } finally {
      await dispose();
    }
  }
  return result;
}

async function connect(
  target: Pool | string,
): Promise<{ client: pg.ClientBase; dispose: () => Promise<void> }> {
  if (typeof target === 'string') {
    const client = new pg.Client({ connectionString: target, application_name: 'anfang-migrate' });
    client.on('error', () => {});
    await client.connect();
    return { client, dispose: () => client.end().catch(() => {}) };
  }
  const client: PoolClient = await target.connect();
  // Destroy instead of release: the session held an advisory lock and may have a search_path set.
  return {
    client,
    dispose: async () => {
      client.release(true);
    },
  };
}
