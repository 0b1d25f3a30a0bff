import pg from 'pg';
import { infraEnv, withHint } from './env.ts';
import { uniqueName } from './names.ts';

export interface TestDatabase {
  /** Connection URL of the new database (same server and user as ANFANG_PG_URL). */
  url: string;
  name: string;
  /**
   * A pool on the database for the test's own reads and writes; `drop()` ends it. Use it rather
   * than a bare `pg.Pool`, which has no listener for a connection's `error`: when a connection of
   * the pool dies while idle (ended by `drop()`'s FORCE, which can reach a backend before the
   * Terminate of `pool.end()` does — `end()` resolves without waiting for the server), the pool
   * emits `error`, and with no listener that is an uncaught exception that fails the whole run
   * though every test passed.
   */
  pool(max?: number): pg.Pool;
  /** Ends its pools, terminates its other connections and drops it (idempotent). */
  drop(): Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function admin<T>(what: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: infraEnv().pgUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } catch (err) {
    throw withHint(err, what);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a fresh, empty database in the infrastructure's Postgres. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = uniqueName(label);
  await admin(`creating test database ${name}`, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = new URL(infraEnv().pgUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  let dropped = false;
  const pools: pg.Pool[] = [];
  return {
    url: url.toString(),
    name,
    pool(max = 2) {
      const pool = new pg.Pool({ connectionString: url.toString(), max });
      // The pool discards a dead connection, and a query that was on it fails its test: the
      // event itself says nothing a test needs, idle (the pool's) or checked out (the client's).
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      pools.push(pool);
      return pool;
    },
    async drop() {
      if (dropped) return;
      await Promise.all(pools.filter((p) => !p.ending).map((p) => p.end()));
      await admin(`dropping test database ${name}`, (c) =>
        c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
      );
      dropped = true;
    },
  };
}
