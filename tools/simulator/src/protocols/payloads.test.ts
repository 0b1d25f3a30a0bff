import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  buildCompounds,
  buildDevices,
  readCompoundCsv,
  type DeviceKind,
  type ProtocolName,
  type SimDevice,
} from '../catalog.ts';
import type { FaceAccess, FaceSighting, PatrolCheckIn, PerimeterTrigger, PlateCapture } from '../events.ts';
import { dahuaTime, gatTime, isoBeijing } from '../events.ts';
import { validateMotorVehicle } from '@anfang/gat1400';
import { seededRandom } from '../random.ts';
import { visitorIdNumber } from '../simulator.ts';
import {
  faceListBody,
  gatImageId,
  gatObjectId,
  motorVehicleListBody,
  personListBody,
  countStatuses,
} from './gat1400.ts';
import { genericEvent } from './generic.ts';
import { accessControllerEvent, alertXml, anprAlert, isapiRequest, perimeterAlert } from './isapi.ts';
import { tollgateInfo } from './itsapi.ts';

const compounds = buildCompounds(
  readCompoundCsv(join(import.meta.dirname, '../../data/zhangdian-old-communities.csv')),
  60,
);
const devices = compounds.flatMap((c) => buildDevices(c));
const device = (
  kind: DeviceKind,
  protocol: ProtocolName,
  extra: (d: SimDevice) => boolean = () => true,
): SimDevice => devices.find((d) => d.kind === kind && d.protocol === protocol && extra(d))!;

const at = new Date('2024-05-13T01:21:33.120Z'); // 09:21:33.120 in Beijing
const isJpeg = (b64: string): boolean => {
  const bytes = Buffer.from(b64, 'base64');
  return bytes[0] === 0xff && bytes[1] === 0xd8 && bytes.at(-2) === 0xff && bytes.at(-1) === 0xd9;
};

describe('times', () => {
  it('formats Beijing local time as each protocol writes it', () => {
    expect(isoBeijing(at)).toBe('2024-05-13T09:21:33+08:00');
    expect(gatTime(at)).toBe('20240513092133');
    expect(dahuaTime(at)).toBe('2024-05-13 09:21:33.120');
  });
});

describe('GA/T 1400', () => {
  const cam = device('captureCamera', 'gat1400');
  const sighting: FaceSighting = {
    type: 'faceSighting',
    device: cam,
    serial: 42,
    deviceTime: at,
    seed: 1,
    faces: 2,
    withPerson: true,
    gender: '1',
  };

  it('builds 41-char image ids and 48-char object ids', () => {
    const source = gatImageId(cam.gat1400Id, at, 42);
    expect(source).toMatch(/^\d{20}02\d{14}\d{5}$/);
    expect(source).toHaveLength(41);
    expect(source.slice(22, 36)).toBe('20240513092133');
    expect(gatObjectId(source, '06', 1)).toMatch(/^\d{48}$/);
    expect(gatObjectId(source, '06', 1).slice(41, 43)).toBe('06');
  });

  it('wraps faces in FaceListObject/FaceObject with base64 SubImageList', () => {
    const body = faceListBody(sighting);
    const faces = body.FaceListObject.FaceObject;
    expect(faces).toHaveLength(2);
    const f = faces[0]!;
    expect(Object.keys(f)).toEqual(
      expect.arrayContaining([
        'FaceID',
        'InfoKind',
        'SourceID',
        'DeviceID',
        'LeftTopX',
        'LeftTopY',
        'RightBtmX',
        'RightBtmY',
        'ShotTime',
        'FaceAppearTime',
        'FaceDisAppearTime',
        'SubImageList',
      ]),
    );
    expect(f['DeviceID']).toBe(cam.gat1400Id);
    expect(f['ShotTime']).toBe('20240513092133');
    expect(new Set(faces.map((x) => x['FaceID'])).size).toBe(2);
    const images = (f['SubImageList'] as { SubImageInfoObject: Record<string, unknown>[] })
      .SubImageInfoObject;
    expect(images.map((i) => i['Type'])).toEqual(['11', '14']);
    for (const i of images) {
      expect(i).toMatchObject({ FileFormat: 'Jpeg', DeviceID: cam.gat1400Id, ShotTime: '20240513092133' });
      expect(String(i['ImageID'])).toHaveLength(41);
      expect(isJpeg(String(i['Data']))).toBe(true);
    }
  });

  it('wraps persons in PersonListObject/PersonObject', () => {
    const p = personListBody(sighting).PersonListObject.PersonObject[0]!;
    expect(String(p['PersonID'])).toHaveLength(48);
    expect(String(p['PersonID']).slice(41, 43)).toBe('01');
    expect(p['PersonAppearTime']).toBe('20240513092133');
  });

  it('counts per-object answers whatever type StatusCode has', () => {
    const answer = {
      ResponseStatusListObject: {
        ResponseStatusObject: [
          { StatusCode: 0 },
          { StatusCode: '0' },
          { StatusCode: '8', StatusString: 'bad' },
        ],
      },
    };
    expect(countStatuses(Buffer.from(JSON.stringify(answer)), 3)).toEqual({
      accepted: 2,
      rejected: 1,
      reason: 'bad',
    });
  });
});

