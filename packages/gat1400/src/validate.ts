/**
 * Strict validation of the objects a GA/T 1400 receiver gets, as an upper platform checks them:
 * exact id lengths and kinds, `yyyyMMddHHmmss` times (14 digits, a real date), known image
 * types and colour codes, base64 pictures that are pictures. Each validator returns the problems
 * found ([] = valid); the receiver answers them as INVALID_JSON_CONTENT with the first reason.
 */
import { isGat1400Id } from '@anfang/contracts';
import { isGat1400ObjectId, isGat1400SourceId, OBJECT_KIND, parseGat1400Time } from './codec.ts';
import { isObj, type EnvelopeName, type Obj } from './envelopes.ts';
import { isGat1400CommandId } from './ids.ts';

/** SubImageInfo `Type` codes. */
export const IMAGE_TYPES = new Set(['01', '02', '04', '05', '09', '10', '11', '14', '100']);

/** Colour codes (PlateColor, VehicleColor). */
export const COLOR_CODES = new Set([
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  '10',
  '11',
  '12',
  '13',
  '99',
]);

type Check = (o: Obj, problems: string[]) => void;

const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/** Exactly 14 digits and a real date: what we send, and what a strict receiver demands. */
export function isStrictGat1400Time(v: unknown): boolean {
  const t = text(v);
  return t !== undefined && /^\d{14}$/.test(t) && parseGat1400Time(t) !== undefined;
}

const required =
  (field: string, ok: (v: unknown) => boolean, what: string): Check =>
  (o, problems) => {
    if (o[field] === undefined || o[field] === null || o[field] === '') problems.push(`${field} is missing`);
    else if (!ok(o[field])) problems.push(`${field} must be ${what}`);
  };

const optional =
  (field: string, ok: (v: unknown) => boolean, what: string): Check =>
  (o, problems) => {
    if (o[field] !== undefined && o[field] !== null && o[field] !== '' && !ok(o[field]))
      problems.push(`${field} must be ${what}`);
  };

const deviceId = (v: unknown) => isGat1400Id(text(v) ?? '');
const oneOf = (set: ReadonlySet<string>) => (v: unknown) => set.has(text(v) ?? '');
const ID20 = '20 digits';
const TIME = 'yyyyMMddHHmmss';

/** Strict base64 whose bytes are a JPEG, PNG or BMP. */
export function isImageData(v: unknown): boolean {
  if (typeof v !== 'string' || v.length === 0 || v.length % 4 !== 0) return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return false;
  const b = Buffer.from(v.slice(0, 16), 'base64');
  return (
    (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) ||
    (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) ||
    (b[0] === 0x42 && b[1] === 0x4d)
  );
}

function subImages(o: Obj, problems: string[], requireImage: boolean): void {
  const list = o.SubImageList;
  if (list === undefined || list === null) {
    if (requireImage) problems.push('SubImageList is missing');
    return;
  }
  const items = isObj(list) ? list.SubImageInfoObject : undefined;
  if (!Array.isArray(items) || items.length === 0) {
    problems.push('SubImageList.SubImageInfoObject must be a non-empty array');
    return;
  }
  items.forEach((item: unknown, i) => {
    const at = `SubImageInfoObject[${i}]`;
    if (!isObj(item)) return void problems.push(`${at} is not an object`);
    const own: string[] = [];
    required('ImageID', isGat1400SourceId, '41 characters (device + 02 + time + serial)')(item, own);
    required('DeviceID', deviceId, ID20)(item, own);
    required('Type', oneOf(IMAGE_TYPES), 'an image type code')(item, own);
    required('FileFormat', (v) => typeof v === 'string', 'a format name')(item, own);
    required('ShotTime', isStrictGat1400Time, TIME)(item, own);
    if (item.StoragePath === undefined || item.StoragePath === '')
      required('Data', isImageData, 'base64 of a JPEG, PNG or BMP')(item, own);
    problems.push(...own.map((p) => `${at}.${p}`));
  });
}

function box(o: Obj, problems: string[]): void {
  for (const f of ['LeftTopX', 'LeftTopY', 'RightBtmX', 'RightBtmY'])
    optional(f, (v) => Number.isInteger(Number(v)) && Number(v) >= 0, 'a non-negative integer')(o, problems);
}

const infoKind = optional('InfoKind', oneOf(new Set(['0', '1', '2'])), '0, 1 or 2');

export function validateFace(o: Obj): string[] {
  const p: string[] = [];
  required('FaceID', (v) => isGat1400ObjectId(v, OBJECT_KIND.FACE), '48 characters of kind 06')(o, p);
  required('SourceID', isGat1400SourceId, '41 characters')(o, p);
  required('DeviceID', deviceId, ID20)(o, p);
  required('ShotTime', isStrictGat1400Time, TIME)(o, p);
  optional('FaceAppearTime', isStrictGat1400Time, TIME)(o, p);
  optional('FaceDisAppearTime', isStrictGat1400Time, TIME)(o, p);
  infoKind(o, p);
  box(o, p);
  subImages(o, p, true);
  return p;
}

