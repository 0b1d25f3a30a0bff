/**
 * identity's ServiceModule: the 一标三实 registry and access control (gRPC), the device event
 * consumer that decides on every capture and presented credential, and the outbox relay that
 * publishes access records, access alarms and watchlist hits. Wired in the platform's order —
 * telemetry first, then stores and migrations, consumers, servers — with shutdown steps in
 * phase order.
 */
import { hkdfSync } from 'node:crypto';
import { IdentityService, reflectionPackageDefinition } from '@anfang/contracts';
import { createCallerVerifier } from '@anfang/platform/auth';
import { createBlindIndex, createFieldCipher } from '@anfang/platform/crypto';
import { startOutboxRelay } from '@anfang/platform/pg';
import {
  openBus,
  openCache,
  openDatabase,
  type ServiceModule,
  serveApis,
  startPeriodic,
  startService,
} from '@anfang/platform/service';
import { createAuthorizer } from './access/authorizer.ts';
import { loadIdentityConfig, type Config } from './config.ts';
import { deviceEventHandlers } from './consumers/device-events.ts';
import { startConsumers } from './consumers/index.ts';
import { policeCommandHandler } from './consumers/police-commands.ts';
import { createQrSigner } from './domain/credentials.ts';
import { identityGrpcService } from './grpc/identity-service.ts';
import { startVisitorRetention } from './store/retention.ts';
import { createAccessSnapshots, loadPresence } from './store/access.ts';
import { createGeneration } from './store/generation.ts';
import { createAccessRecorder } from './store/records.ts';
import { createAccessRecordStore, pruneAccessRecords } from './store/access-records.ts';
import { createRegistryStore } from './store/registry.ts';
import { createAccessListSync } from './store/access-lists.ts';

const NAME = 'identity';

/** QR keys default to one derived from the blind-index key: one secret fewer to install. */
function qrKeys(config: Config): string[] {
  if (config.IDENTITY_QR_KEYS) return config.IDENTITY_QR_KEYS;
  const derived = hkdfSync('sha256', config.BLIND_INDEX_KEY, Buffer.alloc(0), 'anfang identity qr', 32);
  return [Buffer.from(derived).toString('base64url')];
}

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

const identityService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'the 一标三实 registry, credentials, grants, visitors, watchlists and access decisions',
  start(env, options) {
    return startService(
      loadIdentityConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const bus = await openBus(config, resources);
        const cache = openCache(config, NAME, resources);
        const cipher = createFieldCipher(config.DATA_KEYS);
        const blindIndex = createBlindIndex(config.BLIND_INDEX_KEY);
        const qr = createQrSigner(qrKeys(config), config.IDENTITY_QR_TTL_SECONDS);
        const generation = createGeneration(cache);

        // The relay publishes access records, alarms and watchlist hits; it stops before the bus.
        const relay = startOutboxRelay({ pool, bus, logger });
        lifecycle.onShutdown('flush-producers', 'outbox relay', () => relay.stop());

        // Readers' offline allow lists follow every access change (a change here wakes the sync).
        const accessLists = createAccessListSync({
          pool,
          cipher,
          blindIndex,
          producer: config.OTEL_SERVICE_NAME,
          maxEntriesPerCommand: config.IDENTITY_ACCESS_LIST_CHUNK,
        });
        const listSync = startPeriodic(
          'access-list sync',
          config.IDENTITY_ACCESS_LIST_SYNC_MS,
          (signal) => accessLists.run(new Date(), signal),
          logger,
          0,
        );
        lifecycle.onShutdown('drain-consumers', 'access-list sync', () => listSync.stop());
        const listSafetyNet = startPeriodic(
          'access-list full sync',
          config.IDENTITY_ACCESS_LIST_FULL_SYNC_MS,
          async () => {
            await accessLists.markAll();
            listSync.wake();
          },
          logger,
        );
        lifecycle.onShutdown('drain-consumers', 'access-list full sync', () => listSafetyNet.stop());
        const registry = createRegistryStore({
          pool,
          cipher,
          blindIndex,
          generation,
          producer: config.OTEL_SERVICE_NAME,
          afterAccessChange: () => listSync.wake(),
        });
        const snapshots = createAccessSnapshots({
          pool,
          cache,
          generation,
          ttlMs: config.IDENTITY_CACHE_TTL_MS,
          localEntries: config.IDENTITY_LOCAL_CACHE_ENTRIES,
        });
        const authorizer = createAuthorizer({
          snapshots,
          blindIndex,
          qr,
          utcOffsetMinutes: config.IDENTITY_UTC_OFFSET_MINUTES,
          presence: (personIds, doorGroupIds, notBefore) =>
            loadPresence(pool, personIds, doorGroupIds, notBefore),
          antiPassbackResetMs: config.IDENTITY_ANTI_PASSBACK_RESET_HOURS * 3_600_000,
        });
        const recorder = createAccessRecorder({
          pool,
          producer: config.OTEL_SERVICE_NAME,
          failureThreshold: config.IDENTITY_FAILURE_ALARM_THRESHOLD,
        });

        const subscription = await startConsumers({
          bus,
          group: config.OTEL_SERVICE_NAME,
          devices: deviceEventHandlers({ group: config.OTEL_SERVICE_NAME, authorizer, recorder }),
          police: policeCommandHandler({
            pool,
            registry,
            group: config.OTEL_SERVICE_NAME,
            producer: config.OTEL_SERVICE_NAME,
            logger,
          }),
          commandLost: (commandId) => accessLists.commandLost(commandId),
          logger,
        });
        lifecycle.onShutdown('drain-consumers', 'consumers', () => subscription.close());

        const retention = startVisitorRetention({
          registry,
          retentionDays: config.IDENTITY_VISITOR_RETENTION_DAYS,
          intervalMs: config.IDENTITY_RETENTION_SWEEP_MS,
          logger,
        });
        lifecycle.onShutdown('drain-consumers', 'visitor retention', () => retention.stop());

        const accessRecords = createAccessRecordStore({ pool, cipher });
        const recordRetention = startPeriodic(
          'access-record retention',
          config.IDENTITY_RETENTION_SWEEP_MS,
          (signal) =>
            pruneAccessRecords(
              accessRecords,
              new Date(Date.now() - config.IDENTITY_ACCESS_RECORD_RETENTION_DAYS * 86_400_000),
              signal,
            ),
          logger,
        );
        lifecycle.onShutdown('drain-consumers', 'access-record retention', () => recordRetention.stop());

        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        const ports = await serveApis(config, resources, {
          callers,
          services: [
            identityGrpcService({
              registry,
              authorizer,
              recorder,
              accessRecords,
              verifier: callers,
              qr,
              permitReminderDays: config.IDENTITY_PERMIT_REMINDER_DAYS,
              logger,
            }),
          ],
          reflection: reflectionPackageDefinition([IdentityService.name]),
        });

        return ports;
      },
    );
  },
};

export default identityService;
