import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isGat1400Id, isUuid, parseGat1400Id } from '@anfang/contracts';
import {
  buildCompounds,
  buildDevices,
  readCompoundCsv,
  registryDevice,
  residentPlate,
  resident,
} from './catalog.ts';
import { gat1400Id, GAT_TYPE, loopbackAddress, uuidV5 } from './ids.ts';

const CSV = join(import.meta.dirname, '../data/zhangdian-old-communities.csv');

describe('ids', () => {
  it('derives stable UUIDv5 device ids', () => {
    expect(uuidV5('device:x')).toBe(uuidV5('device:x'));
    expect(uuidV5('device:x')).not.toBe(uuidV5('device:y'));
    expect(isUuid(uuidV5('device:x'))).toBe(true);
    expect(uuidV5('device:x')[14]).toBe('5');
  });

  it('builds GA/T 1400 ids: region 370303 + town, industry, type, network, serial', () => {
    const id = gat1400Id(5, GAT_TYPE.collectionDevice, 12, 3);
    expect(id).toBe('37030305001190001203');
    expect(parseGat1400Id(id)).toEqual({
      region: '37030305',
      industry: '00',
      type: '119',
      network: '0',
      serial: '001203',
    });
    expect(() => gat1400Id(1, GAT_TYPE.camera, 1, 100)).toThrow(RangeError);
  });

  it('gives loopback addresses in 127/8', () => {
    expect(loopbackAddress(1, 0)).toBe('127.1.1.1');
    expect(loopbackAddress(300, 249)).toBe('127.2.44.250');
  });
});

describe('catalog', () => {
  const listed = readCompoundCsv(CSV);
  const compounds = buildCompounds(listed, 200);
  const devices = compounds.flatMap((c) => buildDevices(c));

  it('starts with the 37 listed compounds, then generates distinct ones', () => {
    expect(listed).toHaveLength(37);
    expect(compounds.slice(0, 37).map((c) => c.name)).toEqual(listed.map((l) => l.name));
    expect(compounds[0]).toMatchObject({ name: '天晓小区', town: '车站', generated: false });
    expect(compounds[100]!.generated).toBe(true);
    expect(new Set(compounds.map((c) => c.name)).size).toBe(200);
    expect(new Set(compounds.map((c) => c.code)).size).toBe(200);
    // address.proto: a compound's code is its committee's 12 digits + 3.
    for (const c of compounds) expect(c.code).toMatch(/^370303\d{9}$/);
  });

  it('is deterministic', () => {
    const again = buildCompounds(listed, 200).flatMap((c) => buildDevices(c));
    expect(again.map((d) => [d.deviceId, d.gat1400Id, d.ipAddress, d.protocol])).toEqual(
      devices.map((d) => [d.deviceId, d.gat1400Id, d.ipAddress, d.protocol]),
    );
  });

  it('gives every device unique ids, GA/T ids and addresses', () => {
    expect(new Set(devices.map((d) => d.deviceId)).size).toBe(devices.length);
    expect(new Set(devices.map((d) => d.ipAddress)).size).toBe(devices.length);
    const gat = devices.filter((d) => d.gat1400Id !== '');
    expect(new Set(gat.map((d) => d.gat1400Id)).size).toBe(gat.length);
    for (const d of gat) expect(isGat1400Id(d.gat1400Id) && d.gat1400Id.startsWith('370303')).toBe(true);
  });

  it('equips each compound with gates, kiosks, unit doors, plate, capture and analytics cameras, perimeter, patrol and IoT', () => {
    for (const c of compounds.slice(0, 37)) {
      const kinds = new Set(buildDevices(c).map((d) => d.kind));
      expect([...kinds].sort()).toEqual([
        'analyticsCamera',
        'captureCamera',
        'faceGate',
        'iot',
        'patrol',
        'perimeter',
        'plateCamera',
        'unitDoor',
        'visitorKiosk',
      ]);
    }
    const protocols = new Set(devices.map((d) => `${d.kind}:${d.protocol}`));
    for (const p of [
      'faceGate:isapi',
      'faceGate:generic',
      'plateCamera:itsapi',
      'plateCamera:isapi',
      'plateCamera:gat1400',
      'captureCamera:gat1400',
      'analyticsCamera:generic',
      'visitorKiosk:generic',
      'perimeter:isapi',
      'perimeter:generic',
      'patrol:generic',
      'iot:generic',
    ])
      expect(protocols).toContain(p);
    const captures = devices.filter((d) => d.kind === 'captureCamera');
    for (const d of captures) expect(d.gat1400Id.slice(10, 13)).toBe('119');
    const analytics = new Set(devices.flatMap((d) => d.analytics ?? []));
    expect([...analytics].sort()).toEqual(['high_altitude_throwing', 'intrusion', 'loitering']);
  });

  it('maps to a registry Device', () => {
    const door = devices.find((d) => d.kind === 'unitDoor')!;
    const r = registryDevice(door) as {
      address: { fullName: string; level: number };
      compoundId: string;
      protocol: number;
    };
    expect(r.compoundId).toBe(door.compound.code);
    expect(r.address.fullName).toMatch(/^山东省淄博市张店区.+号楼\d单元$/);
    expect(r.protocol).toBeGreaterThan(0);
  });

  it('derives residents and plates', () => {
    const c = compounds[0]!;
    expect(resident(c, 5)).toEqual(resident(c, 5));
    expect(resident(c, 5).building).toBeLessThanOrEqual(c.buildings);
    expect(residentPlate(c, 1)).toMatch(/^鲁C[A-Z][0-9A-Z]{4}$/);
    expect(residentPlate(c, 9)).toMatch(/^鲁C[DF][A-Z][0-9A-Z]{4}$/);
  });
});
