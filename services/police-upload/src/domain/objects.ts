/**
 * Anfang events → GA/T 1400 objects for an upper platform (../shared/protocols/GAT1400.md). Pure:
 * ids are derived from the event id (a re-sent object keeps its id, so the receiver sees a
 * duplicate), times are Beijing `yyyyMMddHHmmss`, picture bytes are read from the keys listed
 * here (when the object is enqueued, within the platform's budget, or else at send time).
 */
import { anfang } from '@anfang/contracts';
import { fromTimestamp } from '@anfang/platform/bus';
import {
  formatGat1400Time,
  isGat1400Id,
  OBJECT_KIND,
  semanticObjectId,
  SOURCE_KIND,
  sourceId,
  stableSerial,
  type EnvelopeName,
  type Obj,
} from '@anfang/gat1400';

const { ImageKind, PlateColor, Direction, SpoofCheckResult } = anfang.common.v1;

/** Photo, replay, mask or other: anything the device judged not genuine. */
const isSpoof = (result: number | null | undefined): boolean =>
  (result ?? 0) >= SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO;

/** A picture to fetch from object storage and put into SubImageList. */
export interface ImageToFetch {
  readonly objectKey: string;
  /** The field of the body holding the object the picture belongs to; absent: the body itself. */
  readonly into?: string;
  /** SubImageInfoObject without Data. */
  readonly info: Obj;
}

export interface UploadObject {
  readonly kind: EnvelopeName;
  readonly objectId: string;
  readonly sourceEventId: string;
  readonly compoundId: string;
  readonly deviceId: string;
  readonly body: Obj;
  readonly images: readonly ImageToFetch[];
  readonly capturedAt: Date;
  /** Where to POST instead of the platform's standard path (a notification's ReceiveAddr). */
  readonly targetUrl?: string;
  /** Not sent before this (a subscription's report slot). */
  readonly notBefore?: Date;
}

export interface BuildContext {
  /** This platform's 20-digit id: the collecting system for devices without a GA/T id. */
  readonly lowerId: string;
}

/** ImageKind → SubImageInfo Type. */
const GAT_IMAGE_TYPE: Readonly<Record<number, string>> = {
  [ImageKind.IMAGE_KIND_VEHICLE]: '01',
  [ImageKind.IMAGE_KIND_PLATE]: '02',
  [ImageKind.IMAGE_KIND_DRIVER_FACE]: '04',
  [ImageKind.IMAGE_KIND_PASSENGER_FACE]: '05',
  [ImageKind.IMAGE_KIND_VEHICLE_CLOSE_UP]: '09',
  [ImageKind.IMAGE_KIND_PERSON]: '10',
  [ImageKind.IMAGE_KIND_FACE]: '11',
  [ImageKind.IMAGE_KIND_SCENE]: '14',
};

/** PlateColor → GA/T colour code. */
export const GAT_PLATE_COLOR: Readonly<Record<number, string>> = {
  [PlateColor.PLATE_COLOR_BLUE]: '5',
  [PlateColor.PLATE_COLOR_YELLOW]: '6',
  [PlateColor.PLATE_COLOR_WHITE]: '2',
  [PlateColor.PLATE_COLOR_BLACK]: '1',
  [PlateColor.PLATE_COLOR_GREEN]: '9',
};

/** VehicleColor values are the GA/T colour codes already (1–12, 99). */
export const vehicleColor = (value: number | null | undefined): string | undefined =>
  value && ((value >= 1 && value <= 13) || value === 99) ? String(value) : undefined;

const fileFormat = (contentType: string | null | undefined): string => {
  const t = (contentType ?? '').toLowerCase();
  if (t.includes('png')) return 'Png';
  if (t.includes('bmp')) return 'Bmp';
  return 'Jpeg';
};

interface ImageRefLike {
  objectKey?: string | null;
  contentType?: string | null;
  kind?: number | null;
  width?: number | null;
  height?: number | null;
  capturedAt?: Parameters<typeof fromTimestamp>[0];
}

interface DeviceRefLike {
  deviceId?: string | null;
  gat1400Id?: string | null;
}

interface Common {
  readonly gatDevice: string;
  readonly source: string;
  readonly images: ImageToFetch[];
  readonly time: string;
}

/**
 * Ids and pictures shared by every object kind. The first picture's id is the object's SourceID
 * (the image it was found in), as cameras do.
 */
