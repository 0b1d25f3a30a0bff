import { describe, expect, it } from 'vitest';
import { ConfigError, composeEnv, loadConfig, redactConfig } from '../config/index.ts';
import {
  CryptoError,
  createBlindIndex,
  createFieldCipher,
  cryptoEnv,
  generateKey,
  mask,
  maskIdNumber,
  maskName,
  maskPhone,
  parseDataKeys,
  safeEqual,
} from './index.ts';

const k1 = generateKey();
const k2 = generateKey();

describe('field cipher', () => {
  it('round-trips text and bytes, with a fresh nonce each time', () => {
    const cipher = createFieldCipher(parseDataKeys(`k1:${k1}`));
    const a = cipher.encrypt('370303199001011234');
    const b = cipher.encrypt('370303199001011234');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('370303');
    expect(cipher.decryptString(a)).toBe('370303199001011234');
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect([...cipher.decrypt(cipher.encrypt(bytes))]).toEqual([0, 1, 2, 255]);
    expect(cipher.decryptString(cipher.encrypt(''))).toBe('');
    expect(cipher.decryptString(cipher.encrypt('张三 ☎'))).toBe('张三 ☎');
  });

  it('rotates: encrypts with the last key, decrypts with any, re-encrypts old ciphertexts', () => {
    const old = createFieldCipher(parseDataKeys(`k1:${k1}`));
    const rotated = createFieldCipher(parseDataKeys(`k1:${k1},k2:${k2}`));
    const before = old.encrypt('secret', 'device:1:secret');
    expect(rotated.primaryKeyId).toBe('k2');
    expect(rotated.keyIds).toEqual(['k1', 'k2']);
    expect(rotated.decryptString(before, 'device:1:secret')).toBe('secret');
    expect(rotated.needsRotation(before)).toBe(true);
    const after = rotated.reencrypt(before, 'device:1:secret');
    expect(rotated.keyIdOf(after)).toBe('k2');
    expect(rotated.needsRotation(after)).toBe(false);
    expect(rotated.decryptString(after, 'device:1:secret')).toBe('secret');
    // k1 retired: what is still under it can no longer be read, and says why.
    const retired = createFieldCipher(parseDataKeys(`k2:${k2}`));
    expect(() => retired.decrypt(before, 'device:1:secret')).toThrow(/unknown key id k1/);
    expect(retired.decryptString(after, 'device:1:secret')).toBe('secret');
  });

  it('refuses tampered ciphertexts, another aad, another key with the same id, and garbage', () => {
    const cipher = createFieldCipher(parseDataKeys(`k1:${k1}`));
    const token = cipher.encrypt('value', 'row:1');
    expect(() => cipher.decrypt(token, 'row:2')).toThrow(CryptoError);
    expect(() => cipher.decrypt(token)).toThrow(/does not authenticate/);
    const body = Buffer.from(token.split('.')[2]!, 'base64url');
    body[14] = body[14]! ^ 1;
    expect(() => cipher.decrypt(`v1.k1.${body.toString('base64url')}`, 'row:1')).toThrow(
      /does not authenticate/,
    );
    const impostor = createFieldCipher(parseDataKeys(`k1:${k2}`));
    expect(() => impostor.decrypt(token, 'row:1')).toThrow(CryptoError);
    for (const bad of ['', 'plain', 'v2.k1.AAAA', 'v1.k1.AAAA', 'v1.k1'])
      expect(() => cipher.decrypt(bad)).toThrow(CryptoError);
  });

  it('parses DATA_KEYS strictly, never echoing key material', () => {
    expect(
      parseDataKeys(` a:${k1} , b_2:${k2.replaceAll('+', '-').replaceAll('/', '_')} `).map((k) => k.id),
    ).toEqual(['a', 'b_2']);
    const cases: [string, RegExp][] = [
      ['', /no keys/],
      [k1, /expected id:base64/],
      [`k1:${k1},k1:${k2}`, /appears twice/],
      ['k1:c2hvcnQ=', /must be 32 bytes, got 5/],
      ['k.1:' + k1, /key id must match/],
      ['k1:not base64!', /not base64/],
    ];
    for (const [text, reason] of cases) {
      expect(() => parseDataKeys(text)).toThrow(reason);
      try {
        parseDataKeys(text);
      } catch (error) {
        expect(String(error)).not.toContain(k1.slice(0, 20));
      }
    }
  });
});

