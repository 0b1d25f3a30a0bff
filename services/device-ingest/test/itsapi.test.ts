/**
 * Dahua ITSAPI end to end against the real service and infrastructure: a plate camera registered
 * through the registry keeps alive and pushes TollgateInfo with a base64 NormalPic, using the
 * Digest variant with an empty realm/nonce/qop; the PlateRead is read back from the real Kafka
 * topic and the picture from the bucket; the camera's resend publishes nothing new; a malformed
 * body lands in the quarantine table.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { anfang, topics } from '@anfang/contracts';
import { waitFor } from '@anfang/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestAuthorization } from '@anfang/gat1400';
import { fixture, tollgateJson } from './isapi-fixtures.ts';
import { SERVICE, startVendorService, type VendorService } from './isapi-service.ts';

const { DeviceType, Module, Direction } = anfang.common.v1;
const TOLLGATE = '/NotificationInfo/TollgateInfo';
const KEEPALIVE = '/NotificationInfo/KeepAlive';
const CAMERA_IP = `127.0.${2 + (randomBytes(1)[0]! % 200)}.5`;
const SECRET = `dahua-${randomBytes(12).toString('hex')}`;
const json = { 'content-type': 'application/json' };

/** A pass of its own: a fresh time and upload number. */
function tollgate(second: number, uploadNum: number): string {
  const body = tollgateJson() as {
    Picture: { SnapInfo: Record<string, unknown>; Plate: Record<string, unknown> };
  };
  body.Picture.SnapInfo['AccurateTime'] = `2024-05-13 09:21:${String(second).padStart(2, '0')}.456`;
  body.Picture.Plate['UploadNum'] = uploadNum;
  return JSON.stringify(body);
}

/** Dahua's Digest: empty realm, nonce and qop (RFC 2069 form). */
const dahuaDigest = (uri: string) =>
  digestAuthorization({
    username: 'admin',
    secret: SECRET,
    method: 'POST',
    uri,
    challenge: 'Digest realm="", nonce=""',
    realm: '',
    nonce: '',
    qopStyle: 'none',
  });

