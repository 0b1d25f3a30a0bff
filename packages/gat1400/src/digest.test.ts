import { describe, expect, it } from 'vitest';
import {
  digestAuthorization,
  digestNonces,
  parseDigestAuthorization,
  verifyDigest,
  type NonceCache,
} from './digest.ts';

/** The cache's contract (set with a TTL, atomic delete-if-equals) over a Map, with a clock. */
function mapCache(): NonceCache & { now: number } {
  const entries = new Map<string, { value: string; until: number }>();
  const cache = {
    now: 0,
    async set(key: string, value: string, ttlMs = Number.POSITIVE_INFINITY) {
      entries.set(key, { value, until: cache.now + ttlMs });
    },
    async deleteIfEquals(key: string, value: string) {
      const e = entries.get(key);
      if (!e || e.until <= cache.now || e.value !== value) return false;
      return entries.delete(key);
    },
  };
  return cache;
}

describe('digestNonces', () => {
  it('issues a challenge whose answer verifies, and whose nonce is consumed once', async () => {
    const cache = mapCache();
    const nonces = digestNonces(cache, 1000);
    const challenge = await nonces.challenge('anfang');
    expect(challenge).toMatch(/^Digest realm="anfang", qop="auth", nonce="[0-9a-f]{32}"/);
    const header = digestAuthorization({
      username: 'u',
      secret: 's',
      method: 'GET',
      uri: '/VIID/Dispositions',
      challenge,
    });
    const credentials = parseDigestAuthorization(header)!;
    expect(verifyDigest(credentials, 'GET', 's')).toBe(true);
    expect(await nonces.consume(credentials.nonce)).toBe(true);
    expect(await nonces.consume(credentials.nonce)).toBe(false);
  });

  it('refuses an expired, unknown or empty nonce', async () => {
    const cache = mapCache();
    const nonces = digestNonces(cache, 1000);
    const nonce = /nonce="([0-9a-f]+)"/.exec(await nonces.challenge('anfang'))![1]!;
    cache.now = 1000;
    expect(await nonces.consume(nonce)).toBe(false);
    expect(await nonces.consume('00112233445566778899aabbccddeeff')).toBe(false);
    expect(await nonces.consume('')).toBe(false);
  });
});
