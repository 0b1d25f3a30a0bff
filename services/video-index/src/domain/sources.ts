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

/** The fields image-carrying events share (each topic's payload type has them, some optional). */
interface ImageEvent {
  readonly images?: readonly anfang.common.v1.IImageRef[] | null;
  readonly device?: { readonly deviceId?: string | null } | null;
  readonly personId?: string | null;
  readonly plateNumber?: string | null;
}

/** A reader of the shared fields, plus what this topic says of its subject. */
const reading =
  (subject: ImageClass, more: (e: ImageEvent) => Partial<Subject> = () => ({})): Reader =>
  (p) => {
    const e = p as ImageEvent;
    return { images: e.images, deviceId: e.device?.deviceId, subject, ...more(e) };
  };
const withPerson = (e: ImageEvent) => ({ personId: e.personId });
const withPlate = (e: ImageEvent) => ({ plateNumber: e.plateNumber });

/** Topic name → how its payload reads. Topics whose events carry images, nothing else. */
export const MEDIA_READERS: ReadonlyMap<string, Reader> = new Map<string, Reader>([
  [topics.deviceFaceCaptured.name, reading('faces')],
  [topics.deviceCredentialPresented.name, reading('faces')],
  [
    topics.devicePlateRead.name,
    reading('vehicles', (e) => ({
      plateNumber: (e as anfang.device.v1.IPlateRead).hasPlate ? e.plateNumber : '',
    })),
  ],
  [topics.devicePerimeterTriggered.name, reading('alarms')],
  [topics.deviceAnalyticsTriggered.name, reading('alarms')],
  [topics.identityAccessRecorded.name, reading('faces', withPerson)],
  [topics.identityPersonWatchlistHit.name, reading('alarms', withPerson)],
  [topics.vehiclePassageRecorded.name, reading('vehicles', withPlate)],
  [topics.vehicleWatchlistHit.name, reading('alarms', withPlate)],
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
