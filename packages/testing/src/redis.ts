import { Redis } from 'ioredis';
import { infraEnv } from './env.ts';
import { uniqueName } from './names.ts';

export interface TestRedisNamespace {
  /** A key prefix no other test uses, ending in ':'. */
  prefix: string;
  url: string;
  /** Deletes every key under the prefix. */
  drop(): Promise<void>;
}

/** An isolated key prefix in the infrastructure's Redis (tests share one server). */
export function createTestRedisNamespace(label: string): TestRedisNamespace {
  const prefix = `${uniqueName(label)}:`;
  const url = infraEnv().redisUrl;
  return {
    prefix,
    url,
    async drop() {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
