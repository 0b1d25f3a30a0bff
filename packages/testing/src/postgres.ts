import pg from 'pg';
import { infraEnv, withHint } from './env.ts';
import { uniqueName } from './names.ts';

export interface TestDatabase {
  /** Connection URL of the new database (same server and user as ANFANG_PG_URL). */
  url: string;
  name: string;
  /** Terminates its connections and drops it (idempotent). */
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
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      await admin(`dropping test database ${name}`, (c) =>
        c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
      );
      dropped = true;
    },
  };
}
