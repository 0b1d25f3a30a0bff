/**
 * The service module started against the real infrastructure (its own database, Kafka, a
 * consumer group of its own so parallel test files do not share partitions), a gRPC client, a
 * caller-token minter, a publisher standing in for device-ingest and police-upload, and a
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
  publisher(producer: 'device-ingest' | 'police-upload'): EventPublisher;
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
