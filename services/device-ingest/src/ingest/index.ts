/**
 * The ingest core in one call, for service.ts (and the integration tests):
 *
 *   const ingest = createIngestCore({ pool, bus, cache, objects, directory, logger, producer, options });
 *   await ingest.start();                           // status sweep + timers, command consumer
 *   const listener = await createDeviceListener(ingest.protocolDeps({ platformId, limits }), { port });
 *   lifecycle.onShutdown('stop-accepting', 'device listener', () => listener.close());
 *   lifecycle.onShutdown('drain-consumers', 'ingest', () => ingest.stop());
 *
 * The parts are also exported on their own (createIngestPipeline, createActivityTracker,
 * createQuarantine, createCommandStore, startCommandConsumer, createDeviceListener).
 * The outbox relay (`startOutboxRelay`) must run: status, drift and command events go through it.
 */
import type { Bus, Subscription } from '@anfang/platform/bus';
import type { Cache } from '@anfang/platform/cache';
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import type { Pool } from '@anfang/platform/pg';
import type { DriftThresholds } from '../domain/clock.ts';
import type { StatusPolicy } from '../domain/status.ts';
import type { ProtocolDeps, ProtocolLimits } from '../http/protocols/types.ts';
import { startCommandConsumer } from '../consumers/commands.ts';
import { createActivityStore, type ActivityStore } from '../store/activity.ts';
import { createCommandStore, type CommandStore } from '../store/commands.ts';
import { createQuarantine, startQuarantineSweeper } from '../store/quarantine.ts';
import { createIsapiCommandPusher, type IsapiCommandPushOptions } from '../push/isapi-commands.ts';
import type { FaceImages } from '../push/face-images.ts';
import { createActivityTracker, type ActivityTracker } from './activity.ts';
import { createIngestPipeline } from './pipeline.ts';
import type { DeviceDirectory, IngestPipeline, QuarantineStore } from './types.ts';

export interface IngestOptions {
  /** Online/offline: silence of interval × misses is offline. Default 30 s × 3. */
  readonly status?: StatusPolicy;
  readonly drift?: DriftThresholds;
  /** Drift is judged on the least-delayed clock sample of this window, ms (ClockFilter). */
  readonly clockWindowMs?: number;
  /** Activity flush period, ms. Default 1000. */
  readonly flushIntervalMs?: number;
  /** Timeout sweep period, ms. Default min(5 s, timeout / 4). */
  readonly sweepIntervalMs?: number;
  /** Expiry sweep of undelivered commands, ms. Default 30 000. */
  readonly commandExpiryIntervalMs?: number;
  /** Consume device commands (default true). */
  readonly consumeCommands?: boolean;
  readonly commandConsumerStart?: 'earliest' | 'latest';
  /** Consumer group of the command consumer. Default: the producer (service) name. */
  readonly commandConsumerGroup?: string;
  /** How long refused payloads are kept for inspection. Default 30 days. */
  readonly quarantineRetentionMs?: number;
  /** Quarantine sweep period, ms. Default 1 hour. */
  readonly quarantineSweepIntervalMs?: number;
  /** Commands to Hikvision ISAPI devices are pushed to them (src/push/isapi-commands.ts). */
  readonly isapiCommands?: IsapiCommandPushOptions;
}

export interface IngestCoreDeps {
  readonly pool: Pool;
  readonly bus: Bus;
  readonly cache: Cache;
  readonly objects: ObjectStore;
  /** Enrolment faces pushed to ISAPI terminals (src/push/face-images.ts). */
  readonly faceImages?: FaceImages;
  readonly directory: DeviceDirectory;
  readonly logger: Logger;
  /** The service name: event producer and consumer group. */
  readonly producer: string;
  readonly options?: IngestOptions;
  readonly now?: () => Date;
}

