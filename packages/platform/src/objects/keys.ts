import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { PutOptions } from './types.ts';

/**
 * Keys are the same on every backend: relative paths of non-empty segments separated by `/`,
 * no `.` or `..` segment, no backslash, control character, `%` or `+`, well-formed Unicode, at
 * most 1024 bytes together with the store's prefix. What a directory cannot represent safely,
 * S3 is not asked to store either, so a service behaves the same in every mode.
 *
 * `%` and `+` are refused because S3 servers differ in list encoding: the minio client always
 * URL-decodes listed keys, and servers that ignore `encoding-type=url` (Versity Gateway) send
 * them raw, so `a+b` would list as `a b` and `100%` would not list at all.
 *
 * `&#` is refused so that numeric character references in listings can be decoded without
 * ambiguity: Go-based servers (Versity, SeaweedFS) write `'` and `"` in XML as `&#39;` and
 * `&#34;`, which the minio client's XML parser leaves as they are.
 *
 * Not portable either, though not checked: a key that is also the "folder" of other keys
 * (`a` and `a/b`). S3 proper allows it, S3 servers over POSIX folders (Versity) refuse it.
 */
export function checkKey(key: string, prefix = ''): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(key, 'empty');
  checkPath(key, 'key');
  if (Buffer.byteLength(prefix + key) > 1024) throw new InvalidKeyError(key, 'longer than 1024 bytes');
}

/** A listing prefix: like a key, but may be empty and may end with `/` (or stop mid-segment). */
export function checkListPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidKeyError(String(prefix), 'not a string');
  if (prefix.length === 0) return;
  checkPath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
}

/** The store's own prefix: '' or segments ending with '/' (added when missing). */
export function normalizeStorePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  checkPath(p.slice(0, -1), 'store prefix');
  return p;
}

function checkPath(path: string, what: string): void {
  if (!path.isWellFormed()) throw new InvalidKeyError(path, `${what} is not well-formed Unicode`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\%+]/.test(path)) {
    throw new InvalidKeyError(path, `${what} has a control character, backslash, % or +`);
  }
  if (path.includes('&#')) throw new InvalidKeyError(path, `${what} contains "&#"`);
  for (const segment of path.split('/')) {
    if (segment === '')
      throw new InvalidKeyError(path, `${what} has an empty segment (leading, trailing or double /)`);
    if (segment === '.' || segment === '..') throw new InvalidKeyError(path, `${what} has a . or .. segment`);
  }
}

/** Undoes XML numeric character references the S3 client left in a listed key (see above). */
export function decodeListedKey(key: string): string {
  if (!key.includes('&#')) return key;
  return key.replace(/&#(x[0-9a-fA-F]{1,6}|[0-9]{1,7});/g, (_, ref: string) =>
    String.fromCodePoint(ref[0] === 'x' ? parseInt(ref.slice(1), 16) : parseInt(ref, 10)),
  );
}

export class InvalidKeyError extends Error {
  override readonly name = 'InvalidKeyError';
  readonly key: string;
  constructor(key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.key = key;
  }
}

/** Header names S3 gives a meaning of their own; they cannot be user metadata keys. */
const RESERVED_METADATA = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-disposition',
  'content-language',
  'content-md5',
  'cache-control',
  'expires',
  'etag',
  'last-modified',
  'if-match',
  'if-none-match',
]);

/**
 * A given sha256 is 64 lower-case hex digits, of an in-memory body.
 * User metadata: keys lower-case `[a-z0-9-]`, not an HTTP/S3 header name; values non-empty
 * printable ASCII without leading/trailing blanks (they travel as HTTP headers); at most 2 KiB in all.
 */
export function checkPutOptions(options: PutOptions | undefined, body: Uint8Array | Readable): void {
  if (!options) return;
  if (options.sha256 !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(options.sha256)) throw new Error('invalid sha256: 64 lower-case hex digits');
    if (body instanceof Readable) throw new Error('sha256 is for in-memory bodies, not streams');
  }
  if (options.contentType !== undefined && !/^[\x21-\x7e][\x20-\x7e]*$/.test(options.contentType)) {
    throw new Error(`invalid content type ${JSON.stringify(options.contentType)}`);
  }
  let total = 0;
  for (const [k, v] of Object.entries(options.metadata ?? {})) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(k) || RESERVED_METADATA.has(k) || k.startsWith('x-amz-')) {
      throw new Error(`invalid metadata key ${JSON.stringify(k)}: lower-case [a-z0-9-], not a header name`);
    }
    if (typeof v !== 'string' || !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v)) {
      throw new Error(`invalid metadata value for ${k}: printable ASCII without leading/trailing blanks`);
    }
    total += k.length + v.length;
  }
  if (total > 2048) throw new Error('metadata larger than 2 KiB');
}

/** Refuses a body whose SHA-256 is not the one its put was given (PutOptions.sha256). */
export function checkSha256(body: Uint8Array, sha256: string | undefined): void {
  if (sha256 !== undefined && createHash('sha256').update(body).digest('hex') !== sha256) {
    throw new Error('the body does not match its sha256; nothing stored');
  }
}

export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export function checkExpiry(expirySeconds: number): number {
  if (!Number.isInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > MAX_PRESIGN_SECONDS) {
    throw new Error(`presigned URL expiry must be 1..${MAX_PRESIGN_SECONDS} s, got ${expirySeconds}`);
  }
  return expirySeconds;
}
