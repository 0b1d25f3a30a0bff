/**
 * police-upload's ServiceModule: the GA/T 1400 lower platform towards the police. Its own
 * Postgres holds the upper platforms, session state, the upload outbox and dead letters; the
 * capture consumer fills the outbox; one link per platform registers, keeps alive and drains it;
 * the health reporter publishes upload health. Shutdown: not ready, stop accepting, drain the
 * consumer, stop the links (UnRegister), flush the event relay, close pools.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createEventPublisher } from '@anfang/platform/bus';
import { createCallerVerifier } from '@anfang/platform/auth';
import { createFieldCipher } from '@anfang/platform/crypto';
import { createObjectStore } from '@anfang/platform/objects';
import { createPool, startOutboxRelay } from '@anfang/platform/pg';
import {
  openBus,
  openCache,
  openDatabase,
  type ServiceModule,
  startService,
  serveApis,
} from '@anfang/platform/service';
import { PoliceUploadService, reflectionPackageDefinition } from '@anfang/contracts';
import { loadPoliceUploadConfig } from './config.ts';
import { consumeEvents } from './consumers/events.ts';
import { openSealed } from './domain/sealed.ts';
import { viidRoutes } from './http/viid.ts';
import { createCommandStore } from './store/commands.ts';
import { createDeviceStore } from './store/devices.ts';
import { createHealthStore } from './store/health.ts';
import { createSubscriptionStore } from './store/subscriptions.ts';
import { policeUploadGrpcService } from './grpc/police-upload-service.ts';
import { createOutboxStore } from './store/outbox.ts';
import { createPlatformStore } from './store/platforms.ts';
import { createEntitlementStore } from './store/registry.ts';
import { startHealthReporter } from './upload/health.ts';
import { startLinks } from './upload/links.ts';
import { createUploadMetrics } from './upload/metrics.ts';
import { createPictureReader } from './upload/pictures.ts';
import { createSecretResolver } from './upload/secrets.ts';

const NAME = 'police-upload';

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

const policeUploadService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'GA/T 1400 lower platform: registration, upload outbox, receipts and upload health',
  start(env, options) {
    return startService(
      loadPoliceUploadConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const bus = await openBus(config, resources);
        // Pictures are read where their producers stored them (full bucket keys), never written.
        const images = await createObjectStore(
          config.OBJECTS_KIND === 's3'
            ? {
                kind: 's3',
                url: config.S3_ENDPOINT!,
                accessKey: config.S3_ACCESS_KEY!,
                secretKey: config.S3_SECRET_KEY!,
                region: config.S3_REGION,
                bucket: config.S3_BUCKET!,
              }
            : { kind: 'directory', root: config.OBJECTS_DIR! },
        );
        lifecycle.onShutdown('close-pools', 'objects', () => images.close());

        const relay = startOutboxRelay({ pool, bus, logger });
        lifecycle.onShutdown('flush-producers', 'outbox relay', () => relay.stop());

        const platforms = createPlatformStore(pool);
        const outbox = createOutboxStore(pool);
        const entitlements = createEntitlementStore(pool);
        const metrics = createUploadMetrics();
        const secrets = createSecretResolver(config.POLICE_UPLOAD_SECRETS_DIR, config.POLICE_UPLOAD_SECRETS);
        const cipher = createFieldCipher(config.DATA_KEYS);
        const links = await startLinks({
          platforms,
          // Each claimed batch holds a connection until it is settled, up to two per POST slot
          // (one on the wire, one claimed ahead): a pool of the link's own, so that neither the
          // consumer nor another platform's link waits for them.
          openOutbox: () => {
            const senders = createPool({
              url: config.DATABASE_URL,
              applicationName: `${config.OTEL_SERVICE_NAME} senders`,
              max: 2 * config.POLICE_UPLOAD_CONCURRENCY,
              logger,
            });
            return { outbox: createOutboxStore(senders), close: () => senders.end() };
          },
          images,
          reveal: (body) =>
            openSealed(body, (ciphertext, aad) => {
              try {
                return cipher.decryptString(ciphertext, aad);
              } catch (err) {
                logger.warn({ err }, 'a sealed field does not open: the object goes without it');
                return undefined;
              }
            }),
          metrics,
          secrets,
          options: {
            lowerId: config.POLICE_UPLOAD_LOWER_ID,
            producer: config.OTEL_SERVICE_NAME,
            batchSize: config.POLICE_UPLOAD_BATCH_SIZE,
            concurrency: config.POLICE_UPLOAD_CONCURRENCY,
            requestTimeoutMs: config.POLICE_UPLOAD_REQUEST_TIMEOUT_MS,
            retryBaseMs: config.POLICE_UPLOAD_RETRY_BASE_MS,
            retryMaxMs: config.POLICE_UPLOAD_RETRY_MAX_MS,
            pollMs: config.POLICE_UPLOAD_POLL_MS,
          },
          refreshMs: config.POLICE_UPLOAD_PLATFORM_REFRESH_MS,
          logger,
        });
        // After the consumer has drained (it wakes links), before the relay flushes receipts.
        lifecycle.onShutdown('flush-producers', 'platform links', () => links.stop());

        const commands = createCommandStore(pool, cipher, {
          lowerId: config.POLICE_UPLOAD_LOWER_ID,
        });
        const subscriptions = createSubscriptionStore(pool);
        await subscriptions.refresh();
        const subscriptionRefresh = setInterval(() => {
          subscriptions
            .refresh()
            .catch((err: unknown) => logger.warn({ err }, 'subscriptions not refreshed'));
        }, config.POLICE_UPLOAD_PLATFORM_REFRESH_MS);
        lifecycle.onShutdown('drain-consumers', 'subscriptions', () => clearInterval(subscriptionRefresh));
        const events = await consumeEvents(bus, {
          group: config.OTEL_SERVICE_NAME,
          outbox,
          pictures: createPictureReader({
            images,
            held: () => outbox.enqueuedPictureBytes(),
            budgetBytes: config.POLICE_UPLOAD_ENQUEUED_PICTURE_BYTES,
            logger,
          }),
          entitlements,
          commands,
          subscriptions,
          devices: createDeviceStore(pool),
          platforms: () => links.platforms(),
          wake: (id) => links.wake(id),
          context: { lowerId: config.POLICE_UPLOAD_LOWER_ID },
          logger,
        });
        lifecycle.onShutdown('drain-consumers', 'events', () => events.close());

        const health = startHealthReporter({
          outbox,
          metrics,
          publisher: createEventPublisher({ bus, producer: config.OTEL_SERVICE_NAME }),
          store: createHealthStore(pool),
          replica: `${hostname()}/${randomUUID().slice(0, 8)}`,
          platforms: () => links.platforms(),
          session: async (platformId) => (await platforms.session(platformId)).state,
          intervalMs: config.POLICE_UPLOAD_HEALTH_INTERVAL_MS,
          windowMs: config.POLICE_UPLOAD_HEALTH_WINDOW_MS,
          realTimeBoundMs: config.POLICE_UPLOAD_REAL_TIME_BOUND_MS,
          logger,
        });
        lifecycle.onShutdown('drain-consumers', 'health', () => health.stop());

        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        return serveApis(config, resources, {
          callers,
          routes: viidRoutes({
            platforms,
            secrets,
            commands,
            subscriptions,
            cache: openCache(config, NAME, resources),
            lowerId: config.POLICE_UPLOAD_LOWER_ID,
            producer: config.OTEL_SERVICE_NAME,
            resultWaitMs: config.POLICE_UPLOAD_COMMAND_RESULT_WAIT_MS,
            logger,
          }),
          services: [
            policeUploadGrpcService({
              verifier: callers,
              platforms,
              entitlements,
              outbox,
              liveState: (id) => links.state(id),
              changed: () => links.refresh(),
            }),
          ],
          reflection: reflectionPackageDefinition([PoliceUploadService.name]),
        });
      },
    );
  },
};

export default policeUploadService;
