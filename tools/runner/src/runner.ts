import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import pg from 'pg';
import { connectionEnv, up as infraUp } from '@anfang/infra';
import { allTopics } from '@anfang/contracts/topics';
import { createBus, type Bus } from '@anfang/platform/bus';
import type { RunningService, ServiceEnv } from '@anfang/platform/service';
import {
  databaseNameFor,
  discoverServices,
  loadServiceModule,
  selectServices,
  type DiscoveredService,
} from './discover.ts';
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from './embedded-postgres.ts';
import { ensureInstallSecrets } from './install-secrets.ts';
import { startStatusServer, type ComponentStatus } from './status-server.ts';

export interface RunnerOptions {
  /** Where services/ is looked up. */
  readonly root: string;
  readonly mode: 'embedded' | 'local';
  readonly services?: string[];
  readonly statusPort: number;
  /** The install's state: secrets (both modes); Postgres data and objects (embedded mode). */
  readonly dataDir: string;
  readonly postgresPort: number;
  /** Service i gets gRPC port grpcBasePort + i and HTTP port httpBasePort + i. */
  readonly grpcBasePort: number;
  readonly httpBasePort: number;
  readonly log: (line: string) => void;
  /** Runs the device simulator (tools/simulator) against device-ingest, at this many events/s. */
  readonly simulate?: { readonly rate: number };
  /** device-ingest's device listener (DEVICE_HTTP_PORT). Default 8088, the service's own default. */
  readonly devicePort?: number;
  /**
   * With the simulator: the port its ISAPI devices take commands on, at their registered loopback
   * addresses (device-ingest's ISAPI_COMMAND_PORT). Default 8480.
   */
  readonly isapiDevicePort?: number;
  /**
   * Local mode: a second install on the same infrastructure (tests) keeps its own databases
   * (`<namespace>_<service>`) and bucket (`anfang-<namespace>`) — its keys in dataDir could not
   * read another install's data — and its own consumer groups and cache keys (INSTALL_NAMESPACE),
   * so two installs never split one group's partitions or see each other's dedupe marks.
   */
  readonly namespace?: string;
  /**
   * Local mode: start the infrastructure (`./anfang infra up`) first — the default. False when it
   * is already running and owned by another checkout (the e2e suite on a shared machine), whose
   * servers this checkout's `up` would take for strangers on its ports.
   */
  readonly startInfrastructure?: boolean;
}

const DEFAULT_DEVICE_PORT = 8088;
/** Clear of the services' HTTP ports (8081 + i), which listen on every address. */
const DEFAULT_ISAPI_DEVICE_PORT = 8480;

export interface RunningPlatform {
  readonly statusUrl: string;
  stop(): Promise<void>;
}

interface LocalInfraEnv {
  ANFANG_PG_URL: string;
  ANFANG_KAFKA_BROKERS: string;
  ANFANG_REDIS_URL: string;
  ANFANG_S3_ENDPOINT: string;
  ANFANG_S3_ACCESS_KEY: string;
  ANFANG_S3_SECRET_KEY: string;
  ANFANG_S3_REGION: string;
}

/** A started service, whichever way it runs. */
interface ServiceHandle {
  readonly name: string;
  status(): Promise<ComponentStatus>;
  stop(): Promise<void>;
}

/**
 * Starts the platform: the infrastructure of the mode, the topics of the catalogue, then every
 * selected service with the environment this mode gives it, then the status server. Stops in
 * reverse order.
 */
