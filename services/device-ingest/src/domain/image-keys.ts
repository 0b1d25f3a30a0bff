/**
 * Object-store keys of device images and quarantined payloads (portable keys, see the platform's
 * objects README): `captures/<compoundId>/<yyyy-mm-dd>/<deviceId>/<eventId>-<n>.<ext>` and
 * `quarantine/<yyyy-mm-dd>/<id>`, relative to the service's store prefix (`device-ingest/`). What
 * leaves the service (ImageRef.object_key) is the full bucket key, the store's prefix + key
 * (captureImageObject). The date of a capture is the device's (UTC) date of the event, so a
 * resend of the same event maps to the same key.
 */
import { createHash } from 'node:crypto';
import type { anfang } from '@anfang/contracts';
import type { PutOptions } from '@anfang/platform/objects';
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

/** Which picture of which capture: what its key is made of. */
export interface CapturePicture {
  compoundId: string;
  occurredAt: Date;
  deviceId: string;
  eventId: string;
  index: number;
  contentType: string;
}

export function captureImageKey(input: CapturePicture): string {
  return [
    'captures',
    keySegment(input.compoundId || 'unknown'),
    utcDate(input.occurredAt),
    keySegment(input.deviceId),
    `${keySegment(input.eventId)}-${input.index}.${extensionFor(input.contentType)}`,
  ].join('/');
}

const NON_PRINTABLE = /[^\x20-\x7e]/g;

/**
 * A capture's picture as it is stored and referenced: its key, the PUT's options (the digest the
 * store signs with and checks, metadata naming the event and device) and the ImageRef the event
 * carries. The one shape the pipeline writes and the ingest bench's floor measures.
 */
export function captureImageObject(
  input: CapturePicture & {
    kind: anfang.common.v1.ImageKind;
    bytes: Uint8Array;
    /** The store's prefix: an ImageRef names the full bucket key, readers do not know the prefix. */
    storePrefix: string;
  },
): { key: string; put: PutOptions; ref: anfang.common.v1.ImageRef.$Properties } {
  const key = captureImageKey(input);
  const sha256 = createHash('sha256').update(input.bytes).digest('hex');
  const at = input.occurredAt.getTime();
  return {
    key,
    put: {
      contentType: input.contentType,
      sha256,
      metadata: {
        'event-id': input.eventId,
        'device-id': input.deviceId.replace(NON_PRINTABLE, '?'),
        sha256,
      },
    },
    ref: {
      objectKey: input.storePrefix + key,
      contentType: input.contentType,
      sizeBytes: input.bytes.length,
      sha256,
      kind: input.kind,
      capturedAt: { seconds: Math.floor(at / 1000), nanos: (at % 1000) * 1e6 },
    },
  };
}

export function quarantineKey(receivedAt: Date, id: string): string {
  return `quarantine/${utcDate(receivedAt)}/${keySegment(id)}`;
}
