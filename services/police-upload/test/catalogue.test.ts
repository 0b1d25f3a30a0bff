/**
 * Access records, plate reads without a barrier and the device catalogue (APEs, the DoorDevices
 * extension) reach the peer, which validates each object strictly; what a platform is not
 * entitled to never leaves.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { createEventPublisher, type EventPublisher } from '@anfang/platform/bus';
import { validateApe, validateDoorDevice, validateFace, validateMotorVehicle } from '@anfang/gat1400';
import { waitFor } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

const { DeviceType, Module, ImageKind, PlateColor, CredentialType } = anfang.common.v1;
const { DeviceChangeKind, DeviceLifecycle, DeviceStatus } = anfang.device.v1;

let h: Harness;
let deviceIngest: EventPublisher;
let identity: EventPublisher;

beforeAll(async () => {
  h = await startHarness('police-upload-catalogue', {
    platform: { objectKinds: ['faces', 'motorVehicles', 'apes'], extensions: ['doorDevices'] },
  });
  deviceIngest = createEventPublisher({ bus: h.bus, producer: 'device-ingest' });
  identity = createEventPublisher({ bus: h.bus, producer: 'identity' });
});
afterAll(async () => h?.close());

const gatId = (serial: number, type = '124') =>
  `3703030000${type}0${String(serial).padStart(6, '0')}`.slice(0, 20);

function registry(
  deviceId: string,
  gat1400Id: string,
  deviceType: number,
  module: number,
  revision: number,
  compoundId = h.compoundId,
) {
  return deviceIngest.publish(
    topics.deviceRegistry,
    {
      change:
        revision === 1
          ? DeviceChangeKind.DEVICE_CHANGE_KIND_CREATED
          : DeviceChangeKind.DEVICE_CHANGE_KIND_UPDATED,
      device: {
        deviceId,
        gat1400Id,
        name: `设备 ${deviceId}`,
        deviceType,
        module,
        compoundId,
        address: { code: compoundId, fullName: '张店区测试小区' },
        vendor: 'Hikvision',
        model: 'DS-K1T671',
        ipAddress: '10.1.2.3',
        lifecycle: DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE,
        revision,
      },
    },
    { compoundId },
  );
}

describe('the device catalogue', () => {
  it('a face gate becomes an APE and a DoorDevice; going offline sends its state again', async () => {
    const id = gatId(Math.floor(Math.random() * 1e6));
    const deviceId = `gate-${randomUUID()}`;
    await registry(deviceId, id, DeviceType.DEVICE_TYPE_FACE_GATE, Module.MODULE_PEDESTRIAN_ACCESS, 1);
    await h.peer.waitFor(
      () => h.peer.counts('apes').has(id) && h.peer.counts('doorDevices').has(id),
      15_000,
      'the APE and the door device',
    );
    const ape = h.peer.received('apes').find((r) => r.id === id)!.object;
    expect(validateApe(ape)).toEqual([]);
    expect(ape).toMatchObject({ Name: `设备 ${deviceId}`, IPAddr: '10.1.2.3', PlaceCode: h.compoundId });
    const door = h.peer.received('doorDevices').find((r) => r.id === id)!.object;
    expect(validateDoorDevice(door)).toEqual([]);
    expect(door).toMatchObject({ CommunityCode: h.compoundId, DoorType: '1' });

    await deviceIngest.publish(
      topics.deviceStatusChanged,
      {
        device: { deviceId, gat1400Id: id, addressCode: h.compoundId },
        previousStatus: DeviceStatus.DEVICE_STATUS_ONLINE,
        status: DeviceStatus.DEVICE_STATUS_OFFLINE,
      },
      { compoundId: h.compoundId },
    );
    const offline = (kind: 'apes' | 'doorDevices') =>
      h.peer.received(kind).some((r) => r.id === id && r.object.IsOnline === '2');
    await h.peer.waitFor(() => offline('apes') && offline('doorDevices'), 15_000, 'the device offline');
    // An older revision redelivered by the compacted topic is not sent.
    const apes = h.peer.counts('apes').get(id);
    await registry(deviceId, id, DeviceType.DEVICE_TYPE_FACE_GATE, Module.MODULE_PEDESTRIAN_ACCESS, 0);
    await waitFor(async () => (await h.sql.query('SELECT 1 FROM upload_outbox')).rowCount === 0);
    expect(h.peer.counts('apes').get(id)).toBe(apes);
    expect(h.peer.rejections).toEqual([]);
  });

  it("another compound's devices and devices without a GA/T id are not sent", async () => {
    const other = gatId(Math.floor(Math.random() * 1e6));
    await registry(`x-${randomUUID()}`, other, DeviceType.DEVICE_TYPE_FACE_GATE, 2, 1, '370303999999999');
    await registry(`y-${randomUUID()}`, '', DeviceType.DEVICE_TYPE_FACE_GATE, 2, 1);
    const marker = gatId(Math.floor(Math.random() * 1e6), '131');
    await registry(
      `z-${randomUUID()}`,
      marker,
      DeviceType.DEVICE_TYPE_VIDEO_CAMERA,
      Module.MODULE_VIDEO_PUBLIC_AREAS,
      1,
    );
    await h.peer.waitFor(() => h.peer.counts('apes').has(marker), 15_000, 'the camera');
    expect(h.peer.counts('apes').has(other)).toBe(false);
    expect(h.peer.counts('doorDevices').has(marker)).toBe(false);
  });
});

describe('access records and plate reads', () => {
  it('an access record with a picture arrives as a valid face', async () => {
    const eventId = randomUUID();
    const door = gatId(Math.floor(Math.random() * 1e6));
    await identity.publish(
      topics.identityAccessRecorded,
      {
        recordId: randomUUID(),
        device: { deviceId: 'door-1', gat1400Id: door, addressCode: h.compoundId },
        credentialType: CredentialType.CREDENTIAL_TYPE_CARD,
        credentialMasked: '卡 ****3F2A',
        decision: anfang.identity.v1.AccessDecision.ACCESS_DECISION_ALLOWED,
        images: [
          {
            objectKey: h.imageKeys.face,
            contentType: 'image/jpeg',
            kind: ImageKind.IMAGE_KIND_FACE,
            width: 16,
            height: 16,
          },
        ],
      },
      { eventId, occurredAt: new Date(), compoundId: h.compoundId },
    );
    await h.peer.waitFor(
      () => h.peer.received('faces').some((r) => r.object.DeviceID === door),
      15_000,
      'the access face',
    );
    const face = h.peer.received('faces').find((r) => r.object.DeviceID === door)!.object;
    expect(validateFace(face)).toEqual([]);
    // The credential is not personal data the standard's face carries.
    expect(JSON.stringify(face)).not.toContain('3F2A');
  });

  it('a road camera read arrives as a motor vehicle; a barrier camera read waits for its passage', async () => {
    const road = gatId(Math.floor(Math.random() * 1e6), '121');
    const barrier = gatId(Math.floor(Math.random() * 1e6), '123');
    const roadDevice = `road-${randomUUID()}`;
    const barrierDevice = `barrier-${randomUUID()}`;
    await registry(
      barrierDevice,
      barrier,
      DeviceType.DEVICE_TYPE_PLATE_CAMERA,
      Module.MODULE_VEHICLE_ACCESS,
      1,
    );
    await registry(
      roadDevice,
      road,
      DeviceType.DEVICE_TYPE_PLATE_CAMERA,
      Module.MODULE_VEHICLE_RECOGNITION,
      1,
    );
    await h.peer.waitFor(
      () => h.peer.counts('apes').has(road) && h.peer.counts('apes').has(barrier),
      15_000,
      'both cameras known',
    );
    const read = (deviceId: string, gat1400Id: string, plate: string) =>
      deviceIngest.publish(
        topics.devicePlateRead,
        {
          device: { deviceId, gat1400Id, addressCode: h.compoundId },
          sourceObjectId: randomUUID(),
          hasPlate: true,
          plateNumber: plate,
          plateColor: PlateColor.PLATE_COLOR_BLUE,
          lane: 2,
          confidence: 0.9,
          images: [
            {
              objectKey: h.imageKeys.vehicle,
              contentType: 'image/jpeg',
              kind: ImageKind.IMAGE_KIND_VEHICLE,
              width: 16,
              height: 16,
              capturedAt: timestampFromDate(new Date()),
            },
          ],
        },
        { occurredAt: new Date(), compoundId: h.compoundId },
      );
    await read(barrierDevice, barrier, '鲁C0BAR1');
    await read(roadDevice, road, '鲁C0ROD1');
    await h.peer.waitFor(
      () => h.peer.received('motorVehicles').some((r) => r.object.PlateNo === '鲁C0ROD1'),
      15_000,
      'the road read',
    );
    const vehicle = h.peer.received('motorVehicles').find((r) => r.object.PlateNo === '鲁C0ROD1')!.object;
    expect(validateMotorVehicle(vehicle)).toEqual([]);
    expect(vehicle).toMatchObject({ DeviceID: road, LaneNo: 2, HasPlate: '1', PlateColor: '5' });
    await waitFor(async () => (await h.sql.query('SELECT 1 FROM upload_outbox')).rowCount === 0);
    expect(h.peer.received('motorVehicles').some((r) => r.object.PlateNo === '鲁C0BAR1')).toBe(false);
  });
});
