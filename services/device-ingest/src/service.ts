/**
 * device-ingest's ServiceModule: the device registry (gRPC), the in-memory device directory,
 * the ingest core and the device listener (every device protocol), over its own Postgres, the
 * bus, the cache and the object store. Wired in the platform's order — telemetry first, then
 * stores and migrations, consumers, servers — with shutdown steps in phase order. Images are
 * stored under the bucket prefix `device-ingest/` and published with it (full bucket keys).
 */
import { reflectionPackageDefinition, DeviceRegistryService } from '@anfang/contracts';
import { createBus, type Bus } from '@anfang/platform/bus';
import { createCache } from '@anfang/platform/cache';
import { createFieldCipher } from '@anfang/platform/crypto';
import { createGrpcServer } from '@anfang/platform/grpc';
import { createHttpApp, listen } from '@anfang/platform/http';
import { createLogger } from '@anfang/platform/log';
import {
  createObjectStore,
  directoryObjectsHandler,
  type DirectoryObjectStore,
} from '@anfang/platform/objects';
import { check, createPool, migrate, startOutboxRelay } from '@anfang/platform/pg';
import { serviceLifecycle, type ServiceModule } from '@anfang/platform/service';
import { startTelemetry, telemetryOptions } from '@anfang/platform/telemetry';
import { loadDeviceIngestConfig, type Config } from './config.ts';
import { startDeviceDirectory } from './devices/directory.ts';
import type { StatusPolicy } from './domain/status.ts';
import { registryGrpcService } from './grpc/registry-service.ts';
import { createDeviceListener } from './http/device-listener.ts';
import { deviceStatusRoutes } from './http/status-routes.ts';
import { createIngestCore } from './ingest/index.ts';
import { createRegistryStore } from './store/registry.ts';

const NAME = 'device-ingest';

function busConfig(config: Config, logger: ReturnType<typeof createLogger>): Parameters<typeof createBus>[0] {
  if (config.BUS_KIND === 'embedded')
    return { kind: 'embedded', connectionString: config.BUS_DATABASE_URL!, logger };
  return {
    kind: 'kafka',
    brokers: config.KAFKA_BROKERS!,
    clientId: config.KAFKA_CLIENT_ID ?? config.OTEL_SERVICE_NAME,
    logger,
    ssl: config.KAFKA_SSL,
    ...(config.KAFKA_SASL_MECHANISM
      ? {
          sasl: {
            mechanism: config.KAFKA_SASL_MECHANISM,
            username: config.KAFKA_SASL_USERNAME!,
            password: config.KAFKA_SASL_PASSWORD!,
          },
        }
      : {}),
  };
}

