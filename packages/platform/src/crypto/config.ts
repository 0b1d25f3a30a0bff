import { z } from 'zod';
import { envFragment } from '../config/load.ts';
import { secret } from '../config/secret.ts';
import { CryptoError, decodeKey, parseDataKeys, type DataKey } from './keyring.ts';

const dataKeys = z.string().transform((text, ctx): DataKey[] => {
  try {
    return parseDataKeys(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof CryptoError ? error.message : 'invalid' });
    return z.NEVER;
  }
});

const indexKey = z.string().transform((text, ctx): Buffer => {
  try {
    return decodeKey(text, 'blind index key');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof CryptoError ? error.message : 'invalid' });
    return z.NEVER;
  }
});

/**
 * Field encryption keys (secrets; mount them as files with `DATA_KEYS_FILE` /
 * `BLIND_INDEX_KEY_FILE`):
 * - `DATA_KEYS`: `id:base64,…` 32-byte AES keys, the last one encrypts; required.
 * - `BLIND_INDEX_KEY`: base64 32-byte HMAC key for blind indexes; only services that look up
 *   encrypted fields by value need it.
 */
export const cryptoEnv = envFragment({
  DATA_KEYS: secret(dataKeys),
  BLIND_INDEX_KEY: secret(indexKey.optional()),
});
