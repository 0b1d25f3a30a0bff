import { createServer, connect, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createTestRedisNamespace, infraEnv, uniqueName } from '@anfang/testing';
import { createCache, createRedisCache, type Cache } from '../src/cache/index.ts';
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

  it('a connection that stops answering is replaced: its commands fail within the timeout, the next ones succeed', () =>
    behindAnswerGate('stuck', async (cache, gate) => {
      await cache.set('k', 'before', 60_000);
      gate.answering = false; // Redis gets the commands, the client never hears back
      const started = performance.now();
      await expect(cache.get('k')).rejects.toThrow();
      const failedAfter = performance.now() - started;
      expect(failedAfter).toBeGreaterThanOrEqual(350);
      expect(failedAfter).toBeLessThan(2_000);
      gate.answering = true;
      expect(await cache.get('k')).toBe('before');
      expect(gate.connections).toBe(2);
    }));

  it('a slow answer after a quiet spell longer than the timeout is waited for, not taken for a stuck connection', () =>
    behindAnswerGate('quiet', async (cache, gate) => {
      await cache.set('k', 'before', 60_000);
      await sleep(600); // quiet for longer than the 400 ms timeout
      gate.delayMs = 250; // answered well within the timeout, across several watchdog rounds
      expect(await cache.get('k')).toBe('before');
      expect(gate.connections).toBe(1);
    }));

  it('closes within the timeout while a command waits on a connection that stopped answering', () =>
    behindAnswerGate('closing', async (cache, gate) => {
      await cache.check();
      gate.answering = false;
      const pending = cache.get('k');
      const started = performance.now();
      await cache.close();
      expect(performance.now() - started).toBeLessThan(1_500);
      await expect(pending).rejects.toThrow();
    }));

  it('runs its scripts again after Redis lost them (SCRIPT FLUSH, a restart): EVAL once, then EVALSHA', async () => {
    const cache = createRedisCache({ url: redisUrl, keyPrefix: `${ns.prefix}${uniqueName('scripts')}` });
    try {
      expect(await cache.increment('n', 2, 60_000)).toBe(2);
      await raw.script('FLUSH');
      expect(await cache.increment('n', 3, 60_000)).toBe(5);
      expect(await cache.setManyIfAbsent(['a', 'b'], '1', 60_000)).toEqual([true, true]);
      await cache.set('lock', 'mine', 60_000);
      expect(await cache.deleteIfEquals('lock', 'mine')).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it('refuses an empty key prefix', () => {
    expect(() => createRedisCache({ url: redisUrl, keyPrefix: '' })).toThrow(/keyPrefix/);
  });
});

type AnswerGate = Awaited<ReturnType<typeof answerGate>>;

/** A cache (400 ms command timeout) that reaches the real Redis through an answer gate. */
async function behindAnswerGate(label: string, fn: (cache: Cache, gate: AnswerGate) => Promise<void>) {
  const gate = await answerGate(new URL(redisUrl));
  const cache = createRedisCache({
    url: `redis://127.0.0.1:${gate.port}`,
    keyPrefix: `${ns.prefix}${uniqueName(label)}`,
    commandTimeoutMs: 400,
  });
  try {
    await fn(cache, gate);
  } finally {
    await cache.close(); // a second close is harmless
    await gate.close();
  }
}

/**
 * A TCP proxy to the real Redis whose answers can be held back: with `answering` false, commands
 * still reach Redis but their replies are dropped, as from a paused server or a black-holed link;
 * with `delayMs`, each reply arrives that much later, as from a loaded server.
 */
async function answerGate(target: URL) {
  const sockets = new Set<Socket>();
  const gate = { answering: true, delayMs: 0, connections: 0, port: 0, close: () => Promise.resolve() };
  const server: Server = createServer((client) => {
    gate.connections++;
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!gate.answering) return;
      if (gate.delayMs > 0) setTimeout(() => client.write(chunk), gate.delayMs);
      else client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.port = (server.address() as { port: number }).port;
  gate.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return gate;
}
