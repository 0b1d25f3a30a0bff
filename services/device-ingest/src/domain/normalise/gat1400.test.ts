import { createHash } from 'node:crypto';
import { anfang, topics } from '@anfang/contracts';
import { describe, expect, it } from 'vitest';
import type { RegisteredDevice } from '../device.ts';
import {
  faceBatch,
  faceObject,
  FACE_JPEG_BASE64,
  GAT_IDS,
  motorVehicleObject,
  personObject,
  PLATE_JPEG_BASE64,
} from '@anfang/gat1400/fixtures';
import {
  batchObjects,
  checkDeletion,
  decodeBase64,
  deletionIds,
  imageObjects,
  mapApe,
  mapGat1400Image,
  decodeSubImages,
  mapGat1400Object,
  normalisePlate,
  plateColorOf,
  vehicleColorOf,
  vehicleTypeOf,
  type Gat1400Mapped,
} from './gat1400.ts';

const { ImageKind, PlateColor, VehicleColor, VehicleType, Direction, DeviceType, Module } = anfang.common.v1;

function device(gat1400Id: string, over: Partial<RegisteredDevice> = {}): RegisteredDevice {
  return {
    deviceId: `dev-${gat1400Id.slice(-6)}`,
    gat1400Id,
    name: `camera ${gat1400Id.slice(-6)}`,
    deviceType: DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA,
    module: Module.MODULE_FACE_RECOGNITION_GATES,
    compoundId: '370303001001',
    zoneId: '',
    direction: Direction.DIRECTION_BOTH,
    vendor: 'hikvision',
    model: 'iDS-2CD7A46G0',
    serialNumber: 'DS0001',
    protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_GAT1400,
    ipAddress: '10.0.0.11',
    active: true,
    ...over,
  };
}

const faceCam = device(GAT_IDS.faceCamera);
const plateCam = device(GAT_IDS.plateCamera, { deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA });
const system = device(GAT_IDS.collectionSystem);
const foreign = device(GAT_IDS.otherCompoundCamera, { compoundId: '370303009009' });
const all = [faceCam, plateCam, system, foreign];
const lookup = (id: string): RegisteredDevice | undefined => all.find((d) => d.gat1400Id === id);

function ok(m: Gat1400Mapped): Extract<Gat1400Mapped, { ok: true }> {
  if (!m.ok) throw new Error(`expected a mapped object, got ${m.code} ${m.reason}`);
  return m;
}
function failed(m: Gat1400Mapped): Extract<Gat1400Mapped, { ok: false }> {
  if (m.ok) throw new Error('expected a failure');
  return m;
}

