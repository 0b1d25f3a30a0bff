/**
 * GA/T 1400 end to end against the real service (src/service.ts) on the real infrastructure of
 * `./anfang infra up`: a device registered through the registry's gRPC API does the Digest
 * register dance, keeps alive, pushes Faces and MotorVehicles with pictures; the events are read
 * back from the real Kafka topics and decoded, the pictures from the bucket; a resend publishes
 * nothing new.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { anfang, topics, allTopics } from '@anfang/contracts';
import type { RunningService, ServiceModule } from '@anfang/platform/service';
import {
  createTestBucket,
  createTestDatabase,
  s3Client,
  waitFor,
  type TestBucket,
  type TestDatabase,
  serviceTestEnv,
  ensureTopics,
} from '@anfang/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faceBatch, faceObject, motorVehicleBatch, motorVehicleObject } from '@anfang/gat1400/fixtures';
import { digestAuthorization } from '@anfang/gat1400';
import { watchFromEnd, type TopicWatch } from './kafka-watch.ts';
import { registryClient } from './registry-client.ts';

const SERVICE = new URL('../src/service.ts', import.meta.url);
const { DeviceType, Module, Direction } = anfang.common.v1;

/** Unique per run, so events of earlier runs on the shared topics never match. */
const serial = () => String(100000 + (randomBytes(3).readUIntBE(0, 3) % 900000));
const COMPOUND = '370303001001';
const faceCamId = `37030300001190${serial()}`;
const plateCamId = `37030300001190${serial()}`;
const SECRET = `gat-${randomBytes(12).toString('hex')}`;
const PLATFORM_ID = '37030300005030000001';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GA/T answers are asserted field by field
type Answer = Record<string, any>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!existsSync(SERVICE))('GA/T 1400 receiving platform (real service)', () => {
  let running: RunningService;
  let db: TestDatabase;
  let bucket: TestBucket;
  let watch: TopicWatch | undefined;
  let base: string;
  let env: ReturnType<typeof serviceTestEnv>;
  const faces: anfang.device.v1.FaceCaptured[] = [];
  const plates: anfang.device.v1.PlateRead[] = [];
  const deviceIds: Record<string, string> = {};

  beforeAll(async () => {
    await ensureTopics(allTopics());
    db = await createTestDatabase('device-ingest-gat');
    bucket = await createTestBucket('device-ingest-gat');
    const devicePort = await freePort();
    const module = (await import(SERVICE.href)).default as ServiceModule;
    env = serviceTestEnv({
      service: 'device-ingest',
      databaseUrl: db.url,
      bucket: bucket.bucket,
      extra: {
        DEVICE_HTTP_PORT: String(devicePort),
        GAT1400_PLATFORM_ID: PLATFORM_ID,
        // Two batches of three faces processed at once, so that a burst waits (admission.ts).
        DEVICE_MAX_PROCESSING_BYTES: String(12 * 1024),
      },
    });
    running = await module.start(env, { ownsProcess: false });
    base = `http://127.0.0.1:${devicePort}`;

    const registry = registryClient(running.ports.grpc!);
    try {
      for (const [gat1400Id, deviceType, module] of [
        [faceCamId, DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA, Module.MODULE_FACE_RECOGNITION_GATES],
        [plateCamId, DeviceType.DEVICE_TYPE_PLATE_CAMERA, Module.MODULE_VEHICLE_RECOGNITION],
      ] as const) {
        const res = await registry.registerDevice({
          device: {
            gat1400Id,
            name: `东门 ${gat1400Id.slice(-6)}`,
            deviceType,
            module,
            compoundId: COMPOUND,
            direction: Direction.DIRECTION_BOTH,
            vendor: 'hikvision',
            model: 'iDS-2CD7A46G0',
            serialNumber: `DS-${gat1400Id.slice(-6)}`,
            protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_GAT1400,
            ipAddress: '127.0.0.1',
          },
          secret: SECRET,
        });
        deviceIds[gat1400Id] = res.device?.deviceId ?? '';
      }
    } finally {
      registry.close();
    }

    watch = await watchFromEnd({
      label: 'gat1400-it',
      topics: [topics.deviceFaceCaptured.name, topics.devicePlateRead.name],
      eachMessage: async ({ topic, message }) => {
        if (!message.value) return;
        if (topic === topics.deviceFaceCaptured.name) {
          const e = topics.deviceFaceCaptured.payload.decode(message.value);
          if (Object.values(deviceIds).includes(e.device?.deviceId ?? '')) faces.push(e);
        } else {
          const e = topics.devicePlateRead.payload.decode(message.value);
          if (Object.values(deviceIds).includes(e.device?.deviceId ?? '')) plates.push(e);
        }
      },
    });
  }, 120_000);

  afterAll(async () => {
    await watch?.close();
    await running?.stop('test done');
    await bucket?.drop();
    await db?.drop();
  }, 60_000);

  async function post(
    path: string,
    body: unknown,
    headers: Record<string, string>,
    method = 'POST',
    at = base,
  ) {
    const res = await fetch(`${at}${path}`, {
      method,
      headers: { 'content-type': 'application/VIID+JSON', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Answer };
  }

  /** Register's challenge (from the instance at `base`) answered with the camera's secret. */
  async function answeredChallenge(id: string) {
    const body = { RegisterObject: { DeviceID: id } };
    const first = await post('/VIID/System/Register', body, { 'user-identify': id });
    expect(first.status).toBe(401);
    const authorization = digestAuthorization({
      username: id,
      secret: SECRET,
      method: 'POST',
      uri: '/VIID/System/Register',
      challenge: first.headers.get('www-authenticate') ?? '',
    });
    return { body, authorization };
  }

  async function register(id: string) {
    // The directory learns new devices asynchronously (NOTIFY): until then Register answers 403.
    return waitFor(
      async () => {
        const { body, authorization } = await answeredChallenge(id);
        const second = await post('/VIID/System/Register', body, { 'user-identify': id, authorization });
        return second.status === 200 ? second : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, message: `device ${id} could not register` },
    );
  }

  it('registers with Digest and keeps alive', async () => {
    const reg = await register(faceCamId);
    expect(reg.body.ResponseStatusObject).toMatchObject({ Id: faceCamId, StatusCode: 0 });
    await register(plateCamId);
    const k = await post(
      '/VIID/System/Keepalive',
      { KeepaliveObject: { DeviceID: faceCamId } },
      { 'user-identify': faceCamId },
    );
    expect(k.status).toBe(200);
    const unregistered = await post(
      '/VIID/System/Keepalive',
      {},
      { 'user-identify': '37030300001190000000' },
    );
    expect(unregistered.status).toBe(401);
  }, 30_000);

  it('publishes Faces and MotorVehicles with their pictures in the bucket, once', async () => {
    const time = '20250314083015';
    const f1 = faceObject({ deviceId: faceCamId, time, serial: 1 });
    const f2 = faceObject({ deviceId: faceCamId, time, serial: 3 });
    const r1 = await post('/VIID/Faces', faceBatch(f1, f2), { 'user-identify': faceCamId });
    expect(r1.status).toBe(200);
    expect(
      r1.body.ResponseStatusListObject.ResponseStatusObject.map((s: { StatusCode: number }) => s.StatusCode),
    ).toEqual([0, 0]);

    const v = motorVehicleObject({ deviceId: plateCamId, plate: '鲁C·D12345' });
    const r2 = await post('/VIID/MotorVehicles', motorVehicleBatch(v), {
      'user-identify': plateCamId,
      'content-type': 'application/json;charset=UTF-8',
    });
    expect(r2.status).toBe(200);
    expect(r2.body.ResponseStatusListObject.ResponseStatusObject[0]).toMatchObject({
      Id: v.MotorVehicleID,
      StatusCode: 0,
    });

    await waitFor(() => faces.length >= 2 && plates.length >= 1, {
      timeoutMs: 30_000,
      message: 'events not on Kafka',
    });
    const face = faces.find((e) => e.sourceObjectId === f1.FaceID);
    expect(face?.meta?.eventType).toBe('anfang.device.v1.FaceCaptured');
    expect(face?.meta?.compoundId).toBe(COMPOUND);
    expect(face?.device?.gat1400Id).toBe(faceCamId);
    expect(face?.meta?.occurredAt?.seconds).toBe(Date.parse('2025-03-14T00:30:15Z') / 1000);
    expect(face?.faceBox).toMatchObject({ left: 812, top: 240, right: 958, bottom: 420 });
    expect(face?.images.map((i) => i.kind)).toEqual([
      anfang.common.v1.ImageKind.IMAGE_KIND_FACE,
      anfang.common.v1.ImageKind.IMAGE_KIND_SCENE,
    ]);

    const plate = plates[0]!;
    expect(plate).toMatchObject({
      sourceObjectId: v.MotorVehicleID,
      hasPlate: true,
      plateNumber: '鲁CD12345',
      plateColor: anfang.common.v1.PlateColor.PLATE_COLOR_BLUE,
      vehicleColor: anfang.common.v1.VehicleColor.VEHICLE_COLOR_WHITE,
      vehicleType: anfang.common.v1.VehicleType.VEHICLE_TYPE_CAR,
      direction: Direction.DIRECTION_IN,
      lane: 1,
    });
    expect(plate.images).toHaveLength(2);

    const s3 = s3Client();
    for (const image of [...(face?.images ?? []), ...plate.images]) {
      // Events carry the full bucket key, the service's prefix included (media.proto).
      expect(image.objectKey).toMatch(/^device-ingest\/captures\//);
      const stat = await s3.statObject(bucket.bucket, image.objectKey ?? '');
      expect(stat.size).toBe(Number(image.sizeBytes));
      expect(image.contentType).toBe('image/jpeg');
      expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
    }

    // A resend is answered OK and publishes nothing: a fresh sentinel behind it arrives alone.
    const resend = await post('/VIID/Faces', faceBatch(f1, f2), { 'user-identify': faceCamId });
    expect(resend.status).toBe(200);
    expect(
      resend.body.ResponseStatusListObject.ResponseStatusObject.map(
        (s: { StatusCode: number }) => s.StatusCode,
      ),
    ).toEqual([0, 0]);
    const sentinel = faceObject({ deviceId: faceCamId, time, serial: 5 });
    expect((await post('/VIID/Faces', faceBatch(sentinel), { 'user-identify': faceCamId })).status).toBe(200);
    await waitFor(() => faces.some((e) => e.sourceObjectId === sentinel.FaceID), {
      timeoutMs: 30_000,
      message: 'sentinel not on Kafka',
    });
    expect(faces.filter((e) => e.sourceObjectId === f1.FaceID)).toHaveLength(1);
    expect(faces.filter((e) => e.sourceObjectId === f2.FaceID)).toHaveLength(1);
  }, 90_000);

  it('answers a body that is not JSON with 400 and quarantines it', async () => {
    const res = await fetch(`${base}/VIID/Faces`, {
      method: 'POST',
      headers: { 'content-type': 'application/VIID+JSON', 'user-identify': faceCamId },
      body: '{"FaceListObject":',
    });
    expect(res.status).toBe(400);
    expect(
      ((await res.json()) as { ResponseStatusObject: { StatusCode: number } }).ResponseStatusObject
        .StatusCode,
    ).toBe(7);
    const pool = db.pool(1);
    try {
      const { rows } = await pool.query<{
        reason: string;
        http_status: number;
        device_id: string;
        object_key: string | null;
      }>(
        `SELECT reason, http_status, device_id, object_key FROM quarantine WHERE protocol = 'gat1400' AND path = '/VIID/Faces'`,
      );
      expect(rows).toEqual([
        expect.objectContaining({
          reason: 'malformed: body is not JSON',
          http_status: 400,
          device_id: deviceIds[faceCamId],
        }),
      ]);
      expect(rows[0]?.object_key).toBeTruthy();
    } finally {
      await pool.end();
    }
  }, 30_000);

  const codes = (a: Answer): [string, number][] =>
    a.body.ResponseStatusListObject.ResponseStatusObject.map((s: { Id: string; StatusCode: number }) => [
      s.Id,
      s.StatusCode,
    ]);

  it('takes updates and deletions of pushed objects, and answers each object', async () => {
    const camera = { 'user-identify': plateCamId };
    // An update whose add never arrived is the first we hear of the pass: it is published.
    const v = motorVehicleObject({
      deviceId: plateCamId,
      time: '20250314091500',
      serial: 7,
      plate: '鲁C88888',
    });
    const id = String(v.MotorVehicleID);
    const put = await post(`/VIID/MotorVehicles/${id}`, { MotorVehicleObject: v }, camera, 'PUT');
    expect(put.status).toBe(200);
    expect(codes(put)).toEqual([[id, 0]]);
    // The correction of a published object is acknowledged; the first capture stands.
    const corrected = { ...v, PlateNo: '鲁C88889' };
    const again = await post('/VIID/MotorVehicles', motorVehicleBatch(corrected), camera, 'PUT');
    expect(codes(again)).toEqual([[id, 0]]);
    const sentinel = motorVehicleObject({ deviceId: plateCamId, time: '20250314091600', serial: 9 });
    expect((await post('/VIID/MotorVehicles', motorVehicleBatch(sentinel), camera)).status).toBe(200);
    await waitFor(() => plates.some((e) => e.sourceObjectId === sentinel.MotorVehicleID), {
      timeoutMs: 30_000,
      message: 'sentinel not on Kafka',
    });
    expect(plates.filter((e) => e.sourceObjectId === id).map((e) => e.plateNumber)).toEqual(['鲁C88888']);

    // The id in the path must be the object's.
    const mismatch = await post(
      `/VIID/MotorVehicles/${String(sentinel.MotorVehicleID)}`,
      { MotorVehicleObject: v },
      camera,
      'PUT',
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.ResponseStatusObject.StatusString).toContain('the id in the path');

    // Deletion: each id answered; another device's object or a malformed id refused with the reason.
    const foreign = motorVehicleObject({ deviceId: '37030300001190999999', serial: 1 })
      .MotorVehicleID as string;
    const del = await post(`/VIID/MotorVehicles?IDList=${id},${foreign},12345`, undefined, camera, 'DELETE');
    expect(del.status).toBe(200);
    expect(codes(del)).toEqual([
      [id, 0],
      [foreign, 4],
      ['12345', 8],
    ]);
    const one = await post(`/VIID/MotorVehicles/${id}`, undefined, camera, 'DELETE');
    expect(codes(one)).toEqual([[id, 0]]);
    const noList = await post('/VIID/MotorVehicles', undefined, camera, 'DELETE');
    expect(noList.status).toBe(400);
    expect(noList.body.ResponseStatusObject.StatusString).toBe('IDList is missing');

    // Queries are not served to devices; an unregistered sender cannot delete.
    const query = await post('/VIID/Faces?(Faces.DeviceID=1)', undefined, camera, 'GET');
    expect(query.status).toBe(405);
    expect(
      (
        await post(
          `/VIID/MotorVehicles/${id}`,
          undefined,
          { 'user-identify': '37030300001190000000' },
          'DELETE',
        )
      ).status,
    ).toBe(401);
  }, 90_000);

  it('takes the APE catalogue a device reports, refusing devices the registry does not know', async () => {
    const unknown = '37030300001190888888';
    const res = await post(
      '/VIID/APEs',
      {
        APEListObject: {
          APEObject: [
            {
              ApeID: faceCamId,
              Name: '东门人脸',
              Model: 'iDS-2CD7A46G0',
              IPAddr: '127.0.0.1',
              IsOnline: '1',
            },
            { ApeID: unknown, Name: '不明设备', IsOnline: '1' },
            { ApeID: '123', Name: 'x' },
          ],
        },
      },
      { 'user-identify': faceCamId },
    );
    expect(res.status).toBe(200);
    expect(codes(res)).toEqual([
      [faceCamId, 0],
      [unknown, 4],
      ['123', 8],
    ]);
    const update = await post(
      '/VIID/APEs',
      { APEListObject: { APEObject: [{ ApeID: faceCamId, Name: '东门人脸', IsOnline: '2' }] } },
      { 'user-identify': faceCamId },
      'PUT',
    );
    expect(codes(update)).toEqual([[faceCamId, 0]]);

    const pool = db.pool(1);
    try {
      const { rows } = await pool.query<{ reason: string }>(
        `SELECT reason FROM quarantine WHERE protocol = 'gat1400' AND path = '/VIID/APEs' ORDER BY reason`,
      );
      expect(rows.map((r) => r.reason)).toEqual([
        expect.stringMatching(/^invalid_event: 123: ApeID must be 20 digits/),
        `unknown_device: ${unknown}: DeviceID ${unknown} is not a registered device`,
      ]);
    } finally {
      await pool.end();
    }
  }, 30_000);

  it('takes Images with the objects found in them, answering each image', async () => {
    const face = faceObject({ deviceId: faceCamId, time: '20250314100000', serial: 11 });
    const { SubImageList: own, ...bare } = face;
    const data = (own as { SubImageInfoObject: { Data: string }[] }).SubImageInfoObject[0]!.Data;
    const imageId = String(face.SourceID);
    const broken = faceObject({ deviceId: faceCamId, time: '20250314100000', serial: 13 });
    const brokenImageId = String(broken.SourceID);
    const res = await post(
      '/VIID/Images',
      {
        ImageListObject: {
          ImageObject: [
            {
              ImageInfo: {
                ImageID: imageId,
                DeviceID: faceCamId,
                ShotTime: '20250314100000',
                FileFormat: 'Jpeg',
              },
              Data: data,
              FaceList: { FaceObject: [bare] },
            },
            {
              ImageInfo: { ImageID: brokenImageId, DeviceID: faceCamId },
              Data: data,
              FaceList: { FaceObject: [{ ...broken, ShotTime: 'yesterday' }] },
            },
            { ImageInfo: { ImageID: 'x' } },
          ],
        },
      },
      { 'user-identify': faceCamId },
    );
    expect(res.status).toBe(200);
    const answers = codes(res);
    expect(answers).toEqual([
      [imageId, 0],
      [brokenImageId, 8],
      ['x', 8],
    ]);
    expect(res.body.ResponseStatusListObject.ResponseStatusObject[1].StatusString).toBe(
      `${String(broken.FaceID)}: ShotTime is not yyyyMMddHHmmss`,
    );
    const event = await waitFor(() => faces.find((e) => e.sourceObjectId === face.FaceID), {
      timeoutMs: 30_000,
      message: 'face of the image not on Kafka',
    });
    expect(event.images.map((i) => i.kind)).toEqual([anfang.common.v1.ImageKind.IMAGE_KIND_SCENE]);
    const stat = await s3Client().statObject(bucket.bucket, event.images[0]!.objectKey ?? '');
    expect(stat.size).toBe(Buffer.from(data, 'base64').length);
  }, 60_000);

  it("accepts the answer to one replica's challenge on another, once (nonces in the shared cache)", async () => {
    // A second instance of the service (same configuration and keys, its own listener), as
    // behind a load balancer.
    const devicePort = await freePort();
    const module = (await import(SERVICE.href)).default as ServiceModule;
    const replica = await module.start(
      { ...env, DEVICE_HTTP_PORT: String(devicePort) },
      { ownsProcess: false },
    );
    try {
      const other = `http://127.0.0.1:${devicePort}`;
      const { body, authorization } = await answeredChallenge(faceCamId);
      const answered = await post(
        '/VIID/System/Register',
        body,
        { 'user-identify': faceCamId, authorization },
        'POST',
        other,
      );
      expect(answered.status).toBe(200);
      expect(answered.body.ResponseStatusObject).toMatchObject({ Id: faceCamId, StatusCode: 0 });
      // Spent on every replica: the same answer again, to the first one, is challenged anew.
      const replayed = await post('/VIID/System/Register', body, {
        'user-identify': faceCamId,
        authorization,
      });
      expect(replayed.status).toBe(401);
      expect(replayed.headers.get('www-authenticate')).toMatch(/stale=true/);
      // The session the replica opened holds on the first instance too.
      const k = await post(
        '/VIID/System/Keepalive',
        { KeepaliveObject: { DeviceID: faceCamId } },
        { 'user-identify': faceCamId },
      );
      expect(k.status).toBe(200);
    } finally {
      await replica.stop('test done');
    }
  }, 120_000);

  it('answers a burst beyond what it processes at once: every batch stored, every object once', async () => {
    // A time no other test uses: an object id seen before is a duplicate, published once already.
    const time = '20250314110000';
    const batches = Array.from({ length: 12 }, (_, b) =>
      [0, 1, 2].map((i) => faceObject({ deviceId: faceCamId, time, serial: 2 * (3 * b + i) + 1 })),
    );
    const answers = await Promise.all(
      batches.map((list) => post('/VIID/Faces', faceBatch(...list), { 'user-identify': faceCamId })),
    );
    expect(answers.map((a) => a.status)).toEqual(batches.map(() => 200));
    for (const a of answers) expect(codes(a).map(([, code]) => code)).toEqual([0, 0, 0]);
    const ids = batches.flat().map((f) => String(f.FaceID));
    await waitFor(() => ids.every((id) => faces.some((e) => e.sourceObjectId === id)), {
      timeoutMs: 30_000,
      message: 'burst not on Kafka',
    });
    for (const id of ids) {
      const published = faces.filter((e) => e.sourceObjectId === id);
      expect(published).toHaveLength(1);
      expect(published[0]?.images).toHaveLength(2);
    }
  }, 60_000);
});
