/**
 * The contract between a service and the runner. A service package declares its module in
 * package.json (`"anfang": { "service": "./src/service.ts" }`) and exports it as default; the
 * runner discovers it there. The same module runs:
 * - in its own process, from `src/main.ts` via `runServiceMain(module)` (local and Kubernetes);
 * - beside the others in one process (embedded mode), started by the runner with the
 *   environment the runner computed for it.
 * Either way the service reads its configuration only from the environment it is given.
 */
export type ServiceEnv = Readonly<Record<string, string | undefined>>;

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
  start(env: ServiceEnv): Promise<RunningService>;
}

/**
 * Runs one service as its own process: starts it from process.env, and stops it once on
 * SIGTERM/SIGINT with a deadline after which the process exits anyway.
 */
export async function runServiceMain(module: ServiceModule): Promise<void> {
  const env = process.env;
  const deadlineMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 25_000);
  let running: RunningService;
  try {
    running = await module.start(env);
  } catch (error) {
    console.error(`${module.name}: failed to start:`, error);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      console.error(`${module.name}: shutdown exceeded ${deadlineMs} ms, exiting`);
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    running.stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`${module.name}: shutdown failed:`, error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
