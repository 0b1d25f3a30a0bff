/**
 * GA/T 1400 objects (FaceObject, MotorVehicleObject, PersonObject) → NormalisedEvents. Pure: the
 * edge (src/http/protocols/gat1400.ts) decodes the body, hands each object here with a device
 * lookup, and gets either an event or the StatusCode and reason to answer for that object. The
 * payloads leave out `device` (the pipeline stamps it from the device it is given).
 * Shapes: ../shared/protocols/GAT1400.md.
 */
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import type { RegisteredDevice } from '../device.ts';
import type { IncomingImage, NormalisedEvent } from '../../ingest/types.ts';
import {
  isAggregatingSender,
  isGat1400Id,
  isGat1400ObjectId,
  isGat1400SourceId,
  OBJECT_KIND,
  parseGat1400Time,
  STATUS,
  validateApe,
  type StatusCode,
} from '@anfang/gat1400';

const { ImageKind, PlateColor, VehicleColor, VehicleType, Direction } = anfang.common.v1;

export type Gat1400ObjectKind = 'faces' | 'motorVehicles' | 'persons';

export type Gat1400Mapped =
  | {
      readonly ok: true;
      readonly id: string;
      readonly device: RegisteredDevice;
      readonly event: NormalisedEvent;
    }
  | { readonly ok: false; readonly id: string; readonly code: StatusCode; readonly reason: string };

export interface Gat1400MapContext {
  /** The registered sender (User-Identify). */
  readonly sender: RegisteredDevice;
  /** Registry lookup by 20-digit id (DeviceDirectory.byGat1400Id). */
  readonly lookup: (gat1400Id: string) => RegisteredDevice | undefined;
}

interface KindSpec {
  readonly list: string;
  readonly item: string;
  readonly idField: string;
  readonly objectKind: string;
  readonly map: (o: Obj, id: string, device: RegisteredDevice) => NormalisedEvent | Failure;
}

type Obj = Record<string, unknown>;
interface Failure {
  readonly failure: string;
}

/** GA/T SubImageInfo `Type` → ImageKind (media.proto notes the pairs). */
const IMAGE_KIND_BY_GAT_TYPE: Readonly<Record<number, number>> = {
  1: ImageKind.IMAGE_KIND_VEHICLE,
  2: ImageKind.IMAGE_KIND_PLATE,
  4: ImageKind.IMAGE_KIND_DRIVER_FACE,
  5: ImageKind.IMAGE_KIND_PASSENGER_FACE,
  9: ImageKind.IMAGE_KIND_VEHICLE_CLOSE_UP,
  10: ImageKind.IMAGE_KIND_PERSON,
  11: ImageKind.IMAGE_KIND_FACE,
  14: ImageKind.IMAGE_KIND_SCENE,
  100: ImageKind.IMAGE_KIND_OTHER,
};

/** GA/T colour code (PlateColor) → plate colours that exist; the others are OTHER. */
const PLATE_COLOR_BY_GAT: Readonly<Record<number, number>> = {
  1: PlateColor.PLATE_COLOR_BLACK,
  2: PlateColor.PLATE_COLOR_WHITE,
  5: PlateColor.PLATE_COLOR_BLUE,
  6: PlateColor.PLATE_COLOR_YELLOW,
  9: PlateColor.PLATE_COLOR_GREEN,
};

/** GA 24.8 letter codes some vehicle cameras send instead of the numeric GA/T colours. */
const VEHICLE_COLOR_BY_LETTER: Readonly<Record<string, number>> = {
  A: VehicleColor.VEHICLE_COLOR_WHITE,
  B: VehicleColor.VEHICLE_COLOR_GREY,
  C: VehicleColor.VEHICLE_COLOR_YELLOW,
  D: VehicleColor.VEHICLE_COLOR_PINK,
  E: VehicleColor.VEHICLE_COLOR_RED,
  F: VehicleColor.VEHICLE_COLOR_PURPLE,
  G: VehicleColor.VEHICLE_COLOR_GREEN,
  H: VehicleColor.VEHICLE_COLOR_BLUE,
  I: VehicleColor.VEHICLE_COLOR_BROWN,
  J: VehicleColor.VEHICLE_COLOR_BLACK,
  Z: VehicleColor.VEHICLE_COLOR_OTHER,
};

/** What cameras write in PlateNo when they saw no readable plate. */
const NO_PLATE = new Set(['', '无车牌', '无牌', '未识别', '未知', '车牌', '无', 'NONE', 'UNKNOWN', '-']);

