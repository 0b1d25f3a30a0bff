import { describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { fixture, tollgateJson } from '../../../test/isapi-fixtures.ts';
import {
  ItsapiPayloadError,
  dahuaPlateColor,
  dahuaVehicleColor,
  dahuaVehicleType,
  dahuaZoneOffsetMinutes,
  mapTollgateInfo,
  parseDahuaTime,
  parseItsapiJson,
} from './itsapi.ts';

const { PlateColor, VehicleColor, VehicleType, Direction, ImageKind } = anfang.common.v1;
const opts = { deviceDirection: Direction.DIRECTION_IN };

describe('Dahua TollgateInfo', () => {
  it('maps the real body to a PlateRead with the NormalPic', () => {
    const { event, deviceTime, cameraList } = mapTollgateInfo(tollgateJson(), opts);
    expect(deviceTime.toISOString()).toBe('2024-05-13T01:21:33.456Z');
    expect(cameraList).toBe('allow');
    expect(event.topic).toBe(topics.devicePlateRead);
    expect(event.sourceKey).toBe('tollgate:鲁C12345:2024-05-13 09:21:33.456:0:1523');
    expect(event.payload).toEqual({
      sourceObjectId: event.sourceKey,
      hasPlate: true,
      plateNumber: '鲁C12345',
      plateColor: PlateColor.PLATE_COLOR_BLUE,
      vehicleColor: VehicleColor.VEHICLE_COLOR_WHITE,
      vehicleType: VehicleType.VEHICLE_TYPE_CAR,
      vehicleBrand: 'Volkswagen',
      direction: Direction.DIRECTION_IN,
      lane: 0,
      confidence: 0.92,
      spoofCheck: 0,
      plateBox: { left: 1044, top: 812, right: 1246, bottom: 876 },
    });
    expect(event.images).toHaveLength(1);
    expect(event.images[0]).toMatchObject({ kind: ImageKind.IMAGE_KIND_VEHICLE, contentType: 'image/jpeg' });
    expect(event.images[0]!.bytes.equals(fixture('isapi/vehiclePicture.jpg'))).toBe(true);
    topics.devicePlateRead.payload.encode(event.payload as never);
  });

  it('gives a resend the same source key and a new pass a new one', () => {
    const a = mapTollgateInfo(tollgateJson(), opts).event.sourceKey;
    expect(mapTollgateInfo(tollgateJson(), opts).event.sourceKey).toBe(a);
    const next = tollgateJson() as {
      Picture: { SnapInfo: Record<string, unknown>; Plate: Record<string, unknown> };
    };
    next.Picture.SnapInfo['AccurateTime'] = '2024-05-13 09:24:01.002';
    next.Picture.Plate['UploadNum'] = 1524;
    expect(mapTollgateInfo(next, opts).event.sourceKey).not.toBe(a);
  });

  it('reads Reverse as leaving and the block list flag', () => {
    const body = tollgateJson() as { Picture: { SnapInfo: Record<string, unknown> } };
    body.Picture.SnapInfo['Direction'] = 'Reverse';
    body.Picture.SnapInfo['AllowUser'] = false;
    body.Picture.SnapInfo['BlockUser'] = true;
    const result = mapTollgateInfo(body, opts);
    expect(result.event.payload['direction']).toBe(Direction.DIRECTION_OUT);
    expect(result.cameraList).toBe('block');
  });

  it('reports a vehicle without a plate', () => {
    const body = tollgateJson() as { Picture: { Plate: Record<string, unknown> } };
    body.Picture.Plate['IsExist'] = false;
    body.Picture.Plate['PlateNumber'] = '';
    const { event } = mapTollgateInfo(body, opts);
    expect(event.payload['hasPlate']).toBe(false);
    expect(event.sourceKey.startsWith('tollgate:none:')).toBe(true);
  });

  it('refuses bodies missing what it needs, with the reason', () => {
    expect(() => parseItsapiJson('{"Picture":')).toThrow(/malformed JSON/);
    expect(() => parseItsapiJson('[1]')).toThrow('body is not a JSON object');
    expect(() => mapTollgateInfo({}, opts)).toThrow('Picture is missing');
    const noTime = tollgateJson() as { Picture: { SnapInfo: Record<string, unknown> } };
    delete noTime.Picture.SnapInfo['AccurateTime'];
    expect(() => mapTollgateInfo(noTime, opts)).toThrow('SnapInfo.AccurateTime is missing');
    const badPic = tollgateJson() as { Picture: { NormalPic: Record<string, unknown> } };
    badPic.Picture.NormalPic['Content'] = Buffer.from('not an image').toString('base64');
    expect(() => mapTollgateInfo(badPic, opts)).toThrow(ItsapiPayloadError);
    badPic.Picture.NormalPic['Content'] = '%%%';
    expect(() => mapTollgateInfo(badPic, opts)).toThrow('NormalPic.Content is not base64');
  });
});

describe('Dahua time and codes', () => {
  it('parses AccurateTime in the camera zone', () => {
    expect(parseDahuaTime('2024-05-13 09:21:33.456', 13)?.toISOString()).toBe('2024-05-13T01:21:33.456Z');
    expect(parseDahuaTime('2024-05-13 09:21:33.4', 'GMT+08:00')?.toISOString()).toBe(
      '2024-05-13T01:21:33.400Z',
    );
    expect(parseDahuaTime('2024-05-13 09:21:33', undefined)?.toISOString()).toBe('2024-05-13T01:21:33.000Z');
    expect(parseDahuaTime('2024-05-13 09:21:33', 0)?.toISOString()).toBe('2024-05-13T09:21:33.000Z');
    expect(parseDahuaTime('2024-02-30 09:21:33', 13)).toBeUndefined();
    expect(parseDahuaTime('13/05/2024 09:21', 13)).toBeUndefined();
    expect(dahuaZoneOffsetMinutes('-05:00')).toBe(-300);
    expect(dahuaZoneOffsetMinutes(99)).toBeUndefined();
  });

  it('maps colours and types to the proto enums', () => {
    expect(dahuaPlateColor('Yellow')).toBe(PlateColor.PLATE_COLOR_YELLOW);
    expect(dahuaPlateColor('ShadowGreen')).toBe(PlateColor.PLATE_COLOR_GREEN);
    expect(dahuaPlateColor('YellowGreen')).toBe(PlateColor.PLATE_COLOR_YELLOW_GREEN);
    expect(dahuaPlateColor('Unknown')).toBe(PlateColor.PLATE_COLOR_UNSPECIFIED);
    expect(dahuaVehicleColor('Silver')).toBe(VehicleColor.VEHICLE_COLOR_GREY);
    expect(dahuaVehicleColor('Black')).toBe(VehicleColor.VEHICLE_COLOR_BLACK);
    expect(dahuaVehicleType('LargeTruck')).toBe(VehicleType.VEHICLE_TYPE_TRUCK);
    expect(dahuaVehicleType('MiniVan')).toBe(VehicleType.VEHICLE_TYPE_VAN);
    expect(dahuaVehicleType('Motorcycle')).toBe(VehicleType.VEHICLE_TYPE_MOTORCYCLE);
    expect(dahuaVehicleType('Zeppelin')).toBe(VehicleType.VEHICLE_TYPE_OTHER);
  });
});

describe('TollgateInfo fields sent as numbers or other non-strings', () => {
  /** The fixture with `changes` applied to Picture.<section>. */
  function variant(section: 'Plate' | 'SnapInfo' | 'Vehicle', changes: Record<string, unknown>) {
    const body = tollgateJson() as { Picture: Record<string, Record<string, unknown>> };
    Object.assign(body.Picture[section]!, changes);
    return body;
  }

  it.each([
    ['a string', '鲁C12345', true, '鲁C12345'],
    ['a string with separators', ' 鲁C·123-45 ', true, '鲁C12345'],
    ['lower case', '鲁c12345', true, '鲁C12345'],
    ['a new-energy plate', '鲁CD12345', true, '鲁CD12345'],
    ['a number (digits-only read)', 1234567, true, '1234567'],
    ['a five-digit number', 12345, true, '12345'],
    ['a numeric string', '12345', true, '12345'],
    ['"无车牌"', '无车牌', false, ''],
    ['an empty string', '', false, ''],
    ['null', null, false, ''],
    ['absent', undefined, false, ''],
  ])('PlateNumber as %s is read as a plate', (_, value, hasPlate, plateNumber) => {
    const { event } = mapTollgateInfo(variant('Plate', { PlateNumber: value }), opts);
    expect(event.payload).toMatchObject({ hasPlate, plateNumber });
    expect(event.sourceKey).toContain(`tollgate:${plateNumber || 'none'}:`);
  });

  it.each([
    ['a fraction', 12345.5, 'Plate.PlateNumber is not a plate: the number 12345.5'],
    ['a negative number', -12345, 'Plate.PlateNumber is not a plate: the number -12345'],
    ['a short number', 42, 'Plate.PlateNumber is not a plate: the number 42'],
    ['zero', 0, 'Plate.PlateNumber is not a plate: the number 0'],
    ['a huge number', 1e21, 'Plate.PlateNumber is not a plate: the number 1e+21'],
    ['a boolean', true, 'Plate.PlateNumber must be a string, got boolean true'],
    ['an object', { Text: '鲁C12345' }, 'Plate.PlateNumber must be a string, got an object'],
    ['an array', ['鲁C12345'], 'Plate.PlateNumber must be a string, got an array'],
    ['markup', '<b>鲁C12345</b>', 'Plate.PlateNumber is not a plate: "<b>鲁C12345</b>"'],
    ['too long', '鲁C1234567890', 'Plate.PlateNumber is not a plate: "鲁C1234567890"'],
  ])('PlateNumber as %s is refused with the reason', (_, value, reason) => {
    const body = variant('Plate', { PlateNumber: value });
    expect(() => mapTollgateInfo(body, opts)).toThrow(ItsapiPayloadError);
    expect(() => mapTollgateInfo(body, opts)).toThrow(reason);
  });

  it.each([
    [true, true],
    ['true', true],
    [1, true],
    ['1', true],
    [false, false],
    ['false', false],
    [0, false],
    [null, true],
  ])('IsExist %j', (value, hasPlate) => {
    expect(mapTollgateInfo(variant('Plate', { IsExist: value }), opts).event.payload['hasPlate']).toBe(
      hasPlate,
    );
  });

  it.each([
    [92, 0.92],
    ['92', 0.92],
    ['92%', 0.92],
    [150, 1],
    ['high', 0],
    [null, 0],
    [true, 0],
  ])('Confidence %j → %d', (value, confidence) => {
    expect(mapTollgateInfo(variant('Plate', { Confidence: value }), opts).event.payload['confidence']).toBe(
      confidence,
    );
  });

  it('reads Channel, UploadNum, Lane and VehicleSign given as numbers or strings alike', () => {
    const numeric = mapTollgateInfo(variant('Plate', { Channel: 2, UploadNum: 7 }), opts).event.sourceKey;
    const text = mapTollgateInfo(variant('Plate', { Channel: '2', UploadNum: '7' }), opts).event.sourceKey;
    expect(numeric).toBe(text);
    expect(numeric.endsWith(':2:7')).toBe(true);
    expect(mapTollgateInfo(variant('SnapInfo', { Lane: '3' }), opts).event.payload['lane']).toBe(3);
    expect(
      mapTollgateInfo(variant('Vehicle', { VehicleSign: 1001 }), opts).event.payload['vehicleBrand'],
    ).toBe('1001');
    expect(mapTollgateInfo(variant('SnapInfo', { AllowUser: 'true' }), opts).cameraList).toBe('allow');
  });

  it.each([
    ['Plate', { Channel: { id: 1 } }, 'Plate.Channel must be a string or number, got an object'],
    ['Plate', { UploadNum: [1] }, 'Plate.UploadNum must be a string or number, got an array'],
    ['Plate', { IsExist: 'yes' }, 'Plate.IsExist must be true or false, got string yes'],
    ['SnapInfo', { BlockUser: 2 }, 'SnapInfo.BlockUser must be true or false, got number 2'],
    [
      'Vehicle',
      { VehicleSign: { name: 'VW' } },
      'Vehicle.VehicleSign must be a string or number, got an object',
    ],
    [
      'SnapInfo',
      { AccurateTime: 1715563293456 },
      'SnapInfo.AccurateTime must be a "YYYY-mm-dd HH:MM:SS.fff" string, got number 1715563293456',
    ],
  ] as const)('%s %j is refused with the reason', (section, changes, reason) => {
    expect(() => mapTollgateInfo(variant(section, changes), opts)).toThrow(reason);
  });

  it('maps numeric colour and type codes to other/unspecified rather than failing', () => {
    const { event } = mapTollgateInfo(variant('Plate', { PlateColor: 3 }), opts);
    expect(event.payload['plateColor']).toBe(PlateColor.PLATE_COLOR_OTHER);
    const vehicle = mapTollgateInfo(variant('Vehicle', { VehicleColor: 0, VehicleType: 5 }), opts).event
      .payload;
    expect(vehicle['vehicleColor']).toBe(VehicleColor.VEHICLE_COLOR_OTHER);
    expect(vehicle['vehicleType']).toBe(VehicleType.VEHICLE_TYPE_OTHER);
  });
});
