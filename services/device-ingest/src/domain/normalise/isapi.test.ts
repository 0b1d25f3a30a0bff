import { describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { fixture, fixtureText } from '../../../test/isapi-fixtures.ts';
import {
  isapiPlateColor,
  isapiVehicleColor,
  isapiVehicleType,
  normalisePlate,
  relativeDirection,
} from './isapi-codes.ts';
import {
  IsapiPayloadError,
  isapiClaimedIdentity,
  mapIsapiAlert,
  parseIsapiDateTime,
  parseIsapiDocument,
  parseIsapiJson,
  parseIsapiXml,
  type IsapiPicture,
} from './isapi.ts';

const { PlateColor, VehicleColor, VehicleType, Direction, ImageKind, TriggerState } = anfang.common.v1;
const { PerimeterSensorKind, DetectionTarget, DeviceAlarmKind, LocalDecision } = anfang.device.v1;

const jpeg = (name: string): IsapiPicture => ({
  name,
  contentType: 'image/jpeg',
  bytes: fixture(`isapi/${name}`),
});
const opts = { deviceDirection: Direction.DIRECTION_IN };

function single(outcome: ReturnType<typeof mapIsapiAlert>) {
  if (outcome.kind !== 'events') throw new Error(`expected events, got ${outcome.kind}`);
  expect(outcome.events).toHaveLength(1);
  return outcome.events[0]!;
}

describe('ISAPI ANPR', () => {
  const alert = parseIsapiXml(fixtureText('isapi/anpr.xml'));
  const pictures = [
    jpeg('licensePlatePicture.jpg'),
    jpeg('vehiclePicture.jpg'),
    jpeg('detectionPicture.jpg'),
  ];

  it('maps the real EventNotificationAlert to a PlateRead', () => {
    const event = single(mapIsapiAlert(alert, pictures, opts));
    expect(event.topic).toBe(topics.devicePlateRead);
    expect(event.sourceKey).toBe('6d3e1a70-1f0b-11ef-8000-bcbac25e7a11');
    expect(event.occurredAt.toISOString()).toBe('2024-05-13T01:21:33.456Z');
    expect(event.imageField).toBe('images');
    expect(event.payload).toEqual({
      sourceObjectId: '6d3e1a70-1f0b-11ef-8000-bcbac25e7a11',
      hasPlate: true,
      plateNumber: '鲁C12345',
      plateColor: PlateColor.PLATE_COLOR_BLUE,
      vehicleColor: VehicleColor.VEHICLE_COLOR_WHITE,
      vehicleType: VehicleType.VEHICLE_TYPE_SUV,
      vehicleBrand: '',
      direction: Direction.DIRECTION_IN,
      lane: 2,
      confidence: 0.98,
      spoofCheck: 0,
    });
    expect(event.images.map((i) => [i.sourceName, i.kind, i.contentType])).toEqual([
      ['licensePlatePicture.jpg', ImageKind.IMAGE_KIND_PLATE, 'image/jpeg'],
      ['vehiclePicture.jpg', ImageKind.IMAGE_KIND_VEHICLE, 'image/jpeg'],
      ['detectionPicture.jpg', ImageKind.IMAGE_KIND_SCENE, 'image/jpeg'],
    ]);
    expect(event.images[0]!.bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('encodes with the topic codec', () => {
    const event = single(mapIsapiAlert(alert, pictures, opts));
    const decoded = topics.devicePlateRead.payload.decode(
      topics.devicePlateRead.payload.encode(event.payload as never),
    );
    expect(decoded.plateNumber).toBe('鲁C12345');
    expect(decoded.lane).toBe(2);
  });

  it('reads reverse travel relative to the installed direction', () => {
    const reverse = parseIsapiXml(
      fixtureText('isapi/anpr.xml').replace('<direction>forward', '<direction>reverse'),
    );
    expect(single(mapIsapiAlert(reverse, [], opts)).payload['direction']).toBe(Direction.DIRECTION_OUT);
    expect(
      single(mapIsapiAlert(reverse, [], { deviceDirection: Direction.DIRECTION_OUT })).payload['direction'],
    ).toBe(Direction.DIRECTION_IN);
  });

  it('derives a stable source key from plate and time without a UUID', () => {
    const xml = fixtureText('isapi/anpr.xml').replace(/<UUID>.*<\/UUID>/, '');
    const a = single(mapIsapiAlert(parseIsapiXml(xml), [], opts));
    const b = single(
      mapIsapiAlert(
        parseIsapiXml(xml.replace('<isDataRetransmission>false', '<isDataRetransmission>true')),
        [],
        opts,
      ),
    );
    expect(a.sourceKey).toBe('anpr:鲁C12345:2024-05-13T09:21:33.456+08:00');
    expect(b.sourceKey).toBe(a.sourceKey);
  });

  it('reports a vehicle without a plate', () => {
    const xml = fixtureText('isapi/anpr.xml').replace('鲁C·12345', '无车牌');
    const payload = single(mapIsapiAlert(parseIsapiXml(xml), [], opts)).payload;
    expect(payload['hasPlate']).toBe(false);
    expect(payload['plateNumber']).toBe('');
  });

  it('refuses an ANPR alert without a plate element or time', () => {
    const noPlate = fixtureText('isapi/anpr.xml')
      .replace(/<licensePlate>.*<\/licensePlate>/, '')
      .replace(/<originalLicensePlate>.*<\/originalLicensePlate>/, '');
    expect(() => mapIsapiAlert(parseIsapiXml(noPlate), [], opts)).toThrow('ANPR.licensePlate is missing');
    const noTime = fixtureText('isapi/anpr.xml').replace(/<dateTime>.*<\/dateTime>/, '');
    expect(() => mapIsapiAlert(parseIsapiXml(noTime), [], opts)).toThrow('dateTime is missing');
    const badTime = fixtureText('isapi/anpr.xml').replace(
      /<dateTime>.*<\/dateTime>/,
      '<dateTime>13/05/2024</dateTime>',
    );
    expect(() => mapIsapiAlert(parseIsapiXml(badTime), [], opts)).toThrow(IsapiPayloadError);
  });

  it('tells who the payload claims to be', () => {
    expect(isapiClaimedIdentity(alert)).toEqual({
      ipAddress: '10.21.3.41',
      macAddress: 'bc:ba:c2:5e:7a:11',
      serialNumber: undefined,
    });
  });
});

describe('ISAPI perimeter, face capture, heartbeat', () => {
  it('maps fielddetection to PerimeterTriggered', () => {
    const event = single(
      mapIsapiAlert(
        parseIsapiXml(fixtureText('isapi/fielddetection.xml')),
        [jpeg('detectionPicture.jpg')],
        opts,
      ),
    );
    expect(event.topic).toBe(topics.devicePerimeterTriggered);
    expect(event.payload).toMatchObject({
      sensorKind: PerimeterSensorKind.PERIMETER_SENSOR_KIND_VIDEO_REGION_INTRUSION,
      state: TriggerState.TRIGGER_STATE_ACTIVE,
      regionId: '2',
      target: DetectionTarget.DETECTION_TARGET_HUMAN,
    });
    expect(event.images[0]!.kind).toBe(ImageKind.IMAGE_KIND_DETECTION);
  });

  it('maps linedetection and regionEntrance, and an inactive state', () => {
    const line = fixtureText('isapi/fielddetection.xml').replace(
      '<eventType>fielddetection',
      '<eventType>linedetection',
    );
    expect(single(mapIsapiAlert(parseIsapiXml(line), [], opts)).payload['sensorKind']).toBe(
      PerimeterSensorKind.PERIMETER_SENSOR_KIND_VIDEO_LINE_CROSSING,
    );
    const entrance = fixtureText('isapi/fielddetection.xml')
      .replace('<eventType>fielddetection', '<eventType>regionEntrance')
      .replace('<eventState>active', '<eventState>inactive')
      .replace('<detectionTarget>human', '<detectionTarget>vehicle');
    expect(single(mapIsapiAlert(parseIsapiXml(entrance), [], opts)).payload).toMatchObject({
      sensorKind: PerimeterSensorKind.PERIMETER_SENSOR_KIND_VIDEO_REGION_ENTRANCE,
      state: TriggerState.TRIGGER_STATE_INACTIVE,
      target: DetectionTarget.DETECTION_TARGET_VEHICLE,
    });
  });

  it('maps faceCapture with the face crop and the scene', () => {
    const event = single(
      mapIsapiAlert(
        parseIsapiXml(fixtureText('isapi/face-capture.xml')),
        [jpeg('faceImage.jpg'), jpeg('backgroundImage.jpg')],
        opts,
      ),
    );
    expect(event.topic).toBe(topics.deviceFaceCaptured);
    expect(event.sourceKey).toBe('a1f08c22-1115-4b52-9b0e-4419b60d3e9a');
    expect(event.images.map((i) => i.kind)).toEqual([ImageKind.IMAGE_KIND_FACE, ImageKind.IMAGE_KIND_SCENE]);
  });

  it('refuses a faceCapture without a picture', () => {
    expect(() => mapIsapiAlert(parseIsapiXml(fixtureText('isapi/face-capture.xml')), [], opts)).toThrow(
      'without a face picture',
    );
  });

  it('treats inactive videoloss as a heartbeat, active videoloss as a device alarm', () => {
    const xml = fixtureText('isapi/videoloss-heartbeat.xml');
    const beat = mapIsapiAlert(parseIsapiXml(xml), [], opts);
    expect(beat).toEqual({ kind: 'heartbeat', deviceTime: new Date('2024-05-13T01:25:00Z') });
    const alarm = single(mapIsapiAlert(parseIsapiXml(xml.replace('inactive', 'active')), [], opts));
    expect(alarm.topic).toBe(topics.deviceAlarmReported);
    expect(alarm.payload['kind']).toBe(DeviceAlarmKind.DEVICE_ALARM_KIND_VIDEO_LOSS);
  });

  it('ignores event types it does not map', () => {
    const xml = fixtureText('isapi/videoloss-heartbeat.xml')
      .replace('videoloss', 'shelteralarm')
      .replace('inactive', 'active');
    expect(mapIsapiAlert(parseIsapiXml(xml), [], opts)).toMatchObject({
      kind: 'ignored',
      eventType: 'shelteralarm',
    });
  });
});

describe('ISAPI AccessControllerEvent', () => {
  it('maps minor 75 to a FaceCaptured with the terminal verdict', () => {
    const alert = parseIsapiJson(fixtureText('isapi/access-face-passed.json'));
    const event = single(
      mapIsapiAlert(alert, [jpeg('faceImage.jpg')], { deviceDirection: Direction.DIRECTION_BOTH }),
    );
    expect(event.topic).toBe(topics.deviceFaceCaptured);
    expect(event.sourceKey).toBe('ace:4821:2024-05-13T07:45:02+08:00');
    expect(event.payload).toMatchObject({
      devicePersonRef: '100231',
      localDecision: LocalDecision.LOCAL_DECISION_ALLOWED,
      direction: Direction.DIRECTION_IN,
    });
    expect(event.images[0]!.kind).toBe(ImageKind.IMAGE_KIND_FACE);
  });

  it('maps minor 76 to a refused face', () => {
    const json = fixtureText('isapi/access-face-passed.json').replace(
      '"subEventType": 75',
      '"subEventType": 76',
    );
    expect(single(mapIsapiAlert(parseIsapiJson(json), [], opts)).payload['localDecision']).toBe(
      LocalDecision.LOCAL_DECISION_DENIED,
    );
  });

  it('maps minor 9 to a card presented and refused, reader 2 = out', () => {
    const event = single(
      mapIsapiAlert(parseIsapiJson(fixtureText('isapi/access-card-invalid.json')), [], {
        deviceDirection: Direction.DIRECTION_BOTH,
      }),
    );
    expect(event.topic).toBe(topics.deviceCredentialPresented);
    expect(event.payload).toMatchObject({
      card: { cardNumber: '3A7F91C2' },
      readerNo: '2',
      direction: Direction.DIRECTION_OUT,
      localDecision: LocalDecision.LOCAL_DECISION_DENIED,
    });
    const valid = fixtureText('isapi/access-card-invalid.json').replace(
      '"subEventType": 9',
      '"subEventType": 1',
    );
    expect(single(mapIsapiAlert(parseIsapiJson(valid), [], opts)).payload['localDecision']).toBe(
      LocalDecision.LOCAL_DECISION_ALLOWED,
    );
  });

  it('maps minors 27 and 28 to door alarms', () => {
    const timeout = single(
      mapIsapiAlert(parseIsapiJson(fixtureText('isapi/access-door-timeout.json')), [], opts),
    );
    expect(timeout.topic).toBe(topics.deviceAlarmReported);
    expect(timeout.payload['kind']).toBe(DeviceAlarmKind.DEVICE_ALARM_KIND_DOOR_HELD_OPEN);
    const forced = fixtureText('isapi/access-door-timeout.json').replace(
      '"subEventType": 28',
      '"subEventType": 27',
    );
    expect(single(mapIsapiAlert(parseIsapiJson(forced), [], opts)).payload['kind']).toBe(
      DeviceAlarmKind.DEVICE_ALARM_KIND_DOOR_FORCED_OPEN,
    );
  });

  it('ignores other minors and majors', () => {
    const other = fixtureText('isapi/access-door-timeout.json').replace(
      '"subEventType": 28',
      '"subEventType": 21',
    );
    expect(mapIsapiAlert(parseIsapiJson(other), [], opts).kind).toBe('ignored');
    const major = fixtureText('isapi/access-door-timeout.json').replace(
      '"majorEventType": 5',
      '"majorEventType": 3',
    );
    expect(mapIsapiAlert(parseIsapiJson(major), [], opts).kind).toBe('ignored');
  });

  it('refuses a card event without cardNo and an access event without serialNo', () => {
    const noCard = fixtureText('isapi/access-card-invalid.json').replace('"cardNo": "3a7f91c2",', '');
    expect(() => mapIsapiAlert(parseIsapiJson(noCard), [], opts)).toThrow('without cardNo');
    const noSerial = fixtureText('isapi/access-card-invalid.json').replace('"serialNo": 4822,', '');
    expect(() => mapIsapiAlert(parseIsapiJson(noSerial), [], opts)).toThrow('serialNo is missing');
  });
});

describe('ISAPI parsing', () => {
  it('refuses malformed XML and JSON with the reason', () => {
    expect(() => parseIsapiXml('<EventNotificationAlert><eventType>ANPR</EventNotificationAlert>')).toThrow(
      /malformed XML/,
    );
    expect(() => parseIsapiXml('<ResponseStatus/>')).toThrow('XML root is not EventNotificationAlert');
    expect(() => parseIsapiJson('{"eventType": ')).toThrow(/malformed JSON/);
    expect(() => parseIsapiDocument('eventType=ANPR')).toThrow('body is neither XML nor JSON');
    expect(() => mapIsapiAlert({ dateTime: '2024-05-13T09:21:33+08:00' }, [], opts)).toThrow(
      'eventType is missing',
    );
  });

  it('parses ISO 8601 device times with and without offsets', () => {
    expect(parseIsapiDateTime('2024-05-13T09:21:33+08:00')?.toISOString()).toBe('2024-05-13T01:21:33.000Z');
    expect(parseIsapiDateTime('2024-05-13T09:21:33.12+0800')?.toISOString()).toBe('2024-05-13T01:21:33.120Z');
    expect(parseIsapiDateTime('2024-05-13T01:21:33Z')?.toISOString()).toBe('2024-05-13T01:21:33.000Z');
    expect(parseIsapiDateTime('2024-05-12T20:21:33-05:00')?.toISOString()).toBe('2024-05-13T01:21:33.000Z');
    // No offset: China Standard Time.
    expect(parseIsapiDateTime('2024-05-13T09:21:33')?.toISOString()).toBe('2024-05-13T01:21:33.000Z');
    expect(parseIsapiDateTime('2024-13-45T09:21:33+08:00')).toBeUndefined();
    expect(parseIsapiDateTime('yesterday')).toBeUndefined();
  });
});

describe('ISAPI codes', () => {
  it('maps plate colours, vehicle colours and types to the proto enums', () => {
    expect(isapiPlateColor('blue')).toBe(PlateColor.PLATE_COLOR_BLUE);
    expect(isapiPlateColor('yellow')).toBe(PlateColor.PLATE_COLOR_YELLOW);
    expect(isapiPlateColor('newEnergyGreen')).toBe(PlateColor.PLATE_COLOR_GREEN);
    expect(isapiPlateColor('yellowGreen')).toBe(PlateColor.PLATE_COLOR_YELLOW_GREEN);
    expect(isapiPlateColor('unknown')).toBe(PlateColor.PLATE_COLOR_UNSPECIFIED);
    expect(isapiPlateColor('mauve')).toBe(PlateColor.PLATE_COLOR_OTHER);
    expect(isapiVehicleColor('deepBlue')).toBe(VehicleColor.VEHICLE_COLOR_BLUE);
    expect(isapiVehicleColor('silver')).toBe(VehicleColor.VEHICLE_COLOR_GREY);
    expect(isapiVehicleColor('')).toBe(VehicleColor.VEHICLE_COLOR_UNSPECIFIED);
    expect(isapiVehicleType('largeBus')).toBe(VehicleType.VEHICLE_TYPE_BUS);
    expect(isapiVehicleType('pickupTruck')).toBe(VehicleType.VEHICLE_TYPE_PICKUP);
    expect(isapiVehicleType('threeWheelVehicle')).toBe(VehicleType.VEHICLE_TYPE_TRICYCLE);
    expect(isapiVehicleType('hovercraft')).toBe(VehicleType.VEHICLE_TYPE_OTHER);
  });

  it('normalises plates and directions', () => {
    expect(normalisePlate('鲁C·D1234 5')).toBe('鲁CD12345');
    expect(normalisePlate('无车牌')).toBe('');
    expect(relativeDirection('forward', Direction.DIRECTION_OUT)).toBe(Direction.DIRECTION_OUT);
    expect(relativeDirection('forward', Direction.DIRECTION_BOTH)).toBe(Direction.DIRECTION_IN);
    expect(relativeDirection(undefined, Direction.DIRECTION_IN)).toBe(Direction.DIRECTION_UNSPECIFIED);
  });
});

describe('ISAPI documents the parser refuses', () => {
  it('a DOCTYPE with an external entity is the device’s error (400), not ours (500)', () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><EventNotificationAlert>&e;</EventNotificationAlert>';
    expect(() => parseIsapiDocument(xxe)).toThrow(IsapiPayloadError);
  });
});
