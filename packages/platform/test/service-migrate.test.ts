/**
 * `main.ts migrate` (migrateOnly): a service's migrations applied to DATABASE_URL alone, without
 * starting the service — what the chart's pre-upgrade Job runs — once, and idempotently.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@anfang/testing';
import { migrateOnly, type ServiceModule } from '../src/service/index.ts';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase('service_migrate');
  dir = await mkdtemp(join(tmpdir(), 'anfang-migrate-'));
  await writeFile(
    join(dir, '0001_rounds.sql'),
    '-- Up Migration\nCREATE TABLE rounds (id text PRIMARY KEY);\n',
  );
});

afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('migrateOnly', () => {
  it("applies the platform's and the service's migrations, then nothing on a second run", async () => {
    const module: ServiceModule = {
      name: 'patrol-like',
      description: 'test',
      migrations: pathToFileURL(`${dir}/`),
      start: () => Promise.reject(new Error('must not start')),
    };
    expect(await migrateOnly(module, { DATABASE_URL: db.url })).toMatch(/^platform [1-9]\d*, patrol-like 1$/);
    expect(await migrateOnly(module, { DATABASE_URL: db.url })).toBe('platform 0, patrol-like 0');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN ('rounds', 'outbox')`,
      );
      expect(Number(rows[0]!.n)).toBe(2);
    } finally {
      await client.end();
    }
  });

  it('refuses a missing DATABASE_URL with the variable named', async () => {
    const module: ServiceModule = {
      name: 'x',
      description: 'x',
      start: () => Promise.reject(new Error('no')),
    };
    await expect(migrateOnly(module, {})).rejects.toThrow('DATABASE_URL');
  });
});