function common(
  eventId: string,
  device: DeviceRefLike | null | undefined,
  capturedAt: Date,
  refs: readonly ImageRefLike[],
  ctx: BuildContext,
): Common {
  const gatDevice = device?.gat1400Id && isGat1400Id(device.gat1400Id) ? device.gat1400Id : ctx.lowerId;
  const source = sourceId(gatDevice, SOURCE_KIND.IMAGE, capturedAt, stableSerial(eventId, 'image0'));
  const time = formatGat1400Time(capturedAt);
  const images = refs
    .filter((r) => r.objectKey)
    .map((r, i): ImageToFetch => {
      const shot = fromTimestamp(r.capturedAt);
      const shotAt = shot === undefined ? capturedAt : new Date(shot);
      return {
        objectKey: r.objectKey!,
        info: {
          ImageID:
            i === 0
              ? source
              : sourceId(gatDevice, SOURCE_KIND.IMAGE, shotAt, stableSerial(eventId, `image${i}`)),
          EventSort: 10,
          DeviceID: gatDevice,
          StoragePath: '',
          Type: GAT_IMAGE_TYPE[r.kind ?? 0] ?? '100',
          FileFormat: fileFormat(r.contentType),
          ShotTime: formatGat1400Time(shotAt),
          Width: r.width ?? 0,
          Height: r.height ?? 0,
        },
      };
    });
  return { gatDevice, source, images, time };
}

const box = (
  b:
    | { left?: number | null; top?: number | null; right?: number | null; bottom?: number | null }
    | null
    | undefined,
): Obj =>
  b ? { LeftTopX: b.left ?? 0, LeftTopY: b.top ?? 0, RightBtmX: b.right ?? 0, RightBtmY: b.bottom ?? 0 } : {};

export type BuildResult =
  { readonly ok: true; readonly object: UploadObject } | { readonly ok: false; readonly reason: string };

/** anfang.device.v1.FaceCaptured → FaceObject. A failed liveness (a spoof) is not a face. */
export function faceFromCapture(
  eventId: string,
  payload: anfang.device.v1.IFaceCaptured,
  ctx: BuildContext,
): BuildResult {
  if (isSpoof(payload.liveness)) return { ok: false, reason: 'a spoofing attempt is not uploaded as a face' };
  const occurred = fromTimestamp(payload.meta?.occurredAt);
  if (occurred === undefined) return { ok: false, reason: 'meta.occurred_at is missing' };
  return faceObject(eventId, eventId, new Date(occurred), payload, ctx);
}

/** SubImageInfo Types a PersonObject carries: the person and the scene. */
const PERSON_IMAGE_TYPES = new Set(['10', '14']);

/**
 * anfang.device.v1.FaceCaptured with a whole-person picture → PersonObject, beside the capture's
 * FaceObject. The pictures keep the ImageIDs the FaceObject gives them (same bytes, same id);
 * the SourceID is the person picture's.
 */
export function personFromCapture(
  eventId: string,
  payload: anfang.device.v1.IFaceCaptured,
  ctx: BuildContext,
): BuildResult {
  if (isSpoof(payload.liveness))
    return { ok: false, reason: 'a spoofing attempt is not uploaded as a person' };
  const occurred = fromTimestamp(payload.meta?.occurredAt);
  if (occurred === undefined) return { ok: false, reason: 'meta.occurred_at is missing' };
  const capturedAt = new Date(occurred);
  const c = common(eventId, payload.device, capturedAt, payload.images ?? [], ctx);
  const person = c.images.find((i) => i.info.Type === '10');
  if (!person) return { ok: false, reason: 'the capture has no person picture' };
  const images = c.images.filter((i) => PERSON_IMAGE_TYPES.has(String(i.info.Type)));
  return personObject(eventId, capturedAt, payload, c, {
    source: String(person.info.ImageID),
    serial: stableSerial(eventId, 'person'),
    images,
  });
}

/**
 * The one PersonObject builder (person captures and watchlist hits without a picture): the
 * PersonID is the source's + kind 01 + `serial`; appearance times default to the shot time.
 */
