/**
 * The real service (src/service.ts) on the infrastructure of `./anfang infra up`, for the vendor
 * push integration tests: a fresh database and bucket, devices registered through the registry's
 * gRPC API, a Kafka consumer collecting the decoded events of those devices, and a POST helper
 * that speaks from a chosen loopback address (127.0.0.x), since vendor devices are identified by
 * their address.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { anfang } from '@anfang/contracts';
import { allTopics } from '@anfang/contracts';
import type { AnyTopicDefinition } from '@anfang/platform/bus';
import type { RunningService, ServiceModule } from '@anfang/platform/service';
import {
  createTestBucket,
  createTestDatabase,
  s3Client,
  type TestBucket,
  serviceTestEnv,
  ensureTopics,
} from '@anfang/testing';
import pg from 'pg';
import { digestAuthorization } from '@anfang/gat1400';
import { watchFromEnd } from './kafka-watch.ts';
import { registryClient } from './registry-client.ts';

export const SERVICE = new URL('../src/service.ts', import.meta.url);

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export interface VendorService {
  readonly bucket: TestBucket;
  readonly grpcPort: number;
  /** The service's HTTP_PORT (probes, metrics, /status/devices). */
  readonly httpPort: number;
  /** The device listener (every device protocol). */
  readonly devicePort: number;
  /** Decoded events of the registered devices, by topic name. */
  readonly events: Map<
    string,
    { deviceId: string; value: Record<string, unknown> & { sourceObjectId?: string } }[]
  >;
  register(device: anfang.device.v1.Device.$Properties, secret?: string): Promise<string>;
  post(path: string, body: Buffer | string, headers: Record<string, string>, from: string): Promise<Reply>;
  /** As the devices do it: unauthenticated first, then again with Digest for the 401 challenge. */
  postDigest(
    path: string,
    body: Buffer | string,
    headers: Record<string, string>,
    from: string,
    secret: string,
  ): Promise<Reply>;
  /** Size and sha256 of a stored picture, by the full bucket key an ImageRef carries. */
  image(objectKey: string): Promise<{ size: number; sha256: string }>;
  /** The quarantine rows received since `since` (all when not given), oldest first. */
  quarantine(
    since?: Date,
  ): Promise<{ protocol: string; http_status: number; reason: string; device_id: string | null }[]>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startVendorService(
  label: string,
  watch: readonly AnyTopicDefinition[],
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<VendorService> {
  await ensureTopics(allTopics());
  const db = await createTestDatabase(`device-ingest-${label}`);
  const bucket = await createTestBucket(`device-ingest-${label}`);
  const devicePort = await freePort();
  const module = (await import(SERVICE.href)).default as ServiceModule;
  const running: RunningService = await module.start(
    serviceTestEnv({
      service: 'device-ingest',
      databaseUrl: db.url,
      bucket: bucket.bucket,
      extra: { DEVICE_HTTP_PORT: String(devicePort), ...extraEnv },
    }),
    { ownsProcess: false },
  );
  const ids = new Set<string>();
  const events: VendorService['events'] = new Map();
  const watcher = await watchFromEnd({
    label: `${label}-it`,
    topics: watch.map((t) => t.name),
    eachMessage: async ({ topic, message }) => {
      const def = watch.find((t) => t.name === topic);
      if (!def || !message.value) return;
      const value = def.payload.decode(message.value) as Record<string, unknown> & {
        device?: { deviceId?: string };
      };
      const deviceId = value.device?.deviceId ?? '';
      if (!ids.has(deviceId)) return;
      const list = events.get(topic) ?? [];
      list.push({ deviceId, value });
      events.set(topic, list);
    },
  });
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();

  const service: VendorService = {
    bucket,
    grpcPort: running.ports.grpc ?? 0,
    httpPort: running.ports.http ?? 0,
    devicePort,
    events,
    async register(device, secret) {
      const registry = registryClient(running.ports.grpc!);
      try {
        const res = await registry.registerDevice({ device, ...(secret ? { secret } : {}) });
        const id = res.device?.deviceId ?? '';
        ids.add(id);
        return id;
      } finally {
        registry.close();
      }
    },
    post(path, body, headers, from) {
      return new Promise((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: devicePort, path, method: 'POST', headers, localAddress: from },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                text: Buffer.concat(chunks).toString('utf8'),
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    async postDigest(path, body, headers, from, secret) {
      const first = await service.post(path, body, headers, from);
      const challenge = first.headers['www-authenticate'];
      if (first.status !== 401 || typeof challenge !== 'string') return first;
      const authorization = digestAuthorization({
        username: 'admin',
        secret,
        method: 'POST',
        uri: path,
        challenge,
      });
      return service.post(path, body, { ...headers, authorization }, from);
    },
    async image(objectKey) {
      // ImageRef.object_key is the full bucket key (the service's `device-ingest/` prefix included).
      if (!objectKey.startsWith('device-ingest/captures/'))
        throw new Error(`ImageRef.object_key ${objectKey} is not a full bucket key`);
      const stream = await s3Client().getObject(bucket.bucket, objectKey);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    async quarantine(since?: Date) {
      const { rows } = await sql.query(
        `SELECT protocol, http_status, reason, device_id FROM quarantine
         WHERE $1::timestamptz IS NULL OR received_at >= $1 ORDER BY received_at`,
        [since ?? null],
      );
      return rows;
    },
    async close() {
      await watcher.close();
      await sql.end();
      await running.stop('test done');
      await bucket.drop();
      await db.drop();
    },
  };
  return service;
}
