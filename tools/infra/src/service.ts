import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { infraDir } from './config.ts';
import {
  describePid,
  findProcesses,
  isAlive,
  listeningPids,
  portOpen,
  cmdline,
  spawnDetached,
  stopPid,
  tail,
} from './proc.ts';
import { InfraError, type Reporter, seconds } from './progress.ts';

export type ServiceName = 'postgres' | 'redis' | 'kafka' | 's3';
export const serviceNames: readonly ServiceName[] = ['postgres', 'redis', 'kafka', 's3'];

export interface LaunchSpec {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** One server the launcher manages. */
export interface Service {
  name: ServiceName;
  /** Human name with version, for progress lines. */
  title: string;
  port: number;
  /** Other ports it listens on (e.g. the Kafka controller). */
  extraPorts: readonly number[];
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  startTimeoutMs: number;
  /** Recognises this launcher's server process by its command line. */
  match(args: string[]): boolean;
  /** Installs what the server needs (idempotent; quick when already done). */
  install(report: Reporter): Promise<void>;
  /** Writes configuration, initialises data (idempotent) and returns how to start the server. */
  prepare(report: Reporter): Promise<LaunchSpec>;
  /** Resolves when the server answers a real request; rejects otherwise. */
  probe(timeoutMs: number): Promise<void>;
  /** Deletes state kept outside stateDir (reset); returns the paths it removed. */
  purge?(): string[];
}

export function stateDir(name: ServiceName): string {
  return join(infraDir, name);
}
export function pidFile(name: ServiceName): string {
  return join(stateDir(name), 'pid');
}
export function serverLog(name: ServiceName): string {
  return join(stateDir(name), 'server.log');
}
export function installLog(name: ServiceName): string {
  return join(stateDir(name), 'install.log');
}

function readPid(name: ServiceName): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid of this launcher's running server: from the pid file when that process is really
 * ours (its command line matches), else found among all processes (then the pid file is
 * rewritten); a stale pid file is removed.
 */
export function findRunning(svc: Service): number | undefined {
  const recorded = readPid(svc.name);
  if (recorded !== undefined) {
    const args = cmdline(recorded);
    if (args && svc.match(args) && isAlive(recorded)) return recorded;
  }
  const [found] = findProcesses((args) => svc.match(args));
  if (found !== undefined) {
    mkdirSync(stateDir(svc.name), { recursive: true });
    writeFileSync(pidFile(svc.name), `${found}\n`);
    return found;
  }
  if (recorded !== undefined) rmSync(pidFile(svc.name), { force: true });
  return undefined;
}

async function waitReady(svc: Service, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (!isAlive(pid)) {
      const lines = tail(serverLog(svc.name));
      throw new InfraError(
        `${svc.name} exited during start-up; read ${serverLog(svc.name)}` +
          (lines ? `; its last lines:\n${indent(lines)}` : ''),
      );
    }
    try {
      await svc.probe(Math.min(5000, Math.max(1000, deadline - Date.now())));
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(250);
  }
  throw new InfraError(
    `${svc.name} (pid ${pid}) did not become ready within ${seconds(timeoutMs)}: ${errText(last)}; read ${serverLog(svc.name)}`,
  );
}

export interface UpResult {
  name: ServiceName;
  pid: number;
  started: boolean;
  ms: number;
}

/** Brings one server up, or confirms that it already is. */
export async function upOne(svc: Service, report: Reporter): Promise<UpResult> {
  const t0 = Date.now();
  mkdirSync(stateDir(svc.name), { recursive: true });
  const running = findRunning(svc);
  if (running !== undefined) {
    await waitReady(svc, running, svc.startTimeoutMs);
    report.info(`already up on 127.0.0.1:${svc.port} (pid ${running})`);
    return { name: svc.name, pid: running, started: false, ms: Date.now() - t0 };
  }
  for (const port of [svc.port, ...svc.extraPorts]) {
    if (await portOpen(port)) {
      const owners = listeningPids(port);
      const who = owners.length ? owners.map(describePid).join(', ') : 'a process this user cannot see';
      throw new InfraError(
        `port ${port} is already in use by ${who}; ${svc.name} needs it. Stop that process and run up again.`,
      );
    }
  }
  await svc.install(report);
  const spec = await svc.prepare(report);
  report.info(`starting ${svc.title} on 127.0.0.1:${svc.port} (log: ${serverLog(svc.name)})`);
  const logFile = serverLog(svc.name);
  rotate(logFile);
  writeFileSync(logFile, `\n=== ${new Date().toISOString()} starting ${svc.title}\n`, { flag: 'a' });
  const child = spawnDetached({ ...spec, logFile });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(new InfraError(`${svc.name}: cannot start ${spec.cmd}: ${err.message}`)),
    ),
  );
  spawnError.catch(() => undefined);
  const pid = child.pid;
  if (pid === undefined) return await spawnError;
  writeFileSync(pidFile(svc.name), `${pid}\n`);
  try {
    await Promise.race([waitReady(svc, pid, svc.startTimeoutMs), spawnError]);
  } catch (err) {
    await stopPid(pid, 'SIGKILL', 5000);
    rmSync(pidFile(svc.name), { force: true });
    throw err;
  }
  const ms = Date.now() - t0;
  report.info(`up on 127.0.0.1:${svc.port} (pid ${pid}) in ${seconds(ms)}`);
  return { name: svc.name, pid, started: true, ms };
}

/** Stops one server: its stop signal, then SIGKILL after its timeout. */
export async function downOne(svc: Service, report: Reporter): Promise<void> {
  const pid = findRunning(svc);
  if (pid === undefined) {
    report.info('already down');
    return;
  }
  const t0 = Date.now();
  const how = await stopPid(pid, svc.stopSignal, svc.stopTimeoutMs);
  rmSync(pidFile(svc.name), { force: true });
  if (how === 'killed')
    report.info(`pid ${pid} did not stop within ${seconds(svc.stopTimeoutMs)} of ${svc.stopSignal}: killed`);
  else report.info(`stopped (pid ${pid}) in ${seconds(Date.now() - t0)}`);
}

export interface Status {
  name: ServiceName;
  state: 'up' | 'not ready' | 'down' | 'port taken';
  port: number;
  pid?: number;
  detail?: string;
}

export async function statusOne(svc: Service): Promise<Status> {
  const pid = findRunning(svc);
  if (pid !== undefined) {
    try {
      await svc.probe(3000);
      return { name: svc.name, state: 'up', port: svc.port, pid };
    } catch (err) {
      return { name: svc.name, state: 'not ready', port: svc.port, pid, detail: errText(err) };
    }
  }
  if (await portOpen(svc.port)) {
    const owners = listeningPids(svc.port);
    return {
      name: svc.name,
      state: 'port taken',
      port: svc.port,
      detail: owners.length ? `by ${owners.map(describePid).join(', ')}` : 'by another process',
      ...(owners[0] !== undefined ? { pid: owners[0] } : {}),
    };
  }
  return { name: svc.name, state: 'down', port: svc.port };
}

/** Keeps one previous server log when the current one has grown past 64 MiB. */
function rotate(file: string): void {
  try {
    if (statSync(file).size > 64 * 1024 * 1024) renameSync(file, `${file}.1`);
  } catch {
    // no log yet
  }
}

export function errText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** Rejects after ms with a timeout error, unless the promise settles first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
