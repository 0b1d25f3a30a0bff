/**
 * Hikvision ISAPI event push end to end against the real service and infrastructure: devices
 * registered through the registry push ANPR (multipart with three JPEGs), face capture and an
 * access terminal event from their own loopback addresses; the decoded events are read back from
 * the real Kafka topics and the pictures from the bucket; a retransmission publishes nothing new;
 * a malformed alert and an unknown device land in the quarantine table.
 */
import { existsSync } from 'node:fs';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { anfang, topics } from '@anfang/contracts';
import { waitFor } from '@anfang/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessEventMultipart,
  anprMultipart,
  faceCaptureMultipart,
  fixture,
  fixtureText,
  withIp,
  withUuid,
} from './isapi-fixtures.ts';
import { SERVICE, startVendorService, type VendorService } from './isapi-service.ts';

const { DeviceType, Module, Direction, ImageKind } = anfang.common.v1;
const ISAPI = anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI;
const ALERT = '/ISAPI/Event/notification/alert';
const COMPOUND = '370303001001';
// Loopback addresses of this run's devices (all of 127.0.0.0/8 reaches the listener).
const octet = () => 2 + (randomBytes(1)[0]! % 200);
const ANPR_IP = `127.0.${octet()}.2`;
const FACE_IP = `127.0.${octet()}.3`;
const DOOR_IP = `127.0.${octet()}.4`;
const SECRET = `isapi-${randomBytes(12).toString('hex')}`;