export const GAT1400_KINDS: Readonly<Record<Gat1400ObjectKind, KindSpec>> = {
  faces: {
    list: 'FaceListObject',
    item: 'FaceObject',
    idField: 'FaceID',
    objectKind: OBJECT_KIND.FACE,
    map: mapFace,
  },
  motorVehicles: {
    list: 'MotorVehicleListObject',
    item: 'MotorVehicleObject',
    idField: 'MotorVehicleID',
    objectKind: OBJECT_KIND.MOTOR_VEHICLE,
    map: mapMotorVehicle,
  },
  persons: {
    list: 'PersonListObject',
    item: 'PersonObject',
    idField: 'PersonID',
    objectKind: OBJECT_KIND.PERSON,
    map: mapPerson,
  },
};

/**
 * The objects of a batch body (`{"FaceListObject":{"FaceObject":[…]}}`), or why the body has
 * none. A single object instead of an array is accepted (seen from lower systems).
 */
export function batchObjects(
  kind: Gat1400ObjectKind,
  body: unknown,
): unknown[] | { readonly failure: string } {
  const spec = GAT1400_KINDS[kind];
  const list = isObj(body) ? body[spec.list] : undefined;
  if (!isObj(list)) return { failure: `body has no ${spec.list} object` };
  const items = list[spec.item];
  if (Array.isArray(items)) return items;
  if (isObj(items)) return [items];
  return { failure: `${spec.list} has no ${spec.item} array` };
}

/** The id to answer for an object, whatever else is wrong with it. */
export function objectIdOf(kind: Gat1400ObjectKind, object: unknown): string {
  const id = isObj(object) ? object[GAT1400_KINDS[kind].idField] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
}

/** Validates one object and maps it to its event, or says why not (StatusCode 8 + reason). */
export function mapGat1400Object(
  kind: Gat1400ObjectKind,
  object: unknown,
  ctx: Gat1400MapContext,
): Gat1400Mapped {
  const spec = GAT1400_KINDS[kind];
  const id = objectIdOf(kind, object);
  const fail = (reason: string): Gat1400Mapped => ({
    ok: false,
    id,
    code: STATUS.INVALID_JSON_CONTENT,
    reason,
  });
  if (!isObj(object)) return fail(`${spec.item} is not an object`);
  if (!isGat1400ObjectId(id, spec.objectKind))
    return fail(`${spec.idField} must be 48 digits (41-char SourceID + kind ${spec.objectKind} + serial)`);
  if (object.SourceID !== undefined && !isGat1400SourceId(object.SourceID))
    return fail('SourceID must be 41 digits (device 20 + kind 2 + time 14 + serial 5)');
  const device = resolveObjectDevice(object.DeviceID, ctx);
  if ('failure' in device) return fail(device.failure);
  const event = spec.map(object, id, device);
  if ('failure' in event) return fail(event.failure);
  return { ok: true, id, device, event };
}

/**
 * The capturing device: the object's DeviceID if given (registered, active, and the sender itself
 * or — for a collection system, tollgate or platform — a device of the sender's compound), else
 * the sender.
 */
export function resolveObjectDevice(deviceId: unknown, ctx: Gat1400MapContext): RegisteredDevice | Failure {
  if (deviceId === undefined || deviceId === null || deviceId === '') return ctx.sender;
  if (typeof deviceId !== 'string' || !isGat1400Id(deviceId))
    return { failure: 'DeviceID must be 20 digits' };
  if (deviceId === ctx.sender.gat1400Id) return ctx.sender;
  const device = ctx.lookup(deviceId);
  if (!device || !device.active) return { failure: `DeviceID ${deviceId} is not a registered device` };
  if (!isAggregatingSender(ctx.sender.gat1400Id) || device.compoundId !== ctx.sender.compoundId)
    return { failure: `DeviceID ${deviceId} does not belong to the sender ${ctx.sender.gat1400Id}` };
  return device;
}

/** What a device may do with objects it pushed, and what it may report about itself. */
export type Gat1400Verdict =
  | { readonly ok: true; readonly id: string; readonly device: RegisteredDevice }
  | { readonly ok: false; readonly id: string; readonly code: StatusCode; readonly reason: string };

/**
 * `DELETE /VIID/{Faces|MotorVehicles|Persons}?IDList=…` (or `/{ID}`): a device clearing objects
 * from its own library (retention) or withdrawing one it pushed. The ids are checked — an object
 * id of the kind, captured by the sender or (for a collection system) a device of its compound —
 * but nothing is retracted: the events are facts other services have already acted on, and the
 * platform's own retention governs them.
 */