describe('FaceObject → FaceCaptured', () => {
  it('maps ids, times, box and pictures', () => {
    const face = faceObject();
    const m = ok(mapGat1400Object('faces', face, { sender: faceCam, lookup }));
    expect(m.id).toBe(face.FaceID);
    expect(m.device).toBe(faceCam);
    const e = m.event;
    expect(e.topic).toBe(topics.deviceFaceCaptured);
    expect(e.sourceKey).toBe(face.FaceID);
    expect(e.imageField).toBe('images');
    expect(e.occurredAt.toISOString()).toBe('2025-03-14T00:30:15.000Z');
    expect(e.payload).toMatchObject({
      sourceObjectId: face.FaceID,
      faceBox: { left: 812, top: 240, right: 958, bottom: 420 },
      appearedAt: { seconds: Date.parse('2025-03-14T00:30:15Z') / 1000, nanos: 0 },
      disappearedAt: { seconds: Date.parse('2025-03-14T00:30:17Z') / 1000, nanos: 0 },
      direction: Direction.DIRECTION_UNSPECIFIED,
    });
    expect(e.images.map((i) => i.kind)).toEqual([ImageKind.IMAGE_KIND_FACE, ImageKind.IMAGE_KIND_SCENE]);
    const [crop] = e.images;
    expect(crop?.contentType).toBe('image/jpeg');
    expect(crop?.bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(crop?.bytes.length).toBe(337);
    expect(crop?.sourceName).toHaveLength(41);
    // The payload encodes with the topic's codec.
    const bytes = topics.deviceFaceCaptured.payload.encode(e.payload as never);
    expect(topics.deviceFaceCaptured.payload.decode(bytes).sourceObjectId).toBe(face.FaceID);
  });

  it('takes the direction of a device installed for one direction', () => {
    const inCam = device(GAT_IDS.faceCamera, { direction: Direction.DIRECTION_IN });
    const m = ok(mapGat1400Object('faces', faceObject(), { sender: inCam, lookup }));
    expect(m.event.payload.direction).toBe(Direction.DIRECTION_IN);
  });

  it('falls back to the picture ShotTime when the object has none', () => {
    const face = faceObject();
    delete face.ShotTime;
    delete face.FaceAppearTime;
    const m = ok(mapGat1400Object('faces', face, { sender: faceCam, lookup }));
    expect(m.event.occurredAt.toISOString()).toBe('2025-03-14T00:30:15.000Z');
  });

  it('refuses bad ids, times and pictures with StatusCode 8 and a reason', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...faceObject(), FaceID: '3703030000119000010102' }, /FaceID must be 48 digits/],
      [{ ...faceObject(), FaceID: (faceObject().FaceID as string).replace(/06(\d{5})$/, '02$1') }, /FaceID/],
      [{ ...faceObject(), SourceID: '123' }, /SourceID must be 41/],
      [{ ...faceObject(), ShotTime: '2025-03-14 08:30:15' }, /ShotTime is not yyyyMMddHHmmss/],
      [
        { ...faceObject(), SubImageList: { SubImageInfoObject: [{ Type: '11', Data: 'not base64!' }] } },
        /Data is not base64/,
      ],
      [{ ...faceObject(), DeviceID: '3703' }, /DeviceID must be 20 digits/],
      [{ ...faceObject(), DeviceID: '37030300001190009999' }, /not a registered device/],
    ];
    for (const [object, reason] of cases) {
      const m = failed(mapGat1400Object('faces', object, { sender: faceCam, lookup }));
      expect(m.code).toBe(8);
      expect(m.reason).toMatch(reason);
    }
    expect(failed(mapGat1400Object('faces', 'x', { sender: faceCam, lookup })).id).toBe('');
  });

  it('accepts objects of other devices only from a collection system of the same compound', () => {
    const forPlateCam = faceObject({ deviceId: GAT_IDS.plateCamera });
    expect(failed(mapGat1400Object('faces', forPlateCam, { sender: faceCam, lookup })).reason).toMatch(
      /does not belong/,
    );
    expect(ok(mapGat1400Object('faces', forPlateCam, { sender: system, lookup })).device).toBe(plateCam);
    const forForeign = faceObject({ deviceId: GAT_IDS.otherCompoundCamera });
    expect(failed(mapGat1400Object('faces', forForeign, { sender: system, lookup })).reason).toMatch(
      /does not belong/,
    );
  });

  it('attributes an object without DeviceID to the sender', () => {
    const face = faceObject();
    delete face.DeviceID;
    expect(ok(mapGat1400Object('faces', face, { sender: faceCam, lookup })).device).toBe(faceCam);
  });
});

