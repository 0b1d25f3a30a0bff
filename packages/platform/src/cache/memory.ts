import type { Cache } from './types.ts';
import { checkIncrement, checkKey, checkTtl, normalizePrefix } from './keys.ts';

export interface MemoryCacheOptions {
  /** Kept for parity with Redis: two memory caches never share entries anyway. */
  readonly keyPrefix: string;
  /** Least recently used entries are evicted beyond this. Default 10 000. */
  readonly maxEntries?: number;
  /** Clock in ms (monotonic by default); tests may replace it. */
  readonly now?: () => number;
}

interface Entry {
  value: string;
  /** Absolute expiry on the cache's clock; undefined = no TTL. */
  expiresAt: number | undefined;
}

/**
 * The in-process cache of the embedded mode, with Redis's semantics: TTLs in ms, SET without a
 * TTL clears an old one, counters keep the TTL they were created with. Bounded (LRU by a Map's
 * insertion order) and timer-free: expired entries are dropped when touched and a few are swept
 * on each write, so it never keeps the process alive. Every operation completes synchronously
 * within one call, which makes the compound ones atomic on Node's single thread.
 */
export function createMemoryCache(options: MemoryCacheOptions): Cache {
  normalizePrefix(options.keyPrefix);
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error('cache: maxEntries must be >= 1');
  const now = options.now ?? (() => performance.now());
  const entries = new Map<string, Entry>();
  let closed = false;

  const live = (key: string): Entry | undefined => {
    checkKey(key);
    if (closed) throw new Error('cache: closed');
    const e = entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== undefined && e.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  /** Marks as most recently used. */
  const touch = (key: string, e: Entry) => {
    entries.delete(key);
    entries.set(key, e);
  };
  const store = (key: string, e: Entry) => {
    entries.delete(key);
    entries.set(key, e);
    // Sweep a few of the oldest entries: expired ones go, and the least recently used beyond the bound.
    let inspected = 0;
    const t = now();
    for (const [k, old] of entries) {
      if (entries.size <= maxEntries && inspected >= 4) break;
      inspected++;
      if (k === key) continue;
      if (entries.size > maxEntries || (old.expiresAt !== undefined && old.expiresAt <= t)) entries.delete(k);
    }
  };

  return {
    async get(key) {
      const e = live(key);
      if (!e) return null;
      touch(key, e);
      return e.value;
    },
    async getMany(keys) {
      keys.forEach((key) => checkKey(key));
      return keys.map((key) => {
        const e = live(key);
        if (!e) return null;
        touch(key, e);
        return e.value;
      });
    },
    async set(key, value, ttlMs) {
      live(key);
      store(key, { value, expiresAt: ttlMs === undefined ? undefined : now() + checkTtl(ttlMs) });
    },
    async setIfAbsent(key, value, ttlMs) {
      const ttl = checkTtl(ttlMs);
      if (live(key)) return false;
      store(key, { value, expiresAt: now() + ttl });
      return true;
    },
    async setManyIfAbsent(keys, value, ttlMs) {
      const ttl = checkTtl(ttlMs);
      keys.forEach((key) => checkKey(key));
      return keys.map((key) => {
        if (live(key)) return false;
        store(key, { value, expiresAt: now() + ttl });
        return true;
      });
    },
    async increment(key, by = 1, ttlMs) {
      checkIncrement(by);
      const ttl = ttlMs === undefined ? undefined : checkTtl(ttlMs);
      const e = live(key);
      if (!e) {
        store(key, { value: String(by), expiresAt: ttl === undefined ? undefined : now() + ttl });
        return by;
      }
      if (!/^-?\d+$/.test(e.value)) throw new Error('cache: value is not an integer');
      const next = Number(e.value) + by;
      if (!Number.isSafeInteger(next)) throw new Error('cache: increment would overflow');
      e.value = String(next);
      touch(key, e);
      return next;
    },
    async delete(key) {
      live(key);
      entries.delete(key);
    },
    async deleteIfEquals(key, value) {
      const e = live(key);
      if (!e || e.value !== value) return false;
      entries.delete(key);
      return true;
    },
    async ttl(key) {
      const e = live(key);
      if (!e || e.expiresAt === undefined) return null;
      return Math.max(1, Math.ceil(e.expiresAt - now()));
    },
    async check() {
      if (closed) throw new Error('cache: closed');
    },
    async close() {
      closed = true;
      entries.clear();
    },
  };
}
