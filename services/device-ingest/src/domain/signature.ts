/**
 * The generic device API's request signature (README § Generic device API):
 *
 *   X-Signature = hex(HMAC-SHA256(secret, `${timestamp}\n${nonce}\n${METHOD}\n${path}\n${hex(sha256(body))}`))
 *
 * `timestamp` is the X-Timestamp header (ms since the epoch, device clock), `nonce` the X-Nonce
 * header, `path` the request target as sent (path and query string), `body` the raw bytes (empty
 * for GET). Pure functions; the edge checks the replay window and nonce uniqueness.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedRequest {
  readonly timestamp: string;
  readonly nonce: string;
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array;
}

export function canonicalString(req: SignedRequest): string {
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  return `${req.timestamp}\n${req.nonce}\n${req.method.toUpperCase()}\n${req.path}\n${bodyHash}`;
}

export function sign(secret: string, req: SignedRequest): string {
  return createHmac('sha256', secret).update(canonicalString(req)).digest('hex');
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Constant-time comparison of the given signature with the expected one. */
export function verifySignature(secret: string, req: SignedRequest, signature: string): boolean {
  if (!HEX_SHA256.test(signature)) return false;
  const expected = Buffer.from(sign(secret, req), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
export const TIMESTAMP_PATTERN = /^[0-9]{10,16}$/;

/** Whether a signed request's timestamp lies inside the replay window around platform time. */
export function withinReplayWindow(timestampMs: number, nowMs: number, windowMs: number): boolean {
  return Number.isFinite(timestampMs) && Math.abs(nowMs - timestampMs) <= windowMs;
}
