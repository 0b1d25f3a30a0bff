/**
 * Page tokens: the keyset position after the last row returned, opaque to callers (base64url
 * JSON). A token that does not decode is the caller's error, reported as such.
 */
import { InvalidArgumentError } from './errors.ts';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(requested: number | null | undefined): number {
  const size = requested ?? 0;
  if (size < 0)
    throw new InvalidArgumentError('invalid page size', [
      { field: 'page.page_size', description: 'must not be negative' },
    ]);
  return Math.min(size || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
}

export function encodeToken(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeToken(
  token: string | null | undefined,
  arity: number,
): (string | number)[] | undefined {
  if (!token) return undefined;
  try {
    const position: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(position) && position.length === arity) return position as (string | number)[];
  } catch {
    // reported below
  }
  throw new InvalidArgumentError('invalid page token', [
    { field: 'page.page_token', description: 'not a token returned by this service' },
  ]);
}

/** The page of rows fetched with one extra (`limit + 1`), and the token after its last row. */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  positionOf: (last: T) => readonly (string | number)[],
): { readonly items: T[]; readonly nextPageToken: string } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextPageToken: rows.length > limit && last ? encodeToken(positionOf(last)) : '' };
}

/** A (time, id) keyset position from a token, for lists ordered newest first. */
export function timeKeyset(token: string | null | undefined): { at: Date; id: string } | undefined {
  const position = decodeToken(token, 2);
  return position ? { at: new Date(Number(position[0])), id: String(position[1]) } : undefined;
}
