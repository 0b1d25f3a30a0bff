import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalString, sign, verifySignature, withinReplayWindow } from './signature.ts';

const req = {
  timestamp: '1764300000000',
  nonce: 'abcdefgh1234',
  method: 'post',
  path: '/api/v1/device/events',
  body: Buffer.from('{"events":[]}'),
};

describe('generic API signature', () => {
  it('signs the documented canonical string', () => {
    const bodyHash = createHash('sha256').update(req.body).digest('hex');
    expect(canonicalString(req)).toBe(
      `1764300000000\nabcdefgh1234\nPOST\n/api/v1/device/events\n${bodyHash}`,
    );
    const expected = createHmac('sha256', 's3cret').update(canonicalString(req)).digest('hex');
    expect(sign('s3cret', req)).toBe(expected);
  });

  it('verifies its own signature, in either hex case', () => {
    const sig = sign('s3cret', req);
    expect(verifySignature('s3cret', req, sig)).toBe(true);
    expect(verifySignature('s3cret', req, sig.toUpperCase())).toBe(true);
  });

  it('refuses another secret, body, path, nonce or timestamp, and malformed signatures', () => {
    const sig = sign('s3cret', req);
    expect(verifySignature('other', req, sig)).toBe(false);
    expect(verifySignature('s3cret', { ...req, body: Buffer.from('{}') }, sig)).toBe(false);
    expect(verifySignature('s3cret', { ...req, path: '/api/v1/device/heartbeat' }, sig)).toBe(false);
    expect(verifySignature('s3cret', { ...req, nonce: 'abcdefgh1235' }, sig)).toBe(false);
    expect(verifySignature('s3cret', { ...req, timestamp: '1764300000001' }, sig)).toBe(false);
    expect(verifySignature('s3cret', req, sig.slice(2))).toBe(false);
    expect(verifySignature('s3cret', req, 'zz' + sig.slice(2))).toBe(false);
    expect(verifySignature('s3cret', req, '')).toBe(false);
  });

  it('has a symmetric replay window', () => {
    expect(withinReplayWindow(1000, 1000 + 300_000, 300_000)).toBe(true);
    expect(withinReplayWindow(1000, 1000 + 300_001, 300_000)).toBe(false);
    expect(withinReplayWindow(1000 + 300_001, 1000, 300_000)).toBe(false);
    expect(withinReplayWindow(Number.NaN, 1000, 300_000)).toBe(false);
  });
});
