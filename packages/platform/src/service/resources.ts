/**
 * The resources every service opens the same way — its Postgres pool (migrated), the bus, the
 * cache, the object store — built from the platform's config fragments and registered with the
 * service's lifecycle: a readiness check each, and a shutdown step in the right phase. The bus
 * closes with the pools, after producers and outbox relays have flushed in `flush-producers`.
 */
import { EVENT_RETENTION_MS } from '@anfang/contracts';
import { createBus, type Bus, type BusConfig } from '../bus/index.ts';
import { createCache, type Cache } from '../cache/index.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import type { Logger } from '../log/index.ts';
import { createObjectStore, type ObjectStore } from '../objects/index.ts';
import { check, createPool, migrate, pruneProcessed, type Pool } from '../pg/index.ts';

export interface ResourceContext {
  readonly lifecycle: Lifecycle;
  readonly logger: Logger;
}

export interface DatabaseConfig {
  readonly OTEL_SERVICE_NAME: string;
  readonly DATABASE_URL: string;
  readonly DATABASE_POOL_MAX: number;
}

/** The service's own database, with its migrations (a folder of numbered .sql files) applied. */
export async function openDatabase(
  config: DatabaseConfig,
  { lifecycle, logger }: ResourceContext,
  migrations: URL,
): Promise<Pool> {
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: config.OTEL_SERVICE_NAME,
    max: config.DATABASE_POOL_MAX,
    logger,
  });
  lifecycle.onShutdown('close-pools', 'postgres', () => pool.end());
  lifecycle.readiness.addCheck('postgres', () => check(pool));
  await migrate(pool, { dir: migrations });
  return pool;
}

export interface ProcessedPruningOptions {
  /** How long an event id is remembered. Default: the event topics' retention. */
  readonly olderThanMs?: number;
  /** Default: hourly. */
  readonly intervalMs?: number;
}

/**
 * Forgets the processed-event marks (`markProcessed`) of the service's consumers once their
 * topics can no longer redeliver the event, on a timer stopped with the consumers.
 */
export function startProcessedPruning(
  pool: Pool,
  { lifecycle, logger }: ResourceContext,
  options: ProcessedPruningOptions = {},
): void {
  const olderThanMs = options.olderThanMs ?? EVENT_RETENTION_MS;
  const timer = setInterval(() => {
    pruneProcessed(pool, olderThanMs).catch((err: unknown) =>
      logger.warn({ err }, 'pruning processed events failed'),
    );
  }, options.intervalMs ?? 3_600_000);
  timer.unref();
  lifecycle.onShutdown('drain-consumers', 'processed-events pruning', () => clearInterval(timer));
}

export interface BusEnvConfig {
  readonly OTEL_SERVICE_NAME: string;
  readonly INSTALL_NAMESPACE?: string | undefined;
  readonly BUS_KIND: 'kafka' | 'embedded';
  readonly BUS_DATABASE_URL?: string | undefined;
  readonly KAFKA_BROKERS?: readonly string[] | undefined;
  readonly KAFKA_CLIENT_ID?: string | undefined;
  readonly KAFKA_SSL: boolean;
  readonly KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  readonly KAFKA_SASL_USERNAME?: string | undefined;
  readonly KAFKA_SASL_PASSWORD?: string | undefined;
}

/** The bus with every consumer group of this install prefixed `<namespace>.` (see INSTALL_NAMESPACE). */
export function namespacedGroups(bus: Bus, namespace: string): Bus {
  const group = (name: string) => `${namespace}.${name}`;
  return {
    kind: bus.kind,
    ensureTopics: (topics) => bus.ensureTopics(topics),
    publish: (topic, messages) => bus.publish(topic, messages),
    subscribe: (options) => bus.subscribe({ ...options, group: group(options.group) }),
    replay: (name, topic, position) => bus.replay(group(name), topic, position),
    check: () => bus.check(),
    close: () => bus.close(),
  };
}

