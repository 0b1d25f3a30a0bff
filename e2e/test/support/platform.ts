/**
 * One platform in local mode per test file: every service its own process on the shared Kafka,
 * Postgres, Redis and S3, in its own namespace (databases `<ns>_<service>`, bucket
 * `anfang-<ns>`), dropped afterwards. Each platform takes a block of 100 free ports below the
 * kernel's ephemeral range (`platformPorts`), so a second run of the suite on the same machine
 * keeps out of the way and no outgoing connection can take a port before its server binds it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { discoverServices, startPlatform, type PlatformStatus, type RunningPlatform } from '@anfang/runner';
import { emptyBucket, freePortBlock, infraEnv, s3Client, waitFor } from '@anfang/testing';
import { portBase } from './ports.ts';

export const root = join(import.meta.dirname, '..', '..', '..');
export const serviceNames = discoverServices(root).map((s) => s.name);

/** A platform's ports, from the first block of 100 that is free now. */
export async function platformPorts() {
  return portsFrom(await freePortBlock(100, portBase()));
}

/** The layout of one platform's ports from its first one. */
export function portsFrom(first: number) {
  return {
    status: first,
    postgres: first + 32,
    grpcBase: first + 50,
    httpBase: first + 70,
    device: first + 88,
  };
}

/** A failure with what it was waiting for and the runner's last log lines, which say why. */
export const withLog =
  (lines: readonly string[], waitingFor?: () => string) =>
  (error: unknown): never => {
    const waiting = waitingFor?.();
    throw new Error(
      [
        (error as Error).message,
        ...(waiting ? [`not ready: ${waiting}`] : []),
        'runner log:',
        ...lines.slice(-30),
      ].join('\n'),
      { cause: error },
    );
  };

/**
 * Waits until the runner's status page says every service is ready and returns it; a failure
 * names the services not ready and the runner's last log lines.
 */
export async function waitReady(
  statusUrl: string,
  lines: readonly string[],
  timeoutMs: number,
): Promise<PlatformStatus> {
  let waiting = '';
  return waitFor(
    async () => {
      const response = await fetch(new URL('/status', statusUrl));
      const body = (await response.json()) as PlatformStatus;
      waiting = body.services
        .filter((s) => !s.ok)
        .map((s) => `${s.name}: ${s.detail}`)
        .join('; ');
      return response.status === 200 && body.services.every((s) => s.ok) ? body : undefined;
    },
    { timeoutMs, intervalMs: 1000, message: 'platform not ready' },
  ).catch(withLog(lines, () => waiting));
}

export async function dropNamespace(namespace: string): Promise<void> {
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

export interface LocalPlatform {
  readonly namespace: string;
  readonly dataDir: string;
  readonly lines: string[];
  readonly ports: ReturnType<typeof portsFrom>;
  readonly callerTokenKey: string;
  readonly adminPassword: string;
  grpcAddress(service: string): string;
  httpUrl(service: string): string;
  deviceUrl(): string;
  /** A client of one service's own database in this namespace. */
  database(service: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

/**
 * Starts every registered service in local mode and waits until all are ready. `env` is set for
 * the services (they inherit this process's environment) and restored on stop.
 */
export async function startLocalPlatform(options: {
  readonly prefix: string;
  readonly env?: Record<string, string>;
}): Promise<LocalPlatform> {
  const ports = await platformPorts();
  const namespace = `${options.prefix}${Date.now().toString(36)}`;
  const dataDir = await mkdtemp(join(tmpdir(), `anfang-${options.prefix}-`));
  const lines: string[] = [];
  const saved = Object.fromEntries(Object.keys(options.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, options.env);
  let platform: RunningPlatform | undefined;
  const stop = async (): Promise<void> => {
    await platform?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await dropNamespace(namespace);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    platform = await startPlatform({
      root,
      mode: 'local',
      statusPort: ports.status,
      dataDir,
      postgresPort: ports.postgres,
      grpcBasePort: ports.grpcBase,
      httpBasePort: ports.httpBase,
      devicePort: ports.device,
      namespace,
      startInfrastructure: false,
      log: (line) => lines.push(line),
    });
    // Nine services starting at once on a busy 2-CPU machine.
    await waitReady(platform.statusUrl, lines, 300_000);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  const secret = async (name: string) => (await readFile(join(dataDir, 'secrets', name), 'utf8')).trim();
  const indexOf = (service: string): number => {
    const index = serviceNames.indexOf(service);
    if (index < 0) throw new Error(`no service ${service}`);
    return index;
  };
  return {
    namespace,
    dataDir,
    lines,
    ports,
    callerTokenKey: await secret('caller-token-key'),
    adminPassword: await secret('gateway-admin-password'),
    grpcAddress: (service) => `127.0.0.1:${ports.grpcBase + indexOf(service)}`,
    httpUrl: (service) => `http://127.0.0.1:${ports.httpBase + indexOf(service)}`,
    deviceUrl: () => `http://127.0.0.1:${ports.device}`,
    async database(service) {
      const url = new URL(infraEnv().pgUrl);
      url.pathname = `/${namespace}_${service.replaceAll('-', '_')}`;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      return client;
    },
    stop,
  };
}