function personObject(
  eventId: string,
  capturedAt: Date,
  p: Pick<FaceLike, 'meta' | 'device' | 'appearedAt' | 'disappearedAt'>,
  c: Common,
  at: { readonly source: string; readonly serial: number; readonly images: ImageToFetch[] },
): BuildResult {
  const objectId = semanticObjectId(at.source, OBJECT_KIND.PERSON, at.serial);
  const appeared = fromTimestamp(p.appearedAt);
  const disappeared = fromTimestamp(p.disappearedAt);
  return {
    ok: true,
    object: {
      kind: 'persons',
      objectId,
      sourceEventId: eventId,
      compoundId: p.meta?.compoundId ?? '',
      deviceId: p.device?.deviceId ?? '',
      capturedAt,
      images: at.images,
      body: {
        PersonID: objectId,
        InfoKind: 1,
        SourceID: at.source,
        DeviceID: c.gatDevice,
        ShotTime: c.time,
        PersonAppearTime: appeared === undefined ? c.time : formatGat1400Time(new Date(appeared)),
        PersonDisAppearTime: disappeared === undefined ? c.time : formatGat1400Time(new Date(disappeared)),
      },
    },
  };
}

interface FaceLike {
  meta?: anfang.common.v1.IEventMeta | null;
  device?: DeviceRefLike | null;
  images?: ImageRefLike[] | null;
  faceBox?: Parameters<typeof box>[0];
  appearedAt?: Parameters<typeof fromTimestamp>[0];
  disappearedAt?: Parameters<typeof fromTimestamp>[0];
}

/** `seed`: the capture's event id, which the FaceID derives from. */
function faceObject(
  seed: string,
  eventId: string,
  capturedAt: Date,
  f: FaceLike,
  ctx: BuildContext,
): BuildResult {
  const c = common(seed, f.device, capturedAt, f.images ?? [], ctx);
  if (c.images.length === 0) return { ok: false, reason: 'the capture has no image' };
  const appeared = fromTimestamp(f.appearedAt);
  const disappeared = fromTimestamp(f.disappearedAt);
  const objectId = semanticObjectId(c.source, OBJECT_KIND.FACE, stableSerial(seed, 'object'));
  return {
    ok: true,
    object: {
      kind: 'faces',
      objectId,
      sourceEventId: eventId,
      compoundId: f.meta?.compoundId ?? '',
      deviceId: f.device?.deviceId ?? '',
      capturedAt,
      images: c.images,
      body: {
        FaceID: objectId,
        InfoKind: 1,
        SourceID: c.source,
        DeviceID: c.gatDevice,
        ...box(f.faceBox),
        ShotTime: c.time,
        FaceAppearTime: appeared === undefined ? c.time : formatGat1400Time(new Date(appeared)),
        FaceDisAppearTime: disappeared === undefined ? c.time : formatGat1400Time(new Date(disappeared)),
      },
    },
  };
}

/**
 * The person of a person watchlist hit: the FaceObject of the capture when it has a picture (the
 * same FaceID as the capture's own upload), else a PersonObject naming the device and time.
 */
export function personFromHit(
  eventId: string,
  hit: anfang.identity.v1.IPersonWatchlistHit,
  ctx: BuildContext,
): BuildResult {
  const occurred = fromTimestamp(hit.meta?.occurredAt);
  if (occurred === undefined) return { ok: false, reason: 'meta.occurred_at is missing' };
  const capturedAt = new Date(occurred);
  const seed = hit.sourceEventId || eventId;
  if (hit.images?.some((i) => i.objectKey)) return faceObject(seed, eventId, capturedAt, hit, ctx);
  const c = common(seed, hit.device, capturedAt, [], ctx);
  return personObject(eventId, capturedAt, hit, c, {
    source: c.source,
    serial: stableSerial(seed, 'object'),
    images: [],
  });
}

/** What passages and plate reads share. */
interface VehicleLike {
  meta?: anfang.common.v1.IEventMeta | null;
  device?: DeviceRefLike | null;
  hasPlate?: boolean | null;
  plateNumber?: string | null;
  plateColor?: number | null;
  vehicleColor?: number | null;
  direction?: number | null;
  lane?: number | null;
  confidence?: number | null;
  spoofCheck?: number | null;
  images?: ImageRefLike[] | null;
}

/**
 * A MotorVehicleObject. `seed` is the plate read's event id: a passage recorded from a read and
 * the read itself are one object for the receiver.
 */
