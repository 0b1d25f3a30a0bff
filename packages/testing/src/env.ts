import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface InfraEnv {
  pgUrl: string;
  kafkaBrokers: string[];
  redisUrl: string;
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string };
}

const names = [
  'ANFANG_PG_URL',
  'ANFANG_KAFKA_BROKERS',
  'ANFANG_REDIS_URL',
  'ANFANG_S3_ENDPOINT',
  'ANFANG_S3_ACCESS_KEY',
  'ANFANG_S3_SECRET_KEY',
  'ANFANG_S3_REGION',
] as const;
type Name = (typeof names)[number];

/** .cache/infra/env.json in cwd or the nearest folder above it, else in this repository. */
export function findEnvJson(from: string = process.cwd()): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, '.cache', 'infra', 'env.json');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const own = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '.cache', 'infra', 'env.json');
  return existsSync(own) ? own : undefined;
}

/**
 * The connection settings of the local infrastructure: from the ANFANG_* environment
 * variables, else (per variable) from .cache/infra/env.json, which `./anfang infra up` writes.
 */
export function infraEnv(): InfraEnv {
  const values: Partial<Record<Name, string>> = {};
  const file = findEnvJson();
  if (file) {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      for (const name of names) if (typeof json[name] === 'string') values[name] = json[name];
    } catch (err) {
      throw new Error(`cannot read ${file} (${(err as Error).message}): run ./anfang infra up`, {
        cause: err,
      });
    }
  }
  for (const name of names) {
    const v = process.env[name];
    if (v) values[name] = v;
  }
  const missing = names.filter((n) => !values[n]);
  if (missing.length)
    throw new Error(
      `no connection settings for the local infrastructure (${missing.join(', ')} unset` +
        `${file ? ` and missing from ${file}` : ', and no .cache/infra/env.json found'}): run ./anfang infra up`,
    );
  const v = values as Record<Name, string>;
  return {
    pgUrl: v.ANFANG_PG_URL,
    kafkaBrokers: v.ANFANG_KAFKA_BROKERS.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    redisUrl: v.ANFANG_REDIS_URL,
    s3: {
      endpoint: v.ANFANG_S3_ENDPOINT,
      accessKey: v.ANFANG_S3_ACCESS_KEY,
      secretKey: v.ANFANG_S3_SECRET_KEY,
      region: v.ANFANG_S3_REGION,
    },
  };
}

/** Adds a hint to errors that mean "the servers are not running". */
export function withHint(err: unknown, what: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const text = `${e.message} ${(e as NodeJS.ErrnoException).code ?? ''} ${e.name}`;
  const down =
    /ECONNREFUSED|ECONNRESET|KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|Connection refused/i.test(
      text,
    );
  return new Error(
    `${what}: ${e.message}${down ? ' (is the infrastructure up? run ./anfang infra up)' : ''}`,
    {
      cause: e,
    },
  );
}
