/**
 * video-index's ServiceModule: cameras, the image index, holds and retention over its own
 * Postgres; the governed folder of the object store (device-ingest's images); one consumer over
 * every topic that carries images, holds or registry changes; the sweep, size enricher and
 * reconciliation jobs; VideoIndexService over gRPC; storage gauges. Wired telemetry first, then
 * the database, store and bus, the consumer and jobs, the servers; shutdown in phase order.
 */
import { reflectionPackageDefinition, VideoIndexService } from '@anfang/contracts';
import { createCallerVerifier } from '@anfang/platform/auth';
import { createEventPublisher } from '@anfang/platform/bus';
import type { ObjectStore } from '@anfang/platform/objects';
import type { Logger } from '@anfang/platform/log';
import {
  openBus,
  openDatabase,
  openObjectStore,
  type ServiceModule,
  startPeriodic,
  startService,
  serveApis,
} from '@anfang/platform/service';
import { loadVideoIndexConfig, type Config } from './config.ts';
import { consumeMediaEvents } from './consumers/media-events.ts';
import { videoIndexGrpcService } from './grpc/video-index-service.ts';
import { enrichSizes } from './jobs/enrich.ts';
import {
  noticingCameraChanges,
  noticingPolicyChanges,
  startStorageEvidence,
} from './jobs/storage-evidence.ts';
import { registerVideoMetrics } from './metrics.ts';
import { createCameraStore } from './store/cameras.ts';
import { createHoldStore } from './store/holds.ts';
import { createIndexWriter } from './store/index-writer.ts';
import { createMediaStore } from './store/media.ts';
import { createPartitions } from './store/partitions.ts';
import { createReconciler } from './store/reconciliation.ts';
import { createRetentionStore, type RetentionStore } from './store/retention.ts';

const NAME = 'video-index';

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

/** Margin of the bucket rule over the longest retention: the sweep always acts first. */
const LIFECYCLE_MARGIN_DAYS = 30;

/**
 * The bucket lifecycle rule, re-installed when the longest retention changes: a back-stop for
 * objects the index never learned of. Returns whether the store took it.
 */
function lifecycleKeeper(objects: ObjectStore, retention: RetentionStore, config: Config, logger: Logger) {
  let installedDays: number | undefined;
  let installed = false;
  return {
    installed: () => installed,
    async refresh(): Promise<void> {
      if (config.VIDEO_LIFECYCLE_DAYS === 0) return;
      const longest = Math.max(...(await retention.policies()).map((p) => p.days));
      const days = Math.max(config.VIDEO_LIFECYCLE_DAYS, longest + LIFECYCLE_MARGIN_DAYS);
      if (days === installedDays) return;
      installed = await objects.setLifecycle([
        { id: 'captures', prefix: config.VIDEO_CAPTURES_FOLDER, expireAfterDays: days },
      ]);
      installedDays = days;
      logger.info(
        { expireAfterDays: days, installed },
        installed
          ? 'bucket lifecycle rule installed (back-stop behind the sweep)'
          : 'the object store has no bucket lifecycle: the sweep alone enforces retention',
      );
    },
  };
}

