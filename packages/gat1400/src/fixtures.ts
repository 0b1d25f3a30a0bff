/**
 * GA/T 1400 payloads of the real shapes (../shared/protocols/GAT1400.md), for the unit and
 * integration tests and the device simulator: real-length ids in Zhangdian's region, GA/T colour
 * codes, and SubImageList entries carrying real (tiny) JPEGs.
 */

/** A 16×16 face crop, 337 bytes of baseline JPEG. */
export const FACE_JPEG_BASE64 =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAAAAIF/8QAHRAAAgIDAQEBAAAAAAAAAAAAAQIDEQASITGBkf/EABQBAQAAAAAAAAAAAAAAAAAAAAT/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwDYRVI2kYKlhbJqyeAfpGJFVS2jBgp1YX1TV0fhByoJQlq3h7eJ5Q9Kvg7eFKf/2Q==';

/** A 32×10 blue plate crop, 390 bytes of baseline JPEG. */
export const PLATE_JPEG_BASE64 =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAKACADASIAAhEBAxEB/8QAFwAAAwEAAAAAAAAAAAAAAAAAAAUGAv/EACMQAAAFAgYDAAAAAAAAAAAAAAABAgMFBBEGExQVIVVhpNH/xAAWAQEBAQAAAAAAAAAAAAAAAAAABAX/xAAZEQEBAQADAAAAAAAAAAAAAAABAgADETH/2gAMAwEAAhEDEQA/AMwUXE1tGtyQrtO6ThpJOchF02Lmxl5MMtgw32/st/BHgG7XFS9lpoygPNYbBhvt/Zb+BbOxcTRUaHI+u1DpuEk05yF2TY+bEXgghAE8VD22uNCeb//Z';

/** 20-digit ids: region 37030300 (Zhangdian) + industry 00 + type + network 0 + serial. */
export const GAT_IDS = {
  /** Face capture camera at the east pedestrian gate (119 collection device). */
  faceCamera: '37030300001190000101',
  /** Plate camera at the east vehicle gate (119 collection device). */
  plateCamera: '37030300001190000102',
  /** The compound's collection system pushing for its cameras (120). */
  collectionSystem: '37030300001200000001',
  /** A camera of another compound. */
  otherCompoundCamera: '37030300001190000901',
  /** This platform (503 视图库). */
  platform: '37030300005030000001',
} as const;

/** 41-char id of a picture: device + 02 (image) + yyyyMMddHHmmss + serial. */
export function imageId(deviceId: string, time: string, serial: number): string {
  return `${deviceId}02${time}${String(serial).padStart(5, '0')}`;
}

/** 48-char id of a semantic object: the image id + kind (06 face, 02 vehicle, 01 person) + serial. */
export function objectId(deviceId: string, time: string, kind: '01' | '02' | '06', serial: number): string {
  return `${imageId(deviceId, time, serial)}${kind}${String(serial).padStart(5, '0')}`;
}

export interface FixtureOptions {
  readonly deviceId?: string;
  /** Shot/pass time, yyyyMMddHHmmss Beijing. */
  readonly time?: string;
  readonly serial?: number;
}

function subImage(
  deviceId: string,
  time: string,
  serial: number,
  type: string,
  data: string,
  w: number,
  h: number,
) {
  return {
    ImageID: imageId(deviceId, time, serial),
    EventSort: 10,
    DeviceID: deviceId,
    StoragePath: '',
    Type: type,
    FileFormat: 'Jpeg',
    ShotTime: time,
    Width: w,
    Height: h,
    Data: data,
  };
}

export function faceObject(o: FixtureOptions = {}): Record<string, unknown> {
  const deviceId = o.deviceId ?? GAT_IDS.faceCamera;
  const time = o.time ?? '20250314083015';
  const serial = o.serial ?? 1;
  return {
    FaceID: objectId(deviceId, time, '06', serial),
    InfoKind: 1,
    SourceID: imageId(deviceId, time, serial),
    DeviceID: deviceId,
    LeftTopX: 812,
    LeftTopY: 240,
    RightBtmX: 958,
    RightBtmY: 420,
    ShotTime: time,
    FaceAppearTime: time,
    FaceDisAppearTime: time.slice(0, 12) + String(Number(time.slice(12)) + 2).padStart(2, '0'),
    GenderCode: '1',
    SubImageList: {
      SubImageInfoObject: [
        subImage(deviceId, time, serial, '11', FACE_JPEG_BASE64, 16, 16),
        subImage(deviceId, time, serial + 1, '14', FACE_JPEG_BASE64, 16, 16),
      ],
    },
  };
}

export function motorVehicleObject(
  o: FixtureOptions & { plate?: string; inOut?: 'in' | 'out' } = {},
): Record<string, unknown> {
  const deviceId = o.deviceId ?? GAT_IDS.plateCamera;
  const time = o.time ?? '20250314083512';
  const serial = o.serial ?? 1;
  return {
    MotorVehicleID: objectId(deviceId, time, '02', serial),
    InfoKind: 1,
    SourceID: imageId(deviceId, time, serial),
    TollgateID: '37030300001210000001',
    DeviceID: deviceId,
    LeftTopX: 420,
    LeftTopY: 310,
    RightBtmX: 1480,
    RightBtmY: 1020,
    LaneNo: 1,
    HasPlate: '1',
    PlateClass: '02',
    PlateColor: '5',
    PlateNo: o.plate ?? '鲁C·5A7K2',
    PlateReliability: '96',
    VehicleClass: 'K33',
    VehicleBrand: '大众',
    VehicleColor: '2',
    Direction: '1',
    PassTime: time,
    InOut: o.inOut ?? 'in',
    SubImageList: {
      SubImageInfoObject: [
        subImage(deviceId, time, serial, '01', FACE_JPEG_BASE64, 16, 16),
        subImage(deviceId, time, serial + 1, '02', PLATE_JPEG_BASE64, 32, 10),
      ],
    },
  };
}

export function personObject(o: FixtureOptions = {}): Record<string, unknown> {
  const deviceId = o.deviceId ?? GAT_IDS.faceCamera;
  const time = o.time ?? '20250314084001';
  const serial = o.serial ?? 1;
  return {
    PersonID: objectId(deviceId, time, '01', serial),
    InfoKind: 1,
    SourceID: imageId(deviceId, time, serial),
    DeviceID: deviceId,
    LeftTopX: 600,
    LeftTopY: 120,
    RightBtmX: 820,
    RightBtmY: 900,
    PersonAppearTime: time,
    PersonDisAppearTime: time,
    GenderCode: '2',
    CoatColor: '5',
    SubImageList: {
      SubImageInfoObject: [subImage(deviceId, time, serial, '10', FACE_JPEG_BASE64, 16, 16)],
    },
  };
}

export const faceBatch = (...faces: Record<string, unknown>[]) => ({ FaceListObject: { FaceObject: faces } });
export const motorVehicleBatch = (...vehicles: Record<string, unknown>[]) => ({
  MotorVehicleListObject: { MotorVehicleObject: vehicles },
});
export const personBatch = (...persons: Record<string, unknown>[]) => ({
  PersonListObject: { PersonObject: persons },
});
