/**
 * What a reader presents, turned into what the registry looks up: a normalised value and the
 * blind-index scope per kind, the masked display form, PIN hashing (scrypt) and the signed,
 * short-lived mobile QR tokens (HMAC).
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { isValidIdNumber, mask, maskIdNumber, safeEqual } from '@anfang/platform/crypto';

/** Shared with police-upload (person dispositions by ID number). */
export { isValidIdNumber };

export type CredentialKind = 'card' | 'id_card' | 'face' | 'pin' | 'qr' | 'nfc';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number },
) => Promise<Buffer>;

export class CredentialFormatError extends Error {
  override readonly name = 'CredentialFormatError';
}

export function normaliseIdNumber(value: string): string {
  return value.replace(/\s+/g, '').toUpperCase();
}

/** Mainland mobile or landline digits, 7 to 15 of them, an optional leading +. */
export function normalisePhone(value: string): string | undefined {
  const trimmed = value.trim();
  const digits = trimmed.replace(/[\s-]/g, '');
  return /^\+?\d{7,15}$/.test(digits) ? digits : undefined;
}

export interface PinParts {
  readonly ref: string;
  readonly digits: string;
}

/** "<ref>#<pin>": the reference (e.g. a room number) picks the person, the digits prove it. */
export function parsePin(value: string): PinParts {
  const match = /^([0-9A-Za-z-]{1,16})#(\d{4,12})$/.exec(value.trim());
  if (!match) throw new CredentialFormatError('a PIN is "<ref>#<4 to 12 digits>"');
  return { ref: match[1]!.toUpperCase(), digits: match[2]! };
}

/**
 * The value whose blind index finds the credential. PIN references are unique per compound
 * only, so the compound is part of the value; QR credentials are found by the id in the token.
 */
export function lookupValue(kind: CredentialKind, value: string, compoundId: string): string {
  switch (kind) {
    case 'card':
    case 'nfc': {
      const v = value.replace(/\s+/g, '').toUpperCase();
      if (!/^[0-9A-Z]{4,32}$/.test(v))
        throw new CredentialFormatError(`a ${kind} number is 4 to 32 letters or digits`);
      return v;
    }
    case 'id_card': {
      const v = normaliseIdNumber(value);
      if (!isValidIdNumber(v)) throw new CredentialFormatError('not a valid 18-character ID number');
      return v;
    }
    case 'face': {
      const v = value.trim();
      if (!/^[\w.:-]{1,64}$/.test(v))
        throw new CredentialFormatError('a face template id is 1 to 64 word characters');
      return v;
    }
    case 'pin':
      return `${compoundId}:${parsePin(value).ref}`;
    case 'qr':
      throw new CredentialFormatError('QR credentials are looked up by their token');
  }
}

/** ID numbers share one scope: persons, visitors, ID-card credentials and watchlists match. */
export const ID_NUMBER_SCOPE = 'identity.id_number';
export const PHONE_SCOPE = 'identity.phone';

export const lookupScope = (kind: CredentialKind): string =>
  kind === 'id_card' ? ID_NUMBER_SCOPE : `identity.credential.${kind}`;

const KIND_LABEL: Record<CredentialKind, string> = {
  card: '卡',
  id_card: '身份证',
  face: '人脸',
  pin: '密码',
  qr: '二维码',
  nfc: 'NFC',
};

export const kindLabel = (kind: CredentialKind): string => KIND_LABEL[kind];

/** The credential as operators see it: kind and a masked value (never a PIN's digits). */
export function maskedCredential(kind: CredentialKind, value: string): string {
  switch (kind) {
    case 'id_card':
      return `${KIND_LABEL[kind]} ${maskIdNumber(value)}`;
    case 'pin':
      return `${KIND_LABEL[kind]} ${parsePin(value).ref}#****`;
    case 'qr':
      return KIND_LABEL[kind];
    case 'face':
      return `${KIND_LABEL[kind]} ${value.trim()}`;
    default:
      return `${KIND_LABEL[kind]} ${mask(value.replace(/\s+/g, '').toUpperCase(), 0, 4)}`;
  }
}

// OWASP's interactive-login scrypt parameters: slow enough to make a stolen table costly.
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;
const SCRYPT_KEY_BYTES = 32;

export async function hashPin(digits: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(digits, salt, SCRYPT_KEY_BYTES, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPin(digits: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(digits, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(actual, expected);
}

/**
 * Mobile QR tokens: `<credential id>.<expiry seconds>.<nonce>.<HMAC>`, signed with the first of
 * the QR keys and accepted under any of them (rotation). Short-lived, so a photographed code
 * stops working within a minute; the app fetches a fresh one as the old one ages.
 */
export interface QrSigner {
  issue(credentialId: string, now: number, ttlSeconds?: number): { token: string; expiresAt: number };
  /** The credential id of a valid, unexpired token; undefined otherwise. */
  verify(token: string, now: number): string | undefined;
}

export function createQrSigner(keys: readonly string[], defaultTtlSeconds: number): QrSigner {
  if (keys.length === 0) throw new Error('no QR signing key');
  const sign = (key: string, body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    issue(credentialId, now, ttlSeconds = defaultTtlSeconds) {
      const expiresAt = Math.floor(now / 1000) + ttlSeconds;
      const body = `${credentialId}.${expiresAt}.${randomBytes(6).toString('base64url')}`;
      return { token: `${body}.${sign(keys[0]!, body)}`, expiresAt: expiresAt * 1000 };
    },
    verify(token, now) {
      const dot = token.lastIndexOf('.');
      if (dot < 0) return undefined;
      const body = token.slice(0, dot);
      const signature = token.slice(dot + 1);
      if (!keys.some((key) => safeEqual(sign(key, body), signature))) return undefined;
      const [credentialId, expiry] = body.split('.');
      if (!credentialId || !expiry || Number(expiry) * 1000 <= now) return undefined;
      return credentialId;
    },
  };
}