describe.skipIf(!existsSync(SERVICE))('Hikvision ISAPI push (real service)', () => {
  let svc: VendorService;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    svc = await startVendorService('isapi', [
      topics.devicePlateRead,
      topics.deviceFaceCaptured,
      topics.deviceCredentialPresented,
    ]);
    const base = { compoundId: COMPOUND, vendor: 'hikvision', protocol: ISAPI };
    ids.anpr = await svc.register(
      {
        ...base,
        name: '东门车辆入口',
        deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
        module: Module.MODULE_VEHICLE_ACCESS,
        direction: Direction.DIRECTION_IN,
        model: 'DS-TCG225',
        serialNumber: `DS-TCG225-${randomBytes(4).toString('hex')}`,
        ipAddress: ANPR_IP,
      },
      SECRET,
    );
    ids.face = await svc.register(
      {
        ...base,
        name: '2号楼大堂抓拍',
        deviceType: DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA,
        module: Module.MODULE_FACE_RECOGNITION_INSIDE,
        direction: Direction.DIRECTION_BOTH,
        model: 'iDS-2CD7A46G0',
        serialNumber: `DS-2CD7A46-${randomBytes(4).toString('hex')}`,
        ipAddress: FACE_IP,
      },
      SECRET,
    );
    ids.door = await svc.register(
      {
        ...base,
        name: '1号楼1单元门禁',
        deviceType: DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL,
        module: Module.MODULE_UNIT_FACE_ACCESS,
        direction: Direction.DIRECTION_IN,
        model: 'DS-K1T671M',
        serialNumber: '24:0f:9b:31:aa:07',
        ipAddress: DOOR_IP,
      },
      SECRET,
    );
  }, 120_000);

  afterAll(async () => svc?.close(), 60_000);

  /** The directory learns new devices asynchronously: retry while the device is still unknown. */
  async function push(body: Buffer | string, contentType: string, from: string) {
    return waitFor(
      async () => {
        const res = await svc.postDigest(ALERT, body, { 'content-type': contentType }, from, SECRET);
        return res.status === 403 && res.text.includes('no registered device') ? undefined : res;
      },
      { timeoutMs: 15_000, intervalMs: 250, message: `device at ${from} never became known` },
    );
  }

  it('publishes an ANPR multipart push with its pictures in the bucket, once', async () => {
    const uuid = randomUUID();
    const xml = withUuid(withIp(fixtureText('isapi/anpr.xml'), ANPR_IP), uuid);
    const first = anprMultipart(xml);
    const res = await push(first.body, first.contentType, ANPR_IP);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<statusString>OK</statusString>');

    // The device resends after being offline; then a fresh sentinel behind it.
    const resend = anprMultipart(xml.replace('<isDataRetransmission>false', '<isDataRetransmission>true'));
    expect((await push(resend.body, resend.contentType, ANPR_IP)).status).toBe(200);
    const sentinelUuid = randomUUID();
    const sentinel = anprMultipart(withUuid(xml, sentinelUuid, '2024-05-13T09:22:40+08:00'));
    expect((await push(sentinel.body, sentinel.contentType, ANPR_IP)).status).toBe(200);

    const plates = () => svc.events.get(topics.devicePlateRead.name) ?? [];
    await waitFor(() => plates().some((e) => e.value.sourceObjectId === sentinelUuid), {
      timeoutMs: 30_000,
      message: 'plate reads not on Kafka',
    });
    const reads = plates().filter((e) => e.value.sourceObjectId === uuid);
    expect(reads).toHaveLength(1);
    const read = reads[0]!.value as unknown as anfang.device.v1.PlateRead;
    expect(read.device?.deviceId).toBe(ids.anpr);
    expect(read.meta?.compoundId).toBe(COMPOUND);
    expect(read.meta?.occurredAt?.seconds).toBe(Date.parse('2024-05-13T01:21:33Z') / 1000);
    expect(read).toMatchObject({
      hasPlate: true,
      plateNumber: '鲁C12345',
      plateColor: anfang.common.v1.PlateColor.PLATE_COLOR_BLUE,
      vehicleColor: anfang.common.v1.VehicleColor.VEHICLE_COLOR_WHITE,
      vehicleType: anfang.common.v1.VehicleType.VEHICLE_TYPE_SUV,
      direction: Direction.DIRECTION_IN,
      lane: 2,
    });
    expect(read.confidence).toBeCloseTo(0.98, 5);
    expect(read.images.map((i) => i.kind)).toEqual([
      ImageKind.IMAGE_KIND_PLATE,
      ImageKind.IMAGE_KIND_VEHICLE,
      ImageKind.IMAGE_KIND_SCENE,
    ]);
    const sent = ['licensePlatePicture.jpg', 'vehiclePicture.jpg', 'detectionPicture.jpg'].map((n) =>
      fixture(`isapi/${n}`),
    );
    for (const [i, image] of read.images.entries()) {
      const stored = await svc.image(image.objectKey ?? '');
      expect(stored).toEqual({
        size: sent[i]!.length,
        sha256: createHash('sha256').update(sent[i]!).digest('hex'),
      });
      expect(image.sha256).toBe(stored.sha256);
      expect(image.contentType).toBe('image/jpeg');
    }
  }, 90_000);

  it('publishes a face capture and an access terminal verification', async () => {
    const uuid = randomUUID();
    const face = faceCaptureMultipart();
    const faceBody = Buffer.from(
      face.body
        .toString('latin1')
        .replace('10.21.3.52', FACE_IP)
        .replace(/<UUID>[^<]*<\/UUID>/, `<UUID>${uuid}</UUID>`),
      'latin1',
    );
    expect((await push(faceBody, face.contentType, FACE_IP)).status).toBe(200);
    const access = accessEventMultipart();
    const accessBody = Buffer.from(access.body.toString('latin1').replace('10.21.5.17', DOOR_IP), 'latin1');
    expect((await push(accessBody, access.contentType, DOOR_IP)).status).toBe(200);
    const card = withIp(fixtureText('isapi/access-card-invalid.json'), DOOR_IP);
    expect((await push(card, 'application/json', DOOR_IP)).status).toBe(200);

    const faces = () => svc.events.get(topics.deviceFaceCaptured.name) ?? [];
    const cards = () => svc.events.get(topics.deviceCredentialPresented.name) ?? [];
    await waitFor(() => faces().length >= 2 && cards().length >= 1, {
      timeoutMs: 30_000,
      message: 'events not on Kafka',
    });
    const captured = faces().find((e) => e.deviceId === ids.face)!
      .value as unknown as anfang.device.v1.FaceCaptured;
    expect(captured.sourceObjectId).toBe(uuid);
    expect(captured.images.map((i) => i.kind)).toEqual([
      ImageKind.IMAGE_KIND_FACE,
      ImageKind.IMAGE_KIND_SCENE,
    ]);
    const verified = faces().find((e) => e.deviceId === ids.door)!
      .value as unknown as anfang.device.v1.FaceCaptured;
    expect(verified).toMatchObject({
      devicePersonRef: '100231',
      localDecision: anfang.device.v1.LocalDecision.LOCAL_DECISION_ALLOWED,
      direction: Direction.DIRECTION_IN,
    });
    expect(verified.images).toHaveLength(1);
    expect((await svc.image(verified.images[0]!.objectKey ?? '')).size).toBe(
      fixture('isapi/faceImage.jpg').length,
    );
    const presented = cards()[0]!.value as unknown as anfang.device.v1.CredentialPresented;
    expect(presented.card?.cardNumber).toBe('3A7F91C2');
    expect(presented.localDecision).toBe(anfang.device.v1.LocalDecision.LOCAL_DECISION_DENIED);
  }, 90_000);

  it('quarantines a malformed alert and an unknown device', async () => {
    // Only this test's rows: `push` retries while the directory has not learned a device yet,
    // and each of those 403s is quarantined too.
    const since = new Date();
    const malformed = await push(
      '<EventNotificationAlert><eventType>ANPR</EventNotificationAlert>',
      'application/xml',
      ANPR_IP,
    );
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('malformed XML');
    const stranger = await svc.post(
      ALERT,
      fixtureText('isapi/anpr.xml'),
      { 'content-type': 'application/xml' },
      '127.0.0.250',
    );
    expect(stranger.status).toBe(403);
    const rows = await waitFor(
      async () => {
        const r = await svc.quarantine(since);
        return r.length >= 2 ? r : undefined;
      },
      { timeoutMs: 10_000, message: 'no quarantine rows' },
    );
    expect(rows.map((r) => [r.protocol, r.http_status, r.device_id])).toEqual([
      ['isapi', 400, ids.anpr],
      ['isapi', 403, null],
    ]);
    expect(rows[0]!.reason).toContain('malformed XML');
  }, 60_000);
});