describe('MotorVehicleObject → PlateRead', () => {
  it('maps plate, colours, type, direction, lane, confidence and pictures', () => {
    const v = motorVehicleObject();
    const m = ok(mapGat1400Object('motorVehicles', v, { sender: plateCam, lookup }));
    expect(m.event.topic).toBe(topics.devicePlateRead);
    expect(m.event.sourceKey).toBe(v.MotorVehicleID);
    expect(m.event.occurredAt.toISOString()).toBe('2025-03-14T00:35:12.000Z');
    expect(m.event.payload).toMatchObject({
      sourceObjectId: v.MotorVehicleID,
      hasPlate: true,
      plateNumber: '鲁C5A7K2',
      plateColor: PlateColor.PLATE_COLOR_BLUE,
      vehicleColor: VehicleColor.VEHICLE_COLOR_WHITE,
      vehicleType: VehicleType.VEHICLE_TYPE_CAR,
      vehicleBrand: '大众',
      direction: Direction.DIRECTION_IN,
      lane: 1,
    });
    expect(m.event.payload.confidence).toBeCloseTo(0.96);
    expect(m.event.images.map((i) => [i.kind, i.bytes.length])).toEqual([
      [ImageKind.IMAGE_KIND_VEHICLE, 337],
      [ImageKind.IMAGE_KIND_PLATE, 390],
    ]);
    const decoded = topics.devicePlateRead.payload.decode(
      topics.devicePlateRead.payload.encode(m.event.payload as never),
    );
    expect(decoded.plateNumber).toBe('鲁C5A7K2');
  });

  it('reads InOut out, numeric fields and a vehicle without a plate', () => {
    const v = {
      ...motorVehicleObject({ inOut: 'out' }),
      HasPlate: 0,
      PlateNo: '无车牌',
      LaneNo: '3',
      PlateReliability: 0.5,
    };
    const p = ok(mapGat1400Object('motorVehicles', v, { sender: plateCam, lookup })).event.payload;
    expect(p).toMatchObject({
      hasPlate: false,
      plateNumber: '',
      plateColor: 0,
      direction: Direction.DIRECTION_OUT,
      lane: 3,
      confidence: 0.5,
    });
  });

  it('requires a pass time', () => {
    const v = motorVehicleObject();
    delete v.PassTime;
    v.SubImageList = undefined;
    expect(failed(mapGat1400Object('motorVehicles', v, { sender: plateCam, lookup })).reason).toMatch(
      /no capture time/,
    );
  });

  it('maps GA/T colour codes', () => {
    expect([1, '2', 5, '6', 9, 4, 99, '', 'x'].map(plateColorOf)).toEqual([
      PlateColor.PLATE_COLOR_BLACK,
      PlateColor.PLATE_COLOR_WHITE,
      PlateColor.PLATE_COLOR_BLUE,
      PlateColor.PLATE_COLOR_YELLOW,
      PlateColor.PLATE_COLOR_GREEN,
      PlateColor.PLATE_COLOR_OTHER,
      PlateColor.PLATE_COLOR_OTHER,
      PlateColor.PLATE_COLOR_UNSPECIFIED,
      PlateColor.PLATE_COLOR_UNSPECIFIED,
    ]);
    expect(['1', 3, '12', 13, 99, 'J', 'h', undefined].map(vehicleColorOf)).toEqual([
      VehicleColor.VEHICLE_COLOR_BLACK,
      VehicleColor.VEHICLE_COLOR_GREY,
      VehicleColor.VEHICLE_COLOR_PINK,
      VehicleColor.VEHICLE_COLOR_OTHER,
      VehicleColor.VEHICLE_COLOR_OTHER,
      VehicleColor.VEHICLE_COLOR_BLACK,
      VehicleColor.VEHICLE_COLOR_BLUE,
      VehicleColor.VEHICLE_COLOR_UNSPECIFIED,
    ]);
  });

  it('maps GA 24.4 vehicle classes', () => {
    expect(['K33', 'K32', 'K41', 'K11', 'H21', 'M22', 'N11', 'Z11', 'X99', ''].map(vehicleTypeOf)).toEqual([
      VehicleType.VEHICLE_TYPE_CAR,
      VehicleType.VEHICLE_TYPE_SUV,
      VehicleType.VEHICLE_TYPE_VAN,
      VehicleType.VEHICLE_TYPE_BUS,
      VehicleType.VEHICLE_TYPE_TRUCK,
      VehicleType.VEHICLE_TYPE_MOTORCYCLE,
      VehicleType.VEHICLE_TYPE_TRICYCLE,
      VehicleType.VEHICLE_TYPE_SPECIAL,
      VehicleType.VEHICLE_TYPE_OTHER,
      VehicleType.VEHICLE_TYPE_UNSPECIFIED,
    ]);
  });

  it('normalises plates', () => {
    expect(normalisePlate(' 鲁c·12345 ')).toBe('鲁C12345');
    expect(normalisePlate('鲁C-D12345')).toBe('鲁CD12345');
    expect(normalisePlate('未识别')).toBe('');
    expect(normalisePlate(12345)).toBe('');
  });
});