export function checkDeletion(kind: Gat1400ObjectKind, id: string, ctx: Gat1400MapContext): Gat1400Verdict {
  const spec = GAT1400_KINDS[kind];
  if (!isGat1400ObjectId(id, spec.objectKind))
    return {
      ok: false,
      id,
      code: STATUS.INVALID_JSON_CONTENT,
      reason: `${id || '(empty)'} is not a ${spec.idField} (48 digits, kind ${spec.objectKind})`,
    };
  const device = resolveObjectDevice(id.slice(0, 20), ctx);
  if ('failure' in device) return { ok: false, id, code: STATUS.INVALID_OPERATION, reason: device.failure };
  return { ok: true, id, device };
}

/** `IDList=a,b,c` of a DELETE: the ids, or why there are none. */
export function deletionIds(idList: unknown): string[] | Failure {
  if (typeof idList !== 'string' || idList.trim() === '') return { failure: 'IDList is missing' };
  const ids = idList
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0) return { failure: 'IDList is empty' };
  if (ids.length > 1000) return { failure: `IDList has ${ids.length} ids, at most 1000` };
  return ids;
}

export type ApeReport =
  | (Extract<Gat1400Verdict, { ok: true }> & { readonly online: boolean | undefined })
  | Extract<Gat1400Verdict, { ok: false }>;

/**
 * One APEObject of `POST|PUT /VIID/APEs`: a camera describing itself, or a collection system
 * its cameras. The registry is the only source of devices — an APE the registry does not know is
 * refused (code 4), never registered from the payload — and `IsOnline` of a known one is its
 * reported state (1 online, 2 offline).
 */
export function mapApe(object: unknown, ctx: Gat1400MapContext): ApeReport {
  const raw = isObj(object) ? object.ApeID : undefined;
  const id = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : '';
  if (!isObj(object))
    return { ok: false, id, code: STATUS.INVALID_JSON_CONTENT, reason: 'APEObject is not an object' };
  const problems = validateApe(object);
  if (problems.length > 0)
    return { ok: false, id, code: STATUS.INVALID_JSON_CONTENT, reason: problems.join('; ') };
  const device = resolveObjectDevice(id, ctx);
  if ('failure' in device) return { ok: false, id, code: STATUS.INVALID_OPERATION, reason: device.failure };
  const state = String(object.IsOnline ?? '').trim();
  return { ok: true, id, device, online: state === '1' ? true : state === '2' ? false : undefined };
}

/** The objects an ImageObject carries, by the list that carries them. */
const IMAGE_OBJECT_LISTS: readonly [Gat1400ObjectKind, string, string][] = [
  ['faces', 'FaceList', 'FaceObject'],
  ['motorVehicles', 'MotorVehicleList', 'MotorVehicleObject'],
  ['persons', 'PersonList', 'PersonObject'],
];

/** The ImageObjects of `{"ImageListObject":{"ImageObject":[…]}}` (one object accepted too). */
export function imageObjects(body: unknown): unknown[] | Failure {
  const list = isObj(body) ? body.ImageListObject : undefined;
  if (!isObj(list)) return { failure: 'body has no ImageListObject object' };
  const items = list.ImageObject;
  if (Array.isArray(items)) return items;
  if (isObj(items)) return [items];
  return { failure: 'ImageListObject has no ImageObject array' };
}

export interface Gat1400ImageMapped {
  /** `ImageInfo.ImageID`. */
  readonly id: string;
  /** Why the image as a whole is refused (StatusCode 8); its objects are then not looked at. */
  readonly failure?: string;
  readonly objects: readonly Gat1400Mapped[];
}

/**
 * One ImageObject of `POST /VIID/Images`: a picture (`ImageInfo` + base64 `Data`) with the
 * objects found in it (`FaceList`, `MotorVehicleList`, `PersonList`). Each object is mapped as if
 * pushed to its own resource; one without pictures of its own gets the image (as SCENE, type 14).
 * A picture without objects is no event and is not kept.
 */
