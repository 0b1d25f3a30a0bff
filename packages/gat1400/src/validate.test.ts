import { describe, expect, it } from 'vitest';
import { isGat1400ObjectId, OBJECT_KIND } from './codec.ts';
import { idOf, isContentRejection, parseStatuses, unwrap, wrap } from './envelopes.ts';
import { faceObject, GAT_IDS, motorVehicleObject, personObject } from './fixtures.ts';
import {
  commandId,
  COMMAND_KIND,
  isGat1400CommandId,
  semanticObjectId,
  sourceId,
  stableSerial,
} from './ids.ts';
import {
  isImageData,
  validateDispositionNotification,
  validateCarInfo,
  validateDoorDevice,
  validateHouseInfo,
  validatePersonInfo,
  validateFace,
  validateMotorVehicle,
  validatePerson,
  validateSubscribeNotification,
} from './validate.ts';

const at = new Date('2025-03-14T00:30:15Z');

describe('ids', () => {
  it('builds 41-, 48- and 33-character ids that the checks accept', () => {
    const source = sourceId(GAT_IDS.faceCamera, '02', at, 7);
    expect(source).toBe(`${GAT_IDS.faceCamera}022025031408301500007`);
    const object = semanticObjectId(source, OBJECT_KIND.FACE, 123456);
    expect(isGat1400ObjectId(object, OBJECT_KIND.FACE)).toBe(true);
    const sub = commandId('370303000000', COMMAND_KIND.SUBSCRIPTION, at, 1);
    expect(sub).toHaveLength(33);
    expect(isGat1400CommandId(sub, COMMAND_KIND.SUBSCRIPTION)).toBe(true);
    expect(isGat1400CommandId(sub, COMMAND_KIND.DISPOSITION)).toBe(false);
  });

  it('derives the same serial from the same seed, and different ones otherwise', () => {
    expect(stableSerial('event-1')).toBe(stableSerial('event-1'));
    expect(stableSerial('event-1', 'a')).not.toBe(stableSerial('event-1', 'b'));
    expect(stableSerial('event-1')).toBeLessThan(100_000);
  });
});

describe('envelopes', () => {
  it('wraps and unwraps, accepting a single object', () => {
    const body = wrap('faces', [faceObject()]);
    expect(Object.keys(body)).toEqual(['FaceListObject']);
    expect(unwrap('faces', body)).toHaveLength(1);
    expect(unwrap('faces', { FaceListObject: { FaceObject: faceObject() } })).toHaveLength(1);
    expect(unwrap('faces', { FaceList: {} })).toEqual({ failure: 'body has no FaceListObject.FaceObject' });
    expect(idOf('faces', faceObject())).toHaveLength(48);
  });

  it('reads statuses as numbers or strings, list or single', () => {
    expect(
      parseStatuses({
        ResponseStatusListObject: {
          ResponseStatusObject: [
            { Id: 'a', StatusCode: '0', StatusString: 'OK' },
            { Id: 'b', StatusCode: 8, StatusString: 'bad' },
            { Id: 'c', StatusCode: 'x' },
          ],
        },
      }),
    ).toEqual([
      { id: 'a', code: 0, text: 'OK' },
      { id: 'b', code: 8, text: 'bad' },
      { id: 'c', code: 1, text: '' },
    ]);
    expect(parseStatuses({ ResponseStatusObject: { Id: 'x', StatusCode: 0 } })).toHaveLength(1);
    expect(isContentRejection(8)).toBe(true);
    expect(isContentRejection(1)).toBe(false);
  });
});

describe('validators', () => {
  it('accept the fixtures', () => {
    expect(validateFace(faceObject())).toEqual([]);
    expect(validateMotorVehicle(motorVehicleObject())).toEqual([]);
    expect(validatePerson(personObject())).toEqual([]);
  });

  it('name what is wrong', () => {
    expect(validateFace({ ...faceObject(), FaceID: '123' })).toContain(
      'FaceID must be 48 characters of kind 06',
    );
    expect(validateFace({ ...faceObject(), ShotTime: '2025-03-14 08:30:15' })).toContain(
      'ShotTime must be yyyyMMddHHmmss',
    );
    expect(validateMotorVehicle({ ...motorVehicleObject(), PlateColor: '42' })).toContain(
      'PlateColor must be a colour code',
    );
    const noImage = {
      ...faceObject(),
      SubImageList: { SubImageInfoObject: [{ ...sub(), Data: 'bm90IGEgcGljdHVyZQ==' }] },
    };
    expect(validateFace(noImage).join()).toContain('Data must be base64 of a JPEG');
  });

  it('checks notifications and their objects', () => {
    const notification = {
      NotificationID: commandId('370303000000', COMMAND_KIND.NOTIFICATION, at, 1),
      SubscribeID: commandId('370303000000', COMMAND_KIND.SUBSCRIPTION, at, 1),
      TriggerTime: '20250314083015',
      ExecuteOperation: 1,
      FaceObjectList: { FaceObject: [faceObject()] },
    };
    expect(validateSubscribeNotification(notification)).toEqual([]);
    expect(validateSubscribeNotification({ ...notification, FaceObjectList: undefined })).toContain(
      'the notification carries no objects',
    );
    expect(
      validateDispositionNotification({
        NotificationID: notification.NotificationID,
        DispositionID: commandId('370303000000', COMMAND_KIND.DISPOSITION, at, 1),
        TriggerTime: '20250314083015',
        MotorVehicleObject: { ...motorVehicleObject(), PassTime: 'x' },
      }),
    ).toEqual(['MotorVehicleObject.PassTime must be yyyyMMddHHmmss']);
    const status = {
      NotificationID: notification.NotificationID,
      DispositionID: commandId('370303000000', COMMAND_KIND.DISPOSITION, at, 1),
      TriggerTime: '20250314083015',
    };
    expect(validateDispositionNotification({ ...status, DispositionStatus: '9' })).toEqual([]);
    expect(validateDispositionNotification({ ...status, DispositionStatus: '5' })).toEqual([
      'DispositionStatus must be 0 (in effect), 1 (withdrawn), 2 (expired) or 9 (not in effect)',
    ]);
    expect(validateDispositionNotification(status)).toEqual([
      'the notification carries no MotorVehicleObject, PersonObject or DispositionStatus',
    ]);
  });

  it('knows pictures from other bytes', () => {
    expect(isImageData(String(sub().Data))).toBe(true);
    expect(isImageData('aGVsbG8=')).toBe(false);
    expect(isImageData('not base64!')).toBe(false);
  });
});