export function validateMotorVehicle(o: Obj): string[] {
  const p: string[] = [];
  required(
    'MotorVehicleID',
    (v) => isGat1400ObjectId(v, OBJECT_KIND.MOTOR_VEHICLE),
    '48 characters of kind 02',
  )(o, p);
  required('SourceID', isGat1400SourceId, '41 characters')(o, p);
  required('DeviceID', deviceId, ID20)(o, p);
  optional('TollgateID', deviceId, ID20)(o, p);
  required('PassTime', isStrictGat1400Time, TIME)(o, p);
  required('HasPlate', oneOf(new Set(['0', '1'])), '0 or 1')(o, p);
  optional('PlateColor', oneOf(COLOR_CODES), 'a colour code')(o, p);
  optional('VehicleColor', oneOf(COLOR_CODES), 'a colour code')(o, p);
  optional('InOut', oneOf(new Set(['in', 'out'])), '"in" or "out"')(o, p);
  if (text(o.HasPlate) === '1') required('PlateNo', (v) => typeof v === 'string', 'the plate')(o, p);
  infoKind(o, p);
  box(o, p);
  subImages(o, p, true);
  return p;
}

export function validatePerson(o: Obj): string[] {
  const p: string[] = [];
  required('PersonID', (v) => isGat1400ObjectId(v, OBJECT_KIND.PERSON), '48 characters of kind 01')(o, p);
  required('SourceID', isGat1400SourceId, '41 characters')(o, p);
  required('DeviceID', deviceId, ID20)(o, p);
  optional('PersonAppearTime', isStrictGat1400Time, TIME)(o, p);
  optional('PersonDisAppearTime', isStrictGat1400Time, TIME)(o, p);
  optional(
    'IDNumber',
    (v) => typeof v === 'string' && /^\d{17}[\dX]$/.test(v),
    'an 18-character ID number',
  )(o, p);
  infoKind(o, p);
  box(o, p);
  subImages(o, p, false);
  return p;
}

export function validateApe(o: Obj): string[] {
  const p: string[] = [];
  required('ApeID', deviceId, ID20)(o, p);
  required('Name', (v) => typeof v === 'string', 'a name')(o, p);
  optional('IsOnline', oneOf(new Set(['1', '2'])), '1 (online) or 2 (offline)')(o, p);
  optional('Longitude', (v) => Math.abs(Number(v)) <= 180, 'a longitude')(o, p);
  optional('Latitude', (v) => Math.abs(Number(v)) <= 90, 'a latitude')(o, p);
  return p;
}

/** The community DoorDevices extension as the city documents it: a 20-digit id, where it is, what it is. */
export function validateDoorDevice(o: Obj): string[] {
  const p: string[] = [];
  required('DeviceID', deviceId, ID20)(o, p);
  required('Name', (v) => typeof v === 'string', 'a name')(o, p);
  required(
    'CommunityCode',
    (v) => typeof v === 'string' && /^\d{6,20}$/.test(v),
    'a standard-address code',
  )(o, p);
  required(
    'DoorType',
    oneOf(new Set(['1', '2', '3'])),
    '1 (compound gate), 2 (unit door) or 3 (other)',
  )(o, p);
  optional('IsOnline', oneOf(new Set(['1', '2'])), '1 (online) or 2 (offline)')(o, p);
  optional('UpdateTime', isStrictGat1400Time, TIME)(o, p);
  return p;
}

/**
 * What the community registry extensions share, as the city documents them: a stable 32-character
 * record id (the same id again is an update), the compound's standard-address code, whether the
 * record is in effect (`RecordStatus` 1) or removed (2, with its `RemoveTime`), and when it
 * changed.
 */
const RECORD_ID = /^[0-9A-F]{32}$/;
const recordId = (v: unknown) => typeof v === 'string' && RECORD_ID.test(v);
const ID32 = '32 upper-case hex characters';
const addressCode = (v: unknown) => typeof v === 'string' && /^\d{6,30}$/.test(v);

function registryRecord(o: Obj, p: string[], idField: string): void {
  required(idField, recordId, ID32)(o, p);
  required('CommunityCode', addressCode, 'a standard-address code')(o, p);
  required('RecordStatus', oneOf(new Set(['1', '2'])), '1 (in effect) or 2 (removed)')(o, p);
  required('UpdateTime', isStrictGat1400Time, TIME)(o, p);
  if (text(o.RecordStatus) === '2') required('RemoveTime', isStrictGat1400Time, TIME)(o, p);
  else optional('RemoveTime', isStrictGat1400Time, TIME)(o, p);
}

