/**
 * Field encryption at rest: AES-256-GCM under a versioned key ring, so keys rotate without a
 * flag day (encrypt with the newest key, decrypt with any key still in the ring), plus a keyed
 * blind index for equality lookups on encrypted fields.
 *
 * Ciphertext format (text, safe in a `text` column, JSON and logs-free by construction):
 *   `v1.<keyId>.<base64url(nonce[12] ‖ ciphertext ‖ tag[16])>`
 * The key id travels in the clear so that the right key is picked and rows still under an old
 * key can be found (`keyIdOf`) and re-encrypted (`needsRotation`, `reencrypt`). Callers should
 * bind a ciphertext to its place with `aad` (e.g. `device:<id>:secret`): the tag then fails when
 * a ciphertext is copied to another row or column.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Key ids appear in every ciphertext: short, and never containing the separator. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export interface DataKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Buffer;
}

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
}

/**
 * Parses `k1:<base64>,k2:<base64>` (the `DATA_KEYS` format). The LAST entry is the primary
 * (encrypting) key: rotation appends a key, and old keys are removed only once nothing is
 * encrypted under them any more. Throws CryptoError with a reason that never contains key bytes.
 */
export function parseDataKeys(text: string): DataKey[] {
  const entries = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (entries.length === 0) throw new CryptoError('no keys: expected id:base64[,id:base64…]');
  const keys: DataKey[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new CryptoError(`entry ${index + 1}: expected id:base64`);
    const id = entry.slice(0, colon);
    if (!KEY_ID_PATTERN.test(id))
      throw new CryptoError(`entry ${index + 1}: key id must match ${KEY_ID_PATTERN}`);
    if (seen.has(id)) throw new CryptoError(`key id ${id} appears twice`);
    seen.add(id);
    keys.push({ id, key: decodeKey(entry.slice(colon + 1), `key ${id}`) });
  }
  return keys;
}

/** A 32-byte key from standard or URL-safe base64. */
export function decodeKey(text: string, what = 'key'): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new CryptoError(`${what}: not base64`);
  const bytes = Buffer.from(trimmed.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  if (bytes.length !== KEY_BYTES)
    throw new CryptoError(`${what}: must be ${KEY_BYTES} bytes, got ${bytes.length}`);
  return bytes;
}

/** A fresh random 32-byte key as base64 (for `DATA_KEYS` / `BLIND_INDEX_KEY`). */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

export interface FieldCipher {
  /** Id of the key new ciphertexts are made with. */
  readonly primaryKeyId: string;
  readonly keyIds: readonly string[];
  encrypt(plaintext: string | Uint8Array, aad?: string): string;
  decrypt(ciphertext: string, aad?: string): Buffer;
  decryptString(ciphertext: string, aad?: string): string;
  /** The key id a ciphertext was made with (no decryption). */
  keyIdOf(ciphertext: string): string;
  /** True when the ciphertext is not under the primary key. */
  needsRotation(ciphertext: string): boolean;
  /** Decrypts and encrypts again under the primary key (same aad). */
  reencrypt(ciphertext: string, aad?: string): string;
}

export function createFieldCipher(keys: readonly DataKey[]): FieldCipher {
  if (keys.length === 0) throw new CryptoError('the key ring is empty');
  const byId = new Map<string, Buffer>();
  for (const k of keys) {
    if (!KEY_ID_PATTERN.test(k.id)) throw new CryptoError(`key id must match ${KEY_ID_PATTERN}`);
    if (k.key.length !== KEY_BYTES) throw new CryptoError(`key ${k.id}: must be ${KEY_BYTES} bytes`);
    if (byId.has(k.id)) throw new CryptoError(`key id ${k.id} appears twice`);
    byId.set(k.id, Buffer.from(k.key));
  }
  const primary = keys[keys.length - 1]!;
  const primaryKey = byId.get(primary.id)!;

  const split = (ciphertext: string): { keyId: string; body: Buffer } => {
    const first = ciphertext.indexOf('.');
    const second = ciphertext.indexOf('.', first + 1);
    if (first < 0 || second < 0 || ciphertext.slice(0, first) !== VERSION)
      throw new CryptoError('not a v1 ciphertext');
    const keyId = ciphertext.slice(first + 1, second);
    const body = Buffer.from(ciphertext.slice(second + 1), 'base64url');
    if (body.length < NONCE_BYTES + TAG_BYTES) throw new CryptoError('ciphertext too short');
    return { keyId, body };
  };

  const encrypt = (plaintext: string | Uint8Array, aad?: string): string => {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', primaryKey, nonce);
    if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const body = Buffer.concat([nonce, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${primary.id}.${body.toString('base64url')}`;
  };

  const decrypt = (ciphertext: string, aad?: string): Buffer => {
    const { keyId, body } = split(ciphertext);
    const key = byId.get(keyId);
    if (!key) throw new CryptoError(`unknown key id ${keyId}: is it missing from DATA_KEYS?`);
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
    try {
      return Buffer.concat([
        decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new CryptoError('ciphertext does not authenticate (wrong key, wrong aad or tampered)');
    }
  };

  return {
    primaryKeyId: primary.id,
    keyIds: keys.map((k) => k.id),
    encrypt,
    decrypt,
    decryptString: (ciphertext, aad) => decrypt(ciphertext, aad).toString('utf8'),
    keyIdOf: (ciphertext) => split(ciphertext).keyId,
    needsRotation: (ciphertext) => split(ciphertext).keyId !== primary.id,
    reencrypt: (ciphertext, aad) => encrypt(decrypt(ciphertext, aad), aad),
  };
}

export interface BlindIndex {
  /**
   * HMAC-SHA256 of the normalised value under the index key, scoped by `scope` (e.g.
   * `person.id_number`) so that equal values in different fields do not index alike; base64url,
   * 43 characters. Store it beside the ciphertext and look up by equality.
   */
  (value: string, scope: string): string;
}

/**
 * The blind index key is separate from the data keys on purpose: it cannot rotate like them
 * (every stored index would have to be recomputed from the plaintext), and revealing it does
 * not decrypt anything.
 */
export function createBlindIndex(
  key: Uint8Array,
  normalise: (value: string) => string = defaultNormalise,
): BlindIndex {
  if (key.length < KEY_BYTES) throw new CryptoError(`blind index key must be at least ${KEY_BYTES} bytes`);
  const k = Buffer.from(key);
  return (value, scope) =>
    createHmac('sha256', k)
      .update(scope, 'utf8')
      .update('\u0000')
      .update(normalise(value), 'utf8')
      .digest('base64url');
}

/** NFKC, trimmed, inner whitespace and dashes removed, upper case (ID numbers end in X). */
export function defaultNormalise(value: string): string {
  return value
    .normalize('NFKC')
    .replace(/[\s-]+/g, '')
    .toUpperCase();
}

/** Constant-time comparison of two strings (secrets, signatures). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}
