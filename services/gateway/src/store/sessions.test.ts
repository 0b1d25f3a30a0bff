import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryCache } from '@anfang/platform/cache';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../domain/principal.ts';
import { createSessionStore } from './sessions.ts';

const principal: Principal = {
  subject: 'user:1',
  name: '张三',
  role: 'guard',
  compounds: ['370303001001001'],
  areas: [],
  source: 'local',
};

describe('sessions', () => {
  it('ends after the idle timeout, and each request renews it', async () => {
    const store = createSessionStore(createMemoryCache({ keyPrefix: 't' }), { idleMs: 150, maxMs: 10_000 });
    const { token } = await store.create(principal);
    for (let i = 0; i < 4; i++) {
      await sleep(80);
      expect(await store.touch(token)).toBeDefined();
    }
    await sleep(250);
    expect(await store.touch(token)).toBeUndefined();
  });

  it('renews the idle timeout at most once per twentieth of it, not on every request', async () => {
    const cache = createMemoryCache({ keyPrefix: 't' });
    let writes = 0;
    const counting = {
      ...cache,
      set: (...args: Parameters<typeof cache.set>) => (writes++, cache.set(...args)),
    };
    const store = createSessionStore(counting, { idleMs: 2000, maxMs: 10_000 });
    const { token } = await store.create(principal);
    for (let i = 0; i < 5; i++) expect(await store.touch(token)).toBeDefined();
    expect(writes).toBe(1);
    await sleep(120);
    expect(await store.touch(token)).toBeDefined();
    expect(await store.touch(token)).toBeDefined();
    expect(writes).toBe(2);
  });

  it('ends at its absolute limit however active it is', async () => {
    const store = createSessionStore(createMemoryCache({ keyPrefix: 't' }), { idleMs: 1000, maxMs: 200 });
    const { token } = await store.create(principal);
    await sleep(100);
    expect(await store.touch(token)).toBeDefined();
    await sleep(150);
    expect(await store.touch(token)).toBeUndefined();
  });

  it('ends at sign-out and does not store the token itself', async () => {
    const cache = createMemoryCache({ keyPrefix: 't' });
    const store = createSessionStore(cache, { idleMs: 1000, maxMs: 10_000 });
    const { token, session } = await store.create(principal);
    expect(await cache.get(`session:${token}`)).toBeNull();
    await store.end(session.principal.sessionId!);
    expect(await store.touch(token)).toBeUndefined();
  });
});