describe('PersonObject → FaceCaptured', () => {
  it('maps the person picture and appearance times', () => {
    const p = personObject();
    const m = ok(mapGat1400Object('persons', p, { sender: faceCam, lookup }));
    expect(m.event.topic).toBe(topics.deviceFaceCaptured);
    expect(m.event.sourceKey).toBe(p.PersonID);
    expect(m.event.occurredAt.toISOString()).toBe('2025-03-14T00:40:01.000Z');
    expect(m.event.images.map((i) => i.kind)).toEqual([ImageKind.IMAGE_KIND_PERSON]);
    expect(m.event.payload.faceBox).toBeUndefined();
  });

  it('refuses a FaceID where a PersonID belongs', () => {
    const p = { ...personObject(), PersonID: faceObject().FaceID };
    expect(failed(mapGat1400Object('persons', p, { sender: faceCam, lookup })).reason).toMatch(/PersonID/);
  });
});

describe('batches and pictures', () => {
  it('finds the objects under the list envelope, also a single object', () => {
    expect(batchObjects('faces', faceBatch(faceObject(), faceObject({ serial: 2 })))).toHaveLength(2);
    expect(batchObjects('faces', { FaceListObject: { FaceObject: faceObject() } })).toHaveLength(1);
    expect(batchObjects('faces', { FaceList: { FaceObject: [] } })).toEqual({
      failure: 'body has no FaceListObject object',
    });
    expect(batchObjects('motorVehicles', { MotorVehicleListObject: {} })).toEqual({
      failure: 'MotorVehicleListObject has no MotorVehicleObject array',
    });
  });

  it('decodes base64 strictly, with line breaks, data: prefixes and URL-safe alphabet', () => {
    const bytes = Buffer.from(FACE_JPEG_BASE64, 'base64');
    expect(decodeBase64(FACE_JPEG_BASE64.replace(/(.{76})/g, '$1\r\n'))).toEqual(bytes);
    expect(decodeBase64(`data:image/jpeg;base64,${PLATE_JPEG_BASE64}`)?.length).toBe(390);
    expect(decodeBase64(bytes.toString('base64url'))).toEqual(bytes);
    expect(decodeBase64('abc$')).toBeUndefined();
    expect(decodeBase64('')).toBeUndefined();
    expect(decodeBase64(42)).toBeUndefined();
  });

  it('skips pictures given only by StoragePath and types unknown ones as OTHER', () => {
    const r = decodeSubImages({
      SubImageInfoObject: [
        { Type: '14', StoragePath: 'http://10.0.0.11/pic/1.jpg', ShotTime: '20250314083015' },
        { Type: 100, Data: FACE_JPEG_BASE64 },
        { Type: '77', Data: FACE_JPEG_BASE64 },
      ],
    });
    if ('failure' in r) throw new Error(r.failure);
    expect(r.images.map((i) => i.kind)).toEqual([ImageKind.IMAGE_KIND_OTHER, ImageKind.IMAGE_KIND_OTHER]);
    expect(r.shotTime?.toISOString()).toBe('2025-03-14T00:30:15.000Z');
    expect(createHash('sha256').update(r.images[0]!.bytes).digest('hex')).toHaveLength(64);
  });
});

