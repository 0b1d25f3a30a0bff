import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  EX_CONFIG,
  busEnv,
  cacheEnv,
  composeEnv,
  databaseEnv,
  envFragment,
  loadConfig,
  objectsEnv,
  redactConfig,
  secret,
  serviceEnv,
  telemetryEnv,
  z,
} from '../src/config/index.ts';

const schema = composeEnv(serviceEnv, busEnv, databaseEnv, cacheEnv, objectsEnv, telemetryEnv);
const base = {
  OTEL_SERVICE_NAME: 'device-ingest',
  KAFKA_BROKERS: '127.0.0.1:59092, 127.0.0.1:59093',
  DATABASE_URL: 'postgres://anfang:pg-secret@127.0.0.1:55432/device_ingest',
  REDIS_URL: 'redis://:redis-secret@127.0.0.1:56379/0',
  S3_ENDPOINT: 'http://127.0.0.1:59000',
  S3_ACCESS_KEY: 'anfang',
  S3_SECRET_KEY: 's3-secret-value',
  S3_BUCKET: 'anfang-media',
};

function problemsOf(fn: () => unknown): { key: string; reason: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

function secretFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'anfang-config-'));
  const file = join(dir, 'value');
  writeFileSync(file, content);
  return file;
}

describe('loadConfig', () => {
  it('parses the fragments with production defaults', () => {
    const config = loadConfig(schema, { env: base, exitOnError: false });
    expect(config).toMatchObject({
      OTEL_SERVICE_NAME: 'device-ingest',
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
      GRPC_PORT: 50051,
      HTTP_PORT: 8080,
      SHUTDOWN_TIMEOUT_MS: 25_000,
      BUS_KIND: 'kafka',
      KAFKA_BROKERS: ['127.0.0.1:59092', '127.0.0.1:59093'],
      KAFKA_SSL: false,
      DATABASE_POOL_MAX: 10,
      CACHE_KIND: 'redis',
      OBJECTS_KIND: 's3',
      S3_REGION: 'us-east-1',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'prometheus',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig(schema, { env: { ...base, LOG_LEVEL: '', GRPC_PORT: '' }, exitOnError: false });
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.GRPC_PORT).toBe(50051);
  });

  it('reads NAME_FILE secrets and strips one trailing newline', () => {
    const { DATABASE_URL: _omit, ...rest } = base;
    const config = loadConfig(schema, {
      env: {
        ...rest,
        DATABASE_URL_FILE: secretFile('postgres://anfang:from-file@db/x\n'),
        S3_SECRET_KEY: undefined,
        S3_SECRET_KEY_FILE: secretFile('  spaced secret \n\n'),
      },
      exitOnError: false,
    });
    expect(config.DATABASE_URL).toBe('postgres://anfang:from-file@db/x');
    // Only one newline goes: the rest of the content is the secret.
    expect(config.S3_SECRET_KEY).toBe('  spaced secret \n');
  });

  it('rejects NAME and NAME_FILE together, and an unreadable file, without printing values', () => {
    const problems = problemsOf(() =>
      loadConfig(schema, {
        env: {
          ...base,
          S3_SECRET_KEY_FILE: secretFile('x'),
          KAFKA_SASL_PASSWORD_FILE: '/nonexistent/secret',
        },
        exitOnError: false,
      }),
    );
    expect(problems).toContainEqual({
      key: 'S3_SECRET_KEY',
      reason: 'both S3_SECRET_KEY and S3_SECRET_KEY_FILE are set; set only one',
    });
    expect(problems.find((p) => p.key === 'KAFKA_SASL_PASSWORD_FILE')?.reason).toMatch(/cannot read.*ENOENT/);
    expect(JSON.stringify(problems)).not.toContain('s3-secret-value');
  });

  it('reports every problem at once, cross-field rules included', () => {
    const problems = problemsOf(() =>
      loadConfig(schema, {
        env: {
          OTEL_SERVICE_NAME: 'Not_Kebab',
          GRPC_PORT: 'eighty',
          LOG_LEVEL: 'loud',
          DATABASE_URL: 'mysql://root:hunter2@db/x',
          OBJECTS_KIND: 'directory',
          OTEL_TRACES_EXPORTER: 'otlp',
          KAFKA_SASL_MECHANISM: 'plain',
        },
        exitOnError: false,
      }),
    );
    const keys = problems.map((p) => p.key).sort();
    expect(keys).toEqual(
      [
        'DATABASE_URL',
        'GRPC_PORT',
        'KAFKA_BROKERS',
        'KAFKA_SASL_PASSWORD',
        'KAFKA_SASL_USERNAME',
        'LOG_LEVEL',
        'OBJECTS_DIR',
        'OTEL_EXPORTER_OTLP_ENDPOINT',
        'OTEL_SERVICE_NAME',
        'REDIS_URL',
      ].sort(),
    );
    expect(problems.find((p) => p.key === 'KAFKA_BROKERS')?.reason).toBe('required when BUS_KIND=kafka');
    expect(JSON.stringify(problems)).not.toContain('hunter2');
  });

  it('says "required but not set" for a missing key', () => {
    const problems = problemsOf(() => loadConfig(composeEnv(serviceEnv), { env: {}, exitOnError: false }));
    expect(problems).toEqual([{ key: 'OTEL_SERVICE_NAME', reason: 'required but not set' }]);
  });

  it('accepts the embedded kinds without the server settings', () => {
    const config = loadConfig(schema, {
      env: {
        OTEL_SERVICE_NAME: 'patrol',
        BUS_KIND: 'embedded',
        BUS_DATABASE_URL: 'postgresql://localhost/anfang_bus',
        DATABASE_URL: 'postgresql://localhost/patrol',
        CACHE_KIND: 'memory',
        OBJECTS_KIND: 'directory',
        OBJECTS_DIR: '/var/lib/anfang/objects',
      },
      exitOnError: false,
    });
    expect(config.BUS_KIND).toBe('embedded');
    expect(config.KAFKA_BROKERS).toBeUndefined();
  });

  it('requires the bus database in embedded mode', () => {
    const problems = problemsOf(() =>
      loadConfig(composeEnv(serviceEnv, busEnv), {
        env: { OTEL_SERVICE_NAME: 'patrol', BUS_KIND: 'embedded' },
        exitOnError: false,
      }),
    );
    expect(problems).toEqual([{ key: 'BUS_DATABASE_URL', reason: 'required when BUS_KIND=embedded' }]);
  });

  it('composes a service schema with its own keys and rules', () => {
    const own = envFragment(
      {
        UPLOAD_BATCH: z.coerce.number().int().positive().default(100),
        UPSTREAM_TOKEN: secret(z.string().optional()),
      },
      (env, problem) => {
        if (env.NODE_ENV === 'production' && env.UPSTREAM_TOKEN === undefined)
          problem('UPSTREAM_TOKEN', 'required in production');
      },
    );
    const s = composeEnv(serviceEnv, own);
    expect(
      problemsOf(() => loadConfig(s, { env: { OTEL_SERVICE_NAME: 'police-upload' }, exitOnError: false })),
    ).toEqual([{ key: 'UPSTREAM_TOKEN', reason: 'required in production' }]);
    const config = loadConfig(s, {
      env: { OTEL_SERVICE_NAME: 'police-upload', UPSTREAM_TOKEN: 't0k3n' },
      exitOnError: false,
    });
    const n: number = config.UPLOAD_BATCH;
    expect(n).toBe(100);
  });

  it('redacts secrets whenever the config is logged', () => {
    const config = loadConfig(schema, {
      env: {
        ...base,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'kafka-secret',
      },
      exitOnError: false,
    });
    expect(config.S3_SECRET_KEY).toBe('s3-secret-value'); // the value itself is intact
    for (const text of [JSON.stringify(config), inspect(config), JSON.stringify(redactConfig(config))]) {
      expect(text).not.toContain('s3-secret-value');
      expect(text).not.toContain('kafka-secret');
      expect(text).not.toContain('pg-secret');
      expect(text).not.toContain('redis-secret');
      expect(text).toContain('127.0.0.1:55432/device_ingest'); // URLs keep their host
      expect(text).toContain('device-ingest');
    }
    expect(redactConfig(config).DATABASE_URL).toBe(
      'postgres://anfang:[REDACTED]@127.0.0.1:55432/device_ingest',
    );
  });
});

describe('loadConfig in a process', () => {
  const child = fileURLToPath(new URL('./config.child.ts', import.meta.url));
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [child], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

  it('exits with 78 (EX_CONFIG) and lists every problem on stderr, no secret values', () => {
    const result = run({
      GRPC_PORT: 'x',
      DATABASE_URL: 'mysql://root:hunter2@db/x',
      KAFKA_SASL_PASSWORD: 'sasl-secret',
    });
    expect(result.status).toBe(EX_CONFIG);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/invalid configuration \(\d+ problems\)/);
    for (const key of [
      'OTEL_SERVICE_NAME: required but not set',
      'GRPC_PORT:',
      'DATABASE_URL:',
      'KAFKA_BROKERS: required when BUS_KIND=kafka',
      'KAFKA_SASL_MECHANISM:',
    ]) {
      expect(result.stderr).toContain(key);
    }
    expect(result.stderr).not.toContain('hunter2');
    expect(result.stderr).not.toContain('sasl-secret');
  });

  it('starts with a valid environment', () => {
    const result = run({
      OTEL_SERVICE_NAME: 'identity',
      KAFKA_BROKERS: 'k:9092',
      DATABASE_URL: 'postgres://u:p@h/identity',
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      OTEL_SERVICE_NAME: 'identity',
      DATABASE_URL: 'postgres://u:[REDACTED]@h/identity',
    });
  });
});
