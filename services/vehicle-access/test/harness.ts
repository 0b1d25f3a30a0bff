/**
 * One started vehicle-access (real Postgres, Kafka, Redis) per test file, under a unique service
 * name — which is also its consumer group, so test files never share partitions — with a
 * device-ingest stand-in publishing plate reads and police commands on the real topics, a
 * watcher collecting what the service publishes, and caller tokens for any role.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  allTopics,
  anfang,
  deterministicEventId,
  timestampFromDate,
  topics,
  VehicleAccessService,
} from '@anfang/contracts';
import type { Caller } from '@anfang/platform/auth';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { createBus, createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import { createGrpcClient, type GrpcClient, type Metadata } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestDatabase,
  createTestRedisNamespace,
  infraEnv,
  serviceTestEnv,
  uniqueName,
  waitFor,
  watchTopics,
  type TestDatabase,
} from '@anfang/testing';
import vehicleAccessService from '../src/service.ts';

export type Client = GrpcClient<typeof VehicleAccessService.definition>;
export type Passage = anfang.vehicle.v1.VehiclePassageRecorded;
export type Hit = anfang.vehicle.v1.VehicleWatchlistHit;
export type CommandResult = anfang.police.v1.PoliceCommandResult;
export type DeviceCommand = anfang.device.v1.DeviceCommand;
export type VehicleChanged = anfang.vehicle.v1.RegisteredVehicleChanged;

const { Direction, PlateColor, SpoofCheckResult, ImageKind, DeviceType, Module } = anfang.common.v1;

export interface Harness {
  readonly name: string;
  readonly compoundId: string;
  readonly key: string;
  readonly service: RunningService;
  readonly client: Client;
  readonly db: TestDatabase;
  readonly passages: Passage[];
  readonly hits: Hit[];
  readonly results: CommandResult[];
  readonly commands: DeviceCommand[];
  /** Registry changes it published, in arrival order. */
  readonly registryChanges: VehicleChanged[];
  as(caller: Partial<Caller> & Pick<Caller, 'role'>): Promise<Metadata>;
  /** Publishes a plate read as device-ingest would; resolves with its event id. */
  read(options: ReadOptions): Promise<string>;
  /** Waits for the passage recorded for a read (first publication). */
  passageOf(readEventId: string): Promise<Passage>;
  publishPoliceCommand(command: anfang.police.v1.PoliceCommand.$Properties): Promise<string>;
  close(): Promise<void>;
}

export interface ReadOptions {
  readonly deviceId: string;
  readonly plate?: string;
  readonly direction?: 'in' | 'out';
  readonly confidence?: number;
  readonly spoof?: boolean;
  readonly at?: Date;
  readonly compoundId?: string;
  /** The device's id for the capture: the same one again is a resend (same event id). */
  readonly sourceObjectId?: string;
}

export function randomCompoundId(): string {
  return `370303001${String(randomBytes(4).readUInt32BE() % 1e6).padStart(6, '0')}`;
}