const deviceIngestService: ServiceModule = {
  name: NAME,
  description: 'device registry and every device protocol (GA/T 1400, ISAPI, ITSAPI, generic signed HTTP)',
  async start(env, options) {
    const config = loadDeviceIngestConfig(env, options.ownsProcess);
    const telemetry = startTelemetry(telemetryOptions(config));
    const logger = createLogger({ service: config.OTEL_SERVICE_NAME, level: config.LOG_LEVEL });
    const lifecycle = serviceLifecycle({ ...options, logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
    lifecycle.onShutdown('flush-telemetry', 'telemetry', () => telemetry.shutdown());

    try {
      const pool = createPool({
        url: config.DATABASE_URL,
        applicationName: config.OTEL_SERVICE_NAME,
        max: config.DATABASE_POOL_MAX,
        logger,
      });
      lifecycle.onShutdown('close-pools', 'postgres', () => pool.end());
      lifecycle.readiness.addCheck('postgres', () => check(pool));
      await migrate(pool, { dir: new URL('./store/migrations', import.meta.url) });
      const cipher = createFieldCipher(config.DATA_KEYS);

      const bus: Bus = await createBus(busConfig(config, logger));
      lifecycle.readiness.addCheck('bus', () => bus.check());

      const cache = createCache(
        config.CACHE_KIND === 'redis'
          ? { kind: 'redis', url: config.REDIS_URL!, keyPrefix: NAME, logger }
          : { kind: 'memory', keyPrefix: NAME },
      );
      lifecycle.onShutdown('close-pools', 'cache', () => cache.close());
      lifecycle.readiness.addCheck('cache', () => cache.check());

      const objects = await createObjectStore(
        config.OBJECTS_KIND === 's3'
          ? {
              kind: 's3',
              url: config.S3_ENDPOINT!,
              accessKey: config.S3_ACCESS_KEY!,
              secretKey: config.S3_SECRET_KEY!,
              region: config.S3_REGION,
              bucket: config.S3_BUCKET!,
              prefix: `${NAME}/`,
              createBucket: config.OBJECTS_CREATE_BUCKET,
              ...(config.OBJECTS_PUBLIC_URL ? { publicUrl: config.OBJECTS_PUBLIC_URL } : {}),
            }
          : {
              kind: 'directory',
              root: config.OBJECTS_DIR!,
              prefix: NAME,
              ...(config.OBJECTS_SIGNING_SECRET ? { signingSecret: config.OBJECTS_SIGNING_SECRET } : {}),
              publicBaseUrl: config.OBJECTS_PUBLIC_URL ?? `http://127.0.0.1:${config.HTTP_PORT}/objects`,
            },
      );
      lifecycle.onShutdown('close-pools', 'objects', () => objects.close());
      lifecycle.readiness.addCheck('objects', () => objects.check());

      const directory = await startDeviceDirectory({
        pool,
        databaseUrl: config.DATABASE_URL,
        cipher,
        logger,
        refreshIntervalMs: config.DEVICE_DIRECTORY_REFRESH_MS,
      });
      lifecycle.onShutdown('drain-consumers', 'device directory', () => directory.close());

      // The relay publishes registry, status, drift and command events; it stops before the bus.
      const relay = startOutboxRelay({ pool, bus, logger });
      lifecycle.onShutdown('flush-producers', 'outbox relay and bus', async () => {
        await relay.stop();
        await bus.close();
      });

      const policy: StatusPolicy = {
        heartbeatIntervalMs: config.DEVICE_HEARTBEAT_INTERVAL_MS,
        allowedMisses: config.DEVICE_HEARTBEAT_MISSES,
      };
      const ingest = createIngestCore({
        pool,
        bus,
        cache,
        objects,
        directory,
        logger,
        producer: config.OTEL_SERVICE_NAME,
        options: { status: policy },
      });
      await ingest.start();
      lifecycle.onShutdown('drain-consumers', 'ingest', () => ingest.stop());

      const registry = createRegistryStore({ pool, cipher, producer: config.OTEL_SERVICE_NAME });
      const grpc = await createGrpcServer({
        services: [registryGrpcService({ registry, activity: ingest.activityStore, policy, logger })],
        port: config.GRPC_PORT,
        logger,
        readiness: lifecycle.readiness,
        reflection: reflectionPackageDefinition([DeviceRegistryService.name]),
      });
      lifecycle.onShutdown('stop-accepting', 'grpc', () => grpc.shutdown());

      const http = await listen(
        createHttpApp({
          logger,
          readiness: lifecycle.readiness,
          routes: (router) => {
            deviceStatusRoutes({ registry, activity: ingest.activityStore, policy })(router);
            if (objects.kind === 'directory')
              router.use('/objects', directoryObjectsHandler(objects as DirectoryObjectStore));
          },
        }),
        config.HTTP_PORT,
      );
      lifecycle.onShutdown('stop-accepting', 'http', () => http.close());

      const listener = await createDeviceListener(
        ingest.protocolDeps({
          platformId: config.GAT1400_PLATFORM_ID,
          limits: {
            maxBodyBytes: config.DEVICE_MAX_BODY_BYTES,
            replayWindowMs: config.DEVICE_REPLAY_WINDOW_MS,
          },
        }),
        { port: config.DEVICE_HTTP_PORT },
      );
      lifecycle.onShutdown('stop-accepting', 'device listener', () => listener.close());

      lifecycle.markReady();
      logger.info(
        { grpcPort: grpc.port, httpPort: http.port, devicePort: listener.port, devices: directory.size },
        'device-ingest ready',
      );
      return {
        ports: { grpc: grpc.port, http: http.port, device: listener.port },
        ready: () => lifecycle.readiness.serving,
        stop: async (reason) => {
          await lifecycle.shutdown(reason ?? 'stop');
        },
      };
    } catch (error) {
      logger.error({ err: error }, 'device-ingest failed to start');
      await lifecycle.shutdown('start failed', 1).catch(() => undefined);
      throw error;
    }
  },
};

export default deviceIngestService;
