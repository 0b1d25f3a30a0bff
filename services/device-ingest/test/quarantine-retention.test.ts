/**
 * Quarantine retention against real Postgres and S3: what is older than the cutoff goes —
 * payload and row — in batches, two sweepers at once delete each entry once, and what is newer
 * stays untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@anfang/platform/log';
import { createObjectStore, type ObjectStore } from '@anfang/platform/objects';
import { createPool, migrate, type Pool } from '@anfang/platform/pg';
import {
  createTestBucket,
  createTestDatabase,
  infraEnv,
  type TestBucket,
  type TestDatabase,
} from '@anfang/testing';
import { createQuarantine } from '../src/store/quarantine.ts';

const DAY = 24 * 3_600_000;
const logger = createLogger({ service: 'device-ingest', level: 'warn' });

let db: TestDatabase;
let bucket: TestBucket;
let pool: Pool;
let objects: ObjectStore;

beforeAll(async () => {
  const env = infraEnv();
  db = await createTestDatabase('quarantine_retention');
  bucket = await createTestBucket('quarantine-retention');
  pool = createPool({ url: db.url, applicationName: 'quarantine-retention-test' });
  await migrate(pool, { dir: new URL('../src/store/migrations', import.meta.url) });
  objects = await createObjectStore({
    kind: 's3',
    url: env.s3.endpoint,
    accessKey: env.s3.accessKey,
    secretKey: env.s3.secretKey,
    region: env.s3.region,
    bucket: bucket.bucket,
    prefix: 'device-ingest/',
  });
});

afterAll(async () => {
  await objects?.close();
  await pool?.end();
  await db?.drop();
  await bucket?.drop();
});

describe('quarantine retention', () => {
  it('deletes old payloads and rows in batches, once each across two sweepers, and keeps newer ones', async () => {
    const today = new Date('2026-11-28T08:00:00Z');
    const keepAt = (at: Date, path: string) =>
      createQuarantine({ pool, objects, logger, now: () => at }).keep({
        protocol: 'generic',
        reason: 'malformed',
        status: 400,
        remoteAddress: '127.0.0.1',
        path,
        contentType: 'application/json',
        body: Buffer.from(`{"broken": ${path}`),
      });
    const old = await Promise.all(
      Array.from({ length: 7 }, (_, i) => keepAt(new Date(today.getTime() - (40 + i) * DAY), `/old/${i}`)),
    );
    const recent = await Promise.all(
      Array.from({ length: 3 }, (_, i) => keepAt(new Date(today.getTime() - i * DAY), `/recent/${i}`)),
    );
    const keyOf = async (id: string) =>
      (await pool.query<{ object_key: string }>('SELECT object_key FROM quarantine WHERE id = $1', [id]))
        .rows[0]!.object_key;
    const oldKeys = await Promise.all(old.map(keyOf));
    const recentKeys = await Promise.all(recent.map(keyOf));
    for (const key of [...oldKeys, ...recentKeys]) expect(await objects.stat(key)).not.toBeNull();

    const cutoff = new Date(today.getTime() - 30 * DAY);
    const sweeper = createQuarantine({ pool, objects, logger });
    const [a, b] = await Promise.all([sweeper.sweep(cutoff, 2), sweeper.sweep(cutoff, 2)]);
    expect(a + b).toBe(7);

    const { rows } = await pool.query<{ id: string }>('SELECT id FROM quarantine ORDER BY id');
    expect(rows.map((r) => r.id).sort()).toEqual([...recent].sort());
    for (const key of oldKeys) expect(await objects.stat(key)).toBeNull();
    for (const key of recentKeys) expect(await objects.stat(key)).not.toBeNull();
    expect(await sweeper.sweep(cutoff)).toBe(0);
  });
});
