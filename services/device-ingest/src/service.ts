/**
 * device-ingest's ServiceModule: the device registry (gRPC), the in-memory device directory,
 * the ingest core and the device listener (every device protocol), over its own Postgres, the
 * bus, the cache and the object store. Wired in the platform's order — telemetry first, then
 * stores and migrations, consumers, servers — with shutdown steps in phase order. Images are
 * stored under the bucket prefix `device-ingest/` and published with it (full bucket keys).
 */
import { reflectionPackageDefinition, DeviceRegistryService } from '@anfang/contracts';
import { createCallerVerifier } from '@anfang/platform/auth';
import type { Bus } from '@anfang/platform/bus';
import { createFieldCipher } from '@anfang/platform/crypto';
import { directoryObjectsHandler, type DirectoryObjectStore } from '@anfang/platform/objects';
import { startOutboxRelay } from '@anfang/platform/pg';
import {
  openBus,
  openCache,
  openDatabase,
  openObjectStore,
  type ServiceModule,
  startService,
  serveApis,
} from '@anfang/platform/service';
import { loadDeviceIngestConfig } from './config.ts';
import { startDeviceDirectory } from './devices/directory.ts';
import type { StatusPolicy } from './domain/status.ts';
import { registryGrpcService } from './grpc/registry-service.ts';
import { createDeviceListener } from './http/device-listener.ts';
import { deviceStatusRoutes } from './http/status-routes.ts';
import { createIngestCore } from './ingest/index.ts';
import { registerDeviceStatusMetrics } from './ingest/status-metrics.ts';
import { grantedFaceImages } from './push/face-images.ts';
import { createRegistryStore } from './store/registry.ts';

const NAME = 'device-ingest';

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

const deviceIngestService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'device registry and every device protocol (GA/T 1400, ISAPI, ITSAPI, generic signed HTTP)',
  start(env, options) {
    return startService(
      loadDeviceIngestConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const cipher = createFieldCipher(config.DATA_KEYS);
        const bus: Bus = await openBus(config, resources);
        const cache = openCache(config, NAME, resources);
        const objects = await openObjectStore(
          config,
          {
            prefix: NAME,
            createBucket: config.OBJECTS_CREATE_BUCKET,
            signingSecret: config.OBJECTS_SIGNING_SECRET,
            publicUrl:
              config.OBJECTS_PUBLIC_URL ??
              (config.OBJECTS_KIND === 'directory'
                ? `http://127.0.0.1:${config.HTTP_PORT}/objects`
                : undefined),
          },
          resources,
        );

        // Read-only use: the owners' enrolment faces, granted by the install (face-images.ts).
        const faceSources = await Promise.all(
          config.ENROLMENT_FACE_SOURCES.map((owner) =>
            openObjectStore(config, { prefix: owner, createBucket: false, granted: true }, resources),
          ),
        );

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
        lifecycle.onShutdown('flush-producers', 'outbox relay', () => relay.stop());

        const policy: StatusPolicy = {
          heartbeatIntervalMs: config.DEVICE_HEARTBEAT_INTERVAL_MS,
          allowedMisses: config.DEVICE_HEARTBEAT_MISSES,
        };
        const ingest = createIngestCore({
          pool,
          bus,
          cache,
          objects,
          faceImages: grantedFaceImages(faceSources),
          directory,
          logger,
          producer: config.OTEL_SERVICE_NAME,
          options: {
            status: policy,
            clockWindowMs: config.DEVICE_CLOCK_WINDOW_MS,
            quarantineRetentionMs: config.QUARANTINE_RETENTION_DAYS * 24 * 3_600_000,
            isapiCommands: {
              port: config.ISAPI_COMMAND_PORT,
              scheme: config.ISAPI_COMMAND_SCHEME,
              username: config.ISAPI_COMMAND_USER,
              timeoutMs: config.ISAPI_COMMAND_TIMEOUT_MS,
              retryIntervalMs: config.ISAPI_COMMAND_RETRY_MS,
            },
          },
        });
        await ingest.start();
        const statusMetrics = registerDeviceStatusMetrics(ingest.activityStore, logger);
        lifecycle.onShutdown('drain-consumers', 'status metrics', () => statusMetrics.close());
        lifecycle.onShutdown('drain-consumers', 'ingest', () => ingest.stop());

        const registry = createRegistryStore({ pool, cipher, producer: config.OTEL_SERVICE_NAME });
        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        const ports = await serveApis(config, resources, {
          callers,
          services: [
            registryGrpcService({
              registry,
              activity: ingest.activityStore,
              policy,
              logger,
              callers: callers,
            }),
          ],
          reflection: reflectionPackageDefinition([DeviceRegistryService.name]),
          routes: (router) => {
            deviceStatusRoutes({ registry, activity: ingest.activityStore, policy })(router);
            if (objects.kind === 'directory')
              router.use('/objects', directoryObjectsHandler(objects as DirectoryObjectStore));
          },
        });

        const listener = await createDeviceListener(
          ingest.protocolDeps({
            platformId: config.GAT1400_PLATFORM_ID,
            limits: {
              maxBodyBytes: config.DEVICE_MAX_BODY_BYTES,
              replayWindowMs: config.DEVICE_REPLAY_WINDOW_MS,
            },
          }),
          {
            port: config.DEVICE_HTTP_PORT,
            admission: {
              maxRequests: config.DEVICE_MAX_IN_FLIGHT,
              maxBytes: config.DEVICE_MAX_IN_FLIGHT_BYTES,
              maxProcessing: config.DEVICE_MAX_PROCESSING,
              maxProcessingBytes: config.DEVICE_MAX_PROCESSING_BYTES,
            },
          },
        );
        lifecycle.onShutdown('stop-accepting', 'device listener', () => listener.close());

        return { ...ports, device: listener.port };
      },
    );
  },
};

export default deviceIngestService;
