import { z } from 'zod';
import { envFragment } from './load.ts';
import { secret, secretUrl } from './secret.ts';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const url = () => z.url({ message: 'must be an absolute URL' });
const list = () =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each entry must be host:port')).min(1));

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every service: identity, logging, ports, shutdown budget. */
export const serviceEnv = envFragment({
  /** kebab-case service name = chart component = consumer group. */
  OTEL_SERVICE_NAME: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a kebab-case service name'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  GRPC_PORT: port(50051),
  HTTP_PORT: port(8080),
  /** The whole graceful shutdown; keep it below the pod's terminationGracePeriodSeconds (30 s). */
  SHUTDOWN_TIMEOUT_MS: positiveInt(25_000),
  /**
   * Set only when several installs share one Kafka and Redis (the runner's namespaces, e2e): the
   * consumer groups and cache keys of this install are prefixed `<namespace>.`, so installs never
   * take each other's partitions or dedupe marks. One install per cluster leaves it unset.
   */
  INSTALL_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes')
    .optional(),
});

/** The bus: Kafka in production, the embedded Postgres-backed log in single-site mode. */
export const busEnv = envFragment(
  {
    BUS_KIND: z.enum(['kafka', 'embedded']).default('kafka'),
    /** The embedded log's database, shared by every service of a single-site install. */
    BUS_DATABASE_URL: secretUrl(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
        .optional(),
    ),
    /** Comma-separated `host:port` list. */
    KAFKA_BROKERS: list().optional(),
    /** Defaults (in the bus) to the service name. */
    KAFKA_CLIENT_ID: z.string().min(1).optional(),
    KAFKA_SSL: z.stringbool().default(false),
    KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    KAFKA_SASL_USERNAME: z.string().min(1).optional(),
    KAFKA_SASL_PASSWORD: secret(z.string().min(1).optional()),
  },
  (env, problem) => {
    if (env.BUS_KIND === 'kafka' && env.KAFKA_BROKERS === undefined) {
      problem('KAFKA_BROKERS', 'required when BUS_KIND=kafka');
    }
    if (env.BUS_KIND === 'embedded' && env.BUS_DATABASE_URL === undefined) {
      problem('BUS_DATABASE_URL', 'required when BUS_KIND=embedded');
    }
    if (env.KAFKA_SASL_MECHANISM !== undefined) {
      if (env.KAFKA_SASL_USERNAME === undefined)
        problem('KAFKA_SASL_USERNAME', 'required when KAFKA_SASL_MECHANISM is set');
      if (env.KAFKA_SASL_PASSWORD === undefined)
        problem('KAFKA_SASL_PASSWORD', 'required when KAFKA_SASL_MECHANISM is set');
    } else if (env.KAFKA_SASL_USERNAME !== undefined || env.KAFKA_SASL_PASSWORD !== undefined) {
      problem('KAFKA_SASL_MECHANISM', 'required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set');
    }
  },
);

/** The service's own Postgres database. */
export const databaseEnv = envFragment({
  DATABASE_URL: secretUrl(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')),
  DATABASE_POOL_MAX: positiveInt(10),
});

export const cacheEnv = envFragment(
  {
    CACHE_KIND: z.enum(['redis', 'memory']).default('redis'),
    REDIS_URL: secretUrl(
      z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .optional(),
    ),
  },
  (env, problem) => {
    if (env.CACHE_KIND === 'redis' && env.REDIS_URL === undefined)
      problem('REDIS_URL', 'required when CACHE_KIND=redis');
  },
);

export const objectsEnv = envFragment(
  {
    OBJECTS_KIND: z.enum(['s3', 'directory']).default('s3'),
    S3_ENDPOINT: url().optional(),
    S3_ACCESS_KEY: z.string().min(1).optional(),
    S3_SECRET_KEY: secret(z.string().min(1).optional()),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
      .optional(),
    OBJECTS_DIR: z.string().min(1).optional(),
  },
  (env, problem) => {
    if (env.OBJECTS_KIND === 's3') {
      for (const key of ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET']) {
        if (env[key] === undefined) problem(key, 'required when OBJECTS_KIND=s3');
      }
    }
    if (env.OBJECTS_KIND === 'directory' && env.OBJECTS_DIR === undefined) {
      problem('OBJECTS_DIR', 'required when OBJECTS_KIND=directory');
    }
  },
);

export const telemetryEnv = envFragment(
  {
    /** `none` by default: a service runs with no collector; the chart sets `otlp`. */
    OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).default('none'),
    /** OTLP/HTTP base URL, e.g. `http://otel-collector:4318` (`/v1/traces` is appended). */
    OTEL_EXPORTER_OTLP_ENDPOINT: url().optional(),
    /** `prometheus`: served at `/metrics` on HTTP_PORT. */
    OTEL_METRICS_EXPORTER: z.enum(['prometheus', 'none']).default('prometheus'),
  },
  (env, problem) => {
    if (env.OTEL_TRACES_EXPORTER === 'otlp' && env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) {
      problem('OTEL_EXPORTER_OTLP_ENDPOINT', 'required when OTEL_TRACES_EXPORTER=otlp');
    }
  },
);