function sub(): Record<string, unknown> {
  const list = faceObject().SubImageList as { SubImageInfoObject: Record<string, unknown>[] };
  return list.SubImageInfoObject[0]!;
}

describe('community DoorDevices extension', () => {
  const door = {
    DeviceID: '37030300001240000001',
    Name: '1号楼1单元',
    CommunityCode: '370303001001001',
    DoorType: '2',
    IsOnline: '1',
    UpdateTime: '20261128180000',
  };
  it('accepts a complete door device and names every wrong field', () => {
    expect(validateDoorDevice(door)).toEqual([]);
    expect(
      validateDoorDevice({ ...door, DeviceID: '123', DoorType: '7', IsOnline: 0, UpdateTime: '2026-11-28' }),
    ).toEqual([
      'DeviceID must be 20 digits',
      'DoorType must be 1 (compound gate), 2 (unit door) or 3 (other)',
      'IsOnline must be 1 (online) or 2 (offline)',
      'UpdateTime must be yyyyMMddHHmmss',
    ]);
    expect(validateDoorDevice({ DeviceID: door.DeviceID })).toEqual([
      'Name is missing',
      'CommunityCode is missing',
      'DoorType is missing',
    ]);
    expect(unwrap('doorDevices', wrap('doorDevices', [door]))).toEqual([door]);
  });
});

describe('community registry extensions (PersonInfos, HouseInfos, CarInfos)', () => {
  const record = {
    CommunityCode: '370303001001007',
    RecordStatus: '1',
    UpdateTime: '20261129040000',
  };
  const person = {
    ...record,
    PersonInfoID: '0F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
    Name: '王小明',
    PersonType: '1',
    HouseInfoID: '1F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
    HouseCode: '370303001001007003020501',
  };
  it('accepts a person, a house and a car, and a removal with its time', () => {
    expect(validatePersonInfo(person)).toEqual([]);
    expect(validatePersonInfo({ ...person, IDType: '111', IDNumber: '11010519900101701X' })).toEqual([]);
    expect(validatePersonInfo({ ...person, RecordStatus: '2', RemoveTime: '20261129050000' })).toEqual([]);
    expect(
      validateHouseInfo({
        ...record,
        HouseInfoID: person.HouseInfoID,
        HouseCode: person.HouseCode,
        HouseUse: '2',
      }),
    ).toEqual([]);
    expect(
      validateCarInfo({
        ...record,
        CarInfoID: '2F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
        PlateNo: '鲁C7R001',
        PlateColor: '5',
        OwnerPersonInfoID: person.PersonInfoID,
      }),
    ).toEqual([]);
    expect(unwrap('personInfos', wrap('personInfos', [person]))).toEqual([person]);
  });
  it('refuses masked personal data, an ID number without its type, a removal without its time', () => {
    expect(validatePersonInfo({ ...person, Name: '王**', IDNumber: '110***********701X' })).toEqual([
      'Name must be the name (not masked)',
      'IDNumber must be an 18-character ID number (not masked)',
      'IDType is missing',
    ]);
    expect(validatePersonInfo({ ...person, RecordStatus: '2' })).toEqual(['RemoveTime is missing']);
    expect(validatePersonInfo({ ...person, PersonInfoID: 'abc', PersonType: '9' })).toEqual([
      'PersonInfoID must be 32 upper-case hex characters',
      'PersonType must be 1 owner, 2 family, 3 tenant, 4 floating, 5 staff',
    ]);
    expect(validateCarInfo({ ...record, CarInfoID: person.PersonInfoID })).toEqual(['PlateNo is missing']);
    expect(validateHouseInfo({ HouseInfoID: person.HouseInfoID })).toEqual([
      'CommunityCode is missing',
      'RecordStatus is missing',
      'UpdateTime is missing',
      'HouseCode is missing',
      'HouseUse is missing',
    ]);
  });
});
