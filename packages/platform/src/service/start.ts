/**
 * The start-up every service shares, in the platform's order: telemetry first (before anything
 * creates spans or instruments), the logger, the lifecycle (signals when the service owns its
 * process), then the service's own wiring; ready once the wiring returns. A wiring that throws
 * is logged, whatever it opened is shut down in phase order, and the error is rethrown.
 */
import type { LogLevel } from '../config/index.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { startTelemetry, telemetryOptions, type TelemetryConfig } from '../telemetry/index.ts';
import type { ResourceContext } from './resources.ts';
import { serviceLifecycle, type RunningService, type ServiceStartOptions } from './index.ts';

export interface StartConfig extends TelemetryConfig {
  readonly LOG_LEVEL: LogLevel;
  readonly SHUTDOWN_TIMEOUT_MS: number;
}

export interface Wiring<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  /** `{ lifecycle, logger }` for openDatabase, openBus, openCache, openObjectStore. */
  readonly resources: ResourceContext;
}

/** The ports the wiring bound (grpc, http, and any of the service's own). */
export type BoundPorts = RunningService['ports'] & Readonly<Record<string, number | undefined>>;

export async function startService<C extends StartConfig>(
  config: C,
  options: ServiceStartOptions,
  wire: (wiring: Wiring<C>) => Promise<BoundPorts>,
): Promise<RunningService> {
  const name = config.OTEL_SERVICE_NAME;
  const telemetry = startTelemetry(telemetryOptions(config));
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  const lifecycle = serviceLifecycle({ ...options, logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  lifecycle.onShutdown('flush-telemetry', 'telemetry', () => telemetry.shutdown());
  try {
    const ports = await wire({ config, logger, lifecycle, resources: { lifecycle, logger } });
    lifecycle.markReady();
    logger.info(ports, `${name} ready`);
    return {
      ports,
      ready: () => lifecycle.readiness.serving,
      stop: async (reason) => {
        await lifecycle.shutdown(reason ?? 'stop');
      },
    };
  } catch (error) {
    logger.error({ err: error }, `${name} failed to start`);
    await lifecycle.shutdown('start failed', 1).catch(() => undefined);
    throw error;
  }
}