describe('Hikvision ISAPI', () => {
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, removeNSPrefix: true });

  it('writes ANPR as an EventNotificationAlert with pictures in a multipart body', async () => {
    const cam = device('plateCamera', 'isapi');
    const plate: PlateCapture = {
      type: 'plate',
      device: cam,
      serial: 7,
      deviceTime: at,
      seed: 3,
      plate: '鲁C12345',
      plateColour: 'blue',
      vehicleColour: 'white',
      vehicleKind: 'sedan',
      brand: 'BYD',
      list: 'allow',
      confidence: 93,
      lane: 1,
    };
    const alert = parser.parse(alertXml(anprAlert(plate))).EventNotificationAlert;
    expect(alert).toMatchObject({
      ipAddress: cam.ipAddress,
      eventType: 'ANPR',
      dateTime: '2024-05-13T09:21:33+08:00',
      macAddress: cam.macAddress,
    });
    expect(alert.ANPR).toMatchObject({
      licensePlate: '鲁C12345',
      plateColor: 'blue',
      confidenceLevel: '93',
      vehicleListName: 'allowList',
    });
    expect(alert.ANPR.vehicleInfo).toMatchObject({ color: 'white', vehicleLogoRecog: 'BYD' });
    const req = isapiRequest(plate)!;
    const form = await new Response(req.body, { headers: { 'content-type': req.contentType } }).formData();
    const names = [...form.keys()];
    expect(names).toEqual(['anpr.xml', 'licensePlatePicture.jpg', 'vehiclePicture.jpg']);
    const pic = form.get('licensePlatePicture.jpg') as File;
    expect(isJpeg(Buffer.from(await pic.arrayBuffer()).toString('base64'))).toBe(true);
  });

  it('writes perimeter intrusions with DetectionRegionList', () => {
    const cam = device('perimeter', 'isapi');
    const trigger: PerimeterTrigger = {
      type: 'perimeter',
      device: cam,
      serial: 1,
      deviceTime: at,
      seed: 1,
      state: 'active',
      target: 'human',
      regionId: '1',
    };
    const alert = parser.parse(alertXml(perimeterAlert(trigger))).EventNotificationAlert;
    expect(alert.eventType).toBe(cam.perimeterKind);
    expect(alert.DetectionRegionList.DetectionRegionEntry).toMatchObject({
      regionID: '1',
      detectionTarget: 'human',
    });
    expect(isapiRequest({ ...trigger, state: 'inactive' })!.contentType).toMatch(/^application\/xml/);
  });

  it('writes access terminal events as JSON AccessControllerEvent (major 5, minors 75/76/1/9)', async () => {
    const gate = device('faceGate', 'isapi');
    const face: FaceAccess = {
      type: 'faceAccess',
      device: gate,
      serial: 9,
      deviceTime: at,
      seed: 1,
      personRef: '000100001',
      personName: '王伟',
      liveness: 'live',
      passed: true,
      similarity: 0.93,
    };
    const doc = accessControllerEvent(face);
    expect(doc).toMatchObject({
      eventType: 'AccessControllerEvent',
      ipAddress: gate.ipAddress,
      dateTime: '2024-05-13T09:21:33+08:00',
    });
    expect(doc['AccessControllerEvent']).toMatchObject({
      majorEventType: 5,
      subEventType: 75,
      employeeNoString: '000100001',
      serialNo: 9,
      similarity: 93,
    });
    expect(
      (
        accessControllerEvent({ ...face, liveness: 'spoof', passed: false })[
          'AccessControllerEvent'
        ] as Record<string, unknown>
      )['subEventType'],
    ).toBe(76);
    const card = accessControllerEvent({
      type: 'cardAccess',
      device: gate,
      serial: 10,
      deviceTime: at,
      seed: 1,
      cardNo: 'AB12',
      valid: false,
    });
    expect(card['AccessControllerEvent']).toMatchObject({ subEventType: 9, cardNo: 'AB12' });
    const req = isapiRequest(face)!;
    const form = await new Response(req.body, { headers: { 'content-type': req.contentType } }).formData();
    expect([...form.keys()]).toEqual(['AccessControllerEvent', 'faceImage.jpg']);
  });
});

