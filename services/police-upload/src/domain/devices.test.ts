import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { validateApe, validateDoorDevice } from '@anfang/gat1400';
import { deviceObjects, deviceRecord, isBarrierCamera, type DeviceRecord } from './devices.ts';

const { DeviceType, Module } = anfang.common.v1;
const at = new Date('2026-11-28T10:00:00Z');
const gate: DeviceRecord = {
  deviceId: 'gate-1',
  gat1400Id: '37030300001240000001',
  name: '东门人脸闸机',
  deviceType: DeviceType.DEVICE_TYPE_FACE_GATE,
  module: Module.MODULE_PEDESTRIAN_ACCESS,
  compoundId: '370303001001001',
  addressCode: '370303001001001',
  place: '张店区某小区东门',
  model: 'Hikvision DS-K5604',
  ipAddress: '10.0.0.7',
  active: true,
  revision: 3,
};

describe('deviceObjects', () => {
  it('a face gate is an APE and a door device, each valid, with its online state once known', () => {
    const built = deviceObjects('ev-1', { ...gate, online: false }, at);
    const objects = built.map((b) => (b.ok ? b.object : undefined));
    expect(objects.map((o) => o?.kind)).toEqual(['apes', 'doorDevices']);
    const [ape, door] = objects;
    expect(ape?.body).toMatchObject({
      ApeID: gate.gat1400Id,
      Name: gate.name,
      IPAddr: '10.0.0.7',
      IsOnline: '2',
    });
    expect(validateApe(ape!.body)).toEqual([]);
    expect(door?.body).toMatchObject({
      DeviceID: gate.gat1400Id,
      CommunityCode: gate.compoundId,
      DoorType: '1',
    });
    expect(validateDoorDevice(door!.body)).toEqual([]);
    // One outbox object per state, one id on the wire.
    expect(ape?.objectId).toBe(`${gate.gat1400Id}/ev-1`);
    expect(deviceObjects('ev-2', gate, at)[0]).toMatchObject({
      ok: true,
      object: { objectId: `${gate.gat1400Id}/ev-2` },
    });
    expect('IsOnline' in ape!.body).toBe(true);
    expect(deviceObjects('ev-2', gate, at).map((b) => b.ok && 'IsOnline' in b.object.body)).toEqual([
      false,
      false,
    ]);
  });

  it('a plate camera is an APE only; sensors, decommissioned and id-less devices are not described', () => {
    const camera = {
      ...gate,
      deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
      module: Module.MODULE_VEHICLE_ACCESS,
    };
    expect(deviceObjects('e', camera, at).map((b) => b.ok && b.object.kind)).toEqual(['apes']);
    expect(deviceObjects('e', { ...gate, deviceType: DeviceType.DEVICE_TYPE_IOT_SENSOR }, at)).toMatchObject([
      { ok: false },
    ]);
    expect(deviceObjects('e', { ...gate, active: false }, at)).toMatchObject([{ ok: false }]);
    expect(deviceObjects('e', { ...gate, gat1400Id: '' }, at)).toMatchObject([{ ok: false }]);
  });

  it('a unit-door terminal is door type 2', () => {
    const unit = { ...gate, deviceType: DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL };
    expect(deviceObjects('e', unit, at)[1]).toMatchObject({ ok: true, object: { body: { DoorType: '2' } } });
  });
});

describe('deviceRecord and barriers', () => {
  it('reads the registry entry; a plate camera of vehicle access is at a barrier, a road camera is not', () => {
    const record = deviceRecord({
      deviceId: 'cam',
      gat1400Id: '37030300001210000001',
      deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
      module: Module.MODULE_VEHICLE_RECOGNITION,
      compoundId: '370303001001001',
      address: { code: '370303001001001', fullName: '北门道路' },
      vendor: 'Dahua',
      model: 'ITC',
      lifecycle: anfang.device.v1.DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE,
      revision: 7,
    });
    expect(record).toMatchObject({
      deviceId: 'cam',
      model: 'Dahua ITC',
      place: '北门道路',
      active: true,
      revision: 7,
    });
    expect(isBarrierCamera(record as DeviceRecord)).toBe(false);
    expect(isBarrierCamera({ ...(record as DeviceRecord), module: Module.MODULE_VEHICLE_ACCESS })).toBe(true);
    expect(isBarrierCamera(undefined)).toBe(false);
    expect(deviceRecord({})).toEqual({ failure: 'meta.device.device_id is missing' });
  });
});
