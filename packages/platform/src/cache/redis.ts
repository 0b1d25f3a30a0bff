import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Cache } from './types.ts';
import { checkIncrement, checkKey, checkTtl, normalizePrefix } from './keys.ts';

export interface CacheLogger {
  warn(obj: object, msg?: string): void;
}

export interface RedisCacheOptions {
  /** redis://[:password@]host:port[/db] or rediss:// — never logged. */
  readonly url: string;
  /** The service's namespace; every key is stored as `<keyPrefix>:<key>`. */
  readonly keyPrefix: string;
  /** A command that gets no answer fails after this long. Default 2000 ms. */
  readonly commandTimeoutMs?: number;
  /** Opening a connection gives up after this long (then reconnects with back-off). Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Where connection errors are reported (throttled to one per 10 s). Default: silent. */
  readonly logger?: CacheLogger;
  /**
   * Commands issued in the same event-loop turn go out in one write (ioredis auto-pipelining).
   * Default true: concurrent requests' commands share round trips instead of a write each.
   */
  readonly autoPipelining?: boolean;
  /** Extra ioredis options (tests, TLS). */
  readonly redisOptions?: RedisOptions;
}

// Counter: INCRBY, and set the TTL only when this call created the key.
const INCREMENT = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

// Compare-and-delete: only the holder that stored `value` may delete (lock release).
const DELETE_IF_EQUALS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// SET NX PX of every key in one command: a pipeline of N SETs costs the client N command objects,
// N parsed replies and N promises, which the ingest path paid per event.
const SET_MANY_IF_ABSENT = `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('SET', key, ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0
end
return out`;

interface ScriptCommands {
  anfangIncrement(key: string, by: number, ttlMs: number): Promise<number>;
  anfangSetManyIfAbsent(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]>;
  anfangDeleteIfEquals(key: string, value: string): Promise<number>;
}

/**
 * Redis behind the `Cache` interface. Atomic operations are single commands (SET NX PX) or Lua
 * scripts (run with EVALSHA, loaded on demand). The client reconnects forever with capped
 * exponential back-off; while Redis is away, a command fails after at most two retries or the
 * command timeout instead of hanging, so callers can degrade.
 */
export function createRedisCache(options: RedisCacheOptions): Cache {
  const prefix = normalizePrefix(options.keyPrefix);
  const redis = new Redis(options.url, {
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2_000),
    enableOfflineQueue: true,
    enableAutoPipelining: options.autoPipelining ?? true,
    ...options.redisOptions,
  });
  let lastLogged = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (options.logger && now - lastLogged > 10_000) {
      lastLogged = now;
      options.logger.warn({ err: { name: err.name, message: err.message } }, 'redis cache: connection error');
    }
  });
  redis.defineCommand('anfangIncrement', { numberOfKeys: 1, lua: INCREMENT });
  redis.defineCommand('anfangDeleteIfEquals', { numberOfKeys: 1, lua: DELETE_IF_EQUALS });
  redis.defineCommand('anfangSetManyIfAbsent', { lua: SET_MANY_IF_ABSENT });
  const scripts = redis as unknown as ScriptCommands;
  const k = (key: string) => {
    checkKey(key);
    return prefix + key;
  };

  return {
    async get(key) {
      return redis.get(k(key));
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return redis.mget(keys.map(k));
    },
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await redis.set(k(key), value);
      else await redis.set(k(key), value, 'PX', checkTtl(ttlMs));
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await redis.set(k(key), value, 'PX', checkTtl(ttlMs), 'NX')) === 'OK';
    },
    async setManyIfAbsent(keys, value, ttlMs) {
      if (keys.length === 0) return [];
      const ttl = checkTtl(ttlMs);
      const names = keys.map(k);
      if (names.length === 1) return [(await redis.set(names[0]!, value, 'PX', ttl, 'NX')) === 'OK'];
      const replies = await scripts.anfangSetManyIfAbsent(names.length, ...names, value, ttl);
      if (replies.length !== names.length) throw new Error('redis cache: script answered short');
      return replies.map((reply) => reply === 1);
    },
    async increment(key, by = 1, ttlMs) {
      checkIncrement(by);
      return Number(await scripts.anfangIncrement(k(key), by, ttlMs === undefined ? 0 : checkTtl(ttlMs)));
    },
    async delete(key) {
      await redis.del(k(key));
    },
    async deleteIfEquals(key, value) {
      return (await scripts.anfangDeleteIfEquals(k(key), value)) === 1;
    },
    async ttl(key) {
      const ms = await redis.pttl(k(key));
      return ms < 0 ? null : ms;
    },
    async check() {
      const pong = await redis.ping();
      if (pong !== 'PONG') throw new Error(`redis cache: unexpected PING answer ${pong}`);
    },
    async close() {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
