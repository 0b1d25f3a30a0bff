import { randomBytes } from 'node:crypto';
import { infraEnv } from './env.ts';

/**
 * The caller-token key every service started by serviceTestEnv verifies with: tests name their
 * caller with `mintCallerMetadata(caller, TEST_CALLER_TOKEN_KEY)` from @anfang/platform/auth.
 */
export const TEST_CALLER_TOKEN_KEY = randomBytes(32).toString('base64');

export interface ServiceTestEnvOptions {
  /** The service's name (OTEL_SERVICE_NAME). */
  readonly service: string;
  /** Its own test database (createTestDatabase). */
  readonly databaseUrl: string;
  /** Its own test bucket (createTestBucket). */
  readonly bucket: string;
  /** A Redis URL of its own (createTestRedisNamespace); default the infrastructure's. */
  readonly redisUrl?: string;
  /** The service's own keys, and overrides. */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The environment a service gets when a test starts its ServiceModule against the real local
 * infrastructure: Kafka, its database, Redis, its bucket, any free ports, a fresh data key, and
 * quiet logs — the same variables the runner and the chart set, in one place.
 */
export function serviceTestEnv(options: ServiceTestEnvOptions): Record<string, string> {
  const infra = infraEnv();
  return {
    OTEL_SERVICE_NAME: options.service,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
    OTEL_METRICS_EXPORTER: 'none',
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    DATABASE_URL: options.databaseUrl,
    BUS_KIND: 'kafka',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    CACHE_KIND: 'redis',
    REDIS_URL: options.redisUrl ?? infra.redisUrl,
    OBJECTS_KIND: 's3',
    S3_ENDPOINT: infra.s3.endpoint,
    S3_ACCESS_KEY: infra.s3.accessKey,
    S3_SECRET_KEY: infra.s3.secretKey,
    S3_REGION: infra.s3.region,
    S3_BUCKET: options.bucket,
    DATA_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    CALLER_TOKEN_KEY: TEST_CALLER_TOKEN_KEY,
    ...options.extra,
  };
}