/** PersonInfos (实有人口): who lives where; the ID number only with its type. */
export function validatePersonInfo(o: Obj): string[] {
  const p: string[] = [];
  registryRecord(o, p, 'PersonInfoID');
  required('Name', (v) => typeof v === 'string' && !v.includes('*'), 'the name (not masked)')(o, p);
  required(
    'PersonType',
    oneOf(new Set(['1', '2', '3', '4', '5'])),
    '1 owner, 2 family, 3 tenant, 4 floating, 5 staff',
  )(o, p);
  optional(
    'IDNumber',
    (v) => typeof v === 'string' && /^\d{17}[\dX]$/.test(v),
    'an 18-character ID number (not masked)',
  )(o, p);
  if (o.IDNumber !== undefined) required('IDType', oneOf(new Set(['111'])), '111 (resident ID card)')(o, p);
  optional('HouseInfoID', recordId, ID32)(o, p);
  optional('HouseCode', addressCode, 'a standard-address code')(o, p);
  optional('PermitBeginTime', isStrictGat1400Time, TIME)(o, p);
  optional('PermitEndTime', isStrictGat1400Time, TIME)(o, p);
  return p;
}

/** HouseInfos (实有房屋): a house at its room-level standard address, and its use. */
export function validateHouseInfo(o: Obj): string[] {
  const p: string[] = [];
  registryRecord(o, p, 'HouseInfoID');
  required('HouseCode', addressCode, 'a standard-address code')(o, p);
  required(
    'HouseUse',
    oneOf(new Set(['1', '2', '3', '4'])),
    '1 owner-occupied, 2 rented, 3 vacant, 4 commercial',
  )(o, p);
  return p;
}

/** CarInfos: a registered resident vehicle. */
export function validateCarInfo(o: Obj): string[] {
  const p: string[] = [];
  registryRecord(o, p, 'CarInfoID');
  required('PlateNo', (v) => typeof v === 'string' && v.length >= 6 && v.length <= 10, 'the plate')(o, p);
  optional('PlateColor', oneOf(COLOR_CODES), 'a colour code')(o, p);
  optional('VehicleColor', oneOf(COLOR_CODES), 'a colour code')(o, p);
  optional('OwnerPersonInfoID', recordId, ID32)(o, p);
  optional('BeginTime', isStrictGat1400Time, TIME)(o, p);
  optional('EndTime', isStrictGat1400Time, TIME)(o, p);
  return p;
}

const nested: Readonly<Record<string, [string, (o: Obj) => string[]]>> = {
  FaceObjectList: ['FaceObject', validateFace],
  MotorVehicleObjectList: ['MotorVehicleObject', validateMotorVehicle],
  PersonObjectList: ['PersonObject', validatePerson],
  DeviceList: ['APEObject', validateApe],
};

export function validateSubscribeNotification(o: Obj): string[] {
  const p: string[] = [];
  required('NotificationID', isGat1400CommandId, '33 characters')(o, p);
  required('SubscribeID', isGat1400CommandId, '33 characters')(o, p);
  required('TriggerTime', isStrictGat1400Time, TIME)(o, p);
  required('ExecuteOperation', oneOf(new Set(['1', '2', '3'])), '1, 2 or 3')(o, p);
  let carried = 0;
  for (const [field, [item, validate]] of Object.entries(nested)) {
    const list = o[field];
    if (list === undefined) continue;
    const items = isObj(list) ? list[item] : undefined;
    if (!Array.isArray(items)) {
      p.push(`${field}.${item} must be an array`);
      continue;
    }
    carried += items.length;
    items.forEach((x: unknown, i) =>
      p.push(...(isObj(x) ? validate(x) : ['not an object']).map((e) => `${field}[${i}].${e}`)),
    );
  }
  if (o.DeviceStatusList !== undefined) carried += 1;
  if (carried === 0) p.push('the notification carries no objects');
  return p;
}

/**
 * A hit (the MotorVehicleObject or PersonObject/FaceObject found) or a status change of the
 * disposition (DispositionStatus: the result of setting or withdrawing it came after the answer).
 */
export function validateDispositionNotification(o: Obj): string[] {
  const p: string[] = [];
  required('NotificationID', isGat1400CommandId, '33 characters')(o, p);
  required('DispositionID', isGat1400CommandId, '33 characters')(o, p);
  required('TriggerTime', isStrictGat1400Time, TIME)(o, p);
  const vehicle = o.MotorVehicleObject;
  const person = o.PersonObject ?? o.FaceObject;
  if (isObj(vehicle)) p.push(...validateMotorVehicle(vehicle).map((e) => `MotorVehicleObject.${e}`));
  else if (isObj(person))
    p.push(
      ...(o.PersonObject ? validatePerson(person) : validateFace(person)).map((e) => `PersonObject.${e}`),
    );
  else if (o.DispositionStatus !== undefined)
    required(
      'DispositionStatus',
      oneOf(new Set(['0', '1', '2', '9'])),
      '0 (in effect), 1 (withdrawn), 2 (expired) or 9 (not in effect)',
    )(o, p);
  else p.push('the notification carries no MotorVehicleObject, PersonObject or DispositionStatus');
  return p;
}

export const VALIDATORS: Partial<Record<EnvelopeName, (o: Obj) => string[]>> = {
  faces: validateFace,
  motorVehicles: validateMotorVehicle,
  persons: validatePerson,
  apes: validateApe,
  doorDevices: validateDoorDevice,
  personInfos: validatePersonInfo,
  houseInfos: validateHouseInfo,
  carInfos: validateCarInfo,
  subscribeNotifications: validateSubscribeNotification,
  dispositionNotifications: validateDispositionNotification,
};
