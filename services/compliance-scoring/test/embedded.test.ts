/**
 * The module as the runner starts it in embedded mode (BUS_KIND=embedded over Postgres, the
 * caller key from a file): it starts, seeds the district list once, serves, stops cleanly, and a
 * restart on the same database neither seeds again nor rewrites scores.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { allTopics, ComplianceService } from '@anfang/contracts';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { createBus } from '@anfang/platform/bus';
import { createGrpcClient } from '@anfang/platform/grpc';
import { createTestDatabase, type TestDatabase } from '@anfang/testing';
import complianceScoringService from '../src/service.ts';

let db: TestDatabase;
let busDb: TestDatabase;
let dir: string;
const key = randomBytes(32).toString('base64url');

beforeAll(async () => {
  db = await createTestDatabase('compliance_embedded');
  busDb = await createTestDatabase('compliance_embedded_bus');
  const bus = await createBus({ kind: 'embedded', connectionString: busDb.url });
  await bus.ensureTopics(allTopics());
  await bus.close();
  dir = await mkdtemp(join(tmpdir(), 'compliance-embedded-'));
  await writeFile(join(dir, 'caller-key'), key);
}, 60_000);

afterAll(async () => {
  await db?.drop();
  await busDb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function startAndCount() {
  const service = await complianceScoringService.start(
    {
      OTEL_SERVICE_NAME: 'compliance-scoring',
      LOG_LEVEL: 'warn',
      OTEL_METRICS_EXPORTER: 'none',
      DATABASE_URL: db.url,
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      BUS_KIND: 'embedded',
      BUS_DATABASE_URL: busDb.url,
      CACHE_KIND: 'memory',
      OBJECTS_KIND: 'directory',
      OBJECTS_DIR: dir,
      CALLER_TOKEN_KEY_FILE: join(dir, 'caller-key'),
    },
    { ownsProcess: false },
  );
  const client = createGrpcClient(ComplianceService.definition, `127.0.0.1:${service.ports.grpc}`);
  try {
    expect(service.ready()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${service.ports.http}/readyz`)).status).toBe(200);
    const metadata = await mintCallerMetadata({ subject: 'u-1', role: 'police', compounds: 'all' }, key);
    const coverage = await client.getCoverage({ year: 2020 }, { metadata });
    return coverage.district?.compounds;
  } finally {
    client.close();
    await service.stop('test');
  }
}

describe('embedded mode', () => {
  it('starts, seeds once, and restarts without rescoring', async () => {
    expect(await startAndCount()).toBe(37);
    const raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
    try {
      const history = async () =>
        Number((await raw.query('SELECT count(*) AS n FROM score_history')).rows[0].n);
      expect(await history()).toBe(37);
      expect(await startAndCount()).toBe(37);
      expect(await history()).toBe(37);
    } finally {
      await raw.end();
    }
  }, 60_000);
});
