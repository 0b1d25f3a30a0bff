/**
 * Keyset page tokens of SearchImages: the (captured_at, object_key) of the last image returned,
 * bound to the query that produced it, so a token replayed against another query is refused
 * instead of silently skipping images.
 */
import { createHash } from 'node:crypto';

export interface Position {
  readonly capturedAt: Date;
  readonly objectKey: string;
}

export class PageTokenError extends Error {
  override readonly name = 'PageTokenError';
}

const fingerprint = (query: string) => createHash('sha256').update(query).digest('base64url').slice(0, 12);

export function encodePageToken(position: Position, query: string): string {
  return Buffer.from(
    JSON.stringify({ t: position.capturedAt.toISOString(), k: position.objectKey, q: fingerprint(query) }),
  ).toString('base64url');
}

export function decodePageToken(token: string, query: string): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new PageTokenError('not a page token of this API');
  }
  const { t, k, q } = (parsed ?? {}) as { t?: unknown; k?: unknown; q?: unknown };
  if (typeof t !== 'string' || typeof k !== 'string' || typeof q !== 'string')
    throw new PageTokenError('not a page token of this API');
  if (q !== fingerprint(query)) throw new PageTokenError('the token belongs to another query');
  const capturedAt = new Date(t);
  if (!Number.isFinite(capturedAt.getTime())) throw new PageTokenError('not a page token of this API');
  return { capturedAt, objectKey: k };
}
