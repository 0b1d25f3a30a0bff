/**
 * video-index started as a module against the real local infrastructure: its own test database
 * and bucket, Kafka with the catalogue topics, signed callers, a stand-in for device-ingest that
 * writes images to the bucket (under device-ingest/captures/) and publishes their events, and the
 * service's own stores opened beside it for what the tests drive directly with their own clock
 * (the sweep, reconciliation).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { allTopics, anfang, topics, VideoIndexService } from '@anfang/contracts';
import { mintCallerMetadata, type Caller } from '@anfang/platform/auth';
import { createBus, createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import { createGrpcClient, type GrpcClient } from '@anfang/platform/grpc';
import { createS3ObjectStore, type ObjectStore } from '@anfang/platform/objects';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestBucket,
  createTestDatabase,
  ensureTopics,
  infraEnv,
  serviceTestEnv,
  TEST_CALLER_TOKEN_KEY,
  uniqueName,
} from '@anfang/testing';
import videoIndexService from '../src/service.ts';
import { createHoldStore } from '../src/store/holds.ts';
import { createMediaStore } from '../src/store/media.ts';
import { createPartitions } from '../src/store/partitions.ts';
import { createReconciler, type Reconciler } from '../src/store/reconciliation.ts';
import { createRetentionStore, type RetentionStore } from '../src/store/retention.ts';

export type VideoClient = GrpcClient<typeof VideoIndexService.definition>;
type Metadata = Awaited<ReturnType<typeof mintCallerMetadata>>;

export interface Harness {
  readonly sql: pg.Pool;
  readonly client: VideoClient;
  readonly bus: Bus;
  readonly compoundId: string;
  readonly serviceName: string;
  /** device-ingest's folder of the test bucket (keys relative to `device-ingest/`). */
  readonly images: ObjectStore;
  readonly retention: RetentionStore;
  readonly reconciler: Reconciler;
  readonly manager: Metadata;
  readonly police: Metadata;
  readonly admin: Metadata;
  readonly deviceIngest: EventPublisher;
  readonly perimeterAlarms: EventPublisher;
  metadataFor(caller: Caller): Promise<Metadata>;
  /** Writes an image as device-ingest does; returns its full bucket key. */
  putImage(input: { deviceId: string; at: Date; body?: Buffer; eventId?: string }): Promise<string>;
  /** Publishes a face capture carrying these images; returns its event id. */
  faceCaptured(input: { deviceId: string; at: Date; keys: string[]; eventId?: string }): Promise<string>;
  /** Index rows of a key. */
  rows(objectKey: string): Promise<number>;
  close(): Promise<void>;
}

export async function startHarness(label: string, extra: Record<string, string> = {}): Promise<Harness> {
  const infra = infraEnv();
  const db = await createTestDatabase(label);
  const bucket = await createTestBucket(label);
  await ensureTopics(allTopics());
  const compoundId = `37030300${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const serviceName = uniqueName('video-index');
  const bus = await createBus({ kind: 'kafka', brokers: infra.kafkaBrokers, clientId: uniqueName(label) });
  const deviceIngest = createEventPublisher({ bus, producer: 'device-ingest' });
  const perimeterAlarms = createEventPublisher({ bus, producer: 'perimeter-alarms' });

  const env = serviceTestEnv({
    service: serviceName,
    databaseUrl: db.url,
    bucket: bucket.bucket,
    extra: {
      // Tests drive the sweep and reconciliation themselves, with their own clock.
      VIDEO_SWEEP_INTERVAL_MS: String(3_600_000),
      VIDEO_RECONCILE_INTERVAL_MS: String(3_600_000),
      VIDEO_ENRICH_INTERVAL_MS: '200',
      ...extra,
    },
  });
  const service: RunningService = await videoIndexService.start(env, { ownsProcess: false });
  const client: VideoClient = createGrpcClient(
    VideoIndexService.definition,
    `127.0.0.1:${service.ports.grpc}`,
    {
      deadlineMs: 30_000,
    },
  );
  const metadataFor = (caller: Caller) =>
    mintCallerMetadata(caller, TEST_CALLER_TOKEN_KEY, { ttlSeconds: 600 });
  const compounds = [compoundId];
  const manager = await metadataFor({ subject: 'manager-1', role: 'community_manager', compounds });
  const police = await metadataFor({
    subject: 'officer-9',
    role: 'police',
    compounds,
    purpose: 'case 2026-17',
  });
  const admin = await metadataFor({ subject: 'district-1', role: 'district_admin', compounds: 'all' });

  const sql = db.pool(4);
  const images = await createS3ObjectStore({
    url: infra.s3.endpoint,
    accessKey: infra.s3.accessKey,
    secretKey: infra.s3.secretKey,
    region: infra.s3.region,
    bucket: bucket.bucket,
    prefix: 'device-ingest/',
  });
  const partitions = createPartitions(sql);
  const media = createMediaStore(sql, partitions);
  const holds = createHoldStore(sql);
  const retention = createRetentionStore({
    pool: sql,
    objects: images,
    partitions,
    defaults: { faces: 30, vehicles: 30, alarms: 30, general: 30 },
  });
  const reconciler = createReconciler({
    pool: sql,
    objects: images,
    media,
    holds,
    folder: 'captures/',
    graceMs: 0,
    orphanPolicy: (extra.VIDEO_ORPHAN_OBJECT_POLICY as 'index' | 'delete' | undefined) ?? 'index',
  });

  return {
    sql,
    client,
    bus,
    compoundId,
    serviceName,
    images,
    retention,
    reconciler,
    manager,
    police,
    admin,
    deviceIngest,
    perimeterAlarms,
    metadataFor,
    async putImage(input) {
      const key = `captures/${compoundId}/${input.at.toISOString().slice(0, 10)}/${input.deviceId}/${input.eventId ?? randomUUID()}-0.jpg`;
      await images.put(key, input.body ?? Buffer.from(`jpeg ${key}`), { contentType: 'image/jpeg' });
      return images.prefix + key;
    },
    async faceCaptured(input) {
      const eventId = input.eventId ?? randomUUID();
      await deviceIngest.publish(
        topics.deviceFaceCaptured,
        {
          device: { deviceId: input.deviceId, name: '东门人脸抓拍' },
          sourceObjectId: eventId,
          liveness: anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE,
          images: input.keys.map((objectKey) => ({
            objectKey,
            contentType: 'image/jpeg',
            kind: anfang.common.v1.ImageKind.IMAGE_KIND_FACE,
          })),
        },
        { eventId, compoundId, occurredAt: input.at.getTime() },
      );
      return eventId;
    },
    async rows(objectKey) {
      const { rows } = await sql.query('SELECT 1 FROM media_index WHERE object_key = $1', [objectKey]);
      return rows.length;
    },
    async close() {
      client.close();
      await service.stop('test done');
      await images.close();
      await bus.close();
      await db.drop();
      await bucket.drop();
    },
  };
}

export const days = (n: number) => n * 86_400_000;