describe('Dahua ITSAPI', () => {
  it('writes TollgateInfo with the documented fields', () => {
    const cam = device('plateCamera', 'itsapi');
    const plate: PlateCapture = {
      type: 'plate',
      device: cam,
      serial: 3,
      deviceTime: at,
      seed: 3,
      plate: '鲁CD12345',
      plateColour: 'green',
      vehicleColour: 'black',
      vehicleKind: 'suv',
      brand: 'Tesla',
      list: 'none',
      confidence: 88,
      lane: 1,
    };
    const body = tollgateInfo(plate) as { Picture: Record<string, Record<string, unknown>> };
    expect(Object.keys(body.Picture)).toEqual(['NormalPic', 'Plate', 'Vehicle', 'SnapInfo']);
    expect(body.Picture['Plate']).toMatchObject({
      PlateNumber: '鲁CD12345',
      IsExist: true,
      Confidence: 88,
      UploadNum: 3,
    });
    expect(body.Picture['SnapInfo']).toMatchObject({
      AccurateTime: '2024-05-13 09:21:33.120',
      TimeZone: 13,
      BlockUser: false,
    });
    expect(body.Picture['Vehicle']).toMatchObject({ VehicleColor: 'Black', VehicleType: 'SUV' });
    expect(isJpeg(String(body.Picture['NormalPic']!['Content']))).toBe(true);
  });
});

describe('generic API', () => {
  it('writes typed events with the device event id and time', () => {
    const reader = device('patrol', 'generic');
    const checkIn: PatrolCheckIn = {
      type: 'patrol',
      device: reader,
      serial: 5,
      deviceTime: at,
      seed: 1,
      guardTag: 'G1',
      checkpointTag: 'CP1',
    };
    expect(genericEvent(checkIn)).toEqual({
      type: 'patrol_check_in',
      eventId: `${reader.serialNumber}-5`,
      time: '2024-05-13T01:21:33.120Z',
      checkpointTagId: 'CP1',
      guardTagId: 'G1',
      method: 'contactless',
    });
    const gate = device('faceGate', 'generic');
    const face = genericEvent({
      type: 'faceAccess',
      device: gate,
      serial: 6,
      deviceTime: at,
      seed: 1,
      personRef: '',
      personName: '',
      liveness: 'spoof',
      passed: false,
      similarity: 0.4,
    })!;
    expect(face).toMatchObject({ type: 'face_captured', liveness: 'spoof_photo', localDecision: 'denied' });
    const images = face['images'] as { kind: string; data: string }[];
    expect(images[0]!.kind).toBe('face');
    expect(isJpeg(images[0]!.data)).toBe(true);
  });
});

