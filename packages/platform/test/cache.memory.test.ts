import { describe, expect, it } from 'vitest';
import { createCache, createMemoryCache } from '../src/cache/index.ts';
import { cacheContract } from './cache.contract.ts';

cacheContract('memory', { make: (keyPrefix) => createMemoryCache({ keyPrefix }), shared: false });

describe('memory cache specifics', () => {
  it('is bounded: the least recently used entries go first', async () => {
    const cache = createMemoryCache({ keyPrefix: 'lru', maxEntries: 3 });
    await cache.set('a', '1');
    await cache.set('b', '2');
    await cache.set('c', '3');
    expect(await cache.get('a')).toBe('1'); // a is now most recently used
    await cache.set('d', '4');
    expect(await cache.get('b')).toBeNull();
    expect(await cache.get('a')).toBe('1');
    expect(await cache.get('c')).toBe('3');
    expect(await cache.get('d')).toBe('4');
  });

  it('expires by its clock without any timer', async () => {
    let now = 1_000;
    const cache = createMemoryCache({ keyPrefix: 'clock', now: () => now });
    await cache.set('k', 'v', 100);
    now += 99;
    expect(await cache.ttl('k')).toBe(1);
    now += 1;
    expect(await cache.get('k')).toBeNull();
  });

  it('is chosen by configuration', async () => {
    const cache = createCache({ kind: 'memory', keyPrefix: 'cfg' });
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    await cache.close();
    await expect(cache.get('k')).rejects.toThrow(/closed/);
  });
});