export async function startPlatform(options: RunnerOptions): Promise<RunningPlatform> {
  const { log } = options;
  const selected = selectServices(discoverServices(options.root), options.services);
  const startedAt = new Date().toISOString();
  let shuttingDown = false;
  const stack: (() => Promise<void>)[] = [];
  const handles: ServiceHandle[] = [];

  let bus: Bus;
  let pgAdminUrl: string;
  let postgres: EmbeddedPostgresServer | undefined;
  let baseEnv: Record<string, string>;

  if (options.mode === 'embedded') {
    postgres = await startEmbeddedPostgres({
      dataDir: join(options.dataDir, 'postgres'),
      port: options.postgresPort,
      log,
    });
    stack.push(() => postgres!.stop());
    pgAdminUrl = postgres.url('postgres');
    await ensureDatabase(pgAdminUrl, 'anfang_bus');
    const objectsDir = join(options.dataDir, 'objects');
    await mkdir(objectsDir, { recursive: true });
    bus = await createBus({ kind: 'embedded', connectionString: postgres.url('anfang_bus') });
    baseEnv = {
      BUS_KIND: 'embedded',
      BUS_DATABASE_URL: postgres.url('anfang_bus'),
      CACHE_KIND: 'memory',
      OBJECTS_KIND: 'directory',
      OBJECTS_DIR: objectsDir,
    };
  } else {
    if (options.startInfrastructure ?? true) {
      log('starting the local infrastructure (./anfang infra up)');
      await infraUp();
    }
    const infra = connectionEnv() as unknown as LocalInfraEnv;
    pgAdminUrl = infra.ANFANG_PG_URL;
    bus = await createBus({
      kind: 'kafka',
      brokers: infra.ANFANG_KAFKA_BROKERS.split(','),
      clientId: 'anfang-runner',
    });
    baseEnv = {
      BUS_KIND: 'kafka',
      KAFKA_BROKERS: infra.ANFANG_KAFKA_BROKERS,
      CACHE_KIND: 'redis',
      REDIS_URL: infra.ANFANG_REDIS_URL,
      OBJECTS_KIND: 's3',
      S3_ENDPOINT: infra.ANFANG_S3_ENDPOINT,
      S3_ACCESS_KEY: infra.ANFANG_S3_ACCESS_KEY,
      S3_SECRET_KEY: infra.ANFANG_S3_SECRET_KEY,
      S3_REGION: infra.ANFANG_S3_REGION,
      S3_BUCKET: options.namespace ? `anfang-${options.namespace}` : 'anfang',
      // Shared Kafka and Redis: this install's consumer groups and cache keys are its own.
      ...(options.namespace ? { INSTALL_NAMESPACE: options.namespace } : {}),
    };
  }
  stack.push(() => bus.close());
  Object.assign(baseEnv, await ensureInstallSecrets(options.dataDir));
  baseEnv.DEVICE_HTTP_PORT = String(options.devicePort ?? DEFAULT_DEVICE_PORT);
  // device-ingest pushes commands to the simulated ISAPI devices where they listen.
  if (options.simulate)
    baseEnv.ISAPI_COMMAND_PORT = String(options.isapiDevicePort ?? DEFAULT_ISAPI_DEVICE_PORT);
  // police-upload's GA/T 1400 id as a lower platform: a district sets its own (the chart's value
  // POLICE_UPLOAD_LOWER_ID); a local install uses the chart's example unless told otherwise.
  baseEnv.POLICE_UPLOAD_LOWER_ID = process.env.POLICE_UPLOAD_LOWER_ID ?? EXAMPLE_LOWER_PLATFORM_ID;

  const topics = allTopics();
  await bus.ensureTopics(topics);
  log(`${topics.length} topics ready on the ${bus.kind} bus`);

  const checkPostgres = async (): Promise<ComponentStatus> => {
    const client = new pg.Client({ connectionString: pgAdminUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      const version = await client.query<{ server_version: string }>('show server_version');
      return { name: 'postgres', ok: true, detail: `Postgres ${version.rows[0]?.server_version ?? '?'}` };
    } catch (error) {
      return { name: 'postgres', ok: false, detail: String(error) };
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const checkBus = async (): Promise<ComponentStatus> => {
    try {
      await bus.check();
      return { name: `bus (${bus.kind})`, ok: true, detail: `${topics.length} topics` };
    } catch (error) {
      return { name: `bus (${bus.kind})`, ok: false, detail: String(error) };
    }
  };

  // Every service learns where every other one serves gRPC (the gateway forwards to them all):
  // SERVICE_GRPC_ADDR_<NAME>, the same variables the chart sets from its enabled components.
  for (const [index, service] of selected.entries())
    baseEnv[grpcAddressEnvKey(service.name)] = `127.0.0.1:${options.grpcBasePort + index}`;

  // A failure part-way (a service that cannot start, the simulator that cannot reach the registry)
  // stops what was started: no process outlives the call that could not return it.
  let statusServer: Server;
  try {
    for (const [index, service] of selected.entries()) {
      const database = (options.namespace ? `${options.namespace}_` : '') + databaseNameFor(service.name);
      await ensureDatabase(pgAdminUrl, database);
      const env: Record<string, string> = {
        ...baseEnv,
        OTEL_SERVICE_NAME: service.name,
        OTEL_TRACES_EXPORTER: 'none',
        LOG_LEVEL: 'info',
        DATABASE_URL: withDatabase(pgAdminUrl, database),
        GRPC_PORT: String(options.grpcBasePort + index),
        HTTP_PORT: String(options.httpBasePort + index),
      };
      log(`starting ${service.name}`);
      const handle =
        options.mode === 'embedded'
          ? await startInProcess(service, env)
          : startAsProcess(service, env, options.root, log);
      handles.push(handle);
    }

    const simulatorHandle = options.simulate
      ? await startSimulatorFor(
          options,
          selected,
          handles.find((h) => h.name === 'device-ingest'),
          baseEnv.CALLER_TOKEN_KEY_FILE!,
          log,
        )
      : undefined;
    if (simulatorHandle) handles.push(simulatorHandle);

    statusServer = await startStatusServer({
      port: options.statusPort,
      isShuttingDown: () => shuttingDown,
      status: async () => ({
        mode: options.mode,
        startedAt,
        infrastructure: await Promise.all([checkPostgres(), checkBus()]),
        services: await Promise.all(handles.map((h) => h.status())),
      }),
    });
  } catch (error) {
    for (const handle of [...handles].reverse()) await handle.stop().catch(() => undefined);
    for (const step of [...stack].reverse()) await step().catch(() => undefined);
    throw error;
  }

  const statusUrl = `http://127.0.0.1:${options.statusPort}/`;
  log(
    `status: ${statusUrl}  (${selected.length} service(s): ${selected.map((s) => s.name).join(', ') || 'none yet'})`,
  );
  const gateway = selected.findIndex((s) => s.name === 'gateway');
  if (gateway >= 0)
    log(
      `dashboard: http://127.0.0.1:${options.httpBasePort + gateway}/  (user admin, password in ${join(options.dataDir, 'secrets', 'gateway-admin-password')})`,
    );

  return {
    statusUrl,
    async stop(): Promise<void> {
      if (shuttingDown) return;
      shuttingDown = true;
      for (const handle of [...handles].reverse())
        await handle.stop().catch((e: unknown) => log(`${handle.name}: ${String(e)}`));
      await new Promise<void>((resolve) => statusServer.close(() => resolve()));
      for (const step of stack.reverse()) await step().catch((e: unknown) => log(`shutdown: ${String(e)}`));
    },
  };
}

/** The chart's example GA/T 1400 lower-platform id (Zhangdian district, platform kind 504). */
const EXAMPLE_LOWER_PLATFORM_ID = '37030300005040000001';

/** How long the simulator waits for device-ingest to become ready (a loaded machine is slow). */
const SIMULATOR_WAIT_MS = 180_000;

async function untilReady(handle: ServiceHandle | undefined, timeoutMs: number): Promise<void> {
  if (!handle) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await handle.status();
    if (status.ok) return;
    if (status.detail.includes('exited') || Date.now() > deadline)
      throw new Error(`${handle.name} is not ready: ${status.detail}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The device simulator, pointed at device-ingest's device listener and registry. */
async function startSimulatorFor(
  options: RunnerOptions,
  selected: readonly DiscoveredService[],
  deviceIngest: ServiceHandle | undefined,
  callerKeyFile: string,
  log: (line: string) => void,
): Promise<ServiceHandle | undefined> {
  const index = selected.findIndex((s) => s.name === 'device-ingest');
  if (index < 0) {
    log('simulator: device-ingest is not running; no simulated traffic');
    return undefined;
  }
  // As its own process device-ingest may still be starting: the simulator registers its devices
  // through the registry at once.
  await untilReady(deviceIngest, SIMULATOR_WAIT_MS);
  const { startSimulator, formatStats } = await import('@anfang/simulator');
  const simulator = await startSimulator({
    target: `http://127.0.0.1:${options.devicePort ?? DEFAULT_DEVICE_PORT}`,
    registry: `127.0.0.1:${options.grpcBasePort + index}`,
    callerTokenKey: (await readFile(callerKeyFile, 'utf8')).trim(),
    // The devices' secrets belong to this install's registry.
    statePath: join(options.dataDir, 'simulator', 'state.json'),
    rate: options.simulate!.rate,
    isapiCommandPort: options.isapiDevicePort ?? DEFAULT_ISAPI_DEVICE_PORT,
    statsSeconds: 60,
    log: (line) => log(`simulator: ${line}`),
  });
  return {
    name: 'simulator',
    status: async () => ({ name: 'simulator', ok: true, detail: formatStats(simulator.stats()) }),
    stop: () => simulator.stop(),
  };
}

async function startInProcess(service: DiscoveredService, env: ServiceEnv): Promise<ServiceHandle> {
  const module = await loadServiceModule(service);
  const running: RunningService = await module.start(env, { ownsProcess: false });
  return {
    name: service.name,
    status: async () => ({
      name: service.name,
      ok: running.ready(),
      detail: `${module.description} — grpc :${running.ports.grpc ?? '-'} http :${running.ports.http ?? '-'}`,
    }),
    stop: () => running.stop('runner shutdown'),
  };
}

function startAsProcess(
  service: DiscoveredService,
  env: Record<string, string>,
  root: string,
  log: (line: string) => void,
): ServiceHandle {
  let exited: string | undefined;
  const child: ChildProcess = spawn(process.execPath, [service.mainPath], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    exited = `exited (${signal ?? code})`;
    log(`${service.name} ${exited}`);
  });
  return {
    name: service.name,
    status: async () => {
      if (exited !== undefined) return { name: service.name, ok: false, detail: exited };
      const detail = `pid ${child.pid} — grpc :${env.GRPC_PORT} http :${env.HTTP_PORT}`;
      try {
        const response = await fetch(`http://127.0.0.1:${env.HTTP_PORT}/readyz`, {
          signal: AbortSignal.timeout(2000),
        });
        return {
          name: service.name,
          ok: response.status === 200,
          detail: `${detail} — /readyz ${response.status}`,
        };
      } catch {
        return { name: service.name, ok: false, detail: `${detail} — starting` };
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== undefined) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** `perimeter-alarms` → `SERVICE_GRPC_ADDR_PERIMETER_ALARMS`. */
export function grpcAddressEnvKey(serviceName: string): string {
  return `SERVICE_GRPC_ADDR_${serviceName.toUpperCase().replace(/-/g, '_')}`;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