describe('GA/T 1400 plate cameras', () => {
  const cam = device('plateCamera', 'gat1400');
  const pass = (plate: string): PlateCapture => ({
    type: 'plate',
    device: cam,
    serial: 9,
    deviceTime: at,
    seed: 3,
    plate,
    plateColour: 'blue',
    vehicleColour: 'silver',
    vehicleKind: 'suv',
    brand: 'Haval',
    list: 'none',
    confidence: 93,
    lane: 1,
  });

  it('writes a pass as a MotorVehicleObject the standard accepts', () => {
    const [vehicle] = motorVehicleListBody(pass('鲁C12345')).MotorVehicleListObject.MotorVehicleObject;
    expect(validateMotorVehicle(vehicle!)).toEqual([]);
    expect(vehicle).toMatchObject({
      HasPlate: '1',
      PlateNo: '鲁C12345',
      PlateColor: '5',
      VehicleColor: '3',
      VehicleClass: 'K32',
      PassTime: '20240513092133',
      InOut: cam.direction === 2 ? 'out' : 'in',
    });
    expect(String(vehicle!['MotorVehicleID']).slice(41, 43)).toBe('02');
    const images = (vehicle!['SubImageList'] as { SubImageInfoObject: { Type: string; Data: string }[] })
      .SubImageInfoObject;
    expect(images.map((i) => i.Type)).toEqual(['01', '02']);
    expect(images.every((i) => isJpeg(i.Data))).toBe(true);
    const [unread] = motorVehicleListBody(pass('')).MotorVehicleListObject.MotorVehicleObject;
    expect(validateMotorVehicle(unread!)).toEqual([]);
    expect(unread).toMatchObject({ HasPlate: '0', PlateNo: '无车牌' });
  });
});

describe('generic analytics cameras and visitor kiosks', () => {
  it('writes throwing, loitering and intrusion as analytics_triggered', () => {
    const cam = device(
      'analyticsCamera',
      'generic',
      (d) => d.analytics?.includes('high_altitude_throwing') ?? false,
    );
    const event = genericEvent({
      type: 'analytics',
      device: cam,
      serial: 3,
      deviceTime: at,
      seed: 2,
      kind: 'high_altitude_throwing',
      state: 'active',
      target: 'other',
      regionId: 'facade',
      confidence: 0.91,
    })!;
    expect(event).toMatchObject({
      type: 'analytics_triggered',
      kind: 'high_altitude_throwing',
      state: 'active',
      target: 'other',
      confidence: 0.91,
    });
    expect((event['images'] as { kind: string }[])[0]!.kind).toBe('detection');
  });

  it('writes a kiosk check-in as an ID card (or QR) credential with the visitor photo', () => {
    const kiosk = device('visitorKiosk', 'generic');
    const idNumber = visitorIdNumber(seededRandom(7));
    expect(idNumber).toMatch(/^370303(19[5-9]\d|200[0-5])\d{7}[\dX]$/);
    const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const sum = [...idNumber.slice(0, 17)].reduce((n, d, i) => n + Number(d) * weights[i]!, 0);
    expect(idNumber[17]).toBe('10X98765432'[sum % 11]);
    const event = genericEvent({
      type: 'visitorCheckIn',
      device: kiosk,
      serial: 1,
      deviceTime: at,
      seed: 4,
      credential: 'id_card',
      value: idNumber,
      name: '王磊',
    })!;
    expect(event).toMatchObject({
      type: 'credential_presented',
      credential: { type: 'id_card', value: idNumber, name: '王磊' },
      direction: 'in',
    });
    expect((event['images'] as { kind: string }[])[0]!.kind).toBe('face');
  });
});
