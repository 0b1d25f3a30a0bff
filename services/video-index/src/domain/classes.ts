/**
 * Retention classes and the legal minimums of SPEC §3: the back end keeps every image at least
 * 30 days, the front end (camera or NVR) at least 7.
 */
import { anfang } from '@anfang/contracts';

export const MIN_RETENTION_DAYS = 30;
export const MIN_FRONTEND_STORAGE_DAYS = 7;

export const IMAGE_CLASSES = ['faces', 'vehicles', 'alarms', 'general'] as const;
export type ImageClass = (typeof IMAGE_CLASSES)[number];

const { ImageClass: ProtoClass, ImageKind } = { ...anfang.video.v1, ...anfang.common.v1 };

export const CLASS_FROM_PROTO: Readonly<Record<number, ImageClass>> = {
  [ProtoClass.IMAGE_CLASS_FACES]: 'faces',
  [ProtoClass.IMAGE_CLASS_VEHICLES]: 'vehicles',
  [ProtoClass.IMAGE_CLASS_ALARMS]: 'alarms',
  [ProtoClass.IMAGE_CLASS_GENERAL]: 'general',
};
export const CLASS_TO_PROTO = Object.fromEntries(
  Object.entries(CLASS_FROM_PROTO).map(([proto, name]) => [name, Number(proto)]),
) as Record<ImageClass, anfang.video.v1.ImageClass>;

const FACE_KINDS: ReadonlySet<number> = new Set([
  ImageKind.IMAGE_KIND_FACE,
  ImageKind.IMAGE_KIND_DRIVER_FACE,
  ImageKind.IMAGE_KIND_PASSENGER_FACE,
  ImageKind.IMAGE_KIND_PERSON,
  ImageKind.IMAGE_KIND_ID_CARD_PHOTO,
  ImageKind.IMAGE_KIND_ENROLMENT,
]);
const VEHICLE_KINDS: ReadonlySet<number> = new Set([
  ImageKind.IMAGE_KIND_VEHICLE,
  ImageKind.IMAGE_KIND_PLATE,
  ImageKind.IMAGE_KIND_VEHICLE_CLOSE_UP,
]);

/**
 * The class of an image: alarm evidence stays alarm evidence whatever it shows; otherwise what
 * the picture shows decides, and a picture that says nothing (scene, unspecified) takes the
 * class of the event's subject.
 */
export function classify(subject: ImageClass, kind: number | null | undefined): ImageClass {
  if (subject === 'alarms') return 'alarms';
  if (kind !== null && kind !== undefined) {
    if (FACE_KINDS.has(kind)) return 'faces';
    if (VEHICLE_KINDS.has(kind)) return 'vehicles';
    if (kind === ImageKind.IMAGE_KIND_DETECTION) return 'alarms';
  }
  return subject;
}

/** Retention per class, in days. */
export type RetentionDays = Readonly<Record<ImageClass, number>>;

export class RetentionTooShortError extends Error {
  override readonly name = 'RetentionTooShortError';
}

export function checkRetentionDays(days: number): number {
  if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS)
    throw new RetentionTooShortError(
      `retention must be a whole number of days, at least ${MIN_RETENTION_DAYS} (the legal minimum of back-end storage); got ${days}`,
    );
  return days;
}

/** Images of a class taken before this moment are due for deletion. */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - checkRetentionDays(days) * 86_400_000);
}

export function frontendCompliant(frontendStorageDays: number): boolean {
  return frontendStorageDays >= MIN_FRONTEND_STORAGE_DAYS;
}
