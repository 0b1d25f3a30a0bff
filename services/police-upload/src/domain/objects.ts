/**
 * Anfang events → GA/T 1400 objects for an upper platform (../shared/protocols/GAT1400.md). Pure:
 * ids are derived from the event id (a re-sent object keeps its id, so the receiver sees a
 * duplicate), times are Beijing `yyyyMMddHHmmss`, picture bytes are fetched at send time from
 * the keys listed here.
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
const GAT_PLATE_COLOR: Readonly<Record<number, string>> = {
  [PlateColor.PLATE_COLOR_BLUE]: '5',
  [PlateColor.PLATE_COLOR_YELLOW]: '6',
  [PlateColor.PLATE_COLOR_WHITE]: '2',
  [PlateColor.PLATE_COLOR_BLACK]: '1',
  [PlateColor.PLATE_COLOR_GREEN]: '9',
};

/** VehicleColor values are the GA/T colour codes already (1–12, 99). */
const vehicleColor = (value: number | null | undefined): string | undefined =>
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
  const capturedAt = new Date(occurred);
  const c = common(eventId, payload.device, capturedAt, payload.images ?? [], ctx);
  if (c.images.length === 0) return { ok: false, reason: 'the capture has no image' };
  const appeared = fromTimestamp(payload.appearedAt);
  const disappeared = fromTimestamp(payload.disappearedAt);
  const objectId = semanticObjectId(c.source, OBJECT_KIND.FACE, stableSerial(eventId, 'object'));
  return {
    ok: true,
    object: {
      kind: 'faces',
      objectId,
      sourceEventId: eventId,
      compoundId: payload.meta?.compoundId ?? '',
      deviceId: payload.device?.deviceId ?? '',
      capturedAt,
      images: c.images,
      body: {
        FaceID: objectId,
        InfoKind: 1,
        SourceID: c.source,
        DeviceID: c.gatDevice,
        ...box(payload.faceBox),
        ShotTime: c.time,
        FaceAppearTime: appeared === undefined ? c.time : formatGat1400Time(new Date(appeared)),
        FaceDisAppearTime: disappeared === undefined ? c.time : formatGat1400Time(new Date(disappeared)),
      },
    },
  };
}

/** anfang.vehicle.v1.VehiclePassageRecorded → MotorVehicleObject with the community `InOut`. */
export function motorVehicleFromPassage(
  eventId: string,
  payload: anfang.vehicle.v1.IVehiclePassageRecorded,
  ctx: BuildContext,
): BuildResult {
  if (isSpoof(payload.spoofCheck)) return { ok: false, reason: 'a spoofed plate is not uploaded' };
  const occurred = fromTimestamp(payload.meta?.occurredAt);
  if (occurred === undefined) return { ok: false, reason: 'meta.occurred_at is missing' };
  const capturedAt = new Date(occurred);
  // The plate read's id when known: the passage and a re-recorded passage of the same read are
  // one object for the receiver.
  const seed = payload.sourceEventId || eventId;
  const c = common(seed, payload.device, capturedAt, payload.images ?? [], ctx);
  if (c.images.length === 0) return { ok: false, reason: 'the passage has no image' };
  const objectId = semanticObjectId(c.source, OBJECT_KIND.MOTOR_VEHICLE, stableSerial(seed, 'object'));
  const plate = payload.plateNumber ?? '';
  const plateColor = GAT_PLATE_COLOR[payload.plateColor ?? 0] ?? (payload.plateColor ? '99' : undefined);
  const color = vehicleColor(payload.vehicleColor);
  const inOut =
    payload.direction === Direction.DIRECTION_IN
      ? 'in'
      : payload.direction === Direction.DIRECTION_OUT
        ? 'out'
        : undefined;
  return {
    ok: true,
    object: {
      kind: 'motorVehicles',
      objectId,
      sourceEventId: eventId,
      compoundId: payload.meta?.compoundId ?? '',
      deviceId: payload.device?.deviceId ?? '',
      capturedAt,
      images: c.images,
      body: {
        MotorVehicleID: objectId,
        InfoKind: 1,
        SourceID: c.source,
        DeviceID: c.gatDevice,
        ...(payload.lane ? { LaneNo: payload.lane } : {}),
        HasPlate: plate ? '1' : '0',
        ...(plate ? { PlateNo: plate } : {}),
        ...(plateColor ? { PlateColor: plateColor } : {}),
        ...(payload.confidence ? { PlateReliability: String(Math.round(payload.confidence * 100)) } : {}),
        ...(color ? { VehicleColor: color } : {}),
        PassTime: c.time,
        ...(inOut ? { InOut: inOut } : {}),
      },
    },
  };
}

/** What a platform is entitled to receive. */
export interface Entitlement {
  readonly objectKinds: readonly string[];
  readonly compounds: readonly string[];
}

export function isEntitled(platform: Entitlement, kind: EnvelopeName, compoundId: string): boolean {
  return (
    platform.objectKinds.includes(kind) &&
    (platform.compounds.length === 0 || platform.compounds.includes(compoundId))
  );
}
