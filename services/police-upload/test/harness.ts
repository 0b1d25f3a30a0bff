/**
 * police-upload started as a module against the real local infrastructure (its own database and
 * bucket, Kafka with the catalogue topics) and a GA/T 1400 conformance peer as the upper
 * platform; device-ingest and vehicle-access stand-ins publish captures and passages on the real
 * topics, with their pictures in the bucket.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { allTopics, anfang, PoliceUploadService, timestampFromDate, topics } from '@anfang/contracts';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { createGrpcClient, type GrpcClient } from '@anfang/platform/grpc';
import { FACE_JPEG_BASE64, PLATE_JPEG_BASE64 } from '@anfang/gat1400/fixtures';
import { startGat1400Peer, type Gat1400Peer } from '@anfang/gat1400-peer';
import { createBus, createEventPublisher, type Bus } from '@anfang/platform/bus';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestBucket,
  createTestDatabase,
  ensureTopics,
  infraEnv,
  s3Client,
  serviceTestEnv,
  TEST_CALLER_TOKEN_KEY,
  uniqueName,
} from '@anfang/testing';
import { faceFromCapture } from '../src/domain/objects.ts';
import policeUploadService from '../src/service.ts';

const { ImageKind, Direction, PlateColor, VehicleColor } = anfang.common.v1;

export type PoliceUploadClient = GrpcClient<typeof PoliceUploadService.definition>;
type Metadata = Awaited<ReturnType<typeof mintCallerMetadata>>;

export const LOWER_ID = '37030300005040000001';
export const PLATFORM_ID = '37030300005030009001';
export const FACE_CAMERA = '37030300001190000101';
export const PLATE_CAMERA = '37030300001190000102';

export interface FaceInput {
  readonly at?: Date;
  /** Which of the compound's face cameras (the bus key): spreads captures over partitions. */
  readonly camera?: number;
  readonly eventId?: string;
  readonly compoundId?: string;
  /** Adds a whole-person picture (a capture camera's body shot). */
  readonly person?: boolean;
}

export interface Harness {
  readonly sql: pg.Pool;
  readonly client: PoliceUploadClient;
  /** Metadata of a police officer (every compound). */
  readonly police: Metadata;
  readonly peer: Gat1400Peer;
  readonly compoundId: string;
  readonly serviceName: string;
  /** The password the peer and police-upload share (Digest both ways). */
  readonly password: string;
  /** The test's own connection to Kafka. */
  readonly bus: Bus;
  /** The test bucket the service reads its pictures from. */
  readonly bucket: string;
  /** Object keys of pictures in the test bucket. */
  readonly imageKeys: { readonly face: string; readonly vehicle: string; readonly plate: string };
  /** Publishes a vehicle watchlist hit of a disposition as vehicle-access does; returns its event id. */
  hit(dispositionId: string, plate: string): Promise<string>;
  readonly service: () => RunningService;
  /** Publishes a face capture with one picture; returns its event id. */
  face(input?: FaceInput): Promise<string>;
  /** Publishes several in one bus call; returns their event ids. */
  faces(inputs: readonly FaceInput[]): Promise<string[]>;
  /** Publishes a vehicle passage (in) with a vehicle and a plate picture; returns its event id. */
  passage(input?: { at?: Date; plate?: string; eventId?: string }): Promise<string>;
  /** Stops and starts the service again (same database). */
  restartService(): Promise<void>;
  /** A second replica (same database, cache and group); stopped by close() if still running. */
  startReplica(): Promise<RunningService>;
  close(): Promise<void>;
}