export function mapGat1400Image(object: unknown, ctx: Gat1400MapContext): Gat1400ImageMapped {
  const info = isObj(object) && isObj(object.ImageInfo) ? object.ImageInfo : undefined;
  const rawId = info?.ImageID;
  const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : '';
  if (!isObj(object) || !info) return { id, failure: 'ImageObject has no ImageInfo', objects: [] };
  if (!isGat1400SourceId(id)) return { id, failure: 'ImageInfo.ImageID must be 41 digits', objects: [] };
  const hasData = object.Data !== undefined && object.Data !== null && object.Data !== '';
  if (hasData && !decodeBase64(object.Data)) return { id, failure: 'Data is not base64', objects: [] };
  const scene = hasData
    ? {
        SubImageInfoObject: [
          {
            ImageID: id,
            Type: '14',
            FileFormat: info.FileFormat,
            ShotTime: info.ShotTime,
            Data: object.Data,
          },
        ],
      }
    : undefined;
  const objects: Gat1400Mapped[] = [];
  for (const [kind, listName, itemName] of IMAGE_OBJECT_LISTS) {
    const list = object[listName];
    if (list === undefined || list === null) continue;
    const inner = isObj(list) ? list[itemName] : undefined;
    const items = Array.isArray(inner) ? inner : isObj(inner) ? [inner] : undefined;
    if (!items) return { id, failure: `${listName} has no ${itemName} array`, objects: [] };
    for (const item of items) {
      const withPicture =
        isObj(item) &&
        scene &&
        (item.SubImageList === undefined || item.SubImageList === null || item.SubImageList === '')
          ? { ...item, SubImageList: scene }
          : item;
      objects.push(mapGat1400Object(kind, withPicture, ctx));
    }
  }
  return { id, objects };
}

function mapFace(o: Obj, id: string, device: RegisteredDevice): NormalisedEvent | Failure {
  const images = decodeSubImages(o.SubImageList);
  if ('failure' in images) return images;
  const shot = timeOf(o, ['ShotTime', 'FaceAppearTime'], images.shotTime);
  if ('failure' in shot) return shot;
  const appeared = optionalTime(o, 'FaceAppearTime');
  if (appeared && 'failure' in appeared) return appeared;
  const disappeared = optionalTime(o, 'FaceDisAppearTime');
  if (disappeared && 'failure' in disappeared) return disappeared;
  return {
    topic: topics.deviceFaceCaptured,
    sourceKey: id,
    occurredAt: shot.time,
    images: images.images,
    imageField: 'images',
    payload: {
      sourceObjectId: id,
      liveness: anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED,
      ...box('faceBox', o),
      direction: passageDirection(undefined, device),
      ...(appeared ? { appearedAt: timestampFromDate(appeared.time) } : {}),
      ...(disappeared ? { disappearedAt: timestampFromDate(disappeared.time) } : {}),
    },
  };
}

function mapMotorVehicle(o: Obj, id: string, device: RegisteredDevice): NormalisedEvent | Failure {
  const images = decodeSubImages(o.SubImageList);
  if ('failure' in images) return images;
  const pass = timeOf(o, ['PassTime', 'ShotTime'], images.shotTime);
  if ('failure' in pass) return pass;
  const plate = normalisePlate(o.PlateNo);
  const hasPlateFlag = parseFlag(o.HasPlate);
  const hasPlate = hasPlateFlag === undefined ? plate !== '' : hasPlateFlag && plate !== '';
  const lane = intOf(o.LaneNo);
  const reliability = numberOf(o.PlateReliability);
  return {
    topic: topics.devicePlateRead,
    sourceKey: id,
    occurredAt: pass.time,
    images: images.images,
    imageField: 'images',
    payload: {
      sourceObjectId: id,
      hasPlate,
      plateNumber: hasPlate ? plate : '',
      plateColor: hasPlate ? plateColorOf(o.PlateColor) : PlateColor.PLATE_COLOR_UNSPECIFIED,
      vehicleColor: vehicleColorOf(o.VehicleColor),
      vehicleType: vehicleTypeOf(o.VehicleClass),
      vehicleBrand:
        typeof o.VehicleBrand === 'string' || typeof o.VehicleBrand === 'number'
          ? String(o.VehicleBrand).trim()
          : '',
      direction: passageDirection(o.InOut, device),
      lane: lane !== undefined && lane >= 0 ? lane : 0,
      confidence: reliability === undefined ? 0 : confidenceOf(reliability),
      spoofCheck: anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED,
    },
  };
}

/**
 * A PersonObject is a pedestrian sighted by a capture camera (full-body picture, often a face
 * crop, appearance attributes). It becomes a FaceCaptured: the catalogue has no person-sighting
 * event, FaceCaptured is the routine "a person was captured here" event whose consumers
 * (identity matching, video-index search) are the ones a person capture is for, and its image
 * kinds (PERSON vs FACE) tell the two apart. The detection topics (perimeter/analytics
 * triggered) were rejected: perimeter-alarms would treat every passer-by as an alarm candidate.
 */