describe.skipIf(!existsSync(SERVICE))('Dahua ITSAPI push (real service)', () => {
  let svc: VendorService;
  let cameraId: string;

  beforeAll(async () => {
    svc = await startVendorService('itsapi', [topics.devicePlateRead]);
    cameraId = await svc.register(
      {
        name: '南门车辆出口',
        deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
        module: Module.MODULE_VEHICLE_ACCESS,
        compoundId: '370303001002',
        direction: Direction.DIRECTION_OUT,
        vendor: 'dahua',
        model: 'DHI-ITC237-PW6M-IRLZF',
        serialNumber: `7G0A9B1PAG${randomBytes(3).toString('hex')}`,
        protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_DAHUA_ITSAPI,
        ipAddress: CAMERA_IP,
      },
      SECRET,
    );
  }, 120_000);

  afterAll(async () => svc?.close(), 60_000);

  const post = (path: string, body: string) =>
    svc.post(path, body, { ...json, authorization: dahuaDigest(path) }, CAMERA_IP);

  it('answers KeepAlive with {"Result": true}', async () => {
    // The directory learns new devices asynchronously.
    const res = await waitFor(
      async () => {
        const r = await post(KEEPALIVE, '{}');
        return r.status === 403 ? undefined : r;
      },
      { timeoutMs: 15_000, intervalMs: 250, message: 'camera never became known' },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ Result: true });
    const unauthenticated = await svc.post(KEEPALIVE, '{}', json, CAMERA_IP);
    expect(unauthenticated.status).toBe(401);
  }, 30_000);

  it('publishes a TollgateInfo with its NormalPic once, however often the camera sends it', async () => {
    const first = tollgate(33, 1523);
    const res = await post(TOLLGATE, first);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ Result: true });
    // The camera did not see the answer and sends the same pass again.
    expect((await post(TOLLGATE, first)).status).toBe(200);
    expect((await post(TOLLGATE, tollgate(41, 1524))).status).toBe(200);

    const reads = () =>
      (svc.events.get(topics.devicePlateRead.name) ?? []).map(
        (e) => e.value as unknown as anfang.device.v1.PlateRead,
      );
    await waitFor(() => reads().some((r) => r.sourceObjectId.endsWith(':1524')), {
      timeoutMs: 30_000,
      message: 'plate reads not on Kafka',
    });
    const firstReads = reads().filter((r) => r.sourceObjectId.endsWith(':1523'));
    expect(firstReads).toHaveLength(1);
    const read = firstReads[0]!;
    expect(read.device?.deviceId).toBe(cameraId);
    expect(read.meta?.occurredAt?.seconds).toBe(Date.parse('2024-05-13T01:21:33Z') / 1000);
    expect(read).toMatchObject({
      hasPlate: true,
      plateNumber: '鲁C12345',
      plateColor: anfang.common.v1.PlateColor.PLATE_COLOR_BLUE,
      vehicleColor: anfang.common.v1.VehicleColor.VEHICLE_COLOR_WHITE,
      vehicleType: anfang.common.v1.VehicleType.VEHICLE_TYPE_CAR,
      vehicleBrand: 'Volkswagen',
      // Obverse (towards the camera) on a camera installed for the exit lane.
      direction: Direction.DIRECTION_OUT,
    });
    expect(read.images).toHaveLength(1);
    const sent = fixture('isapi/vehiclePicture.jpg');
    expect(await svc.image(read.images[0]!.objectKey ?? '')).toEqual({
      size: sent.length,
      sha256: createHash('sha256').update(sent).digest('hex'),
    });
  }, 90_000);

  it('answers a malformed body with {"Result": false} and quarantines it', async () => {
    const res = await post(TOLLGATE, '{"Picture": {"Plate": ');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ Result: false });
    // Only the malformed body: KeepAlives refused while the directory did not know the camera yet
    // (the first test retries them) are quarantined as unknown_device, and are not this test's.
    const malformed = await waitFor(
      async () => {
        const r = (await svc.quarantine()).filter((row) => !row.reason.startsWith('unknown_device'));
        return r.length > 0 ? r : undefined;
      },
      { timeoutMs: 10_000, message: 'no quarantine row' },
    );
    expect(malformed.map((r) => [r.protocol, r.http_status, r.device_id])).toEqual([
      ['itsapi', 400, cameraId],
    ]);
    expect(malformed[0]!.reason).toContain('malformed JSON');
  }, 30_000);

  it('coerces a PlateNumber sent as a number and quarantines one that is no plate', async () => {
    const numeric = JSON.parse(tollgate(52, 1601)) as { Picture: { Plate: Record<string, unknown> } };
    numeric.Picture.Plate['PlateNumber'] = 1234567;
    numeric.Picture.Plate['Channel'] = '0';
    numeric.Picture.Plate['IsExist'] = 'true';
    const ok = await post(TOLLGATE, JSON.stringify(numeric));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ Result: true });
    const read = await waitFor(
      () =>
        (svc.events.get(topics.devicePlateRead.name) ?? [])
          .map((e) => e.value as unknown as anfang.device.v1.PlateRead)
          .find((r) => r.sourceObjectId.endsWith(':1601')),
      { timeoutMs: 30_000, message: 'coerced plate read not on Kafka' },
    );
    expect(read).toMatchObject({ hasPlate: true, plateNumber: '1234567' });

    const bogus = JSON.parse(tollgate(53, 1602)) as { Picture: { Plate: Record<string, unknown> } };
    bogus.Picture.Plate['PlateNumber'] = true;
    const refused = await post(TOLLGATE, JSON.stringify(bogus));
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text)).toEqual({
      Result: false,
      Reason: 'invalid_event: Plate.PlateNumber must be a string, got boolean true',
    });
    const row = await waitFor(
      async () => (await svc.quarantine()).find((r) => r.reason.includes('Plate.PlateNumber')),
      { timeoutMs: 10_000, message: 'refused plate not quarantined' },
    );
    expect([row.protocol, row.http_status, row.device_id]).toEqual(['itsapi', 400, cameraId]);
    expect(
      (svc.events.get(topics.devicePlateRead.name) ?? []).some((e) =>
        (e.value as unknown as anfang.device.v1.PlateRead).sourceObjectId.endsWith(':1602'),
      ),
    ).toBe(false);
  }, 60_000);
});
