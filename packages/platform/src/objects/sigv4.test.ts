import { describe, expect, it } from 'vitest';
import { signV4 } from 'minio/dist/esm/signing.mjs';
import { amzDate, sigV4Signer } from './sigv4.ts';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('sigV4Signer', () => {
  const sign = sigV4Signer('AKID', 'secret/key+x', 'cn-east-1');
  const minio = (method: string, path: string, headers: Record<string, string>, date: Date) =>
    signV4(
      { protocol: 'http:', method, path, headers },
      'AKID',
      'secret/key+x',
      'cn-east-1',
      date,
      headers['x-amz-content-sha256']!,
    );

  it("writes minio's Authorization for GETs and PUTs, across a change of day (a new signing key)", () => {
    for (const date of [
      new Date('2026-11-29T23:59:59.900Z'),
      new Date('2026-11-30T00:00:00.100Z'),
      new Date('2026-11-29T12:00:00Z'),
    ]) {
      const get = {
        host: '127.0.0.1:9000',
        'x-amz-date': amzDate(date),
        'x-amz-content-sha256': EMPTY,
      };
      const path = '/bucket/police-upload/cam%20%281%29/a%2Ab.jpg';
      expect(sign('GET', path, get)).toBe(minio('GET', path, get, date));
      const put = {
        ...get,
        'x-amz-content-sha256': 'ab'.repeat(32),
        'content-length': '12',
        'content-type': 'image/jpeg',
        'x-amz-meta-camera': 'gate  2',
      };
      expect(sign('PUT', path, put)).toBe(minio('PUT', path, put, date));
    }
  });

  it('refuses a request without its date or payload hash', () => {
    expect(() => sign('GET', '/b/k', { host: 'h' })).toThrow(/x-amz-date/);
  });
});
