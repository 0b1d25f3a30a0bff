/**
 * What a capture key says about its image, for reconciliation to index an object no event
 * described. device-ingest's layout (services/device-ingest/src/domain/image-keys.ts):
 * `captures/<compoundId>/<yyyy-mm-dd>/<deviceId>/<eventId>-<n>.<ext>` under its store prefix.
 */
export interface KeyFacts {
  readonly compoundId: string;
  readonly deviceId: string;
  readonly eventId: string;
  /** Midnight UTC of the capture day: the key carries no finer time. */
  readonly capturedOn: Date;
}

const CAPTURE = /^captures\/([0-9A-Za-z]{1,64})\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/([^/]+)-\d+\.[A-Za-z0-9]+$/;

/** undefined when the key does not follow the layout (such an object says nothing about itself). */
export function captureKeyFacts(relativeKey: string): KeyFacts | undefined {
  const m = CAPTURE.exec(relativeKey);
  if (!m) return undefined;
  const capturedOn = new Date(`${m[2]}T00:00:00Z`);
  if (!Number.isFinite(capturedOn.getTime()) || capturedOn.toISOString().slice(0, 10) !== m[2])
    return undefined;
  return { compoundId: m[1]!, capturedOn, deviceId: m[3]!, eventId: m[4]! };
}

/** Byte-wise (UTF-8) order: how object stores list keys and how `COLLATE "C"` sorts them. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