export interface IngestCore {
  readonly pipeline: IngestPipeline;
  readonly quarantine: QuarantineStore;
  readonly activity: ActivityTracker;
  readonly activityStore: ActivityStore;
  readonly commands: CommandStore;
  /** The deps every protocol router gets. */
  protocolDeps(extra: { platformId: string; limits: ProtocolLimits }): ProtocolDeps;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const DEFAULT_STATUS_POLICY: StatusPolicy = { heartbeatIntervalMs: 30_000, allowedMisses: 3 };

export function createIngestCore(deps: IngestCoreDeps): IngestCore {
  const options = deps.options ?? {};
  const now = deps.now ?? (() => new Date());
  const activityStore = createActivityStore(deps.pool);
  const commands = createCommandStore({ pool: deps.pool, producer: deps.producer });
  const activity = createActivityTracker({
    store: activityStore,
    commands,
    directory: deps.directory,
    logger: deps.logger,
    producer: deps.producer,
    policy: options.status ?? DEFAULT_STATUS_POLICY,
    now,
    ...(options.drift ? { drift: options.drift } : {}),
    ...(options.clockWindowMs !== undefined ? { clockWindowMs: options.clockWindowMs } : {}),
    ...(options.flushIntervalMs ? { flushIntervalMs: options.flushIntervalMs } : {}),
    ...(options.sweepIntervalMs ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
  });
  const pipeline = createIngestPipeline({
    bus: deps.bus,
    cache: deps.cache,
    objects: deps.objects,
    activity,
    commands,
    logger: deps.logger,
    producer: deps.producer,
  });
  const quarantine = createQuarantine({ pool: deps.pool, objects: deps.objects, logger: deps.logger, now });
  const isapiPusher = createIsapiCommandPusher({
    commands,
    directory: deps.directory,
    logger: deps.logger,
    now,
    ...(deps.faceImages ? { faceImages: deps.faceImages } : {}),
    ...(options.isapiCommands ? { options: options.isapiCommands } : {}),
  });
  let subscription: Subscription | undefined;
  let expiry: NodeJS.Timeout | undefined;
  let sweeper: { stop(): Promise<void> } | undefined;

  return {
    pipeline,
    quarantine,
    activity,
    activityStore,
    commands,
    protocolDeps: ({ platformId, limits }) => ({
      directory: deps.directory,
      pipeline,
      quarantine,
      cache: deps.cache,
      logger: deps.logger,
      limits,
      platformId,
      now,
    }),
    async start() {
      await activity.start();
      expiry = setInterval(() => {
        commands.expireDue(now()).catch((err: unknown) => deps.logger.warn({ err }, 'command expiry failed'));
      }, options.commandExpiryIntervalMs ?? 30_000);
      expiry.unref();
      sweeper = startQuarantineSweeper({
        quarantine,
        retentionMs: options.quarantineRetentionMs ?? 30 * DAY_MS,
        intervalMs: options.quarantineSweepIntervalMs ?? HOUR_MS,
        logger: deps.logger,
        now,
      });
      isapiPusher.start();
      if (options.consumeCommands !== false)
        subscription = await startCommandConsumer({
          bus: deps.bus,
          commands,
          directory: deps.directory,
          dedupe: deps.cache,
          logger: deps.logger,
          group: options.commandConsumerGroup ?? deps.producer,
          onQueued: (deviceId) => void isapiPusher.push(deviceId),
          ...(options.commandConsumerStart ? { start: options.commandConsumerStart } : {}),
        });
    },
    async stop() {
      if (expiry) clearInterval(expiry);
      await sweeper?.stop();
      await subscription?.close();
      await isapiPusher.stop();
      await activity.stop();
    },
  };
}

export { createIngestPipeline } from './pipeline.ts';
export { createActivityTracker } from './activity.ts';
export { createQuarantine } from '../store/quarantine.ts';
export { createCommandStore } from '../store/commands.ts';
export { createActivityStore } from '../store/activity.ts';
export { startCommandConsumer } from '../consumers/commands.ts';
