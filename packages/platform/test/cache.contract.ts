import { describe, expect, it } from 'vitest';
import { uniqueName } from '@anfang/testing';
import type { Cache } from '../src/cache/types.ts';

export interface CacheContractOptions {
  /** A cache with the given key prefix; for a shared backend, each call opens a new connection. */
  readonly make: (keyPrefix: string) => Promise<Cache> | Cache;
  /** Whether two caches made with one prefix see the same entries (Redis yes, memory no). */
  readonly shared: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The behaviour every Cache implementation must have; run by cache.redis.test.ts and cache.memory.test.ts. */
export function cacheContract(name: string, options: CacheContractOptions): void {
  describe(`Cache contract: ${name}`, () => {
    const withCache = async (fn: (cache: Cache, prefix: string) => Promise<void>) => {
      const prefix = uniqueName('cache');
      const cache = await options.make(prefix);
      try {
        await fn(cache, prefix);
      } finally {
        await cache.close();
      }
    };
    /** Several clients of one namespace where the backend is shared, else one. */
    const withClients = async (n: number, fn: (caches: Cache[]) => Promise<void>) => {
      const prefix = uniqueName('cache');
      const caches = await Promise.all(
        Array.from({ length: options.shared ? n : 1 }, () => options.make(prefix)),
      );
      try {
        await fn(caches);
      } finally {
        await Promise.all(caches.map((c) => c.close()));
      }
    };

    it('get/set/delete round-trip; absent keys read as null', () =>
      withCache(async (cache) => {
        expect(await cache.get('missing')).toBeNull();
        await cache.set('k', 'v1');
        expect(await cache.get('k')).toBe('v1');
        await cache.set('k', 'v2');
        expect(await cache.get('k')).toBe('v2');
        await cache.delete('k');
        expect(await cache.get('k')).toBeNull();
        await cache.delete('never-there');
        await cache.set('unicode ключ/🔑', 'значение ✓');
        expect(await cache.get('unicode ключ/🔑')).toBe('значение ✓');
      }));

    it('TTL: values expire; ttl() reports the remaining time; set without TTL clears it', () =>
      withCache(async (cache) => {
        await cache.set('short', 'x', 200);
        expect(await cache.get('short')).toBe('x');
        const ttl = await cache.ttl('short');
        expect(ttl).not.toBeNull();
        expect(ttl!).toBeGreaterThan(0);
        expect(ttl!).toBeLessThanOrEqual(200);
        await cache.set('long', 'y', 60_000);
        await cache.set('long', 'y2');
        expect(await cache.ttl('long')).toBeNull();
        expect(await cache.ttl('missing')).toBeNull();
        await sleep(450);
        expect(await cache.get('short')).toBeNull();
        expect(await cache.ttl('short')).toBeNull();
        expect(await cache.get('long')).toBe('y2');
      }));

    it('rejects a TTL that is not positive', () =>
      withCache(async (cache) => {
        await expect(cache.set('k', 'v', 0)).rejects.toThrow();
        await expect(cache.setIfAbsent('k', 'v', -5)).rejects.toThrow();
      }));

    it('setIfAbsent stores only when absent, and again after expiry', () =>
      withCache(async (cache) => {
        expect(await cache.setIfAbsent('lock', 'a', 200)).toBe(true);
        expect(await cache.setIfAbsent('lock', 'b', 200)).toBe(false);
        expect(await cache.get('lock')).toBe('a');
        const ttl = await cache.ttl('lock');
        expect(ttl).toBeGreaterThan(0);
        await sleep(450);
        expect(await cache.setIfAbsent('lock', 'c', 10_000)).toBe(true);
        expect(await cache.get('lock')).toBe('c');
      }));

    it('setIfAbsent under a race: of many concurrent callers exactly one wins', () =>
      withClients(4, async (caches) => {
        for (let round = 0; round < 5; round++) {
          const key = `race-${round}`;
          const results = await Promise.all(
            Array.from({ length: 60 }, (_, i) =>
              caches[i % caches.length]!.setIfAbsent(key, `owner-${i}`, 10_000),
            ),
          );
          const winners = results.flatMap((won, i) => (won ? [i] : []));
          expect(winners).toHaveLength(1);
          expect(await caches[0]!.get(key)).toBe(`owner-${winners[0]}`);
        }
      }));

    it('getMany reads several keys in order (null when absent); setManyIfAbsent sets each absent one', () =>
      withCache(async (cache) => {
        expect(await cache.getMany([])).toEqual([]);
        expect(await cache.setManyIfAbsent([], '1', 1_000)).toEqual([]);
        await cache.set('a', 'va');
        await cache.set('c', 'vc', 60_000);
        expect(await cache.getMany(['a', 'b', 'c', 'a'])).toEqual(['va', null, 'vc', 'va']);
        expect(await cache.setManyIfAbsent(['a', 'b', 'd', 'b'], 'new', 200)).toEqual([
          false,
          true,
          true,
          false,
        ]);
        expect(await cache.getMany(['a', 'b', 'd'])).toEqual(['va', 'new', 'new']);
        const ttl = await cache.ttl('b');
        expect(ttl).toBeGreaterThan(0);
        expect(ttl!).toBeLessThanOrEqual(200);
        await expect(cache.setManyIfAbsent(['x'], 'v', 0)).rejects.toThrow();
        await expect(cache.getMany([''])).rejects.toThrow();
        await sleep(450);
        expect(await cache.getMany(['a', 'b', 'd'])).toEqual(['va', null, null]);
        expect(await cache.setManyIfAbsent(['b'], 'again', 10_000)).toEqual([true]);
      }));

    it('setManyIfAbsent under a race: each key has exactly one winner', () =>
      withClients(4, async (caches) => {
        const keys = ['m-0', 'm-1', 'm-2'];
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            caches[i % caches.length]!.setManyIfAbsent(keys, `o-${i}`, 10_000),
          ),
        );
        for (let k = 0; k < keys.length; k++) expect(results.filter((r) => r[k]).length).toBe(1);
      }));

    it('increment creates the counter with its TTL and does not extend it', () =>
      withCache(async (cache) => {
        expect(await cache.increment('n')).toBe(1);
        expect(await cache.increment('n', 5)).toBe(6);
        expect(await cache.increment('n', -10)).toBe(-4);
        expect(await cache.ttl('n')).toBeNull();
        expect(await cache.increment('t', 1, 300)).toBe(1);
        const first = await cache.ttl('t');
        expect(first).toBeGreaterThan(0);
        await sleep(100);
        expect(await cache.increment('t', 1, 60_000)).toBe(2);
        expect(await cache.ttl('t')).toBeLessThanOrEqual(first!);
        await sleep(400);
        expect(await cache.get('t')).toBeNull();
        expect(await cache.increment('t', 1, 300)).toBe(1);
      }));

    it('increment is atomic under concurrency: every caller gets a distinct value', () =>
      withClients(4, async (caches) => {
        const n = 400;
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) => caches[i % caches.length]!.increment('counter', 1, 60_000)),
        );
        expect(new Set(results).size).toBe(n);
        expect(Math.max(...results)).toBe(n);
        expect(await caches[0]!.get('counter')).toBe(String(n));
      }));

    it('increment refuses a non-integer step', () =>
      withCache(async (cache) => {
        await expect(cache.increment('x', 1.5)).rejects.toThrow();
      }));

    it('deleteIfEquals deletes only the value the caller holds (lock release)', () =>
      withCache(async (cache) => {
        expect(await cache.deleteIfEquals('absent', 'x')).toBe(false);
        await cache.setIfAbsent('lock', 'holder-1', 10_000);
        expect(await cache.deleteIfEquals('lock', 'holder-2')).toBe(false);
        expect(await cache.get('lock')).toBe('holder-1');
        expect(await cache.deleteIfEquals('lock', 'holder-1')).toBe(true);
        expect(await cache.get('lock')).toBeNull();
        expect(await cache.setIfAbsent('lock', 'holder-2', 10_000)).toBe(true);
      }));

    it('deleteIfEquals under a race: only one of many releasers succeeds', () =>
      withClients(4, async (caches) => {
        await caches[0]!.set('lock', 'token', 10_000);
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => caches[i % caches.length]!.deleteIfEquals('lock', 'token')),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      }));

    it('prefix isolation: two namespaces never see each other', async () => {
      const a = await options.make(uniqueName('ns-a'));
      const b = await options.make(uniqueName('ns-b'));
      try {
        await a.set('shared-key', 'from-a');
        await b.set('shared-key', 'from-b');
        expect(await a.get('shared-key')).toBe('from-a');
        expect(await b.get('shared-key')).toBe('from-b');
        expect(await b.setIfAbsent('only-a', 'b', 10_000)).toBe(true);
        await a.delete('shared-key');
        expect(await b.get('shared-key')).toBe('from-b');
        expect(await a.increment('n')).toBe(1);
        expect(await b.increment('n')).toBe(1);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('check() resolves on a working cache', () =>
      withCache(async (cache) => {
        await cache.check();
      }));
  });
}
