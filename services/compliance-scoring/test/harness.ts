/**
 * The service module started against the real infrastructure (its own database, Kafka, a
 * consumer group of its own so parallel test files do not share partitions), a gRPC client, a
 * caller-token minter, a publisher standing in for device-ingest, police-upload, video-index and
 * patrol, and a
 * recorder of the level-changed events of this file's compounds.
 */
import { randomBytes } from 'node:crypto';
import { allTopics, anfang, ComplianceService, topics } from '@anfang/contracts';
import { mintCallerMetadata, type Caller } from '@anfang/platform/auth';
import { createBus, createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import { createGrpcClient, type GrpcClient, type Metadata } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestDatabase,
  infraEnv,
  serviceTestEnv,
  uniqueName,
  watchTopics,
  type TestDatabase,
} from '@anfang/testing';
import complianceScoringService from '../src/service.ts';

export type Client = GrpcClient<typeof ComplianceService.definition>;
export type LevelChanged = anfang.compliance.v1.ComplianceLevelChanged;

export interface Harness {
  readonly client: Client;
  readonly bus: Bus;
  readonly db: TestDatabase;
  /** Publishes as the named producer would. */
  publisher(producer: 'device-ingest' | 'police-upload' | 'video-index' | 'patrol'): EventPublisher;
  /** Metadata of a caller token (district_admin over every compound unless overridden). */
  as(caller?: Partial<Caller>): Promise<{ metadata: Metadata }>;
  /** Level-changed events seen so far for a compound, in order. */
  levelChanges(compoundId: string): LevelChanged[];
  /** A compound id no other test file uses. */
  newCompoundId(): string;
  close(): Promise<void>;
}

export async function startHarness(label: string, env: Record<string, string> = {}): Promise<Harness> {
  const infra = infraEnv();
  const key = randomBytes(32).toString('base64url');
  const db = await createTestDatabase(label.replace(/-/g, '_'));
  const bus = await createBus({ kind: 'kafka', brokers: infra.kafkaBrokers, clientId: `${label}-test` });
  await bus.ensureTopics(allTopics());
  const watch = await watchTopics(bus, { label, topics: [topics.complianceLevelChanged] });
  const changes: LevelChanged[] = watch.events(topics.complianceLevelChanged);
  const service: RunningService = await complianceScoringService.start(
    serviceTestEnv({
      service: 'compliance-scoring',
      databaseUrl: db.url,
      bucket: 'unused',
      extra: {
        CALLER_TOKEN_KEY: key,
        COMPLIANCE_CONSUMER_GROUP: uniqueName('compliance-scoring'),
        COMPLIANCE_CONSUMER_START: 'latest',
        COMPLIANCE_TARGET_YEAR: '2020',
        ...env,
      },
    }),
    { ownsProcess: false },
  );
  const client = createGrpcClient(ComplianceService.definition, `127.0.0.1:${service.ports.grpc}`, {
    deadlineMs: 20_000,
  });
  return {
    client,
    bus,
    db,
    publisher: (producer) => createEventPublisher({ bus, producer }),
    as: async (caller = {}) => ({
      metadata: await mintCallerMetadata(
        { subject: 'u-test', role: 'district_admin', compounds: 'all', ...caller },
        key,
        { ttlSeconds: 600 },
      ),
    }),
    levelChanges: (compoundId) => changes.filter((change) => change.compoundId === compoundId),
    newCompoundId: () => uniqueName(label),
    async close() {
      client.close();
      await service.stop('test done');
      await watch.close();
      await bus.close();
      await db.drop();
    },
  };
}

const { Module } = anfang.common.v1;
const { DeviceChangeKind, DeviceLifecycle, DeviceStatus, StatusChangeReason } = anfang.device.v1;

/** Registers a device as device-ingest announces it on the registry topic. */
export async function announceDevice(
  h: Harness,
  device: {
    deviceId: string;
    compoundId: string;
    module: anfang.common.v1.Module;
    buildingCode?: string;
    revision?: number;
  },
  lifecycle: anfang.device.v1.DeviceLifecycle = DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE,
): Promise<string> {
  return h.publisher('device-ingest').publish(
    topics.deviceRegistry,
    {
      change: DeviceChangeKind.DEVICE_CHANGE_KIND_CREATED,
      device: {
        deviceId: device.deviceId,
        name: `test ${Module[device.module]}`,
        module: device.module,
        compoundId: device.compoundId,
        lifecycle,
        revision: device.revision ?? 1,
        ...(device.buildingCode ? { address: { building: { code: device.buildingCode } } } : {}),
      },
    },
    { compoundId: device.compoundId },
  );
}

/** A device went online or offline, as device-ingest reports it. */
export function reportStatus(
  h: Harness,
  device: { deviceId: string; compoundId: string; module: anfang.common.v1.Module },
  online: boolean,
  options: { eventId?: string; occurredAt?: number } = {},
): Promise<string> {
  return h.publisher('device-ingest').publish(
    topics.deviceStatusChanged,
    {
      device: { deviceId: device.deviceId, module: device.module },
      previousStatus: online ? DeviceStatus.DEVICE_STATUS_OFFLINE : DeviceStatus.DEVICE_STATUS_ONLINE,
      status: online ? DeviceStatus.DEVICE_STATUS_ONLINE : DeviceStatus.DEVICE_STATUS_OFFLINE,
      reason: online
        ? StatusChangeReason.STATUS_CHANGE_REASON_HEARTBEAT
        : StatusChangeReason.STATUS_CHANGE_REASON_HEARTBEAT_TIMEOUT,
    },
    { compoundId: device.compoundId, ...options },
  );
}

/** police-upload's health report for a compound. */
export function reportUpload(
  h: Harness,
  compoundId: string,
  realTime: boolean,
  platformId = '37030000005030000001',
) {
  return h.publisher('police-upload').publish(
    topics.policeUploadHealth,
    {
      platformId,
      compoundId,
      session: anfang.police.v1.SessionState.SESSION_STATE_REGISTERED,
      realTime,
    },
    { compoundId },
  );
}

const VIDEO_MODULES = [
  Module.MODULE_VIDEO_PUBLIC_AREAS,
  Module.MODULE_VIDEO_BUILDINGS,
  Module.MODULE_VIDEO_KEY_ROOMS,
  Module.MODULE_VIDEO_PANORAMA,
  Module.MODULE_VIDEO_THROWING,
];

/**
 * video-index's storage report for a compound: by default 30 days back end and one camera per
 * video zone group keeping 7 days at the front end (every video row's images kept).
 */
export function reportStorage(
  h: Harness,
  compoundId: string,
  report: Partial<anfang.video.v1.StorageEvidenceReported.$Properties> = {},
) {
  return h.publisher('video-index').publish(
    topics.videoStorageEvidence,
    {
      compoundId,
      backendRetentionDays: 30,
      minBackendDays: 30,
      minFrontendDays: 7,
      retentionEnforced: true,
      zones: VIDEO_MODULES.map((module) => ({
        module,
        cameras: 1,
        frontendCompliant: 1,
        shortestFrontendDays: 7,
      })),
      ...report,
    },
    { compoundId },
  );
}

/** patrol's report for a compound: by default one route and a round completed in the last 24 h. */
export function reportPatrol(
  h: Harness,
  compoundId: string,
  report: Partial<anfang.patrol.v1.PatrolEvidenceReported.$Properties> = {},
) {
  return h
    .publisher('patrol')
    .publish(
      topics.patrolEvidence,
      { compoundId, routes: 1, checkpoints: 4, windowHours: 24, roundsDue: 1, roundsCompleted: 1, ...report },
      { compoundId },
    );
}