function motorVehicle(eventId: string, seed: string, v: VehicleLike, ctx: BuildContext): BuildResult {
  if (isSpoof(v.spoofCheck)) return { ok: false, reason: 'a spoofed plate is not uploaded' };
  const occurred = fromTimestamp(v.meta?.occurredAt);
  if (occurred === undefined) return { ok: false, reason: 'meta.occurred_at is missing' };
  const capturedAt = new Date(occurred);
  const c = common(seed, v.device, capturedAt, v.images ?? [], ctx);
  if (c.images.length === 0) return { ok: false, reason: 'the vehicle has no image' };
  const objectId = semanticObjectId(c.source, OBJECT_KIND.MOTOR_VEHICLE, stableSerial(seed, 'object'));
  const plate = v.hasPlate === false ? '' : (v.plateNumber ?? '');
  const plateColor = GAT_PLATE_COLOR[v.plateColor ?? 0] ?? (v.plateColor ? '99' : undefined);
  const color = vehicleColor(v.vehicleColor);
  const inOut =
    v.direction === Direction.DIRECTION_IN
      ? 'in'
      : v.direction === Direction.DIRECTION_OUT
        ? 'out'
        : undefined;
  return {
    ok: true,
    object: {
      kind: 'motorVehicles',
      objectId,
      sourceEventId: eventId,
      compoundId: v.meta?.compoundId ?? '',
      deviceId: v.device?.deviceId ?? '',
      capturedAt,
      images: c.images,
      body: {
        MotorVehicleID: objectId,
        InfoKind: 1,
        SourceID: c.source,
        DeviceID: c.gatDevice,
        ...(v.lane ? { LaneNo: v.lane } : {}),
        HasPlate: plate ? '1' : '0',
        ...(plate ? { PlateNo: plate } : {}),
        ...(plate && plateColor ? { PlateColor: plateColor } : {}),
        ...(v.confidence ? { PlateReliability: String(Math.round(v.confidence * 100)) } : {}),
        ...(color ? { VehicleColor: color } : {}),
        PassTime: c.time,
        ...(inOut ? { InOut: inOut } : {}),
      },
    },
  };
}

/** anfang.vehicle.v1.VehiclePassageRecorded → MotorVehicleObject with the community `InOut`. */
export const motorVehicleFromPassage = (
  eventId: string,
  payload: anfang.vehicle.v1.IVehiclePassageRecorded,
  ctx: BuildContext,
): BuildResult => motorVehicle(eventId, payload.sourceEventId || eventId, payload, ctx);

/**
 * anfang.device.v1.PlateRead → MotorVehicleObject: reads of cameras without a barrier (roads,
 * car-park lanes) that vehicle-access records no passage for.
 */
export const motorVehicleFromPlateRead = (
  eventId: string,
  payload: anfang.device.v1.IPlateRead,
  ctx: BuildContext,
): BuildResult => motorVehicle(eventId, eventId, payload, ctx);

/**
 * anfang.identity.v1.AccessRecorded → FaceObject with the pictures taken at the door. A record
 * decided on a face capture is that capture's face (same id: the receiver has it once); a card,
 * QR or PIN record with a picture is a face of its own; a record without a picture is nothing the
 * standard can carry.
 */
export function faceFromAccess(
  eventId: string,
  payload: anfang.identity.v1.IAccessRecorded,
  ctx: BuildContext,
): BuildResult {
  if (isSpoof(payload.liveness)) return { ok: false, reason: 'a spoofing attempt is not uploaded as a face' };
  const occurred = fromTimestamp(payload.meta?.occurredAt);
  if (occurred === undefined) return { ok: false, reason: 'meta.occurred_at is missing' };
  return faceObject(payload.sourceEventId || eventId, eventId, new Date(occurred), payload, ctx);
}

/** What a platform is entitled to receive. */
export interface Entitlement {
  readonly objectKinds: readonly string[];
  /** The regional community extensions wanted (doorDevices, ...). */
  readonly extensions: readonly string[];
  readonly compounds: readonly string[];
}

export function isEntitled(platform: Entitlement, kind: EnvelopeName, compoundId: string): boolean {
  return (
    (platform.objectKinds.includes(kind) || platform.extensions.includes(kind)) &&
    (platform.compounds.length === 0 || platform.compounds.includes(compoundId))
  );
}
