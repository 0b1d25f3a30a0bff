import type { Logger } from '../log/index.ts';
import { Readiness } from './readiness.ts';

/**
 * The order of a graceful shutdown (ARCHITECTURE §5). Turning not-ready comes first and is
 * implicit; steps of one phase run concurrently, phases strictly one after the other.
 */
export const SHUTDOWN_PHASES = [
  /** gRPC `tryShutdown`, HTTP `close`: no new calls, in-flight ones finish. */
  'stop-accepting',
  /** Consumers stop fetching, finish their in-flight messages and commit. */
  'drain-consumers',
  /** Producers and the outbox relay flush what they hold. */
  'flush-producers',
  /** Postgres pools, Redis, object-store clients. */
  'close-pools',
  /** Last, so that the shutdown itself is traced and counted. */
  'flush-telemetry',
] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

export type ShutdownStep = () => Promise<unknown> | unknown;

export const EXIT_OK = 0;
/** A step failed, or the shutdown was caused by an uncaught exception / unhandled rejection. */
export const EXIT_FAILURE = 1;
/** The shutdown did not finish within its deadline and was cut short. */
export const EXIT_SHUTDOWN_TIMEOUT = 124;

export interface LifecycleOptions {
  readonly logger: Logger;
  /** Deadline of the whole shutdown (`SHUTDOWN_TIMEOUT_MS`); keep it below the pod's grace period. */
  readonly timeoutMs?: number;
  readonly readiness?: Readiness;
  /**
   * Pause between turning not-ready and stopping accepting, so that load balancers and
   * kube-proxy stop routing here first. Default 0 (the chart can use a preStop sleep instead).
   */
  readonly notReadyDelayMs?: number;
  /** Signals that start the shutdown. Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Log uncaughtException/unhandledRejection and shut down in order. Default true. */
  readonly handleProcessErrors?: boolean;
  /** Called with the exit code at the end. Default `process.exit`. */
  readonly exit?: (code: number) => void;
}

export interface Lifecycle {
  readonly readiness: Readiness;
  readonly shuttingDown: boolean;
  /** Registers a step of the shutdown. */
  onShutdown(phase: ShutdownPhase, name: string, step: ShutdownStep): void;
  /** Start-up is complete: `/readyz` and the gRPC health service may report serving. */
  markReady(): void;
  /**
   * Runs the shutdown once (later calls return the same promise) and then calls `exit` with the
   * resulting code. Signals and process errors call it; main may too (e.g. a fatal start-up error).
   */
  shutdown(reason: string, exitCode?: number): Promise<number>;
  /** Removes the process listeners (tests). */
  dispose(): void;
}

export function createLifecycle(options: LifecycleOptions): Lifecycle {
  const logger = options.logger.child({ component: 'lifecycle' });
  const timeoutMs = options.timeoutMs ?? 25_000;
  const readiness = options.readiness ?? new Readiness();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const steps = new Map<ShutdownPhase, { name: string; step: ShutdownStep }[]>(
    SHUTDOWN_PHASES.map((p) => [p, []]),
  );
  let running: Promise<number> | undefined;
  const pending = new Set<string>();

  const shutdown = (reason: string, exitCode: number = EXIT_OK): Promise<number> => {
    if (running) {
      logger.info({ reason }, 'shutdown already in progress');
      return running;
    }
    running = run(reason, exitCode);
    return running;
  };

  const run = async (reason: string, requestedCode: number): Promise<number> => {
    const started = performance.now();
    logger.info({ reason, timeout_ms: timeoutMs }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        logger.error(
          { still_running: [...pending], timeout_ms: timeoutMs },
          'shutdown deadline passed; forcing exit',
        );
        resolve(EXIT_SHUTDOWN_TIMEOUT);
      }, timeoutMs);
    });
    const orderly = (async (): Promise<number> => {
      let failed = false;
      readiness.markShuttingDown();
      if (options.notReadyDelayMs) await new Promise((r) => setTimeout(r, options.notReadyDelayMs));
      for (const phase of SHUTDOWN_PHASES) {
        const list = steps.get(phase) ?? [];
        if (list.length === 0) continue;
        const results = await Promise.allSettled(
          list.map(async ({ name, step }) => {
            const id = `${phase}/${name}`;
            pending.add(id);
            const t0 = performance.now();
            try {
              await step();
              logger.debug(
                { step: id, duration_ms: Math.round(performance.now() - t0) },
                'shutdown step done',
              );
            } catch (err) {
              logger.error({ err, step: id }, 'shutdown step failed');
              throw err;
            } finally {
              pending.delete(id);
            }
          }),
        );
        if (results.some((r) => r.status === 'rejected')) failed = true;
      }
      return failed && requestedCode === EXIT_OK ? EXIT_FAILURE : requestedCode;
    })();
    const code = await Promise.race([orderly, deadline]);
    clearTimeout(timer);
    logger.info(
      { reason, exit_code: code, duration_ms: Math.round(performance.now() - started) },
      'shutdown complete',
    );
    exit(code);
    return code;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (running && signal === 'SIGINT') {
      logger.warn('second SIGINT: exiting now');
      exit(130);
      return;
    }
    void shutdown(signal);
  };
  const onUncaught = (err: unknown): void => {
    logger.fatal({ err }, 'uncaught exception');
    void shutdown('uncaughtException', EXIT_FAILURE);
  };
  const onRejection = (err: unknown): void => {
    logger.fatal({ err }, 'unhandled promise rejection');
    void shutdown('unhandledRejection', EXIT_FAILURE);
  };

  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  for (const signal of signals) process.on(signal, onSignal);
  const handleErrors = options.handleProcessErrors ?? true;
  if (handleErrors) {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
  }

  return {
    readiness,
    get shuttingDown() {
      return running !== undefined;
    },
    onShutdown(phase, name, step) {
      const list = steps.get(phase);
      if (!list) throw new Error(`unknown shutdown phase ${String(phase)}`);
      list.push({ name, step });
    },
    markReady() {
      readiness.markReady();
      logger.info('ready');
    },
    shutdown,
    dispose() {
      for (const signal of signals) process.off(signal, onSignal);
      if (handleErrors) {
        process.off('uncaughtException', onUncaught);
        process.off('unhandledRejection', onRejection);
      }
    },
  };
}
