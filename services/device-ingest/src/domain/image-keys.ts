/**
 * Object-store keys of device images and quarantined payloads (portable keys, see the platform's
 * objects README): `captures/<compoundId>/<yyyy-mm-dd>/<deviceId>/<eventId>-<n>.<ext>` and
 * `quarantine/<yyyy-mm-dd>/<id>`, relative to the service's store prefix (`device-ingest/`). What
 * leaves the service (ImageRef.object_key) is the full bucket key, `objects.prefix + key`
 * (src/ingest/pipeline.ts). The date of a capture is the device's (UTC) date of the event, so a
 * resend of the same event maps to the same key.
 */
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/pjpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
  'image/heic': 'heic',
};

export function extensionFor(contentType: string): string {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return EXTENSIONS[base] ?? 'bin';
}

/** One key segment: anything outside [A-Za-z0-9._-] becomes `_`; never empty, `.` or `..`. */
export function keySegment(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 128);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? `_${cleaned}` : cleaned;
}

export function utcDate(at: Date): string {
  return (Number.isFinite(at.getTime()) ? at : new Date(0)).toISOString().slice(0, 10);
}

export function captureImageKey(input: {
  compoundId: string;
  occurredAt: Date;
  deviceId: string;
  eventId: string;
  index: number;
  contentType: string;
}): string {
  return [
    'captures',
    keySegment(input.compoundId || 'unknown'),
    utcDate(input.occurredAt),
    keySegment(input.deviceId),
    `${keySegment(input.eventId)}-${input.index}.${extensionFor(input.contentType)}`,
  ].join('/');
}

export function quarantineKey(receivedAt: Date, id: string): string {
  return `quarantine/${utcDate(receivedAt)}/${keySegment(id)}`;
}