export async function startHarness(label: string, extra: Record<string, string> = {}): Promise<Harness> {
  const name = uniqueName(`vehicle-access-${label}`);
  const compoundId = randomCompoundId();
  const key = randomBytes(32).toString('base64');
  const db = await createTestDatabase(label);
  const redis = createTestRedisNamespace(label);
  const bus: Bus = await createBus({ kind: 'kafka', brokers: infraEnv().kafkaBrokers, clientId: name });
  await bus.ensureTopics(allTopics());

  const watch = await watchTopics(bus, {
    label: name,
    topics: [
      topics.vehiclePassageRecorded,
      topics.vehicleWatchlistHit,
      topics.policeCommandResult,
      topics.deviceCommand,
      topics.vehicleRegistry,
    ],
    producer: name,
  });
  const passages: Passage[] = watch.events(topics.vehiclePassageRecorded);
  const hits: Hit[] = watch.events(topics.vehicleWatchlistHit);
  const results: CommandResult[] = watch.events(topics.policeCommandResult);
  const commands: DeviceCommand[] = watch.events(topics.deviceCommand);
  const registryChanges: VehicleChanged[] = watch.events(topics.vehicleRegistry);

  const service = await vehicleAccessService.start(
    serviceTestEnv({
      service: name,
      databaseUrl: db.url,
      bucket: 'unused',
      redisUrl: redis.url,
      extra: { CALLER_TOKEN_KEY: key, ...extra },
    }),
    { ownsProcess: false },
  );
  const client: Client = createGrpcClient(
    VehicleAccessService.definition,
    `127.0.0.1:${service.ports.grpc}`,
    {
      deadlineMs: 20_000,
    },
  );
  const deviceIngest: EventPublisher = createEventPublisher({ bus, producer: 'device-ingest' });
  const police: EventPublisher = createEventPublisher({ bus, producer: 'police-upload' });

  return {
    name,
    compoundId,
    key,
    service,
    client,
    db,
    passages,
    hits,
    results,
    commands,
    registryChanges,
    as: (caller) =>
      mintCallerMetadata({ subject: `user-${caller.role}`, compounds: [compoundId], ...caller }, key, {
        ttlSeconds: 600,
      }),
    async read(options) {
      const sourceObjectId = options.sourceObjectId ?? randomUUID();
      const eventId = deterministicEventId('plate', options.deviceId, sourceObjectId);
      const at = options.at ?? new Date();
      await deviceIngest.publish(
        topics.devicePlateRead,
        {
          device: {
            deviceId: options.deviceId,
            deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
            module: Module.MODULE_VEHICLE_ACCESS,
            addressCode: options.compoundId ?? compoundId,
            name: 'test barrier',
          },
          sourceObjectId,
          hasPlate: options.plate !== undefined,
          plateNumber: options.plate ?? '',
          plateColor: PlateColor.PLATE_COLOR_BLUE,
          direction: options.direction === 'out' ? Direction.DIRECTION_OUT : Direction.DIRECTION_IN,
          lane: 1,
          confidence: options.confidence ?? 0.96,
          spoofCheck: options.spoof
            ? SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO
            : SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE,
          images: [
            {
              objectKey: `device-ingest/${compoundId}/${sourceObjectId}-vehicle.jpg`,
              contentType: 'image/jpeg',
              kind: ImageKind.IMAGE_KIND_VEHICLE,
              capturedAt: timestampFromDate(at),
            },
            {
              objectKey: `device-ingest/${compoundId}/${sourceObjectId}-driver.jpg`,
              contentType: 'image/jpeg',
              kind: ImageKind.IMAGE_KIND_DRIVER_FACE,
            },
          ],
        },
        { eventId, compoundId: options.compoundId ?? compoundId, occurredAt: at },
      );
      return eventId;
    },
    passageOf: (readEventId) =>
      waitFor(() => passages.find((p) => p.sourceEventId === readEventId), {
        timeoutMs: 30_000,
        message: `no passage for read ${readEventId}`,
      }),
    publishPoliceCommand: (command) => police.publish(topics.policeCommand, command),
    async close() {
      client?.close();
      await service?.stop('test done');
      await watch.close();
      await bus.close();
      await redis.drop();
      await db.drop();
    },
  };
}

/** A car park with an entry lane and an exit lane. */
export async function setUpCarPark(
  h: Harness,
  options: { capacity?: number; maxStayMinutes?: number } = {},
): Promise<{ carParkId: string; entry: string; exit: string }> {
  const manager = await h.as({ role: 'community_manager' });
  const carParkId = `${h.compoundId}-p1`;
  await h.client.setCarPark(
    {
      carPark: {
        carParkId,
        compoundId: h.compoundId,
        name: '地下车库 B1',
        capacity: options.capacity ?? 100,
        maxStayMinutes: options.maxStayMinutes ?? 0,
      },
    },
    { metadata: manager },
  );
  const entry = randomUUID();
  const exit = randomUUID();
  await h.client.setLane(
    { lane: { deviceId: entry, carParkId, direction: Direction.DIRECTION_IN, name: '东门入口' } },
    { metadata: manager },
  );
  await h.client.setLane(
    { lane: { deviceId: exit, carParkId, direction: Direction.DIRECTION_OUT, name: '东门出口' } },
    { metadata: manager },
  );
  return { carParkId, entry, exit };
}
