/**
 * Dahua ITSAPI (ANPR / tollgate cameras) → normalised events. Pure: the HTTP edge
 * (src/http/protocols/itsapi.ts) hands the parsed JSON of `POST /NotificationInfo/TollgateInfo`.
 */
import { anfang, topics } from '@anfang/contracts';
import type { NormalisedEvent } from '../../ingest/types.ts';
import { normalisePlate, relativeDirection } from './isapi-codes.ts';
import { codeKey, COMMON_PLATE_COLORS, COMMON_VEHICLE_COLORS, lookupCode } from './vendor-codes.ts';

const { PlateColor, VehicleColor, VehicleType, ImageKind, SpoofCheckResult } = anfang.common.v1;

/** A payload that is not a usable TollgateInfo; the message is the reason given to the camera. */
export class ItsapiPayloadError extends Error {
  override readonly name = 'ItsapiPayloadError';
}

export interface ItsapiMapOptions {
  /** The registered device's installed direction (anfang.common.v1.Direction). */
  readonly deviceDirection: number;
}

export interface TollgateResult {
  readonly event: NormalisedEvent;
  readonly deviceTime: Date;
  /** The camera's own list verdict (AllowUser / BlockUser); PlateRead has no field for it yet. */
  readonly cameraList: 'allow' | 'block' | 'none';
}

