import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createTestRedisNamespace, infraEnv, uniqueName } from '@anfang/testing';
import { createCache, createRedisCache } from '../src/cache/index.ts';
import { cacheContract } from './cache.contract.ts';

const { redisUrl } = infraEnv();
// Every cache of this file lives under one test namespace, removed at the end.
const ns = createTestRedisNamespace('cache-redis');
afterAll(() => ns.drop());

cacheContract('redis', {
  make: (keyPrefix) => createRedisCache({ url: redisUrl, keyPrefix: `${ns.prefix}${keyPrefix}` }),
  shared: true,
});

describe('redis cache specifics', () => {
  const raw = new Redis(redisUrl);
  afterAll(async () => {
    await raw.quit();
  });

  it('stores every key under "<keyPrefix>:"', async () => {
    const prefix = `${ns.prefix}${uniqueName('layout')}`;
    const cache = createCache({ kind: 'redis', url: redisUrl, keyPrefix: `${prefix}:` });
    try {
      await cache.set('a', '1', 60_000);
      await cache.increment('n', 2, 60_000);
      await cache.setIfAbsent('l', 'x', 60_000);
      expect((await raw.keys(`${prefix}:*`)).sort()).toEqual([`${prefix}:a`, `${prefix}:l`, `${prefix}:n`]);
      expect(await raw.get(`${prefix}:a`)).toBe('1');
    } finally {
      await raw.del(`${prefix}:a`, `${prefix}:n`, `${prefix}:l`);
      await cache.close();
    }
  });

  it('fails fast instead of hanging while Redis is unreachable', async () => {
    const cache = createRedisCache({
      url: 'redis://127.0.0.1:1',
      keyPrefix: uniqueName('down'),
      connectTimeoutMs: 200,
    });
    const started = Date.now();
    await expect(cache.get('k')).rejects.toThrow();
    await expect(cache.check()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
    await cache.close();
  });

  it('refuses an empty key prefix', () => {
    expect(() => createRedisCache({ url: redisUrl, keyPrefix: '' })).toThrow(/keyPrefix/);
  });
});
