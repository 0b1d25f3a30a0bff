/**
 * The cache: Redis in the local and Kubernetes modes, in-process in the embedded mode; one
 * interface (./types.ts), one contract suite. Pick by configuration with `createCache`.
 */
import type { Cache } from './types.ts';
import { createMemoryCache } from './memory.ts';
import type { MemoryCacheOptions } from './memory.ts';
import { createRedisCache } from './redis.ts';
import type { RedisCacheOptions } from './redis.ts';

export type { Cache } from './types.ts';
export { createMemoryCache, createRedisCache };
export type { MemoryCacheOptions, RedisCacheOptions };
export type { CacheLogger } from './redis.ts';

export type CacheConfig =
  ({ readonly kind: 'redis' } & RedisCacheOptions) | ({ readonly kind: 'memory' } & MemoryCacheOptions);

/** The runner's entry: the implementation follows from configuration only. */
export function createCache(config: CacheConfig): Cache {
  switch (config.kind) {
    case 'redis':
      return createRedisCache(config);
    case 'memory':
      return createMemoryCache(config);
    default: {
      const never: never = config;
      throw new Error(`cache: unknown kind ${(never as { kind: string }).kind}`);
    }
  }
}
