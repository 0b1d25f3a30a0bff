/**
 * The platform as users start it — `./anfang start` in embedded mode (one process, embedded
 * Postgres and bus) and in local mode (every service its own process on Kafka, Postgres, Redis and
 * S3) — with the simulated devices: every registered service becomes ready, and device traffic
 * reaches device-ingest, which shows devices online per compound.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removePostgresData } from '@anfang/infra';
import { discoverServices, startPlatform, type PlatformStatus, type RunningPlatform } from '@anfang/runner';
import pg from 'pg';
import { emptyBucket, infraEnv, s3Client, waitFor } from '@anfang/testing';

const root = join(import.meta.dirname, '..', '..');
const services = discoverServices(root).map((s) => s.name);

/** A failure with the runner's last log lines, which say why. */
const withLog =
  (lines: readonly string[]) =>
  (error: unknown): never => {
    throw new Error(`${(error as Error).message}\nrunner log:\n${lines.slice(-30).join('\n')}`, {
      cause: error,
    });
  };

async function dropNamespace(namespace: string): Promise<void> {
  const admin = new pg.Client({ connectionString: infraEnv().pgUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 || '\\_%'`,
      [namespace],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  const s3 = s3Client();
  const bucket = `anfang-${namespace}`;
  if (await s3.bucketExists(bucket)) {
    await emptyBucket(s3, bucket);
    await s3.removeBucket(bucket);
  }
}

interface DeviceStatusReport {
  compounds: { compoundId: string; online: number; offline: number }[];
}

describe.each([
  { mode: 'embedded' as const, ports: 39100 },
  { mode: 'local' as const, ports: 39300 },
])('the platform in $mode mode with simulated devices', ({ mode, ports }) => {
  let platform: RunningPlatform | undefined;
  let dataDir = '';
  const grpcBasePort = ports + 50;
  const httpBasePort = ports + 70;

  // Local mode shares the infrastructure: this install keeps its own databases and bucket.
  const namespace = mode === 'local' ? `e2e${Date.now().toString(36)}` : undefined;

  afterAll(async () => {
    await platform?.stop();
    if (namespace) await dropNamespace(namespace);
    if (!dataDir) return;
    await removePostgresData({ dataDir: join(dataDir, 'postgres') });
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'starts every registered service ready, and device traffic shows devices online',
    { timeout: 300_000 },
    async () => {
      expect(services).toContain('device-ingest');
      dataDir = await mkdtemp(join(tmpdir(), `anfang-e2e-${mode}-`));
      const lines: string[] = [];
      platform = await startPlatform({
        root,
        mode,
        statusPort: ports,
        dataDir,
        postgresPort: ports + 32,
        grpcBasePort,
        httpBasePort,
        devicePort: ports + 88,
        ...(namespace ? { namespace } : {}),
        simulate: { rate: 20 },
        log: (line) => lines.push(line),
      });

      const status = await waitFor(
        async () => {
          const response = await fetch(new URL('/status', platform!.statusUrl));
          const body = (await response.json()) as PlatformStatus;
          return response.status === 200 && body.services.every((s) => s.ok) ? body : undefined;
        },
        { timeoutMs: 120_000, message: 'platform not ready' },
      ).catch(withLog(lines));
      expect(status.services.map((s) => s.name).sort()).toEqual([...services, 'simulator'].sort());
      expect(status.infrastructure.every((c) => c.ok)).toBe(true);

      const ingest = services.indexOf('device-ingest');
      const report = await waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${httpBasePort + ingest}/status/devices`);
          const body = (await response.json()) as DeviceStatusReport;
          const online = body.compounds.reduce((n, c) => n + c.online, 0);
          return online >= 50 ? body : undefined;
        },
        { timeoutMs: 120_000, message: 'devices not online' },
      ).catch(withLog(lines));
      expect(report.compounds.length).toBeGreaterThanOrEqual(37);
    },
  );
});