function mapPerson(o: Obj, id: string, device: RegisteredDevice): NormalisedEvent | Failure {
  const images = decodeSubImages(o.SubImageList);
  if ('failure' in images) return images;
  const seen = timeOf(o, ['PersonAppearTime', 'ShotTime'], images.shotTime);
  if ('failure' in seen) return seen;
  const appeared = optionalTime(o, 'PersonAppearTime');
  if (appeared && 'failure' in appeared) return appeared;
  const disappeared = optionalTime(o, 'PersonDisAppearTime');
  if (disappeared && 'failure' in disappeared) return disappeared;
  return {
    topic: topics.deviceFaceCaptured,
    sourceKey: id,
    occurredAt: seen.time,
    images: images.images,
    imageField: 'images',
    payload: {
      sourceObjectId: id,
      liveness: anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED,
      direction: passageDirection(undefined, device),
      ...(appeared ? { appearedAt: timestampFromDate(appeared.time) } : {}),
      ...(disappeared ? { disappearedAt: timestampFromDate(disappeared.time) } : {}),
    },
  };
}

// ---- images ----------------------------------------------------------------------------------

interface DecodedImages {
  readonly images: IncomingImage[];
  /** ShotTime of the first picture that has one: the fallback capture time. */
  readonly shotTime?: Date;
}

/**
 * SubImageList → images with base64 `Data`. Pictures with only a StoragePath (a URL on the
 * device) carry no bytes and are skipped; a `Data` that is not base64 fails the object.
 */
export function decodeSubImages(list: unknown): DecodedImages | Failure {
  if (list === undefined || list === null || list === '') return { images: [] };
  const entries = Array.isArray(list) ? list : isObj(list) ? list.SubImageInfoObject : undefined;
  const items = Array.isArray(entries) ? entries : isObj(entries) ? [entries] : undefined;
  if (!items) return { failure: 'SubImageList has no SubImageInfoObject array' };
  const images: IncomingImage[] = [];
  let shotTime: Date | undefined;
  for (const [index, item] of items.entries()) {
    if (!isObj(item)) return { failure: `SubImageInfoObject[${index}] is not an object` };
    shotTime ??= parseGat1400Time(item.ShotTime);
    if (item.Data === undefined || item.Data === null || item.Data === '') continue;
    const bytes = decodeBase64(item.Data);
    if (!bytes) return { failure: `SubImageInfoObject[${index}].Data is not base64` };
    const type = intOf(item.Type);
    images.push({
      kind: (type !== undefined ? IMAGE_KIND_BY_GAT_TYPE[type] : undefined) ?? ImageKind.IMAGE_KIND_OTHER,
      contentType: contentTypeOf(bytes, item.FileFormat),
      bytes,
      ...(typeof item.ImageID === 'string' && item.ImageID !== '' ? { sourceName: item.ImageID } : {}),
    });
  }
  return shotTime ? { images, shotTime } : { images };
}

/** Strict base64 (standard or URL-safe, padding optional, `data:` prefix and line breaks allowed). */
export function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.replace(/^data:[^,]*;base64,/i, '').replace(/\s+/g, '');
  if (text === '' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  return bytes.length > 0 ? bytes : undefined;
}

function contentTypeOf(bytes: Buffer, fileFormat: unknown): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) return 'image/png';
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return 'image/bmp';
  const format = typeof fileFormat === 'string' ? fileFormat.trim().toLowerCase() : '';
  if (format === 'jpeg' || format === 'jpg') return 'image/jpeg';
  if (format === 'png' || format === 'bmp' || format === 'gif') return `image/${format}`;
  return 'application/octet-stream';
}

// ---- vehicle attributes ----------------------------------------------------------------------

/** Upper case, without the separators cameras put in (鲁C·12345, 鲁C 12345, 鲁C-12345). */
export function normalisePlate(value: unknown): string {
  if (typeof value !== 'string') return '';
  const plate = value.replace(/[\s·•.\-_]/g, '').toUpperCase();
  return NO_PLATE.has(plate) ? '' : plate;
}

export function plateColorOf(value: unknown): number {
  const code = intOf(value);
  if (code === undefined) return PlateColor.PLATE_COLOR_UNSPECIFIED;
  return PLATE_COLOR_BY_GAT[code] ?? PlateColor.PLATE_COLOR_OTHER;
}

