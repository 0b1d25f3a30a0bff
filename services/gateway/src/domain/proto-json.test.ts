import { reflectionRoot } from '@anfang/contracts';
import { InvalidArgumentError } from '@anfang/platform/grpc';
import { describe, expect, it } from 'vitest';
import {
  messageFromJson,
  messageToJson,
  objectFromJson,
  timestampFromJson,
  timestampToJson,
} from './proto-json.ts';

const root = reflectionRoot();
const CreateZone = root.lookupType('anfang.alarm.v1.CreateZoneRequest');
const ListAlarms = root.lookupType('anfang.alarm.v1.ListAlarmsRequest');
const UpdateZone = root.lookupType('anfang.alarm.v1.UpdateZoneRequest');

describe('proto3 JSON', () => {
  it('round-trips enums by name, repeated fields and timestamps', () => {
    const json = {
      zone: {
        compoundId: '370303001001001',
        name: '南侧围墙',
        kind: 'ZONE_KIND_WALL',
        sensorDeviceIds: ['a', 'b'],
        armingUntil: '2026-11-28T10:00:00.250Z',
      },
    };
    const message = messageFromJson(CreateZone, json);
    const out = messageToJson(CreateZone, message) as { zone: Record<string, unknown> };
    expect(out.zone).toMatchObject(json.zone);
  });

  it('accepts proto field names beside JSON names, and strings for numbers (query parameters)', () => {
    expect(objectFromJson(ListAlarms, { compound_id: 'x', limit: '5', states: 'ALARM_STATE_NEW' })).toEqual({
      compoundId: 'x',
      limit: '5',
      states: ['ALARM_STATE_NEW'],
    });
  });

  it('refuses unknown fields, unknown enum names and wrong shapes, naming the field', () => {
    const fail = (json: unknown) => {
      try {
        objectFromJson(CreateZone, json);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        return (error as InvalidArgumentError).violations[0]?.field;
      }
      throw new Error('accepted');
    };
    expect(fail({ zone: { colour: 'red' } })).toBe('zone.colour');
    expect(fail({ zone: { kind: 'ZONE_KIND_MOAT' } })).toBe('zone.kind');
    expect(fail({ zone: { name: 42 } })).toBe('zone.name');
    expect(fail({ zone: { sensorDeviceIds: [1] } })).toBe('zone.sensorDeviceIds[0]');
    expect(fail({ zone: { armingUntil: 'tomorrow' } })).toBe('zone.armingUntil');
    expect(fail([])).toBe('CreateZoneRequest');
  });

  it('maps a FieldMask to and from lowerCamelCase paths', () => {
    const mask = UpdateZone.fieldsArray.find((f) => f.resolvedType?.fullName.endsWith('FieldMask'));
    if (!mask) return; // UpdateZone has no mask in this version of the protos
    const plain = objectFromJson(UpdateZone, { [mask.name]: 'name,sensorDeviceIds' });
    expect(plain[mask.name]).toEqual({ paths: ['name', 'sensor_device_ids'] });
    const message = UpdateZone.fromObject(plain);
    expect(messageToJson(UpdateZone, message)[mask.name]).toBe('name,sensorDeviceIds');
  });

  it('writes RFC 3339 with 0, 3, 6 or 9 fractional digits and reads offsets', () => {
    expect(timestampToJson({ seconds: 0, nanos: 0 })).toBe('1970-01-01T00:00:00Z');
    expect(timestampToJson({ seconds: 1, nanos: 250_000_000 })).toBe('1970-01-01T00:00:01.250Z');
    expect(timestampToJson({ seconds: 1, nanos: 1000 })).toBe('1970-01-01T00:00:01.000001Z');
    expect(timestampFromJson('2026-01-01T08:00:00+08:00', 't')).toEqual({ seconds: 1_767_225_600, nanos: 0 });
    expect(timestampFromJson('2026-01-01T00:00:00.123456789Z', 't').nanos).toBe(123_456_789);
  });
});
