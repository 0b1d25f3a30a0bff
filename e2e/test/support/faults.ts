/**
 * Faults a test inflicts on one service of its own platform, bounded and loopback only. The
 * runner starts each service as a child process and names its pid on the status page; a killed
 * service is started again here the way the runner started it (same executable, arguments,
 * working directory and environment, read from /proc before the kill), and stopped by the test.
 * A replica is started the same way, on ports of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { PlatformStatus } from '@anfang/runner';
import { freePort, infraEnv, waitFor } from '@anfang/testing';
import type { LocalPlatform } from './platform.ts';

async function pidOf(platform: LocalPlatform, service: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${platform.ports.status}/status`);
  const status = (await response.json()) as PlatformStatus;
  const detail = status.services.find((s) => s.name === service)?.detail ?? '';
  const pid = /\bpid (\d+)/.exec(detail)?.[1];
  if (!pid) throw new Error(`the status page names no pid for ${service}: ${detail}`);
  return Number(pid);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface Restarted {
  readonly service: string;
  readonly pid: number;
  readonly output: string[];
  stop(): Promise<void>;
}

/** How the runner started a process: executable, arguments, working directory, environment. */
interface Launch {
  readonly executable: string;
  readonly args: string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
}

async function launchOf(pid: number): Promise<Launch> {
  const [environ, cmdline, cwd] = await Promise.all([
    readFile(`/proc/${pid}/environ`, 'utf8'),
    readFile(`/proc/${pid}/cmdline`, 'utf8'),
    readlink(`/proc/${pid}/cwd`),
  ]);
  const env = Object.fromEntries(
    environ
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  const [executable, ...args] = cmdline.split('\0').filter(Boolean);
  return { executable: executable!, args, cwd, env };
}

/** Starts a service process as launched; resolves once its /readyz answers. */
async function launch(service: string, how: Launch): Promise<Restarted> {
  const output: string[] = [];
  const child: ChildProcess = spawn(how.executable, how.args, {
    cwd: how.cwd,
    env: how.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${service} exited (${child.exitCode}) on start`);
        const response = await fetch(`http://127.0.0.1:${how.env.HTTP_PORT}/readyz`, {
          signal: AbortSignal.timeout(2_000),
        }).catch(() => undefined);
        return response?.ok ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: `${service} not ready after its start` },
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output.slice(-20).join('\n')}`, { cause: error });
  }
  return { service, pid: child.pid!, output, stop };
}

/**
 * SIGKILLs a service (no shutdown hook runs) and starts it again; resolves once it is ready.
 * `whileDown` runs after the process is gone and before it is started again: what happens to
 * traffic the service was not there to see.
 */
export async function killAndRestart(
  platform: LocalPlatform,
  service: string,
  whileDown?: () => Promise<void>,
): Promise<Restarted> {
  const pid = await pidOf(platform, service);
  const how = await launchOf(pid);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => (alive(pid) ? undefined : true), {
    timeoutMs: 10_000,
    message: `${service} survived SIGKILL`,
  });
  await whileDown?.();
  return launch(service, how);
}

/** The variables that name a port a service listens on (each replica needs its own). */
const LISTENING_PORTS = ['HTTP_PORT', 'GRPC_PORT', 'DEVICE_HTTP_PORT'] as const;

/**
 * A second instance of a running service, exactly as the runner configured the first (same
 * databases, consumer groups, caches and bucket), on ports of its own — a second replica of
 * its Deployment. Resolves once it is ready.
 */
export async function startReplica(platform: LocalPlatform, service: string): Promise<Restarted> {
  const how = await launchOf(await pidOf(platform, service));
  const env = { ...how.env };
  for (const name of LISTENING_PORTS) if (env[name] !== undefined) env[name] = String(await freePort());
  return launch(`${service} (replica)`, { ...how, env });
}

/** Visits this install's keys in the shared Redis (its INSTALL_NAMESPACE prefix), a page at a time. */
async function scanInstallKeys(
  platform: LocalPlatform,
  visit: (redis: Redis, keys: string[]) => Promise<void>,
): Promise<void> {
  const redis = new Redis(infraEnv().redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${platform.namespace}.*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await visit(redis, keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Deletes this install's keys from the shared Redis, never anyone else's; returns how many. */
export async function flushInstallKeys(platform: LocalPlatform): Promise<number> {
  let deleted = 0;
  await scanInstallKeys(platform, async (redis, keys) => {
    deleted += await redis.unlink(...keys);
  });
  return deleted;
}

/** How many keys this install holds in the shared Redis now. */
export async function installKeyCount(platform: LocalPlatform): Promise<number> {
  let count = 0;
  await scanInstallKeys(platform, async (_redis, keys) => {
    count += keys.length;
  });
  return count;
}
