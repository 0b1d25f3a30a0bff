import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionEnv, envJsonPath, infraDir } from './config.ts';
import { isAlive } from './proc.ts';
import { InfraError, reporter, seconds } from './progress.ts';
import {
  downOne,
  errText,
  type Service,
  type ServiceName,
  serviceNames,
  stateDir,
  type Status,
  statusOne,
  type UpResult,
  upOne,
} from './service.ts';
import { kafkaService } from './services/kafka.ts';
import { postgresService } from './services/postgres.ts';
import { redisService } from './services/redis.ts';
import { s3Service } from './services/s3.ts';

export { connectionEnv, envJsonPath, ports, versions } from './config.ts';
export {
  dataLocations as postgresDataLocations,
  type DataLocations as PostgresDataLocations,
  type PostgresServer,
  type PostgresServerOptions,
  removePostgresData,
  startPostgres,
  stopPostgres,
} from './pg-server.ts';
export { InfraError } from './progress.ts';
export type { ServiceName, Status } from './service.ts';
export { serviceNames } from './service.ts';

export function services(only?: readonly ServiceName[]): Service[] {
  const all: Record<ServiceName, () => Service> = {
    postgres: postgresService,
    redis: redisService,
    kafka: kafkaService,
    s3: s3Service,
  };
  return (only && only.length ? only : serviceNames).map((name) => all[name]());
}

export function parseOnly(list: string): ServiceName[] {
  const names = list
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names)
    if (!(serviceNames as readonly string[]).includes(name))
      throw new InfraError(`unknown server "${name}"; choose from ${serviceNames.join(', ')}`);
  return names as ServiceName[];
}

/** One `up`/`down` at a time per checkout: a second one waits for the first. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(infraDir, { recursive: true });
  const lock = join(infraDir, '.lock');
  let announced = false;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: number;
      try {
        holder = Number(readFileSync(lock, 'utf8').trim());
      } catch {
        continue;
      }
      if (!holder || !isAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (!announced) {
        reporter('infra').info(`waiting for another infra command (pid ${holder}) to finish`);
        announced = true;
      }
      if (Date.now() > deadline) throw new InfraError(`another infra command (pid ${holder}) holds ${lock}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Writes .cache/infra/env.json (atomically) with the connection environment. */
export function writeEnvJson(): void {
  mkdirSync(infraDir, { recursive: true });
  const tmp = `${envJsonPath}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(connectionEnv(), null, 2)}\n`);
  renameSync(tmp, envJsonPath);
}

/**
 * Starts the servers (all, or `only`) in parallel, or confirms they are up. Rejects with an
 * InfraError listing every server that failed; the others are left running.
 */
export async function up(only?: readonly ServiceName[]): Promise<UpResult[]> {
  return withLock(async () => {
    const t0 = Date.now();
    const list = services(only);
    const settled = await Promise.allSettled(list.map((svc) => upOne(svc, reporter(svc.name))));
    const failures: string[] = [];
    const results: UpResult[] = [];
    settled.forEach((r, i) => {
      const name = list[i]?.name ?? '?';
      if (r.status === 'fulfilled') results.push(r.value);
      else failures.push(`${name}: ${errText(r.reason)}`);
    });
    writeEnvJson();
    if (failures.length)
      throw new InfraError(
        `${failures.length} of ${list.length} servers failed:\n  ${failures.join('\n  ')}`,
      );
    const started = results.filter((r) => r.started).length;
    reporter('infra').info(
      `${results.length} up (${started} started, ${results.length - started} already running) in ${seconds(Date.now() - t0)}; env: ${envJsonPath}`,
    );
    return results;
  });
}

export async function down(only?: readonly ServiceName[]): Promise<void> {
  await withLock(async () => {
    const list = services(only);
    const settled = await Promise.allSettled(list.map((svc) => downOne(svc, reporter(svc.name))));
    const failures = settled.flatMap((r, i) =>
      r.status === 'rejected' ? [`${list[i]?.name}: ${errText(r.reason)}`] : [],
    );
    if (failures.length) throw new InfraError(failures.join('\n'));
  });
}

/** Stops the servers and deletes their state (data, logs); installed binaries and jars are kept. */
export async function reset(only?: readonly ServiceName[]): Promise<void> {
  await down(only);
  for (const svc of services(only)) {
    rmSync(stateDir(svc.name), { recursive: true, force: true });
    const elsewhere = svc.purge?.() ?? [];
    reporter(svc.name).info(`state removed (${[stateDir(svc.name), ...elsewhere].join(', ')})`);
  }
}

export async function status(only?: readonly ServiceName[]): Promise<Status[]> {
  return Promise.all(services(only).map((svc) => statusOne(svc)));
}
