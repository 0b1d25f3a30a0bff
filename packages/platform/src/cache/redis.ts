/**
 * Redis behind the `Cache` interface, on node-redis (`@redis/client`), not ioredis (the design
 * card's pick). Measured on the same Redis (`bench/cache-promotion.bench.ts`, and the README's
 * figures): ioredis keeps every command it has answered alive through the next two scavenges,
 * so at device-ingest's ~670 heartbeats a second (one nonce `SET NX` each) it promoted ~1 MB/s
 * of dead commands to the old generation — garbage only mark-compacts can free — where
 * node-redis and a raw RESP socket promote nothing (device-ingest under heartbeats alone went
 * from 4.1–4.3 to 2.9–3.0 MB/s promoted with the switch); and node-redis spends less than half
 * the CPU per command (2.8 against 6.3 µs with 128 commands in flight). Both pipeline the
 * commands issued in one turn of the event loop into one write.
 *
 * Atomic operations are single commands (SET NX PX) or Lua scripts (EVALSHA, and EVAL once when
 * Redis answers NOSCRIPT, after a restart or a flush). The client reconnects forever with capped
 * exponential back-off; commands issued while it is away wait for the connection.
 *
 * The command timeout is a watchdog rather than a timer per command: node-redis arms an
 * `AbortSignal.timeout` per command when asked, which doubled its CPU per command (6.5 → 13 µs
 * in a small program, 128 in flight). Answers come in order on one connection, so when commands
 * wait and nothing has been answered for the timeout (since the last answer, or since the first
 * command after a quiet spell), the connection is stuck (Redis paused, a
 * black-holed network, or away): the watchdog destroys the client — every command waiting on it
 * fails — and opens a fresh one. A command therefore fails at most 1.25 × the timeout after
 * Redis stopped answering, and callers degrade.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, defineScript, type CommandParser } from '@redis/client';
import type { ArrayReply, NumberReply } from '@redis/client/dist/lib/RESP/types.js';
import type { Cache } from './types.ts';
import { checkIncrement, checkKey, checkTtl, normalizePrefix } from './keys.ts';

export interface CacheLogger {
  warn(obj: object, msg?: string): void;
}

export interface RedisCacheOptions {
  /** redis://[[user]:password@]host:port[/db] or rediss:// (TLS) — never logged. */
  readonly url: string;
  /** The service's namespace; every key is stored as `<keyPrefix>:<key>`. */
  readonly keyPrefix: string;
  /** Commands that get no answer for this long fail (the watchdog above). Default 2000 ms. */
  readonly commandTimeoutMs?: number;
  /** Opening a connection gives up after this long (then reconnects with back-off). Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Where connection errors are reported (throttled to one per 10 s). Default: silent. */
  readonly logger?: CacheLogger;
}

