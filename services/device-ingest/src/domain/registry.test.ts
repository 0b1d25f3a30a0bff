import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import {
  canonicalIp,
  changedFields,
  normaliseDevice,
  parseEnum,
  parseMask,
  ENUMS,
  type DeviceInput,
} from './registry.ts';

const { DeviceType, Module, Direction } = anfang.common.v1;
const { DeviceProtocol } = anfang.device.v1;

const valid: DeviceInput = {
  name: '1号门 人脸闸机 入',
  deviceType: DeviceType.DEVICE_TYPE_FACE_GATE,
  module: Module.MODULE_PEDESTRIAN_ACCESS,
  compoundId: '370303001001001',
  address: {
    town: { code: '370303001', name: '车站街道' },
    committee: { code: '370303001001', name: '安乐街社区' },
    compound: { name: '天晓小区' },
    building: { code: '370303001001001003', name: '3号楼' },
    fullName: '张店区车站街道安乐街社区天晓小区3号楼',
  },
  direction: Direction.DIRECTION_IN,
  protocol: DeviceProtocol.DEVICE_PROTOCOL_GENERIC_HTTP,
  vendor: 'Hikvision',
  serialNumber: 'DS-K1T671-20200101',
  ipAddress: '10.1.2.3',
};

describe('normaliseDevice', () => {
  it('accepts a complete device and derives the address code and level', () => {
    const { fields, violations } = normaliseDevice(valid);
    expect(violations).toEqual([]);
    expect(fields.address.code).toBe('370303001001001003');
    expect(fields.address.level).toBe(anfang.common.v1.AddressLevel.ADDRESS_LEVEL_BUILDING);
    expect(fields.address.compound).toEqual({ code: '370303001001001', name: '天晓小区' });
    expect(fields.gat1400Id).toBe('');
  });

  it('reports every problem at once, by proto field path', () => {
    const { violations } = normaliseDevice({
      name: '',
      deviceType: 0,
      module: 99,
      compoundId: '12ab',
      protocol: DeviceProtocol.DEVICE_PROTOCOL_GAT1400,
      gat1400Id: '',
      direction: 7,
      ipAddress: '10.1.2.300',
      address: { building: { code: '999', name: 'x' } },
    });
    const fields = violations.map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'device.name',
        'device.device_type',
        'device.module',
        'device.compound_id',
        'device.gat1400_id',
        'device.direction',
        'device.ip_address',
      ]),
    );
    expect(violations.find((v) => v.field === 'device.gat1400_id')?.description).toMatch(
      /required for devices speaking GA\/T 1400/,
    );
  });

  it('validates GA/T 1400 ids, hierarchical codes, and addresses of vendor push devices', () => {
    expect(normaliseDevice({ ...valid, gat1400Id: '3703030000119000000' }).violations).toEqual([
      { field: 'device.gat1400_id', description: 'must be 20 digits' },
    ]);
    expect(normaliseDevice({ ...valid, gat1400Id: '37030300001190000001' }).violations).toEqual([]);
    const wrongPrefix = normaliseDevice({
      ...valid,
      address: { ...valid.address, building: { code: '370303002001001003', name: '3号楼' } },
    });
    expect(wrongPrefix.violations).toEqual([
      {
        field: 'device.address.building.code',
        description: expect.stringMatching(/must start with the compound code 370303001001001/),
      },
    ]);
    const isapi = normaliseDevice({
      ...valid,
      protocol: DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI,
      ipAddress: '',
    });
    expect(isapi.violations.map((v) => v.field)).toEqual(['device.ip_address']);
  });

  it('canonicalises IP addresses', () => {
    expect(canonicalIp('010.001.002.003')).toBeUndefined();
    expect(canonicalIp('10.1.2.3')).toBe('10.1.2.3');
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(canonicalIp('host')).toBeUndefined();
  });
});

describe('update masks and diffs', () => {
  it('accepts mutable fields, refuses immutable and unknown ones', () => {
    expect(parseMask(['name', 'address.building', 'zone_id'])).toEqual({
      mask: ['name', 'address', 'zone_id'],
      violations: [],
    });
    expect(parseMask([]).violations).toEqual([
      { field: 'update_mask', description: 'required: the fields to change' },
    ]);
    expect(parseMask(['device_id', 'colour']).violations.map((v) => v.description)).toEqual([
      'device_id cannot be changed',
      'unknown field colour',
    ]);
  });

  it('lists the fields that differ, comparing addresses by value', () => {
    const a = normaliseDevice(valid).fields;
    const b = normaliseDevice({ ...valid, name: 'renamed', address: { ...valid.address } }).fields;
    expect(changedFields(a, b)).toEqual(['name']);
    expect(changedFields(a, normaliseDevice(valid).fields)).toEqual([]);
  });
});

describe('parseEnum', () => {
  it('reads enum values the way people write them', () => {
    const t = ENUMS.deviceType;
    expect(parseEnum(t.values, t.prefix, 'face_gate')).toBe(DeviceType.DEVICE_TYPE_FACE_GATE);
    expect(parseEnum(t.values, t.prefix, 'Face Gate')).toBe(DeviceType.DEVICE_TYPE_FACE_GATE);
    expect(parseEnum(t.values, t.prefix, 'DEVICE_TYPE_PLATE_CAMERA')).toBe(
      DeviceType.DEVICE_TYPE_PLATE_CAMERA,
    );
    expect(parseEnum(t.values, t.prefix, '6')).toBe(DeviceType.DEVICE_TYPE_PERIMETER_SENSOR);
    expect(parseEnum(t.values, t.prefix, '')).toBe(0);
    expect(parseEnum(t.values, t.prefix, 'toaster')).toBeUndefined();
    expect(parseEnum(t.values, t.prefix, '99')).toBeUndefined();
  });
});
