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
import { createLifecycle, type Lifecycle } from '../lifecycle/index.ts';
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

/** Runs one service as its own process (src/main.ts). A failed start exits 1 with the reason. */
export async function runServiceMain(module: ServiceModule): Promise<void> {
  try {
    // The one hand-over of the process environment: the service's config.ts parses it.
    // eslint-disable-next-line no-restricted-properties
    await module.start(process.env, { ownsProcess: true });
  } catch (error) {
    console.error(`${module.name}: failed to start:`, error);
    process.exit(1);
  }
}