/** The bus options the config fragment `busEnv` describes (its rules guarantee the pairs). */
export function busConfigFrom(config: BusEnvConfig, logger: Logger): BusConfig {
  if (config.BUS_KIND === 'embedded')
    return { kind: 'embedded', connectionString: config.BUS_DATABASE_URL!, logger };
  return {
    kind: 'kafka',
    brokers: [...config.KAFKA_BROKERS!],
    clientId: config.KAFKA_CLIENT_ID ?? config.OTEL_SERVICE_NAME,
    logger,
    ssl: config.KAFKA_SSL,
    ...(config.KAFKA_SASL_MECHANISM
      ? {
          sasl: {
            mechanism: config.KAFKA_SASL_MECHANISM,
            username: config.KAFKA_SASL_USERNAME!,
            password: config.KAFKA_SASL_PASSWORD!,
          },
        }
      : {}),
  };
}

export async function openBus(config: BusEnvConfig, { lifecycle, logger }: ResourceContext): Promise<Bus> {
  const created = await createBus(busConfigFrom(config, logger));
  const bus = config.INSTALL_NAMESPACE ? namespacedGroups(created, config.INSTALL_NAMESPACE) : created;
  lifecycle.readiness.addCheck('bus', () => bus.check());
  lifecycle.onShutdown('close-pools', 'bus', () => bus.close());
  return bus;
}

export interface CacheEnvConfig {
  readonly INSTALL_NAMESPACE?: string | undefined;
  readonly CACHE_KIND: 'redis' | 'memory';
  readonly REDIS_URL?: string | undefined;
}

/** The cache, its keys prefixed with the service name (one Redis serves every service). */
export function openCache(
  config: CacheEnvConfig,
  prefix: string,
  { lifecycle, logger }: ResourceContext,
): Cache {
  const keyPrefix = config.INSTALL_NAMESPACE ? `${config.INSTALL_NAMESPACE}.${prefix}` : prefix;
  const cache = createCache(
    config.CACHE_KIND === 'redis'
      ? { kind: 'redis', url: config.REDIS_URL!, keyPrefix, logger }
      : { kind: 'memory', keyPrefix },
  );
  lifecycle.onShutdown('close-pools', 'cache', () => cache.close());
  lifecycle.readiness.addCheck('cache', () => cache.check());
  return cache;
}

export interface ObjectsEnvConfig {
  readonly OBJECTS_KIND: 's3' | 'directory';
  readonly S3_ENDPOINT?: string | undefined;
  readonly S3_ACCESS_KEY?: string | undefined;
  readonly S3_SECRET_KEY?: string | undefined;
  readonly S3_REGION: string;
  readonly S3_BUCKET?: string | undefined;
  readonly OBJECTS_DIR?: string | undefined;
}

export interface ObjectStoreChoices {
  /** Key prefix (the service name): a service reads and writes only under it. */
  readonly prefix: string;
  /** S3: create the bucket when missing (local installs). */
  readonly createBucket?: boolean;
  /** Where presigned URLs point (S3: a public endpoint; directory: the service's /objects). */
  readonly publicUrl?: string | undefined;
  /** Directory store: HMAC key of its presigned URLs. */
  readonly signingSecret?: string | undefined;
  /**
   * Another service's part of the same bucket, opened to read what its owner grants (e.g.
   * enrolment faces): the bucket is the service's own store's, whose readiness check covers it.
   */
  readonly granted?: boolean;
}

export async function openObjectStore(
  config: ObjectsEnvConfig,
  choices: ObjectStoreChoices,
  { lifecycle }: ResourceContext,
): Promise<ObjectStore> {
  const objects = await createObjectStore(
    config.OBJECTS_KIND === 's3'
      ? {
          kind: 's3',
          url: config.S3_ENDPOINT!,
          accessKey: config.S3_ACCESS_KEY!,
          secretKey: config.S3_SECRET_KEY!,
          region: config.S3_REGION,
          bucket: config.S3_BUCKET!,
          prefix: `${choices.prefix}/`,
          ...(choices.createBucket !== undefined ? { createBucket: choices.createBucket } : {}),
          ...(choices.publicUrl ? { publicUrl: choices.publicUrl } : {}),
        }
      : {
          kind: 'directory',
          root: config.OBJECTS_DIR!,
          prefix: choices.prefix,
          ...(choices.signingSecret ? { signingSecret: choices.signingSecret } : {}),
          ...(choices.publicUrl ? { publicBaseUrl: choices.publicUrl } : {}),
        },
  );
  lifecycle.onShutdown('close-pools', 'objects', () => objects.close());
  if (!choices.granted) lifecycle.readiness.addCheck('objects', () => objects.check());
  return objects;
}
