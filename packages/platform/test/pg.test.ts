import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, waitFor } from '@anfang/testing';
import { createLifecycle } from '../src/lifecycle/index.ts';
import { createLogger } from '../src/log/index.ts';
import { startProcessedPruning } from '../src/service/index.ts';
import { compoundScope, scopeCondition, scopeParams } from '../src/auth/index.ts';
import {
  check,
  createPool,
  markProcessed,
  markProcessedMany,
  migrate,
  pruneProcessed,
  withTransaction,
  PLATFORM_MIGRATIONS_TABLE,
} from '../src/pg/index.ts';
import type { Pool } from '../src/pg/index.ts';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

const warnings: unknown[] = [];
const logger = { warn: (o: object) => warnings.push(o), error: (o: object) => warnings.push(o) };

describe('pg pool', () => {
  let db: TestDb;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('pg-pool');
    pool = createPool({ url: db.url, applicationName: 'pool-test', logger, max: 4 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('filters rows by a caller scope of compounds and areas', async () => {
    const ids = ['370303001000001', '370303001000002', '370303002000001', '370304001000009'];
    const query = async (scope: ReturnType<typeof compoundScope>) =>
      (
        await pool.query<{ id: string }>(
          `SELECT id FROM unnest($1::text[]) AS id WHERE ${scopeCondition('id', 2)} ORDER BY id`,
          [ids, ...scopeParams(scope)],
        )
      ).rows.map((r) => r.id);
    expect(await query(undefined)).toEqual(ids);
    expect(
      await query(
        compoundScope({
          subject: 'u',
          role: 'street_officer',
          compounds: ['370304001000009'],
          areas: ['370303001'],
        }),
      ),
    ).toEqual(['370303001000001', '370303001000002', '370304001000009']);
    expect(await query(compoundScope({ subject: 'u', role: 'guard', compounds: [] }))).toEqual([]);
  });

  it('applies the production defaults to every session', async () => {
    const { rows } = await pool.query<{ app: string; st: string; lt: string; iit: string }>(
      `SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st,
              current_setting('lock_timeout') AS lt, current_setting('idle_in_transaction_session_timeout') AS iit`,
    );
    expect(rows[0]).toEqual({ app: 'pool-test', st: '30s', lt: '10s', iit: '1min' });
  });

  it('enforces the statement timeout', async () => {
    const short = createPool({
      url: db.url,
      applicationName: 'pool-test-timeout',
      statementTimeoutMs: 100,
      logger,
    });
    try {
      await expect(short.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await short.end();
    }
  });

  it('survives the server killing idle and checked-out connections', async () => {
    const victim = createPool({ url: db.url, applicationName: 'pool-victim', logger, max: 2 });
    try {
      const held = await victim.connect();
      await victim.query('SELECT 1'); // a second, idle connection
      await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pool-victim'`,
      );
      await expect(held.query('SELECT 1')).rejects.toThrow();
      held.release(true);
      await new Promise((r) => setTimeout(r, 200));
      // The process is still alive and the pool opens fresh connections.
      const { rows } = await victim.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
      expect(warnings.length).toBeGreaterThan(0);
    } finally {
      await victim.end();
    }
  });

  it('check() resolves when the database answers and rejects when it does not', async () => {
    await check(pool);
    const dead = createPool({
      url: 'postgres://nobody@127.0.0.1:1/none',
      applicationName: 'dead',
      logger,
      connectionTimeoutMs: 500,
    });
    await expect(check(dead, 1_000)).rejects.toThrow();
    await dead.end();
  });
});

describe('withTransaction', () => {
  let db: TestDb;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('pg-tx');
    pool = createPool({ url: db.url, applicationName: 'tx-test', logger, max: 8 });
    await pool.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('commits the result of fn and rolls back when fn throws', async () => {
    const result = await withTransaction(pool, async (c) => {
      await c.query('INSERT INTO accounts VALUES (1, 100), (2, 100)');
      return 'done';
    });
    expect(result).toBe('done');
    await expect(
      withTransaction(pool, async (c) => {
        await c.query('UPDATE accounts SET balance = 0');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await pool.query('SELECT balance FROM accounts ORDER BY id');
    expect(rows.map((r) => r.balance)).toEqual([100, 100]);
  });

  it('retries serialization failures until every transaction commits', async () => {
    await pool.query('UPDATE accounts SET balance = 100');
    let attempts = 0;
    // Write skew under SERIALIZABLE: each reads the sum and withdraws; one of each pair must retry.
    const withdraw = (id: number) =>
      withTransaction(
        pool,
        async (c) => {
          attempts++;
          const { rows } = await c.query<{ total: number }>(
            'SELECT sum(balance)::int AS total FROM accounts',
          );
          await new Promise((r) => setTimeout(r, 30));
          await c.query('UPDATE accounts SET balance = balance - $2 WHERE id = $1', [
            id,
            rows[0]!.total > 0 ? 10 : 0,
          ]);
        },
        { isolation: 'serializable', maxAttempts: 20 },
      );
    await Promise.all([withdraw(1), withdraw(2), withdraw(1), withdraw(2)]);
    expect(attempts).toBeGreaterThan(4);
    const { rows } = await pool.query<{ total: number }>('SELECT sum(balance)::int AS total FROM accounts');
    expect(rows[0]!.total).toBe(160);
  });

  it('retries a deadlock victim', async () => {
    let attempts = 0;
    const transfer = (from: number, to: number) =>
      withTransaction(pool, async (c) => {
        attempts++;
        await c.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [from]);
        await new Promise((r) => setTimeout(r, 100));
        await c.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [to]);
      });
    await Promise.all([transfer(1, 2), transfer(2, 1)]);
    expect(attempts).toBe(3);
  });

  it('does not retry other errors', async () => {
    let attempts = 0;
    await expect(
      withTransaction(pool, async (c) => {
        attempts++;
        await c.query('INSERT INTO accounts VALUES (1, 0)');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(attempts).toBe(1);
  });

  it('can run read-only', async () => {
    await expect(
      withTransaction(pool, (c) => c.query('DELETE FROM accounts'), { readOnly: true }),
    ).rejects.toMatchObject({ code: '25006' });
  });
});

describe('migrate', () => {
  let db: TestDb;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase('pg-migrate');
    dir = await mkdtemp(join(tmpdir(), 'anfang-migrations-'));
    await writeFile(
      join(dir, '0001_items.sql'),
      `-- Up Migration
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
SELECT pg_sleep(0.3);
-- Down Migration
DROP TABLE items;
`,
    );
    await writeFile(
      join(dir, '0002_items_note.ts'),
      `import type { MigrationBuilder } from 'node-pg-migrate';
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.addColumn('items', { note: { type: 'text' } });
  pgm.sql("INSERT INTO items (id, name, note) VALUES (1, 'first', 'from ts')");
}
export const down = false;
`,
    );
    await writeFile(join(dir, 'README.md'), 'not a migration');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('applies platform migrations first, then the service ones, each set exactly once across concurrent replicas', async () => {
    const pools = Array.from({ length: 4 }, (_, i) =>
      createPool({ url: db.url, applicationName: `replica-${i}`, logger }),
    );
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, { dir, table: 'item_migrations' })));
      const platformRuns = results.filter((r) => r.platform.length > 0);
      const serviceRuns = results.filter((r) => r.service.length > 0);
      expect(platformRuns).toHaveLength(1);
      expect(platformRuns[0]!.platform).toEqual(['0001_outbox_and_processed_events']);
      expect(serviceRuns).toHaveLength(1);
      expect(serviceRuns[0]!.service).toEqual(['0001_items', '0002_items_note']);

      const p = pools[0]!;
      const tables = await p.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        ['item_migrations', 'items', 'outbox', PLATFORM_MIGRATIONS_TABLE, 'processed_events'].sort(),
      );
      const items = await p.query('SELECT id, name, note FROM items');
      expect(items.rows).toEqual([{ id: 1, name: 'first', note: 'from ts' }]);
      const applied = await p.query<{ name: string }>('SELECT name FROM item_migrations ORDER BY id');
      expect(applied.rows.map((r) => r.name)).toEqual(['0001_items', '0002_items_note']);
      // Pool sessions are left as they were (the migration session is discarded, not pooled).
      const st = await p.query<{ st: string }>(`SELECT current_setting('statement_timeout') AS st`);
      expect(st.rows[0]!.st).toBe('30s');
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('is a no-op the second time, also from a URL', async () => {
    const again = await migrate(db.url, { dir, table: 'item_migrations' });
    expect(again).toEqual({ platform: [], service: [] });
  });

  it('stops at a failing migration and leaves the set unapplied', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'anfang-bad-migrations-'));
    const failing = await createTestDatabase('pg-migrate-bad');
    try {
      await writeFile(join(bad, '0001_ok.sql'), 'CREATE TABLE ok_table (id int);');
      await writeFile(join(bad, '0002_broken.sql'), 'CREATE TABLE broken (id nosuchtype);');
      await expect(migrate(failing.url, { dir: bad })).rejects.toThrow();
      const pool = failing.pool();
      const { rows } = await pool.query(`SELECT to_regclass('ok_table') AS t, to_regclass('outbox') AS o`);
      expect(rows[0]).toEqual({ t: null, o: 'outbox' });
      await pool.end();
    } finally {
      await rm(bad, { recursive: true, force: true });
      await failing.drop();
    }
  });
});

describe('processed events', () => {
  let db: TestDb;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('pg-processed');
    pool = createPool({ url: db.url, applicationName: 'processed-test', logger });
    await migrate(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('markProcessed is true once per (group, event id), within the caller transaction', async () => {
    expect(await withTransaction(pool, (c) => markProcessed(c, 'group-a', 'e1'))).toBe(true);
    expect(await withTransaction(pool, (c) => markProcessed(c, 'group-a', 'e1'))).toBe(false);
    expect(await withTransaction(pool, (c) => markProcessed(c, 'group-b', 'e1'))).toBe(true);
    // A rolled-back mark does not count.
    await expect(
      withTransaction(pool, async (c) => {
        expect(await markProcessed(c, 'group-a', 'e2')).toBe(true);
        throw new Error('effect failed');
      }),
    ).rejects.toThrow('effect failed');
    expect(await withTransaction(pool, (c) => markProcessed(c, 'group-a', 'e2'))).toBe(true);
  });

  it('concurrent deliveries of one event: exactly one transaction applies it', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => withTransaction(pool, (c) => markProcessed(c, 'group-c', 'dup'))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('markProcessedMany returns the ids seen for the first time, a repeated id once', async () => {
    expect(await withTransaction(pool, (c) => markProcessed(c, 'group-d', 'seen'))).toBe(true);
    const fresh = await withTransaction(pool, (c) =>
      markProcessedMany(c, 'group-d', ['seen', 'new-1', 'new-2', 'new-1']),
    );
    expect([...fresh].sort()).toEqual(['new-1', 'new-2']);
    expect(await withTransaction(pool, (c) => markProcessedMany(c, 'group-d', ['new-2']))).toEqual(new Set());
  });

  it('startProcessedPruning prunes on its interval until the consumers drain', async () => {
    const silent = createLogger({ service: 'pruning-test', level: 'silent' });
    const lifecycle = createLifecycle({
      logger: silent,
      signals: [],
      handleProcessErrors: false,
      exit: () => undefined,
    });
    const age = async (eventId: string) => {
      await withTransaction(pool, (c) => markProcessed(c, 'group-p', eventId));
      await pool.query(
        `UPDATE processed_events SET processed_at = now() - interval '2 days' WHERE event_id = $1`,
        [eventId],
      );
    };
    const marks = async () =>
      (await pool.query(`SELECT event_id FROM processed_events WHERE consumer_group = 'group-p'`)).rows;
    await age('old-1');
    startProcessedPruning(
      pool,
      { lifecycle, logger: silent },
      { olderThanMs: 24 * 3600 * 1000, intervalMs: 20 },
    );
    await waitFor(async () => ((await marks()).length === 0 ? true : undefined));
    await lifecycle.shutdown('test');
    await age('old-2');
    await sleep(100);
    expect(await marks()).toEqual([{ event_id: 'old-2' }]);
    await pool.query(`DELETE FROM processed_events WHERE consumer_group = 'group-p'`);
  });

  it('prunes old marks', async () => {
    await pool.query(
      `UPDATE processed_events SET processed_at = now() - interval '2 days' WHERE consumer_group = 'group-b'`,
    );
    expect(await pruneProcessed(pool, 24 * 3600 * 1000)).toBe(1);
  });
});
