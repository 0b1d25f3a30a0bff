/**
 * One cache interface over Redis (node-redis) and an in-process map, proven equal by one contract
 * suite (test/cache.contract.ts). Keys are namespaced by the service's prefix, so services that
 * share a Redis never see each other's keys.
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  /** Several keys in one round trip (Redis MGET): the values in the order of `keys`, null when absent. */
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Atomic: true when this call stored the value (dedupe marks, locks). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * `setIfAbsent` for several keys in one round trip (each key atomic on its own, not the set as
   * a whole): per key, in order, true when this call stored it.
   */
  setManyIfAbsent(keys: readonly string[], value: string, ttlMs: number): Promise<boolean[]>;
  /** Atomic counter; the TTL is set when the counter is created. */
  increment(key: string, by?: number, ttlMs?: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Atomic compare-and-delete: releases a lock only if this holder still owns it. */
  deleteIfEquals(key: string, value: string): Promise<boolean>;
  /** Remaining time to live in ms, null when the key is absent or has no TTL. */
  ttl(key: string): Promise<number | null>;
  check(): Promise<void>;
  close(): Promise<void>;
}
