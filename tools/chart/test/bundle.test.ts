/**
 * The images' contents without Docker: the bundle deploy/docker/Dockerfile copies into the
 * runtime stage, built by the same script into a folder outside the repository (so nothing can
 * resolve from the workspace's node_modules), then started against the local infrastructure.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allTopics } from '@anfang/contracts/topics';
import { createPool } from '@anfang/platform/pg';
import {
  createTestBucket,
  createTestDatabase,
  freePort,
  infraEnv,
  kafkaClient,
  TEST_CALLER_TOKEN_KEY,
  type TestBucket,
  type TestDatabase,
} from '@anfang/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, PRESTRIPPED_HOOK, repoRoot, type BundleResult } from '../src/bundle.ts';
import { runNode, startNode, waitReady, type Started } from './processes.ts';

const work = mkdtempSync(join(tmpdir(), 'anfang-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('deploy/docker/Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, 'deploy', 'docker', 'Dockerfile'), 'utf8');

  it('copies this bundle into a non-root runtime stage that starts the package with an init process', () => {
    expect(dockerfile).toContain('node tools/chart/src/bundle.ts "${WORKSPACE_DIR}/${SERVICE}" /out');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toContain('COPY --from=build /out /app');
    // The tests start services from the same folder the image starts them from.
    expect(runtime).toContain('WORKDIR /app/${WORKSPACE_DIR}/${SERVICE}');
    expect(runtime).toContain('USER 10001:10001');
    expect(runtime).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(runtime).toContain(`CMD ["node", "--import=/app/${PRESTRIPPED_HOOK}", "src/main.ts"]`);
  });
});

describe('the device-ingest image contents', () => {
  let result: BundleResult;
  let database: TestDatabase;
  let bucket: TestBucket;
  let service: Started | undefined;

  beforeAll(async () => {
    result = bundle('services/device-ingest', join(work, 'device-ingest'));
    database = await createTestDatabase('chart_bundle');
    bucket = await createTestBucket('chart-bundle');
  });
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
    await bucket?.drop();
  });

  it('holds the service and its workspace dependencies, sources only, production dependencies only', () => {
    expect(result.packages).toEqual([
      'services/device-ingest',
      'packages/contracts',
      'packages/gat1400',
      'packages/platform',
    ]);
    const sources = listFiles(join(result.outDir, 'services'))
      .concat(listFiles(join(result.outDir, 'packages')))
      .filter((file) => !file.includes('node_modules'));
    expect(sources.filter((file) => file.endsWith('.test.ts'))).toEqual([]);
    expect(sources.some((file) => file.startsWith('identity/src'))).toBe(false);
    expect(existsSync(join(result.outDir, 'packages/contracts/src/generated/index.ts'))).toBe(true);
    const installed = readdirSync(join(result.outDir, 'node_modules/.pnpm'));
    expect(installed.some((entry) => entry.startsWith('pg@'))).toBe(true);
    for (const devOnly of ['vitest@', 'typescript@', 'eslint@', 'protobufjs-cli@', '@bufbuild+buf@'])
      expect(
        installed.filter((entry) => entry.startsWith(devOnly)),
        devOnly,
      ).toEqual([]);
  });

  it('holds its TypeScript stripped of types, positions kept, and the loader hook at its root', () => {
    const source = 'services/device-ingest/src/service.ts';
    const original = readFileSync(join(repoRoot, source), 'utf8');
    const stripped = readFileSync(join(result.outDir, source), 'utf8');
    expect(original).toMatch(/^import type /m);
    expect(stripped).not.toMatch(/^import type /m);
    expect(stripped.length).toBe(original.length);
    expect(stripped.split('\n').length).toBe(original.split('\n').length);
    expect(result.hook).toBe(join(result.outDir, PRESTRIPPED_HOOK));
    expect(existsSync(result.hook)).toBe(true);
  });

  it('starts from the bundle alone, as the image does, and becomes ready against the real infrastructure', async () => {
    const infra = infraEnv();
    const [grpcPort, httpPort, devicePort] = [await freePort(), await freePort(), await freePort()];
    // The image's command, with Node's type stripping switched off: every TypeScript file the
    // service loads must come through the hook already stripped, or it fails to start.
    const args = ['--no-experimental-strip-types', `--import=${result.hook}`, 'src/main.ts'];
    service = startNode(args, result.packageDir, {
      OTEL_SERVICE_NAME: 'device-ingest',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      DEVICE_HTTP_PORT: String(devicePort),
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      DATABASE_URL: database.url,
      REDIS_URL: infra.redisUrl,
      S3_ENDPOINT: infra.s3.endpoint,
      S3_ACCESS_KEY: infra.s3.accessKey,
      S3_SECRET_KEY: infra.s3.secretKey,
      S3_REGION: infra.s3.region,
      S3_BUCKET: bucket.bucket,
      OBJECTS_CREATE_BUCKET: 'false',
      DATA_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      CALLER_TOKEN_KEY: TEST_CALLER_TOKEN_KEY,
    });
    const address = `127.0.0.1:${grpcPort}`;
    await waitReady(service, { address, service: 'anfang.device.v1.DeviceRegistryService' }, 150_000);
    const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await service.stop()).toBe(0);
  }, 180_000);
});

describe('the chart image (hook Jobs)', () => {
  let result: BundleResult;
  beforeAll(() => {
    result = bundle('tools/chart', join(work, 'chart'));
  });

  it('creates every topic of the catalogue in the embedded bus of a fresh database', async () => {
    const database = await createTestDatabase('chart_topics');
    try {
      const run = await runNode(['src/create-topics.ts'], result.packageDir, {
        OTEL_SERVICE_NAME: 'anfang-topics',
        BUS_KIND: 'embedded',
        BUS_DATABASE_URL: database.url,
      });
      expect(run.code, run.output).toBe(0);
      const pool = createPool({ url: database.url, applicationName: 'chart-test' });
      try {
        const { rows } = await pool.query<{ name: string; partitions: number }>(
          'SELECT name, partitions FROM bus.topics ORDER BY name',
        );
        const expected = allTopics().map(({ name, partitions }) => ({ name, partitions }));
        expect(rows).toEqual(expected);
      } finally {
        await pool.end();
      }
    } finally {
      await database.drop();
    }
  });

  it('leaves Kafka with every topic of the catalogue and its partitions', async () => {
    const infra = infraEnv();
    const run = await runNode(['src/create-topics.ts'], result.packageDir, {
      OTEL_SERVICE_NAME: 'anfang-topics',
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      KAFKA_REPLICATION_FACTOR: '1',
    });
    expect(run.code, run.output).toBe(0);
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: allTopics().map((t) => t.name) });
      const partitions = new Map(topics.map((t) => [t.name, t.partitions.length]));
      for (const spec of allTopics()) expect(partitions.get(spec.name), spec.name).toBe(spec.partitions);
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses an incomplete Kafka configuration with the variable at fault', async () => {
    const run = await runNode(['src/create-topics.ts'], result.packageDir, {
      OTEL_SERVICE_NAME: 'anfang-topics',
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('KAFKA_BROKERS');
  });
});