// Scripts run by EVALSHA; node-redis sends EVAL instead when Redis answers NOSCRIPT (after a
// restart or a flush), which loads them again. `transformReply` only types the reply, the way
// node-redis declares its own commands: the reply is used as Redis sends it.
const SCRIPTS = {
  // Counter: INCRBY, and set the TTL only when this call created the key.
  increment: defineScript({
    SCRIPT: `
local created = redis.call('EXISTS', KEYS[1]) == 0
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, key: string, by: number, ttlMs: number) {
      parser.pushKey(key);
      parser.push(String(by), String(ttlMs));
    },
    transformReply: undefined as unknown as () => NumberReply,
  }),
  // Compare-and-delete: only the holder that stored `value` may delete (lock release).
  deleteIfEquals: defineScript({
    SCRIPT: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
    NUMBER_OF_KEYS: 1,
    parseCommand(parser: CommandParser, key: string, value: string) {
      parser.pushKey(key);
      parser.push(value);
    },
    transformReply: undefined as unknown as () => NumberReply,
  }),
  // SET NX PX of every key in one command: a pipeline of N SETs costs the client N commands,
  // N parsed replies and N promises, which the ingest path paid per event.
  setManyIfAbsent: defineScript({
    SCRIPT: `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('SET', key, ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0
end
return out`,
    parseCommand(parser: CommandParser, keys: string[], value: string, ttlMs: number) {
      parser.pushKeysLength(keys); // the number of keys, then the keys
      parser.push(value, String(ttlMs));
    },
    transformReply: undefined as unknown as () => ArrayReply<NumberReply>,
  }),
};

/** Fails every command still waiting on the client and closes its socket. */
function destroy(client: { destroy(): void }): void {
  try {
    client.destroy();
  } catch {
    // ClientClosedError: already closed, nothing waits on it.
  }
}

export function createRedisCache(options: RedisCacheOptions): Cache {
  const prefix = normalizePrefix(options.keyPrefix);
  const commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
  let lastLogged = 0;
  const warn = (err: Error, msg: string) => {
    const now = Date.now();
    if (options.logger && now - lastLogged > 10_000) {
      lastLogged = now;
      options.logger.warn({ err: { name: err.name, message: err.message } }, msg);
    }
  };
  const open = () => {
    const opened = createClient({
      url: options.url,
      scripts: SCRIPTS,
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 5_000,
        reconnectStrategy: (retries) => Math.min(50 * 2 ** Math.min(retries, 10), 2_000),
      },
    });
    // Without a listener node-redis would throw its connection errors out of the process.
    opened.on('error', (err: Error) => warn(err, 'redis cache: connection error'));
    opened.connect().catch(() => undefined); // a destroyed client's connect rejects; errors are logged above
    return opened;
  };
  let client = open();
  let waiting = 0;
  /** The last answer, or the first command sent since none was waiting. */
  let lastAnswerAt = performance.now();
  const watchdog = setInterval(
    () => {
      if (waiting === 0 || performance.now() - lastAnswerAt < commandTimeoutMs) return;
      const stuck = client;
      client = open();
      lastAnswerAt = performance.now();
      warn(new Error(`no answer for ${commandTimeoutMs} ms`), 'redis cache: connection replaced');
      destroy(stuck);
    },
    Math.max(25, commandTimeoutMs / 4),
  );
  watchdog.unref();

  /** Every command goes through here: the watchdog counts what waits for an answer. */
  const track = async <T>(command: (redis: typeof client) => Promise<T>): Promise<T> => {
    // After a quiet spell the wait starts with this command, not with the last answer.
    if (waiting++ === 0) lastAnswerAt = performance.now();
    try {
      return await command(client);
    } finally {
      waiting--;
      lastAnswerAt = performance.now();
    }
  };
  const send = <T>(args: string[]): Promise<T> => track((redis) => redis.sendCommand<T>(args));
  const k = (key: string) => {
    checkKey(key);
    return prefix + key;
  };
  const setNx = async (name: string, value: string, ttl: number) =>
    (await send<string | null>(['SET', name, value, 'PX', String(ttl), 'NX'])) === 'OK';

  return {
    async get(key) {
      return send<string | null>(['GET', k(key)]);
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return send<(string | null)[]>(['MGET', ...keys.map(k)]);
    },
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await send(['SET', k(key), value]);
      else await send(['SET', k(key), value, 'PX', String(checkTtl(ttlMs))]);
    },
    async setIfAbsent(key, value, ttlMs) {
      return setNx(k(key), value, checkTtl(ttlMs));
    },
    async setManyIfAbsent(keys, value, ttlMs) {
      if (keys.length === 0) return [];
      const ttl = checkTtl(ttlMs);
      const names = keys.map(k);
      if (names.length === 1) return [await setNx(names[0]!, value, ttl)];
      const replies = await track((redis) => redis.setManyIfAbsent(names, value, ttl));
      if (replies.length !== names.length) throw new Error('redis cache: script answered short');
      return replies.map((reply) => reply === 1);
    },
    async increment(key, by = 1, ttlMs) {
      checkIncrement(by);
      const ttl = ttlMs === undefined ? 0 : checkTtl(ttlMs);
      return Number(await track((redis) => redis.increment(k(key), by, ttl)));
    },
    async delete(key) {
      await send(['DEL', k(key)]);
    },
    async deleteIfEquals(key, value) {
      return (await track((redis) => redis.deleteIfEquals(k(key), value))) === 1;
    },
    async ttl(key) {
      const ms = await send<number>(['PTTL', k(key)]);
      return ms < 0 ? null : ms;
    },
    async check() {
      const pong = await send<string>(['PING']);
      if (pong !== 'PONG') throw new Error(`redis cache: unexpected PING answer ${pong}`);
    },
    async close() {
      clearInterval(watchdog);
      // The commands already sent get their answers, but a connection that stopped answering
      // does not hold the shutdown for longer than the timeout.
      const giveUpAt = performance.now() + commandTimeoutMs;
      while (waiting > 0 && performance.now() < giveUpAt) await sleep(10);
      destroy(client);
    },
  };
}
