/**
 * The contract between a service and the runner. A service package declares its module in
 * package.json (`"anfang": { "service": "./src/service.ts", "main": "./src/main.ts" }`) and
 * exports it as default; the runner discovers it there. The same module runs:
 * - in its own process, from `src/main.ts` via `runServiceMain(module)` (local and Kubernetes):
 *   it owns the process, so its lifecycle handles SIGTERM/SIGINT and exits when stopped;
 * - beside the others in one process (embedded mode), started by the runner with the
 *   environment the runner computed for it, and stopped by the runner.
 * Either way the service reads its configuration only from the environment it is given.
 */
import { databaseEnv, loadConfig } from '../config/index.ts';
import { createLifecycle, type Lifecycle } from '../lifecycle/index.ts';
import { migrate } from '../pg/index.ts';
import type { Logger } from '../log/index.ts';

export type ServiceEnv = Readonly<Record<string, string | undefined>>;

export interface ServiceStartOptions {
  /** True when the service is alone in its process (signals, process errors, exit are its own). */
  readonly ownsProcess: boolean;
}

export interface RunningService {
  /** Ports actually bound (0 in the environment means "any free port"). */
  readonly ports: { readonly grpc?: number; readonly http?: number };
  /** True while the service should receive traffic. */
  ready(): boolean;
  /** Ordered graceful shutdown; resolves when everything is closed. */
  stop(reason?: string): Promise<void>;
}

export interface ServiceModule {
  /** Folder name = chart component = OTEL_SERVICE_NAME = consumer group = package name suffix. */
  readonly name: string;
  /** One line for the status page. */
  readonly description: string;
  /** Its database migrations (the folder it also gives openDatabase), for `main.ts migrate`. */
  readonly migrations?: URL;
  start(env: ServiceEnv, options: ServiceStartOptions): Promise<RunningService>;
}

/**
 * The lifecycle a service builds in `start`: with signal handling and process exit when it owns
 * the process, without both when it shares the process with others (the runner stops it).
 */
export function serviceLifecycle(
  options: ServiceStartOptions & { logger: Logger; timeoutMs: number },
): Lifecycle {
  return options.ownsProcess
    ? createLifecycle({ logger: options.logger, timeoutMs: options.timeoutMs })
    : createLifecycle({
        logger: options.logger,
        timeoutMs: options.timeoutMs,
        signals: [],
        handleProcessErrors: false,
        exit: () => undefined,
      });
}

/**
 * Runs one service as its own process (src/main.ts). A failed start exits 1 with the reason.
 * `main.ts migrate` only applies its migrations and exits (the chart's pre-upgrade Job), so a
 * release's schema is in place before any new pod starts.
 */
export async function runServiceMain(module: ServiceModule, argv = process.argv.slice(2)): Promise<void> {
  // The one hand-over of the process environment: the service's config.ts parses it.
  // eslint-disable-next-line no-restricted-properties
  const env = process.env;
  if (argv[0] === 'migrate') {
    try {
      const applied = await migrateOnly(module, env);
      console.log(`${module.name}: migrations applied (${applied})`);
      process.exit(0);
    } catch (error) {
      console.error(`${module.name}: migrations failed:`, error);
      process.exit(1);
    }
  }
  if (argv.length > 0) {
    console.error(`${module.name}: unknown argument ${argv.join(' ')} (none, or "migrate")`);
    process.exit(2);
  }
  try {
    await module.start(env, { ownsProcess: true });
  } catch (error) {
    console.error(`${module.name}: failed to start:`, error);
    process.exit(1);
  }
}

/** Applies the platform's and the module's migrations to DATABASE_URL; says how many ran. */
export async function migrateOnly(module: ServiceModule, env: ServiceEnv): Promise<string> {
  const config = loadConfig(databaseEnv, { env, exitOnError: false });
  const result = await migrate(config.DATABASE_URL, {
    ...(module.migrations ? { dir: module.migrations } : {}),
  });
  return `platform ${result.platform.length}, ${module.name} ${result.service.length}`;
}

export {
  busConfigFrom,
  openBus,
  openCache,
  openDatabase,
  openObjectStore,
  namespacedGroups,
  startProcessedPruning,
  type ObjectStoreChoices,
  type ProcessedPruningOptions,
  type ResourceContext,
} from './resources.ts';
export { startService, type BoundPorts, type StartConfig, type Wiring } from './start.ts';
export { serveApis, type ApiPorts, type ServeApisOptions } from './serve.ts';
export { startPeriodic, type PeriodicJob } from './periodic.ts';
export { coalescing, type CoalescingOptions } from './coalescing.ts';
