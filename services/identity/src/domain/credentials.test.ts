import { describe, expect, it } from 'vitest';
import {
  CredentialFormatError,
  createQrSigner,
  hashPin,
  isValidIdNumber,
  lookupValue,
  maskedCredential,
  parsePin,
  verifyPin,
} from './credentials.ts';

// A checksum-valid test number (GB 11643).
const TEST_ID = '11010519491231002X';

describe('ID numbers', () => {
  it('checks the GB 11643 check character', () => {
    expect(isValidIdNumber(TEST_ID)).toBe(true);
    expect(isValidIdNumber(TEST_ID.toLowerCase())).toBe(true);
    expect(isValidIdNumber('110105194912310021')).toBe(false);
    expect(isValidIdNumber('11010519491231002')).toBe(false);
  });
});

describe('lookup values', () => {
  it('normalises cards and scopes PIN references to the compound', () => {
    expect(lookupValue('card', ' 00ab 12cd ', 'c1')).toBe('00AB12CD');
    expect(lookupValue('pin', '0501#123456', 'c1')).toBe('c1:0501');
    expect(lookupValue('pin', '0501#654321', 'c1')).toBe(lookupValue('pin', '0501#123456', 'c1'));
    expect(() => lookupValue('id_card', '123', 'c1')).toThrow(CredentialFormatError);
    expect(() => lookupValue('card', '', 'c1')).toThrow(CredentialFormatError);
    expect(() => lookupValue('face', '', 'c1')).toThrow(CredentialFormatError);
  });

  it('parses "<ref>#<digits>" PINs and refuses anything else', () => {
    expect(parsePin('a12#0000')).toEqual({ ref: 'A12', digits: '0000' });
    expect(() => parsePin('123456')).toThrow(CredentialFormatError);
    expect(() => parsePin('0501#12')).toThrow(CredentialFormatError);
  });

  it('masks for display and never shows PIN digits', () => {
    expect(maskedCredential('card', '12345678')).toBe('卡 ****5678');
    expect(maskedCredential('id_card', TEST_ID)).toBe('身份证 110***********002X');
    expect(maskedCredential('pin', '0501#987654')).toBe('密码 0501#****');
  });
});

describe('PIN hashing', () => {
  it('verifies the right digits only, with a fresh salt each time', async () => {
    const hash = await hashPin('246810');
    expect(hash.startsWith('scrypt$')).toBe(true);
    expect(hash).not.toContain('246810');
    expect(await verifyPin('246810', hash)).toBe(true);
    expect(await verifyPin('246811', hash)).toBe(false);
    expect(await hashPin('246810')).not.toBe(hash);
  });
});

describe('mobile QR tokens', () => {
  const now = Date.UTC(2026, 10, 28, 8);
  const key = 'k'.repeat(32);

  it('accepts a fresh token, refuses it once expired, forged or under an unknown key', () => {
    const signer = createQrSigner([key], 60);
    const { token, expiresAt } = signer.issue('cred-1', now);
    expect(expiresAt).toBe(now + 60_000);
    expect(signer.verify(token, now + 59_000)).toBe('cred-1');
    expect(signer.verify(token, now + 60_000)).toBeUndefined();
    expect(signer.verify(token.replace('cred-1', 'cred-2'), now)).toBeUndefined();
    expect(createQrSigner(['x'.repeat(32)], 60).verify(token, now)).toBeUndefined();
  });

  it('keeps accepting tokens of the old key while a new one signs (rotation)', () => {
    const old = createQrSigner([key], 60).issue('cred-1', now).token;
    const rotated = createQrSigner(['n'.repeat(32), key], 60);
    expect(rotated.verify(old, now)).toBe('cred-1');
    expect(rotated.issue('cred-1', now).token).not.toBe(old);
  });
});