export async function startHarness(
  label: string,
  options: { extra?: Record<string, string>; platform?: anfang.police.v1.IUpperPlatform } = {},
): Promise<Harness> {
  const infra = infraEnv();
  const db = await createTestDatabase(label);
  const bucket = await createTestBucket(label);
  await ensureTopics(allTopics());
  const password = randomBytes(12).toString('base64url');
  const peer = await startGat1400Peer({ platformId: PLATFORM_ID, users: { [LOWER_ID]: password } });
  const compoundId = `37030300${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const serviceName = uniqueName('police-upload');

  const sql = db.pool(2);
  const bus: Bus = await createBus({
    kind: 'kafka',
    brokers: infra.kafkaBrokers,
    clientId: uniqueName(label),
  });
  const deviceIngest = createEventPublisher({ bus, producer: 'device-ingest' });
  const vehicleAccess = createEventPublisher({ bus, producer: 'vehicle-access' });
  const s3 = s3Client();
  const faceKey = `device-ingest/test/${randomUUID()}.jpg`;
  const vehicleKey = `device-ingest/test/${randomUUID()}.jpg`;
  const plateKey = `device-ingest/test/${randomUUID()}.jpg`;
  await s3.putObject(bucket.bucket, faceKey, Buffer.from(FACE_JPEG_BASE64, 'base64'));
  await s3.putObject(bucket.bucket, vehicleKey, Buffer.from(FACE_JPEG_BASE64, 'base64'));
  await s3.putObject(bucket.bucket, plateKey, Buffer.from(PLATE_JPEG_BASE64, 'base64'));

  const env = serviceTestEnv({
    service: serviceName,
    databaseUrl: db.url,
    bucket: bucket.bucket,
    extra: {
      POLICE_UPLOAD_LOWER_ID: LOWER_ID,
      POLICE_UPLOAD_SECRETS: JSON.stringify({ 'peer-password': password }),
      POLICE_UPLOAD_POLL_MS: '50',
      POLICE_UPLOAD_RETRY_BASE_MS: '200',
      POLICE_UPLOAD_RETRY_MAX_MS: '2000',
      POLICE_UPLOAD_PLATFORM_REFRESH_MS: '500',
      POLICE_UPLOAD_COMMAND_RESULT_WAIT_MS: '2000',
      ...options.extra,
    },
  });
  let service = await policeUploadService.start(env, { ownsProcess: false });
  const replicas: RunningService[] = [];
  const client: PoliceUploadClient = createGrpcClient(
    PoliceUploadService.definition,
    `127.0.0.1:${service.ports.grpc}`,
    { deadlineMs: 20_000 },
  );
  const police = await mintCallerMetadata(
    { subject: 'police-1', role: 'police', compounds: 'all', purpose: 'cascade setup' },
    TEST_CALLER_TOKEN_KEY,
    { ttlSeconds: 600 },
  );
  await client.updatePlatform(
    {
      platform: {
        platformId: PLATFORM_ID,
        name: 'conformance peer',
        baseUrl: peer.url,
        username: LOWER_ID,
        passwordRef: 'peer-password',
        compounds: [compoundId],
        keepaliveIntervalS: 1,
        keepaliveMisses: 2,
        enabled: true,
        ...options.platform,
      },
    },
    { metadata: police },
  );
  await peer.waitFor(() => peer.isRegistered(LOWER_ID), 10_000, 'police-upload to register');

  const faceEvent = (input: FaceInput) => {
    const at = input.at ?? new Date();
    const eventId = input.eventId ?? randomUUID();
    return {
      payload: {
        device: {
          deviceId: `face-camera-${input.camera ?? 1}`,
          gat1400Id: FACE_CAMERA,
          addressCode: compoundId,
        },
        sourceObjectId: eventId,
        liveness: anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE,
        faceBox: { left: 10, top: 10, right: 40, bottom: 50 },
        images: [
          {
            objectKey: faceKey,
            contentType: 'image/jpeg',
            kind: ImageKind.IMAGE_KIND_FACE,
            width: 16,
            height: 16,
            capturedAt: timestampFromDate(at),
          },
          ...(input.person
            ? [
                {
                  objectKey: faceKey,
                  contentType: 'image/jpeg',
                  kind: ImageKind.IMAGE_KIND_PERSON,
                  width: 16,
                  height: 16,
                  capturedAt: timestampFromDate(at),
                },
              ]
            : []),
        ],
      },
      options: { eventId, occurredAt: at, compoundId: input.compoundId ?? compoundId },
    };
  };
  const faces = (inputs: readonly FaceInput[]): Promise<string[]> =>
    deviceIngest.publishMany(topics.deviceFaceCaptured, inputs.map(faceEvent));

  return {
    sql,
    client,
    police,
    peer,
    compoundId,
    serviceName,
    password,
    bus,
    bucket: bucket.bucket,
    imageKeys: { face: faceKey, vehicle: vehicleKey, plate: plateKey },
    service: () => service,
    hit: (dispositionId, plate) =>
      vehicleAccess.publish(
        topics.vehicleWatchlistHit,
        {
          hitId: randomUUID(),
          entryId: randomUUID(),
          dispositionId,
          plateNumber: plate,
          plateColor: PlateColor.PLATE_COLOR_BLUE,
          device: { deviceId: 'plate-camera-1', gat1400Id: PLATE_CAMERA, addressCode: compoundId },
          direction: Direction.DIRECTION_IN,
          sourceEventId: randomUUID(),
          images: [
            {
              objectKey: vehicleKey,
              contentType: 'image/jpeg',
              kind: ImageKind.IMAGE_KIND_VEHICLE,
              width: 16,
              height: 16,
            },
          ],
        },
        { compoundId },
      ),
    async face(input = {}) {
      const [eventId] = await faces([input]);
      return eventId!;
    },
    faces,
    async passage(input = {}) {
      const at = input.at ?? new Date();
      const eventId = input.eventId ?? randomUUID();
      await vehicleAccess.publish(
        topics.vehiclePassageRecorded,
        {
          passageId: randomUUID(),
          device: { deviceId: 'plate-camera-1', gat1400Id: PLATE_CAMERA, addressCode: compoundId },
          plateNumber: input.plate ?? '鲁C5A7K2',
          plateColor: PlateColor.PLATE_COLOR_BLUE,
          vehicleColor: VehicleColor.VEHICLE_COLOR_WHITE,
          direction: Direction.DIRECTION_IN,
          lane: 1,
          confidence: 0.96,
          sourceEventId: randomUUID(),
          images: [
            {
              objectKey: vehicleKey,
              contentType: 'image/jpeg',
              kind: ImageKind.IMAGE_KIND_VEHICLE,
              width: 16,
              height: 16,
            },
            {
              objectKey: plateKey,
              contentType: 'image/jpeg',
              kind: ImageKind.IMAGE_KIND_PLATE,
              width: 32,
              height: 10,
            },
          ],
        },
        { eventId, occurredAt: at, compoundId },
      );
      return eventId;
    },
    async restartService() {
      await service.stop('restart');
      service = await policeUploadService.start(env, { ownsProcess: false });
    },
    async startReplica() {
      const replica = await policeUploadService.start(env, { ownsProcess: false });
      replicas.push(replica);
      return replica;
    },
    async close() {
      client.close();
      for (const replica of replicas) await replica.stop('test done');
      await service.stop('test done');
      await peer.close();
      await bus.close();
      await db.drop();
      await bucket.drop();
    },
  };
}

/** The FaceID police-upload gives the capture `eventId` of the harness' face camera at `at`. */
export function expectedFaceId(eventId: string, at: Date): string {
  const built = faceFromCapture(
    eventId,
    {
      meta: { occurredAt: timestampFromDate(at) },
      device: { gat1400Id: FACE_CAMERA },
      images: [{ objectKey: 'any', kind: ImageKind.IMAGE_KIND_FACE }],
    },
    { lowerId: LOWER_ID },
  );
  if (!built.ok) throw new Error(built.reason);
  return built.object.objectId;
}
