/**
 * Integration harness for the ingest core: the real pipeline, activity tracker, command store and
 * consumer, quarantine and device listener over the local infrastructure (Kafka, Postgres, Redis,
 * S3), in a fresh database, bucket and Redis prefix. Devices are registered through the real
 * registry store (`addDevice`) and authenticated through the real in-memory directory
 * (`startDeviceDirectory`, kept current by NOTIFY), as in the service. The object store has the
 * service's prefix (`device-ingest/`); `bucket` reads the bucket without one, by the full keys the
 * events carry.
 */
import { randomBytes } from 'node:crypto';
import { allTopics, anfang, type TopicDefinition } from '@anfang/contracts';
import { createBus, type Bus } from '@anfang/platform/bus';
import { createCache, type Cache } from '@anfang/platform/cache';
import type { HttpServer } from '@anfang/platform/http';
import { createFieldCipher, generateKey, parseDataKeys } from '@anfang/platform/crypto';
import { createLogger } from '@anfang/platform/log';
import { createObjectStore, type ObjectStore } from '@anfang/platform/objects';
import { createPool, migrate, startOutboxRelay, type OutboxRelay, type Pool } from '@anfang/platform/pg';
import {
  createTestBucket,
  createTestDatabase,
  createTestRedisNamespace,
  infraEnv,
  uniqueName,
  waitFor,
  type TestBucket,
  type TestDatabase,
  type TestRedisNamespace,
} from '@anfang/testing';
import { startDeviceDirectory, type LoadedDeviceDirectory } from '../src/devices/directory.ts';
import type { RegisteredDevice } from '../src/domain/device.ts';
import { sign } from '../src/domain/signature.ts';
import { createDeviceListener } from '../src/http/device-listener.ts';
import { createIngestCore, type IngestCore, type IngestOptions } from '../src/ingest/index.ts';
import { createRegistryStore, type RegistryStore } from '../src/store/registry.ts';
import { watchFromEnd } from './kafka-watch.ts';

export const PRODUCER = 'device-ingest';
/** The service's store prefix in the bucket (src/service.ts). */
export const OBJECTS_PREFIX = 'device-ingest/';
/** Compound of the harness's devices (a 12-digit standard-address code). */
export const COMPOUND_ID = '370303001001';