/** The enum numbers are the GA/T codes; 13 (transparent) has no body colour and is OTHER. */
export function vehicleColorOf(value: unknown): number {
  if (typeof value === 'string' && /^[A-Za-z]$/.test(value.trim()))
    return VEHICLE_COLOR_BY_LETTER[value.trim().toUpperCase()] ?? VehicleColor.VEHICLE_COLOR_OTHER;
  const code = intOf(value);
  if (code === undefined) return VehicleColor.VEHICLE_COLOR_UNSPECIFIED;
  if (code >= 1 && code <= 12) return code;
  return VehicleColor.VEHICLE_COLOR_OTHER;
}

/** GA 24.4 vehicle class codes (K33 轿车, K41 微型普通客车, H… 货车, M… 摩托车, …) → VehicleType. */
export function vehicleTypeOf(value: unknown): number {
  if (typeof value !== 'string' || value.trim() === '') return VehicleType.VEHICLE_TYPE_UNSPECIFIED;
  const code = value.trim().toUpperCase();
  const exact: Readonly<Record<string, number>> = {
    K32: VehicleType.VEHICLE_TYPE_SUV,
    K42: VehicleType.VEHICLE_TYPE_SUV,
    K41: VehicleType.VEHICLE_TYPE_VAN,
    K31: VehicleType.VEHICLE_TYPE_CAR,
    K33: VehicleType.VEHICLE_TYPE_CAR,
    K43: VehicleType.VEHICLE_TYPE_CAR,
  };
  if (exact[code] !== undefined) return exact[code];
  if (/^K[12]/.test(code)) return VehicleType.VEHICLE_TYPE_BUS;
  if (/^[HQGB]/.test(code)) return VehicleType.VEHICLE_TYPE_TRUCK;
  if (code.startsWith('M')) return VehicleType.VEHICLE_TYPE_MOTORCYCLE;
  if (code.startsWith('N')) return VehicleType.VEHICLE_TYPE_TRICYCLE;
  if (/^[JZ]/.test(code)) return VehicleType.VEHICLE_TYPE_SPECIAL;
  return VehicleType.VEHICLE_TYPE_OTHER;
}

/**
 * GA/T `Direction` is a compass heading (1 east→west, …) and says nothing about entering or
 * leaving; community deployments add `InOut`. Without it, a device installed for one direction
 * gives that direction.
 */
export function passageDirection(inOut: unknown, device: RegisteredDevice): number {
  const v = typeof inOut === 'string' || typeof inOut === 'number' ? String(inOut).trim().toLowerCase() : '';
  if (v === 'in' || v === '进' || v === '入') return Direction.DIRECTION_IN;
  if (v === 'out' || v === '出') return Direction.DIRECTION_OUT;
  return device.direction === Direction.DIRECTION_IN || device.direction === Direction.DIRECTION_OUT
    ? device.direction
    : Direction.DIRECTION_UNSPECIFIED;
}

/** PlateReliability is 0–100 from most devices, already a fraction from a few. */
function confidenceOf(value: number): number {
  const fraction = value > 1 ? value / 100 : value;
  return Math.min(1, Math.max(0, fraction));
}

// ---- small parsers ---------------------------------------------------------------------------

function timeOf(o: Obj, fields: readonly string[], fallback: Date | undefined): { time: Date } | Failure {
  for (const field of fields) {
    if (o[field] === undefined || o[field] === null || o[field] === '') continue;
    const time = parseGat1400Time(o[field]);
    return time ? { time } : { failure: `${field} is not yyyyMMddHHmmss` };
  }
  return fallback ? { time: fallback } : { failure: `no capture time (${fields.join(' or ')})` };
}

function optionalTime(o: Obj, field: string): { time: Date } | Failure | undefined {
  if (o[field] === undefined || o[field] === null || o[field] === '') return undefined;
  const time = parseGat1400Time(o[field]);
  return time ? { time } : { failure: `${field} is not yyyyMMddHHmmss` };
}

function box(field: string, o: Obj): Record<string, unknown> {
  const [left, top, right, bottom] = [o.LeftTopX, o.LeftTopY, o.RightBtmX, o.RightBtmY].map(intOf);
  if (left === undefined || top === undefined || right === undefined || bottom === undefined) return {};
  return { [field]: { left, top, right, bottom } };
}

function parseFlag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const v = typeof value === 'string' || typeof value === 'number' ? String(value).trim().toLowerCase() : '';
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function intOf(value: unknown): number | undefined {
  const n = numberOf(value);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