const videoIndexService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'video index: cameras, image index and search, retention, legal holds, reconciliation',
  start(env, options) {
    return startService(
      loadVideoIndexConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const objects = await openObjectStore(
          config,
          {
            prefix: config.VIDEO_MEDIA_PREFIX,
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
        const bus = await openBus(config, resources);

        const partitions = createPartitions(pool);
        const media = createMediaStore(pool, partitions);
        const holds = createHoldStore(pool);
        const policies = createRetentionStore({
          pool,
          objects,
          partitions,
          defaults: {
            faces: config.VIDEO_RETENTION_FACES_DAYS,
            vehicles: config.VIDEO_RETENTION_VEHICLES_DAYS,
            alarms: config.VIDEO_RETENTION_ALARMS_DAYS,
            general: config.VIDEO_RETENTION_GENERAL_DAYS,
          },
        });
        const evidence = startStorageEvidence({
          pool,
          retention: policies,
          publisher: createEventPublisher({ bus, producer: config.OTEL_SERVICE_NAME }),
          intervalMs: config.VIDEO_STORAGE_EVIDENCE_INTERVAL_MS,
          debounceMs: config.VIDEO_STORAGE_EVIDENCE_DEBOUNCE_MS,
          logger,
        });
        lifecycle.onShutdown('flush-producers', 'storage evidence', () => evidence.stop());
        const cameras = noticingCameraChanges(createCameraStore(pool), evidence.changed);
        const retention = noticingPolicyChanges(policies, evidence.changed);
        const reconciler = createReconciler({
          pool,
          objects,
          media,
          holds,
          folder: config.VIDEO_CAPTURES_FOLDER,
          graceMs: config.VIDEO_RECONCILE_GRACE_SECONDS * 1000,
          orphanPolicy: config.VIDEO_ORPHAN_OBJECT_POLICY,
        });
        const counters = registerVideoMetrics({ media, cameras }, logger);
        lifecycle.onShutdown('drain-consumers', 'video metrics', () => counters.close());

        const writer = createIndexWriter(async (rows) => counters.indexed(await media.write(rows)), {
          maxRows: config.VIDEO_INDEX_BATCH_ROWS,
          lingerMs: config.VIDEO_INDEX_LINGER_MS,
        });
        const subscription = await consumeMediaEvents(
          bus,
          { writer, holds, cameras, keyPrefix: objects.prefix, foreignKeys: counters.foreignKeys },
          { group: config.OTEL_SERVICE_NAME, concurrency: config.VIDEO_CONSUMER_CONCURRENCY, logger },
        );
        lifecycle.onShutdown('drain-consumers', 'media events', async () => {
          await subscription.close();
          await writer.close();
        });

        const keeper = lifecycleKeeper(objects, retention, config, logger);
        const sweep = startPeriodic(
          'retention sweep',
          config.VIDEO_SWEEP_INTERVAL_MS,
          async (signal) => {
            await keeper.refresh();
            const result = await retention
              .sweep(new Date(), {
                batch: config.VIDEO_SWEEP_BATCH,
                pauseMs: config.VIDEO_SWEEP_PAUSE_MS,
                signal,
              })
              .catch((err: unknown) => {
                evidence.swept(false);
                throw err;
              });
            evidence.swept(true);
            counters.deleted(result.deleted, 'retention');
            if (result.deleted > 0 || result.droppedPartitions.length > 0)
              logger.info(result, 'retention sweep');
            return result;
          },
          logger,
          // Soon after start: a replica that was down must not leave expired images waiting.
          Math.min(config.VIDEO_SWEEP_INTERVAL_MS, 10_000),
        );
        lifecycle.onShutdown('drain-consumers', 'retention sweep', () => sweep.stop());
        const enrich = startPeriodic(
          'size enricher',
          config.VIDEO_ENRICH_INTERVAL_MS,
          (signal) => enrichSizes(media, objects, signal),
          logger,
        );
        lifecycle.onShutdown('drain-consumers', 'size enricher', () => enrich.stop());
        const reconcile = startPeriodic(
          'reconciliation',
          config.VIDEO_RECONCILE_INTERVAL_MS,
          async () => {
            const report = await reconciler.run(new Date());
            counters.deleted(report.objectsDeleted, 'orphan_object');
            counters.deleted(report.rowsRemoved, 'missing_object');
            logger.info(report, 'reconciliation');
          },
          logger,
        );
        lifecycle.onShutdown('drain-consumers', 'reconciliation', () => reconcile.stop());

        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        return serveApis(config, resources, {
          callers,
          services: [
            videoIndexGrpcService({
              verifier: callers,
              cameras,
              media,
              holds,
              retention,
              reconciler,
              objects,
              urlSeconds: config.VIDEO_URL_SECONDS,
              lifecycleInstalled: keeper.installed,
              logger,
            }),
          ],
          reflection: reflectionPackageDefinition([VideoIndexService.name]),
        });
      },
    );
  },
};

export default videoIndexService;
