/**
 * The access-cache generation: one random token in Redis that every cached access snapshot is
 * keyed under. A registry change replaces it before its transaction commits and again after
 * (before the change's RPC returns): a reader that loaded old rows in between cached them under
 * a token that is already dead, so once a revocation has returned no replica can serve it from
 * cache. A token is random rather than a counter so that a Redis that lost its data can never
 * bring an old token back to life.
 */
import { randomUUID } from 'node:crypto';
import type { Cache } from '@anfang/platform/cache';

const KEY = 'access:generation';
/** Refreshed by every change; if it lapses in a quiet month, a new token simply starts. */
const TOKEN_TTL_MS = 30 * 24 * 3_600_000;

export interface Generation {
  current(): Promise<string>;
  bump(): Promise<void>;
}

export function createGeneration(cache: Cache): Generation {
  return {
    async current() {
      const token = await cache.get(KEY);
      if (token) return token;
      await cache.setIfAbsent(KEY, randomUUID(), TOKEN_TTL_MS);
      return (await cache.get(KEY)) ?? randomUUID();
    },
    bump: () => cache.set(KEY, randomUUID(), TOKEN_TTL_MS),
  };
}