export function parseItsapiJson(body: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new ItsapiPayloadError(`malformed JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new ItsapiPayloadError('body is not a JSON object');
  return doc;
}

/**
 * Dahua's time-zone table (the index cameras use in `TimeZone`): 0 = GMT+00:00 … 13 = GMT+08:00 …
 * 32 = GMT-12:00, in minutes east of UTC.
 */
const DAHUA_ZONES = [
  0, 60, 120, 180, 210, 240, 270, 300, 330, 345, 360, 390, 420, 480, 540, 570, 600, 660, 720, 780, -60, -120,
  -180, -210, -240, -300, -360, -420, -480, -540, -600, -660, -720,
];

/** China Standard Time, where cameras that do not say are. */
const DEFAULT_OFFSET_MINUTES = 480;

/** `TimeZone` as an index of Dahua's table, or a string such as "GMT+08:00", "+0800", "UTC+8". */
export function dahuaZoneOffsetMinutes(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return DEFAULT_OFFSET_MINUTES;
  if (typeof value === 'number' || /^\d+$/.test(String(value))) return DAHUA_ZONES[Number(value)];
  const m = /^(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(String(value).trim());
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

/** `YYYY-mm-dd HH:MM:SS[.fff]` in the camera's zone. */
export function parseDahuaTime(value: unknown, timeZone: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(value.trim());
  const offset = dahuaZoneOffsetMinutes(timeZone);
  if (!m || offset === undefined) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((m[7] ?? '0').padEnd(3, '0'));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const date = new Date(local - offset * 60_000);
  // Date.UTC rolls 2024-02-30 over to March: refuse what is not a real date.
  const check = new Date(local);
  if (
    check.getUTCDate() !== day ||
    check.getUTCMonth() !== month - 1 ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  return date;
}

const PLATE_COLORS: Record<string, number> = {
  ...COMMON_PLATE_COLORS,
  shadowgreen: PlateColor.PLATE_COLOR_GREEN,
};

export function dahuaPlateColor(value: unknown): number {
  return lookupCode(PLATE_COLORS, value, PlateColor.PLATE_COLOR_UNSPECIFIED, PlateColor.PLATE_COLOR_OTHER);
}

const VEHICLE_COLORS: Record<string, number> = {
  ...COMMON_VEHICLE_COLORS,
  darkgray: VehicleColor.VEHICLE_COLOR_GREY,
  darkblue: VehicleColor.VEHICLE_COLOR_BLUE,
  violet: VehicleColor.VEHICLE_COLOR_PURPLE,
};

export function dahuaVehicleColor(value: unknown): number {
  return lookupCode(
    VEHICLE_COLORS,
    value,
    VehicleColor.VEHICLE_COLOR_UNSPECIFIED,
    VehicleColor.VEHICLE_COLOR_OTHER,
  );
}

const VEHICLE_TYPES: Record<string, number> = {
  motor: VehicleType.VEHICLE_TYPE_CAR,
  salooncar: VehicleType.VEHICLE_TYPE_CAR,
  sedan: VehicleType.VEHICLE_TYPE_CAR,
  passengercar: VehicleType.VEHICLE_TYPE_CAR,
  lightduty: VehicleType.VEHICLE_TYPE_CAR,
  microbus: VehicleType.VEHICLE_TYPE_VAN,
  minivan: VehicleType.VEHICLE_TYPE_VAN,
  van: VehicleType.VEHICLE_TYPE_VAN,
  suv: VehicleType.VEHICLE_TYPE_SUV,
  mpv: VehicleType.VEHICLE_TYPE_MPV,
  bus: VehicleType.VEHICLE_TYPE_BUS,
  largebus: VehicleType.VEHICLE_TYPE_BUS,
  mediumbus: VehicleType.VEHICLE_TYPE_BUS,
  oversize: VehicleType.VEHICLE_TYPE_BUS,
  truck: VehicleType.VEHICLE_TYPE_TRUCK,
  largetruck: VehicleType.VEHICLE_TYPE_TRUCK,
  midtruck: VehicleType.VEHICLE_TYPE_TRUCK,
  lighttruck: VehicleType.VEHICLE_TYPE_TRUCK,
  pickup: VehicleType.VEHICLE_TYPE_PICKUP,
  pickuptruck: VehicleType.VEHICLE_TYPE_PICKUP,
  motorcycle: VehicleType.VEHICLE_TYPE_MOTORCYCLE,
  tricycle: VehicleType.VEHICLE_TYPE_TRICYCLE,
  tankcar: VehicleType.VEHICLE_TYPE_SPECIAL,
  policecar: VehicleType.VEHICLE_TYPE_SPECIAL,
};

export function dahuaVehicleType(value: unknown): number {
  return lookupCode(
    VEHICLE_TYPES,
    value,
    VehicleType.VEHICLE_TYPE_UNSPECIFIED,
    VehicleType.VEHICLE_TYPE_OTHER,
  );
}

/** `SnapInfo.Direction`: Obverse/Approach (towards the camera) or Reverse/Leave. */
function dahuaRelative(value: unknown): 'forward' | 'reverse' | undefined {
  const key = codeKey(value);
  if (key === 'obverse' || key === 'approach' || key === 'forward' || key === '0') return 'forward';
  if (key === 'reverse' || key === 'leave' || key === 'back' || key === '1') return 'reverse';
  return undefined;
}

/** Maps a TollgateInfo body. Throws ItsapiPayloadError for a body missing what it needs. */
export function mapTollgateInfo(body: Record<string, unknown>, options: ItsapiMapOptions): TollgateResult {
  const picture = record(body['Picture']);
  if (picture === undefined) throw new ItsapiPayloadError('Picture is missing');
  const plate = record(picture['Plate']);
  const snap = record(picture['SnapInfo']);
  const vehicle = record(picture['Vehicle']);
  if (plate === undefined) throw new ItsapiPayloadError('Picture.Plate is missing');
  if (snap === undefined) throw new ItsapiPayloadError('Picture.SnapInfo is missing');
  const accurateTime = snap['AccurateTime'];
  if (accurateTime === undefined || accurateTime === null || accurateTime === '') {
    throw new ItsapiPayloadError('SnapInfo.AccurateTime is missing');
  }
  if (typeof accurateTime !== 'string') {
    throw new ItsapiPayloadError(
      `SnapInfo.AccurateTime must be a "YYYY-mm-dd HH:MM:SS.fff" string, got ${shapeOf(accurateTime)}`,
    );
  }
  const deviceTime = parseDahuaTime(accurateTime, snap['TimeZone']);
  if (deviceTime === undefined) {
    throw new ItsapiPayloadError(
      `SnapInfo.AccurateTime/TimeZone not understood: ${accurateTime.slice(0, 40)}`,
    );
  }
  const plateNumber = tollgatePlateNumber(plate['PlateNumber']);
  const exists = flag(plate['IsExist'], 'Plate.IsExist');
  const present = exists === undefined ? plateNumber !== '' : exists && plateNumber !== '';
  const channel = scalar(plate['Channel'] ?? snap['Channel'], 'Plate.Channel') ?? '0';
  const uploadNum = scalar(plate['UploadNum'], 'Plate.UploadNum');
  // A resend repeats plate, time, channel and upload number; a new pass differs in the time.
  const sourceKey = `tollgate:${plateNumber || 'none'}:${accurateTime.trim()}:${channel}${
    uploadNum === undefined ? '' : `:${uploadNum}`
  }`;

  const normal = record(picture['NormalPic']);
  const images = [];
  const content = normal?.['Content'];
  if (typeof content === 'string' && content !== '') {
    const bytes = decodeBase64(content);
    if (bytes === undefined) throw new ItsapiPayloadError('NormalPic.Content is not base64');
    const contentType = sniffImage(bytes);
    if (contentType === undefined)
      throw new ItsapiPayloadError('NormalPic.Content is not a JPEG or PNG image');
    images.push({
      kind: ImageKind.IMAGE_KIND_VEHICLE,
      contentType,
      bytes,
      sourceName: typeof normal?.['PicName'] === 'string' ? normal['PicName'] : 'NormalPic',
    });
  }
  const blocked = flag(snap['BlockUser'], 'SnapInfo.BlockUser');
  const allowed = flag(snap['AllowUser'], 'SnapInfo.AllowUser');
  const brand = scalar(vehicle?.['VehicleSign'], 'Vehicle.VehicleSign') ?? '';
  return {
    deviceTime,
    cameraList: blocked === true ? 'block' : allowed === true ? 'allow' : 'none',
    event: {
      topic: topics.devicePlateRead,
      sourceKey,
      occurredAt: deviceTime,
      images,
      imageField: 'images',
      payload: {
        sourceObjectId: sourceKey,
        hasPlate: present,
        plateNumber: present ? plateNumber : '',
        plateColor: dahuaPlateColor(plate['PlateColor']),
        vehicleColor: dahuaVehicleColor(vehicle?.['VehicleColor']),
        vehicleType: dahuaVehicleType(vehicle?.['VehicleType']),
        vehicleBrand: brand,
        direction: relativeDirection(dahuaRelative(snap['Direction']), options.deviceDirection),
        lane: laneOf(snap['Lane'] ?? vehicle?.['Lane']),
        confidence: confidenceOf(plate['Confidence']),
        spoofCheck: SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED,
        plateBox: boundingBox(plate['BoundingBox']),
      },
    },
  };
}

/**
 * `Plate.PlateNumber` as the plate it names, '' for "no plate". Firmware sends it as a string, but
 * some models (and integrators' relays) send a plate read as digits only as a JSON number: that
 * is coerced when it is a whole number of a plate's length (5–8 digits — a serial read without
 * its province and letter); anything else (a fraction, a boolean, an object, a string with
 * characters no plate has) is refused with the reason, so the pass is quarantined rather than
 * published as "no plate".
 */
export function tollgatePlateNumber(value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || !/^\d{5,8}$/.test(String(value))) {
      throw new ItsapiPayloadError(`Plate.PlateNumber is not a plate: the number ${String(value)}`);
    }
    return String(value);
  }
  if (typeof value !== 'string') {
    throw new ItsapiPayloadError(`Plate.PlateNumber must be a string, got ${shapeOf(value)}`);
  }
  const plate = normalisePlate(value);
  if (plate !== '' && !PLATE_SHAPE.test(plate)) {
    throw new ItsapiPayloadError(`Plate.PlateNumber is not a plate: ${JSON.stringify(value.slice(0, 40))}`);
  }
  return plate;
}

/** Letters (the province and suffix characters are CJK letters) and digits, up to 10 of them. */
const PLATE_SHAPE = /^[\p{L}\p{N}]{1,10}$/u;

/** A boolean flag, also as "true"/"false" or 1/0 (string or number); absent → undefined. */
function flag(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 1 || value === 'true' || value === '1') return true;
  if (value === false || value === 0 || value === 'false' || value === '0') return false;
  throw new ItsapiPayloadError(`${field} must be true or false, got ${shapeOf(value)}`);
}

/** A string or number field as its text; absent → undefined; anything else is refused. */
function scalar(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new ItsapiPayloadError(`${field} must be a string or number, got ${shapeOf(value)}`);
}

/** `Confidence` 0–100 as a number or numeric string ("92", "92%"); unreadable → 0 (unknown). */
function confidenceOf(value: unknown): number {
  const n = typeof value === 'string' ? Number(value.trim().replace(/%$/, '')) : Number(value);
  return typeof value !== 'boolean' && value !== null && Number.isFinite(n)
    ? Math.min(1, Math.max(0, n / 100))
    : 0;
}

function shapeOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

function laneOf(value: unknown): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Dahua boxes are [left, top, right, bottom] in pixels (or in the 8192 grid on some models). */
function boundingBox(value: unknown): Record<string, number> | undefined {
  if (!Array.isArray(value) || value.length !== 4 || !value.every((v) => Number.isInteger(v)))
    return undefined;
  const [left, top, right, bottom] = value as [number, number, number, number];
  return { left, top, right, bottom };
}

function decodeBase64(value: string): Buffer | undefined {
  const clean = value.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  return Buffer.from(clean, 'base64');
}

/** The image type by its magic bytes; undefined when it is neither JPEG nor PNG. */
export function sniffImage(bytes: Buffer): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (
    bytes.length >= 8 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  ) {
    return 'image/png';
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}