describe('cryptoEnv', () => {
  it('loads keys (also from a _FILE) and redacts them when logged', async () => {
    const config = loadConfig(composeEnv(cryptoEnv), {
      env: { DATA_KEYS: `k1:${k1},k2:${k2}`, BLIND_INDEX_KEY: k1 },
      exitOnError: false,
    });
    expect(config.DATA_KEYS.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(config.BLIND_INDEX_KEY?.length).toBe(32);
    expect(JSON.stringify(redactConfig(config))).not.toContain(k1.slice(0, 20));
    expect(JSON.stringify(config)).not.toContain(k2.slice(0, 20));

    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'crypto-'));
    await writeFile(join(dir, 'keys'), `k9:${k1}\n`);
    const fromFile = loadConfig(composeEnv(cryptoEnv), {
      env: { DATA_KEYS_FILE: join(dir, 'keys') },
      exitOnError: false,
    });
    expect(fromFile.DATA_KEYS[0]?.id).toBe('k9');
    expect(fromFile.BLIND_INDEX_KEY).toBeUndefined();
  });

  it('reports a missing or bad key by name, without the value', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig(composeEnv(cryptoEnv), { env, exitOnError: false });
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).not.toContain('c2hvcnQ');
        return (error as ConfigError).problems.map((p) => `${p.key}: ${p.reason}`);
      }
    };
    expect(problems({})).toEqual([expect.stringMatching(/^DATA_KEYS: /)]);
    expect(problems({ DATA_KEYS: 'k1:c2hvcnQ=' })).toEqual(['DATA_KEYS: key k1: must be 32 bytes, got 5']);
    expect(problems({ DATA_KEYS: `k1:${k1}`, BLIND_INDEX_KEY: 'c2hvcnQ=' })).toEqual([
      'BLIND_INDEX_KEY: blind index key: must be 32 bytes, got 5',
    ]);
  });
});

describe('blind index', () => {
  it('is deterministic per key and scope, normalised, and reveals nothing', () => {
    const index = createBlindIndex(Buffer.from(k1, 'base64'));
    const a = index('37030319900101123x', 'person.id_number');
    expect(a).toHaveLength(43);
    expect(index(' 370303 19900101123X ', 'person.id_number')).toBe(a);
    expect(index('37030319900101123X', 'visitor.id_number')).not.toBe(a);
    expect(createBlindIndex(Buffer.from(k2, 'base64'))('37030319900101123X', 'person.id_number')).not.toBe(a);
    expect(index('138-1234-5678', 'person.phone')).toBe(index('13812345678', 'person.phone'));
    expect(() => createBlindIndex(Buffer.alloc(16))).toThrow(/at least 32 bytes/);
  });
});

describe('masking', () => {
  it('masks phones, ID numbers and names', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
    expect(maskPhone('+86 138-1234-5678')).toBe('138****5678');
    expect(maskPhone('0533-2345678')).toBe('*******5678');
    expect(maskPhone('')).toBe('');
    expect(maskIdNumber('370303199001011234')).toBe('370***********1234');
    expect(maskIdNumber('37030319900101123x')).toBe('370***********123X');
    expect(maskIdNumber('G12345678')).toBe('G1*****78');
    expect(maskName('张三丰')).toBe('张**');
    expect(maskName('李')).toBe('*');
  });

  it('never shows a short value in full', () => {
    expect(mask('1234', 3, 4)).toBe('1**4');
    expect(mask('12', 3, 4)).toBe('*2');
    expect(mask('1', 3, 4)).toBe('*');
    expect(mask('', 3, 4)).toBe('');
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
