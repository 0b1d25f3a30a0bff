import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from './progress.ts';

/** The repository root: ANFANG_ROOT when set, else three levels above this file (tools/infra/src). */
export const repoRoot: string = process.env.ANFANG_ROOT
  ? resolve(process.env.ANFANG_ROOT)
  : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const cacheDir = join(repoRoot, '.cache');
/**
 * Runtime state of the servers: one folder per server (pid, logs, data), plus env.json — in
 * `.cache/infra`, or in ANFANG_INFRA_STATE_DIR for a second infrastructure beside the checkout's
 * (a test's own, on its own ports), which then shares nothing with the first but the installs.
 */
export const ownStateDir: string | undefined = process.env.ANFANG_INFRA_STATE_DIR?.trim() || undefined;
export const infraDir = ownStateDir ? resolve(ownStateDir) : join(cacheDir, 'infra');
export const envJsonPath = join(infraDir, 'env.json');
export const binDir = join(cacheDir, 'bin');

/**
 * Root-owned, world-traversable home (outside any checkout) for what the `postgres` user must
 * reach when root runs the launcher in a checkout that user cannot traverse (a CI clone in a
 * mktemp folder): a copy of the Postgres binaries, and the data folders (one subfolder per
 * checkout, named by a hash of its path).
 */
export const systemDir = '/var/lib/anfang';

export const HOST = '127.0.0.1';

/** Pinned versions of what the launcher installs. */
export const versions = {
  kafka: '4.4.0',
  scala: '2.13',
  slf4j: '2.0.17',
  mavenDependencyPlugin: '3.8.1',
  versitygw: 'v1.8.0',
} as const;

/** The fixed default ports; see `ports` for the overrides. */
export const defaultPorts = {
  postgres: 55432,
  redis: 56379,
  kafka: 59092,
  kafkaController: 59093,
  s3: 59000,
} as const;

export type PortName = keyof typeof defaultPorts;

/**
 * The ports the servers listen on: the defaults, each shifted by ANFANG_INFRA_PORT_OFFSET
 * (e.g. 1000), or set one by one with ANFANG_INFRA_PORT_POSTGRES, _REDIS, _KAFKA,
 * _KAFKA_CONTROLLER, _S3. For a second infrastructure on one machine (experiments); the
 * checkout's env.json carries them to the tests.
 */
export const ports: Readonly<Record<PortName, number>> = resolvePorts(process.env);

export function resolvePorts(env: NodeJS.ProcessEnv): Record<PortName, number> {
  const offset = intVar(env, 'ANFANG_INFRA_PORT_OFFSET') ?? 0;
  const envName: Record<PortName, string> = {
    postgres: 'ANFANG_INFRA_PORT_POSTGRES',
    redis: 'ANFANG_INFRA_PORT_REDIS',
    kafka: 'ANFANG_INFRA_PORT_KAFKA',
    kafkaController: 'ANFANG_INFRA_PORT_KAFKA_CONTROLLER',
    s3: 'ANFANG_INFRA_PORT_S3',
  };
  const out = {} as Record<PortName, number>;
  for (const name of Object.keys(defaultPorts) as PortName[]) {
    const port = intVar(env, envName[name]) ?? defaultPorts[name] + offset;
    if (port < 1 || port > 65535)
      throw new InfraError(`${name} port ${port} is out of range (check ANFANG_INFRA_PORT_*)`);
    out[name] = port;
  }
  return out;
}

function intVar(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new InfraError(`${name}=${raw} is not an integer`);
  return Number(raw);
}

export const credentials = {
  pgUser: 'postgres',
  pgPassword: 'postgres',
  s3AccessKey: 'anfang',
  s3SecretKey: 'anfang-local-secret',
  s3Region: 'us-east-1',
} as const;

/** The connection environment, exactly as services and tests read it. */
export function connectionEnv(): Record<string, string> {
  return {
    ANFANG_PG_URL: `postgres://${credentials.pgUser}:${credentials.pgPassword}@${HOST}:${ports.postgres}/postgres`,
    ANFANG_KAFKA_BROKERS: `${HOST}:${ports.kafka}`,
    ANFANG_REDIS_URL: `redis://${HOST}:${ports.redis}`,
    ANFANG_S3_ENDPOINT: `http://${HOST}:${ports.s3}`,
    ANFANG_S3_ACCESS_KEY: credentials.s3AccessKey,
    ANFANG_S3_SECRET_KEY: credentials.s3SecretKey,
    ANFANG_S3_REGION: credentials.s3Region,
  };
}