describe('deletions and the APE catalogue', () => {
  const faceId = String(faceObject().FaceID);
  const plateId = String(motorVehicleObject().MotorVehicleID);
  const foreignId = String(faceObject({ deviceId: GAT_IDS.otherCompoundCamera }).FaceID);

  it('parses IDList', () => {
    expect(deletionIds(`${faceId}, ${plateId},`)).toEqual([faceId, plateId]);
    expect(deletionIds(undefined)).toEqual({ failure: 'IDList is missing' });
    expect(deletionIds(' , ')).toEqual({ failure: 'IDList is empty' });
    expect(deletionIds(['a', 'b'])).toEqual({ failure: 'IDList is missing' });
  });

  it.each([
    ['its own face', faceCam, 'faces', faceId, 0],
    ['a plate id on /Faces', faceCam, 'faces', plateId, 8],
    ['not an object id', faceCam, 'faces', '1234', 8],
    [
      "another camera's face",
      faceCam,
      'faces',
      String(faceObject({ deviceId: GAT_IDS.plateCamera }).FaceID),
      4,
    ],
    ["a compound camera's face, by the collection system", system, 'faces', faceId, 0],
    ["another compound's face, by the collection system", system, 'faces', foreignId, 4],
  ] as const)('deleting %s → %d', (_, sender, kind, id, code) => {
    const verdict = checkDeletion(kind, id, { sender, lookup });
    expect(verdict.ok ? 0 : verdict.code).toBe(code);
    expect(verdict.id).toBe(id);
  });

  it('maps APEs the registry knows, with their reported state, and refuses the others', () => {
    const ctx = { sender: system, lookup };
    expect(mapApe({ ApeID: GAT_IDS.faceCamera, Name: 'a', IsOnline: '1' }, ctx)).toMatchObject({
      ok: true,
      device: faceCam,
      online: true,
    });
    expect(mapApe({ ApeID: GAT_IDS.faceCamera, Name: 'a', IsOnline: 2 }, ctx)).toMatchObject({
      online: false,
    });
    expect(mapApe({ ApeID: GAT_IDS.faceCamera, Name: 'a' }, ctx)).toMatchObject({ online: undefined });
    expect(mapApe({ ApeID: GAT_IDS.otherCompoundCamera, Name: 'a' }, ctx)).toMatchObject({
      ok: false,
      code: 4,
    });
    expect(mapApe({ ApeID: '37030300001190777777', Name: 'a' }, ctx)).toMatchObject({
      ok: false,
      code: 4,
      reason: 'DeviceID 37030300001190777777 is not a registered device',
    });
    expect(mapApe({ ApeID: GAT_IDS.faceCamera, Name: 'a', IsOnline: 'yes' }, ctx)).toMatchObject({
      ok: false,
      code: 8,
      reason: 'IsOnline must be 1 (online) or 2 (offline)',
    });
    expect(mapApe('x', ctx)).toMatchObject({ ok: false, code: 8, id: '' });
    expect(mapApe({ ApeID: GAT_IDS.plateCamera, Name: 'a' }, { sender: faceCam, lookup })).toMatchObject({
      ok: false,
      code: 4,
    });
  });
});

describe('ImageObject (POST /VIID/Images)', () => {
  const face = faceObject();
  const imageId = String(face.SourceID);
  const image = (over: Record<string, unknown> = {}) => ({
    ImageInfo: {
      ImageID: imageId,
      DeviceID: GAT_IDS.faceCamera,
      ShotTime: '20250314083015',
      FileFormat: 'Jpeg',
    },
    Data: FACE_JPEG_BASE64,
    ...over,
  });

  it('maps the objects in the picture, giving the picture to those without their own', () => {
    const { SubImageList: _own, ...bare } = face;
    const person = personObject();
    const m = mapGat1400Image(
      image({ FaceList: { FaceObject: [bare] }, PersonList: { PersonObject: person } }),
      { sender: faceCam, lookup },
    );
    expect(m.id).toBe(imageId);
    expect(m.failure).toBeUndefined();
    const [f, p] = m.objects.map(ok);
    expect(f!.event.images.map((i) => i.kind)).toEqual([ImageKind.IMAGE_KIND_SCENE]);
    expect(f!.event.images[0]!.sourceName).toBe(imageId);
    // The person brought its own picture.
    expect(p!.event.images.map((i) => i.kind)).toEqual([ImageKind.IMAGE_KIND_PERSON]);
  });

  it('says why an image or its objects cannot be taken', () => {
    const ctx = { sender: faceCam, lookup };
    expect(mapGat1400Image({ Data: FACE_JPEG_BASE64 }, ctx).failure).toBe('ImageObject has no ImageInfo');
    expect(mapGat1400Image(image({ ImageInfo: { ImageID: '12' } }), ctx).failure).toBe(
      'ImageInfo.ImageID must be 41 digits',
    );
    expect(mapGat1400Image(image({ Data: '%%' }), ctx).failure).toBe('Data is not base64');
    expect(mapGat1400Image(image({ FaceList: [] }), ctx).failure).toBe('FaceList has no FaceObject array');
    expect(mapGat1400Image(image(), ctx)).toEqual({ id: imageId, objects: [] });
    const bad = mapGat1400Image(image({ FaceList: { FaceObject: [{ ...face, FaceID: '1' }] } }), ctx);
    expect(failed(bad.objects[0]!).reason).toMatch(/FaceID must be 48 digits/);
    expect(imageObjects({ ImageListObject: { ImageObject: image() } })).toHaveLength(1);
    expect(imageObjects({ ImageList: {} })).toEqual({ failure: 'body has no ImageListObject object' });
  });
});
