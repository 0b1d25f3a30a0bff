/**
 * Field encryption for secrets and personal data at rest: AES-256-GCM with a rotating key ring,
 * keyed blind indexes for equality lookups, and masking for display. See README.md § crypto.
 */
export {
  CryptoError,
  KEY_ID_PATTERN,
  createBlindIndex,
  createFieldCipher,
  decodeKey,
  defaultNormalise,
  generateKey,
  parseDataKeys,
  safeEqual,
  type BlindIndex,
  type DataKey,
  type FieldCipher,
} from './keyring.ts';
export { isValidIdNumber } from './id-number.ts';
export { mask, maskIdNumber, maskName, maskPhone } from './mask.ts';
export { cryptoEnv } from './config.ts';
