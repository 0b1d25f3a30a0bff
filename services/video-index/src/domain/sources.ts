/**
 * What each consumed topic contributes to the index: its images, read as index rows. Pure:
 * the consumer decodes, this decides, the writer stores.
 */
import { topics, timestampToDate, type anfang } from '@anfang/contracts';
import { classify, type ImageClass } from './classes.ts';

export interface MediaRow {
  /** Full bucket key. */
  readonly objectKey: string;
  readonly capturedAt: Date;
  readonly compoundId: string;
  readonly deviceId: string;
  readonly eventType: string;
  readonly eventId: string;
  readonly imageClass: ImageClass;
  readonly plateNumber: string;
  readonly personId: string;
  readonly contentType: string;
  /** null when the producer did not report it. */
  readonly sizeBytes: number | null;
  readonly sha256: string;
}

/** What an event says about its images beyond the refs. */
interface Subject {
  readonly images: readonly anfang.common.v1.IImageRef[] | null | undefined;
  readonly deviceId: string | null | undefined;
  readonly subject: ImageClass;
  readonly plateNumber?: string | null | undefined;
  readonly personId?: string | null | undefined;
}

type Reader = (payload: unknown) => Subject;

/** Topic name → how its payload reads. Topics whose events carry images, nothing else. */
export const MEDIA_READERS: ReadonlyMap<string, Reader> = new Map<string, Reader>([
  [
    topics.deviceFaceCaptured.name,
    (p) => {
      const e = p as anfang.device.v1.IFaceCaptured;
      return { images: e.images, deviceId: e.device?.deviceId, subject: 'faces' };
    },
  ],
  [
    topics.deviceCredentialPresented.name,
    (p) => {
      const e = p as anfang.device.v1.ICredentialPresented;
      return { images: e.images, deviceId: e.device?.deviceId, subject: 'faces' };
    },
  ],
  [
    topics.devicePlateRead.name,
    (p) => {
      const e = p as anfang.device.v1.IPlateRead;
      return {
        images: e.images,
        deviceId: e.device?.deviceId,
        subject: 'vehicles',
        plateNumber: e.hasPlate ? e.plateNumber : '',
      };
    },
  ],
  [
    topics.devicePerimeterTriggered.name,
    (p) => {
      const e = p as anfang.device.v1.IPerimeterTriggered;
      return { images: e.images, deviceId: e.device?.deviceId, subject: 'alarms' };
    },
  ],
  [
    topics.deviceAnalyticsTriggered.name,
    (p) => {
      const e = p as anfang.device.v1.IAnalyticsTriggered;
      return { images: e.images, deviceId: e.device?.deviceId, subject: 'alarms' };
    },
  ],
  [
    topics.identityAccessRecorded.name,
    (p) => {
      const e = p as anfang.identity.v1.IAccessRecorded;
      return { images: e.images, deviceId: e.device?.deviceId, subject: 'faces', personId: e.personId };
    },
  ],
  [
    topics.identityPersonWatchlistHit.name,
    (p) => {
      const e = p as anfang.identity.v1.IPersonWatchlistHit;
      return { images: e.images, deviceId: e.device?.deviceId, subject: 'alarms', personId: e.personId };
    },
  ],
  [
    topics.vehiclePassageRecorded.name,
    (p) => {
      const e = p as anfang.vehicle.v1.IVehiclePassageRecorded;
      return {
        images: e.images,
        deviceId: e.device?.deviceId,
        subject: 'vehicles',
        plateNumber: e.plateNumber,
      };
    },
  ],
  [
    topics.vehicleWatchlistHit.name,
    (p) => {
      const e = p as anfang.vehicle.v1.IVehicleWatchlistHit;
      return {
        images: e.images,
        deviceId: e.device?.deviceId,
        subject: 'alarms',
        plateNumber: e.plateNumber,
      };
    },
  ],
  [
    topics.alarmLifecycle.name,
    (p) => {
      const e = p as anfang.alarm.v1.IAlarmChanged;
      return { images: e.images, deviceId: e.deviceIds?.[0], subject: 'alarms' };
    },
  ],
]);

export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * The index rows of one event. An image's time is its own capture time when the producer gave
 * it, else the event's: every event that forwards the same ImageRef yields the same row.
 */
export function mediaRows(
  read: Reader,
  payload: unknown,
  event: { eventId: string; eventType: string; compoundId: string; occurredAt: Date },
): MediaRow[] {
  const s = read(payload);
  const images = s.images ?? [];
  if (images.length === 0) return [];
  if (!event.compoundId)
    throw new MalformedEventError('meta.compound_id is missing: the images would belong to nobody');
  if (!event.eventId) throw new MalformedEventError('the event has no id');
  return images.map((image, i) => {
    const objectKey = (image.objectKey ?? '').trim();
    if (!objectKey) throw new MalformedEventError(`images[${i}].object_key is empty`);
    const captured = image.capturedAt ? timestampToDate(image.capturedAt) : undefined;
    const capturedAt = captured && Number.isFinite(captured.getTime()) ? captured : event.occurredAt;
    const size = Number(image.sizeBytes ?? 0);
    const sha = (image.sha256 ?? '').toLowerCase();
    return {
      objectKey,
      capturedAt,
      compoundId: event.compoundId,
      deviceId: s.deviceId ?? '',
      eventType: event.eventType,
      eventId: event.eventId,
      imageClass: classify(s.subject, image.kind),
      plateNumber: (s.plateNumber ?? '').trim().toUpperCase(),
      personId: s.personId ?? '',
      contentType: image.contentType ?? '',
      sizeBytes: size > 0 ? size : null,
      sha256: SHA256.test(sha) ? sha : '',
    };
  });
}
