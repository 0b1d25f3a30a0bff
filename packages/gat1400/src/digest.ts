/**
 * HTTP Digest (RFC 2617 / RFC 7616) for GA/T 1400 Register, server side.
 *
 * Written here rather than taken from a library on purpose: the maintained npm options are either
 * whole authenticators with their own per-process nonce state and password files (http-auth,
 * passport-http — nonces must live in the shared cache so any replica can verify them, and be
 * single-use), or parse/build helpers whose parser refuses what cameras send (http-auth-utils
 * rejects unknown parameters and has no RFC 2069 form). Cameras send `qop=auth` quoted or not,
 * an empty realm or nonce, no qop at all (RFC 2069), upper- or lower-case algorithm names: the
 * parser below accepts all of that, and the verifier hashes with exactly what the client used.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: string;
  readonly qop: string;
  readonly nc: string;
  readonly cnonce: string;
  readonly opaque: string;
}

/**
 * Parses `Authorization: Digest k=v, k="v", …`. Values may be quoted (with `\"` escapes) or bare;
 * unknown parameters are ignored. Undefined when it is not Digest or lacks `response`.
 */
export function parseDigestAuthorization(header: string | undefined): DigestCredentials | undefined {
  if (!header) return undefined;
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) return undefined;
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gs;
  for (const part of m[1]!.matchAll(re)) {
    const value = part[2] !== undefined ? part[2].replace(/\\(.)/g, '$1') : (part[3] ?? '');
    params.set(part[1]!.toLowerCase(), value);
  }
  const response = params.get('response');
  if (!response) return undefined;
  const get = (k: string): string => params.get(k) ?? '';
  return {
    username: get('username'),
    realm: get('realm'),
    nonce: get('nonce'),
    uri: get('uri'),
    response: response.toLowerCase(),
    algorithm: get('algorithm') || 'MD5',
    qop: get('qop').toLowerCase(),
    nc: get('nc'),
    cnonce: get('cnonce'),
    opaque: get('opaque'),
  };
}

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string;
}

export function newDigestChallenge(realm: string): DigestChallenge {
  return { realm, nonce: randomBytes(16).toString('hex'), opaque: randomBytes(8).toString('hex') };
}

/** The `WWW-Authenticate` value: the most common form (quoted qop, MD5). */
export function formatDigestChallenge(c: DigestChallenge): string {
  return `Digest realm="${c.realm}", qop="auth", nonce="${c.nonce}", opaque="${c.opaque}", algorithm=MD5`;
}

const HASHES: Readonly<Record<string, string>> = {
  md5: 'md5',
  'sha-256': 'sha256',
  'sha-512-256': 'sha512-256',
};

/**
 * True when `response` proves knowledge of `secret` for this request. Hashes with the client's
 * own username, realm, nonce and uri (empty realm/nonce included); the caller checks that the
 * nonce was ours and unused, and that the uri is the request's.
 */
export function verifyDigest(credentials: DigestCredentials, method: string, secret: string): boolean {
  const algorithm = credentials.algorithm.toLowerCase();
  const sess = algorithm.endsWith('-sess');
  const hashName = HASHES[sess ? algorithm.slice(0, -5) : algorithm];
  if (!hashName) return false;
  const h = (s: string): string => createHash(hashName).update(s, 'utf8').digest('hex');
  let ha1 = h(`${credentials.username}:${credentials.realm}:${secret}`);
  if (sess) ha1 = h(`${ha1}:${credentials.nonce}:${credentials.cnonce}`);
  // qop=auth-int would need the body hash; cameras use auth. Anything but auth/auth-int is RFC 2069.
  if (credentials.qop === 'auth-int') return false;
  const ha2 = h(`${method.toUpperCase()}:${credentials.uri}`);
  const expected =
    credentials.qop === 'auth'
      ? h(`${ha1}:${credentials.nonce}:${credentials.nc}:${credentials.cnonce}:auth:${ha2}`)
      : h(`${ha1}:${credentials.nonce}:${ha2}`);
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(credentials.response, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Client side (police-upload registering upwards, the peer, tests): the Authorization header for a challenge. */
export function digestAuthorization(input: {
  readonly username: string;
  readonly secret: string;
  readonly method: string;
  readonly uri: string;
  readonly challenge: string;
  /** `quoted` (default), `bare` (qop=auth unquoted) or `none` (RFC 2069, no qop). */
  readonly qopStyle?: 'quoted' | 'bare' | 'none';
  /** Override the realm/nonce the client echoes (cameras that send them empty). */
  readonly realm?: string;
  readonly nonce?: string;
}): string {
  const challenge = parseChallenge(input.challenge);
  const realm = input.realm ?? challenge.realm ?? '';
  const nonce = input.nonce ?? challenge.nonce ?? '';
  const style = input.qopStyle ?? 'quoted';
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const credentials: DigestCredentials = {
    username: input.username,
    realm,
    nonce,
    uri: input.uri,
    response: '',
    algorithm: 'MD5',
    qop: style === 'none' ? '' : 'auth',
    nc: style === 'none' ? '' : nc,
    cnonce: style === 'none' ? '' : cnonce,
    opaque: challenge.opaque ?? '',
  };
  const h = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
  const ha1 = h(`${input.username}:${realm}:${input.secret}`);
  const ha2 = h(`${input.method.toUpperCase()}:${input.uri}`);
  const response =
    style === 'none' ? h(`${ha1}:${nonce}:${ha2}`) : h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  const parts = [
    `username="${credentials.username}"`,
    `realm="${realm}"`,
    `nonce="${nonce}"`,
    `uri="${input.uri}"`,
    `response="${response}"`,
    'algorithm=MD5',
  ];
  if (style === 'quoted') parts.push('qop="auth"', `nc=${nc}`, `cnonce="${cnonce}"`);
  if (style === 'bare') parts.push('qop=auth', `nc=${nc}`, `cnonce="${cnonce}"`);
  if (credentials.opaque) parts.push(`opaque="${credentials.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}

function parseChallenge(header: string): { realm?: string; nonce?: string; opaque?: string } {
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) {
    out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return out;
}

/** The part of the shared cache (`@anfang/platform/cache`) that server-side nonces need. */
export interface NonceCache {
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  deleteIfEquals(key: string, value: string): Promise<boolean>;
}

/**
 * Server-side Digest nonces in the shared cache: every replica can verify a challenge another
 * one issued, and each nonce is answered once (consumed atomically) within `ttlMs`.
 */
export function digestNonces(cache: NonceCache, ttlMs: number) {
  const key = (nonce: string): string => `gat1400:nonce:${nonce}`;
  return {
    /** A fresh challenge (`WWW-Authenticate` value) whose nonce is remembered. */
    async challenge(realm: string): Promise<string> {
      const c = newDigestChallenge(realm);
      await cache.set(key(c.nonce), '1', ttlMs);
      return formatDigestChallenge(c);
    },
    /** True once for a nonce we issued and that has not expired. */
    consume(nonce: string): Promise<boolean> {
      return nonce === '' ? Promise.resolve(false) : cache.deleteIfEquals(key(nonce), '1');
    },
  };
}
