/**
 * perimeter-alarms started as a module against the real local infrastructure (its own test
 * database, Kafka with the catalogue topics), signed callers, stand-ins for the producers of
 * alarming events (device-ingest, identity, vehicle-access) publishing on the real topics, and a
 * recorder of this service's alarm and image-hold events.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { allTopics, anfang, PerimeterAlarmService, topics } from '@anfang/contracts';
import { mintCallerMetadata, type Caller } from '@anfang/platform/auth';
import { createBus, createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import { createGrpcClient, type GrpcClient } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestDatabase,
  ensureTopics,
  infraEnv,
  serviceTestEnv,
  TEST_CALLER_TOKEN_KEY,
  uniqueName,
  watchTopics,
} from '@anfang/testing';
import perimeterAlarmsService from '../src/service.ts';

export type AlarmClient = GrpcClient<typeof PerimeterAlarmService.definition>;
export type AlarmEvent = anfang.alarm.v1.AlarmChanged;
export type HoldEvent = anfang.alarm.v1.AlarmImageHoldChanged;
type Metadata = Awaited<ReturnType<typeof mintCallerMetadata>>;

export interface Harness {
  /** The service's database, for what no RPC shows (suppressed triggers, processed ids). */
  readonly sql: pg.Pool;
  readonly client: AlarmClient;
  /** The first replica's HTTP port (probes and /metrics). */
  readonly httpPort: number;
  /** The test's own connection to Kafka. */
  readonly bus: Bus;
  readonly compoundId: string;
  /** OTEL_SERVICE_NAME of the service under test: its producer name and consumer group. */
  readonly serviceName: string;
  /** A community manager of the harness' compound. */
  readonly manager: Metadata;
  /** A guard of the compound: handles alarms. */
  readonly guard: Metadata;
  /** Every AlarmChanged of this service since start, in arrival order. */
  readonly alarmEvents: AlarmEvent[];
  /** Every image hold/release of this service since start. */
  readonly holdEvents: HoldEvent[];
  readonly deviceIngest: EventPublisher;
  readonly identity: EventPublisher;
  readonly vehicleAccess: EventPublisher;
  readonly patrol: EventPublisher;
  metadataFor(caller: Caller): Promise<Metadata>;
  /** Another replica: same database, same consumer group, its own escalation job. */
  startReplica(): Promise<RunningService>;
  /** Publishes an active perimeter trigger of a sensor; returns its event id. */
  perimeterTrigger(input: {
    deviceId: string;
    zoneId?: string;
    images?: string[];
    eventId?: string;
  }): Promise<string>;
  close(): Promise<void>;
}

export async function startHarness(label: string, extra: Record<string, string> = {}): Promise<Harness> {
  const infra = infraEnv();
  const db = await createTestDatabase(label);
  await ensureTopics(allTopics());
  const compoundId = `37030200${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const serviceName = uniqueName('perimeter-alarms');

  const bus: Bus = await createBus({
    kind: 'kafka',
    brokers: infra.kafkaBrokers,
    clientId: uniqueName(label),
  });
  // Every test file's service consumes the shared source topics: only this one's events count.
  const watcher = await watchTopics(bus, {
    label,
    topics: [topics.alarmLifecycle, topics.alarmImageHold],
    producer: serviceName,
    compoundId,
  });
  const alarmEvents: AlarmEvent[] = watcher.events(topics.alarmLifecycle);
  const holdEvents: HoldEvent[] = watcher.events(topics.alarmImageHold);
  const deviceIngest = createEventPublisher({ bus, producer: 'device-ingest' });
  const identity = createEventPublisher({ bus, producer: 'identity' });
  const vehicleAccess = createEventPublisher({ bus, producer: 'vehicle-access' });
  const patrol = createEventPublisher({ bus, producer: 'patrol' });

  const env = serviceTestEnv({
    // A group of its own: parallel test files and a running platform must not share messages.
    service: serviceName,
    databaseUrl: db.url,
    bucket: 'unused',
    extra,
  });
  const replicas: RunningService[] = [];
  const startReplica = async (): Promise<RunningService> => {
    const replica = await perimeterAlarmsService.start(env, { ownsProcess: false });
    replicas.push(replica);
    return replica;
  };
  const service = await startReplica();
  const httpPort = service.ports.http;
  if (httpPort === undefined) throw new Error('the service serves no HTTP port (probes and /metrics)');
  const client: AlarmClient = createGrpcClient(
    PerimeterAlarmService.definition,
    `127.0.0.1:${service.ports.grpc}`,
    { deadlineMs: 20_000 },
  );
  const metadataFor = (caller: Caller) =>
    mintCallerMetadata(caller, TEST_CALLER_TOKEN_KEY, { ttlSeconds: 600 });
  const manager = await metadataFor({
    subject: 'manager-1',
    role: 'community_manager',
    compounds: [compoundId],
  });
  const guard = await metadataFor({ subject: 'guard-7', role: 'guard', compounds: [compoundId] });
  const sql = db.pool(2);

  return {
    sql,
    client,
    httpPort,
    bus,
    compoundId,
    serviceName,
    manager,
    guard,
    alarmEvents,
    holdEvents,
    deviceIngest,
    identity,
    vehicleAccess,
    patrol,
    metadataFor,
    startReplica,
    async perimeterTrigger(input) {
      const eventId = input.eventId ?? randomUUID();
      await deviceIngest.publish(
        topics.devicePerimeterTriggered,
        {
          device: { deviceId: input.deviceId, zoneId: input.zoneId ?? '', name: '围墙红外对射' },
          sourceObjectId: eventId,
          sensorKind: anfang.device.v1.PerimeterSensorKind.PERIMETER_SENSOR_KIND_INFRARED,
          state: anfang.common.v1.TriggerState.TRIGGER_STATE_ACTIVE,
          images: (input.images ?? []).map((objectKey) => ({ objectKey, contentType: 'image/jpeg' })),
        },
        { eventId, compoundId },
      );
      return eventId;
    },
    async close() {
      client.close();
      for (const replica of replicas) await replica.stop('test done');
      await watcher.close();
      await bus.close();
      await db.drop();
    },
  };
}

const { ZoneKind } = anfang.alarm.v1;

/** Creates a wall zone with the given sensors and cameras; returns its id. */
export async function createWall(
  h: Harness,
  name: string,
  sensorDeviceIds: string[],
  cameraDeviceIds: string[] = [],
): Promise<string> {
  const { zone } = await h.client.createZone(
    {
      zone: {
        compoundId: h.compoundId,
        name,
        kind: ZoneKind.ZONE_KIND_WALL,
        sensorDeviceIds,
        cameraDeviceIds,
      },
    },
    { metadata: h.manager },
  );
  return zone!.zoneId!;
}