export interface Harness {
  readonly baseUrl: string;
  readonly pool: Pool;
  readonly bus: Bus;
  readonly cache: Cache;
  /** The service's store (prefix `device-ingest/`). */
  readonly objects: ObjectStore;
  /** The same bucket without a prefix: reads ImageRef.object_key as another service would. */
  readonly bucket: ObjectStore;
  readonly registry: RegistryStore;
  readonly directory: LoadedDeviceDirectory;
  readonly core: IngestCore;
  readonly watcher: TopicWatcher;
  /** Registers a device (generic HTTP face gate unless overridden); resolves once the directory has it. */
  addDevice(
    overrides?: Partial<Omit<RegisteredDevice, 'deviceId' | 'active'>>,
  ): Promise<{ device: RegisteredDevice; secret: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly ingest?: IngestOptions;
  readonly maxBodyBytes?: number;
  readonly watch: readonly TopicDefinition<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const env = infraEnv();
  const logger = createLogger({ service: PRODUCER, level: 'warn' });
  const db: TestDatabase = await createTestDatabase('ingest');
  const bucket: TestBucket = await createTestBucket('ingest');
  const redis: TestRedisNamespace = createTestRedisNamespace('ingest');
  const pool = createPool({ url: db.url, applicationName: PRODUCER });
  await migrate(pool, { dir: new URL('../src/store/migrations', import.meta.url) });
  const bus = await createBus({ kind: 'kafka', brokers: env.kafkaBrokers, clientId: PRODUCER, logger });
  await bus.ensureTopics(allTopics());
  const cache = createCache({ kind: 'redis', url: redis.url, keyPrefix: redis.prefix });
  const s3 = (prefix: string) =>
    createObjectStore({
      kind: 's3',
      url: env.s3.endpoint,
      accessKey: env.s3.accessKey,
      secretKey: env.s3.secretKey,
      region: env.s3.region,
      bucket: bucket.bucket,
      prefix,
    });
  const objects = await s3(OBJECTS_PREFIX);
  const bucketStore = await s3('');
  const relay: OutboxRelay = startOutboxRelay({
    pool,
    bus,
    pollIntervalMs: 200,
  });
  const cipher = createFieldCipher(parseDataKeys(`k1:${generateKey()}`));
  const registry = createRegistryStore({ pool, cipher, producer: PRODUCER });
  const directory = await startDeviceDirectory({ pool, databaseUrl: db.url, cipher, logger });
  const watcher = await watchTopics(options.watch);
  const core = createIngestCore({
    pool,
    bus,
    cache,
    objects,
    directory,
    logger,
    producer: PRODUCER,
    options: {
      flushIntervalMs: 100,
      commandConsumerStart: 'latest',
      // Its own group: test files run in parallel, each with services in group `device-ingest`,
      // which would otherwise take over partitions of the command topic (and reject its commands).
      commandConsumerGroup: uniqueName('device-ingest-commands'),
      ...options.ingest,
    },
  });
  await core.start();
  const listener: HttpServer = await createDeviceListener(
    core.protocolDeps({
      platformId: '37030300005030000001',
      limits: { maxBodyBytes: options.maxBodyBytes ?? 256 * 1024, replayWindowMs: 300_000 },
    }),
    { port: 0, host: '127.0.0.1' },
  );
  return {
    baseUrl: `http://127.0.0.1:${listener.port}`,
    pool,
    bus,
    cache,
    objects,
    bucket: bucketStore,
    registry,
    directory,
    core,
    watcher,
    async addDevice(overrides = {}) {
      const serialNumber = overrides.serialNumber ?? `SN-${randomBytes(6).toString('hex')}`;
      const { device: record, secret } = await registry.register({
        name: `test ${serialNumber}`,
        deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_FACE_GATE,
        module: anfang.common.v1.Module.MODULE_PEDESTRIAN_ACCESS,
        compoundId: COMPOUND_ID,
        zoneId: 'zone-1',
        direction: anfang.common.v1.Direction.DIRECTION_IN,
        vendor: 'test',
        model: 'T1',
        protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_GENERIC_HTTP,
        ...overrides,
        serialNumber,
      });
      const device = await waitFor(() => directory.byId(record.deviceId));
      return { device, secret };
    },
    async close() {
      await listener.close(1000).catch(() => undefined);
      await core.stop().catch(() => undefined);
      await directory.close().catch(() => undefined);
      await watcher.close();
      await relay.stop().catch(() => undefined);
      await bus.close().catch(() => undefined);
      await cache.close().catch(() => undefined);
      await objects.close().catch(() => undefined);
      await bucketStore.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await db.drop().catch(() => undefined);
      await bucket.drop().catch(() => undefined);
      await redis.drop().catch(() => undefined);
    },
  };
}

export interface WatchedMessage {
  readonly topic: string;
  readonly key: string;
  readonly headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly payload: any;
}

export interface TopicWatcher {
  readonly messages: WatchedMessage[];
  /** Messages of a topic about a device (payload.device.deviceId or payload.deviceId). */
  of(topic: { name: string }, deviceId: string): WatchedMessage[];
  close(): Promise<void>;
}

/** A consumer from the current end of the real topics (./kafka-watch.ts), decoding with the catalogue's codecs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function watchTopics(defs: readonly TopicDefinition<any, any>[]): Promise<TopicWatcher> {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const messages: WatchedMessage[] = [];
  const watch = await watchFromEnd({
    label: 'ingest',
    topics: [...byName.keys()],
    eachMessage: async ({ topic, message }) => {
      const def = byName.get(topic)!;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v != null) headers[k] = v.toString();
      messages.push({
        topic,
        key: message.key?.toString() ?? '',
        headers,
        payload: def.payload.decode(message.value!),
      });
    },
  });
  return {
    messages,
    of: (topic, deviceId) =>
      messages.filter(
        (m) =>
          m.topic === topic.name &&
          (m.payload.device?.deviceId === deviceId || m.payload.deviceId === deviceId),
      ),
    close: () => watch.close(),
  };
}

export interface SignedOptions {
  readonly timestamp?: number;
  readonly nonce?: string;
  readonly contentType?: string;
  readonly secret?: string;
  readonly omitSignature?: boolean;
}

/** A request to the generic API signed as the README describes. */
export async function signedFetch(
  baseUrl: string,
  device: { deviceId: string },
  secret: string,
  method: string,
  path: string,
  body?: Buffer | string,
  options: SignedOptions = {},
): Promise<Response> {
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const timestamp = String(options.timestamp ?? Date.now());
  const nonce = options.nonce ?? randomBytes(12).toString('hex');
  const signature = sign(options.secret ?? secret, { timestamp, nonce, method, path, body: bytes });
  const headers: Record<string, string> = {
    'x-device-id': device.deviceId,
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    ...(options.omitSignature ? {} : { 'x-signature': signature }),
  };
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  return fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: bytes } : {}) });
}
