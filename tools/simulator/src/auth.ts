/**
 * Device-side credentials: the generic API's HMAC request signature and the HTTP Digest
 * (RFC 2617, MD5, qop=auth) answer GA/T 1400 Register needs. Digest is a few lines over
 * node:crypto: the client libraries on npm wrap their own HTTP stack (fetch/axios) and would
 * bypass the simulator's connection pool and per-device source addresses.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface SignInput {
  readonly secret: string;
  readonly timestamp: string;
  readonly nonce: string;
  readonly method: string;
  /** Request target as sent: path and query. */
  readonly path: string;
  readonly body: Uint8Array;
}

/** `hex(HMAC-SHA256(secret, ts \n nonce \n METHOD \n path \n hex(sha256(body))))`. */
export function signRequest(input: SignInput): string {
  const bodyHash = createHash('sha256').update(input.body).digest('hex');
  const canonical = `${input.timestamp}\n${input.nonce}\n${input.method.toUpperCase()}\n${input.path}\n${bodyHash}`;
  return createHmac('sha256', input.secret).update(canonical).digest('hex');
}

export function newNonce(): string {
  return randomBytes(12).toString('base64url');
}

/** The parameters of a `WWW-Authenticate: Digest …` challenge (quoted or bare values). */
export function parseDigestChallenge(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = header.replace(/^\s*Digest\s+/i, '');
  for (const m of body.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    out[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return out;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

export interface DigestInput {
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  readonly nonce: string;
  readonly method: string;
  readonly uri: string;
  /** `auth`, or empty for RFC 2069 (challenges without qop). */
  readonly qop: string;
  readonly nc: string;
  readonly cnonce: string;
}

/** RFC 2617 §3.2.2.1 request-digest with MD5. */
export function digestResponse(input: DigestInput): string {
  const ha1 = md5(`${input.username}:${input.realm}:${input.password}`);
  const ha2 = md5(`${input.method.toUpperCase()}:${input.uri}`);
  return input.qop === ''
    ? md5(`${ha1}:${input.nonce}:${ha2}`)
    : md5(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

/** The `Authorization` header answering `challenge` (qop=auth when offered). */
export function digestAuthorization(input: {
  readonly username: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly challenge: string;
  readonly cnonce?: string;
  readonly nc?: number;
}): string {
  const c = parseDigestChallenge(input.challenge);
  const offered = (c['qop'] ?? '').split(',').map((q) => q.trim().toLowerCase());
  const qop = offered.includes('auth') ? 'auth' : '';
  const nc = (input.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = input.cnonce ?? randomBytes(8).toString('hex');
  const realm = c['realm'] ?? '';
  const nonce = c['nonce'] ?? '';
  const response = digestResponse({
    username: input.username,
    password: input.password,
    realm,
    nonce,
    method: input.method,
    uri: input.uri,
    qop,
    nc,
    cnonce,
  });
  const parts = [
    `username="${input.username}"`,
    `realm="${realm}"`,
    `nonce="${nonce}"`,
    `uri="${input.uri}"`,
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  parts.push(`response="${response}"`);
  if (c['opaque'] !== undefined) parts.push(`opaque="${c['opaque']}"`);
  parts.push('algorithm=MD5');
  return `Digest ${parts.join(', ')}`;
}
