/**
 * Cache promotion benchmark (a diagnostic command, not a test): what one `SET NX PX` per request
 * costs the garbage collector through the Redis cache (`createRedisCache`, node-redis), through
 * ioredis called directly (the client the cache used before: the reason it no longer does), and
 * through a raw RESP client on a plain socket (the baseline), on the local Redis
 * (`./anfang infra up`).
 *
 *   node packages/platform/bench/cache-promotion.bench.ts [--rate 670] [--seconds 8] [--hold-objects 100]
 *
 * Each client runs in a child process of its own (a fresh heap, the chart's 16 MiB semi-space)
 * that answers `rate` requests a second — device-ingest's heartbeats, a nonce each, ~670 a
 * second for 20 000 devices — measured after 3 s of the same load (start-up's own objects are
 * promoted by the first scavenges). A request builds `hold-objects` small objects, spends its
 * nonce and reads them after the answer, while as much again is allocated and dropped at once.
 * It prints how long the requests waited for their answers, what the scavenges moved to the old
 * generation (`recordPromotion` of @anfang/testing), the mark-compacts that garbage costs, the
 * GC time and the process's CPU per request. A request lives well under a millisecond, far less
 * than the time between two scavenges, so nothing of it should be promoted: the raw client
 * shows that floor. Then each client runs 1 500 rounds of 128 `SET NX PX` at once (a saturated
 * service's commands in flight) and the CPU per command is printed.
 */
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { infraEnv, printTable, recordPromotion, type Promotion } from '@anfang/testing';
import { createRedisCache } from '../src/cache/index.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '670' },
    seconds: { type: 'string', default: '8' },
    'hold-objects': { type: 'string', default: '100' },
    child: { type: 'string' },
  },
});
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const holdObjects = Number(args['hold-objects']);
const WARM_UP_MS = 3_000;

type SetIfAbsent = (key: string) => Promise<boolean>;
interface ChildResult extends Promotion {
  readonly requests: number;
  /** How long a request waited for its answer, ms: how long its objects needed to live. */
  readonly p50Ms: number;
  readonly maxMs: number;
  /** The child's CPU (user + system) over the measured seconds, µs per request. */
  readonly cpuUsPerRequest: number;
  /** CPU per command with BURST_IN_FLIGHT commands in flight, back to back (µs). */
  readonly burstCpuUsPerCommand: number;
}

/** Commands in flight in the burst that follows the paced run: a saturated service's share. */
const BURST_IN_FLIGHT = 128;
const BURST_ROUNDS = 1_500;

const CLIENTS = [
  'raw RESP socket (baseline)',
  'ioredis, set(prefix + key) awaited',
  'Redis cache (node-redis)',
] as const;
type ClientName = (typeof CLIENTS)[number];

/** SET key 1 PX 60000 NX over one socket, answers matched in order: no library in between. */
async function rawClient(url: URL, prefix: string): Promise<{ set: SetIfAbsent; close(): void }> {
  const socket = connect(Number(url.port), url.hostname);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const waiting: ((line: string) => void)[] = [];
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    for (let end = pending.indexOf('\r\n'); end >= 0; end = pending.indexOf('\r\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      waiting.shift()?.(line);
    }
  });
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  return {
    set: (key) =>
      new Promise((resolve) => {
        waiting.push((line) => resolve(line === '+OK'));
        socket.write(
          `*6\r\n${bulk('SET')}${bulk(prefix + key)}${bulk('1')}${bulk('PX')}${bulk('60000')}${bulk('NX')}`,
        );
      }),
    close: () => socket.destroy(),
  };
}

async function runChild(name: ClientName): Promise<ChildResult> {
  const url = infraEnv().redisUrl;
  // Every client's keys under the bench's own prefix, gone a minute after the run (PX 60 000).
  const keyPrefix = `bench-promotion-${process.pid}`;
  let client: { set: SetIfAbsent; close(): Promise<void> | void };
  if (name === 'ioredis, set(prefix + key) awaited') {
    const redis = new Redis(url, { enableAutoPipelining: false, commandTimeout: 2_000 });
    client = {
      set: (key) => redis.set(`${keyPrefix}:` + key, '1', 'PX', 60_000, 'NX').then((reply) => reply === 'OK'),
      close: () => void redis.disconnect(),
    };
  } else if (name === 'Redis cache (node-redis)') {
    const cache = createRedisCache({ url, keyPrefix });
    client = { set: (key) => cache.setIfAbsent(key, '1', 60_000), close: () => cache.close() };
  } else client = await rawClient(new URL(url), `${keyPrefix}:`);
  await client.set('warm-up');

  let requests = 0;
  let waits: number[] = [];
  let kept = 0;
  const request = async (n: number): Promise<void> => {
    const held = Array.from({ length: holdObjects }, (_, i) => ({ i, label: `part-${i}` }));
    const sent = performance.now();
    if (await client.set(`nonce:${n}`)) kept += held.length;
    waits.push(performance.now() - sent);
    requests++;
  };
  const promotion = recordPromotion();
  let n = 0;
  let dropped: unknown;
  const perTick = rate / 100;
  let due = 0;
  const ticker = setInterval(() => {
    for (due += perTick; due >= 1; due--) void request(n++);
    for (let i = 0; i < holdObjects * perTick; i++) dropped = { i, label: `temp-${i}` };
  }, 10);
  // What start-up left live (modules, the client) is promoted by the first scavenges: not measured.
  await sleep(WARM_UP_MS);
  promotion.take();
  requests = 0;
  waits = [];
  const cpuFrom = process.cpuUsage();
  await sleep(seconds * 1000);
  clearInterval(ticker);
  const promoted = promotion.take();
  const cpu = process.cpuUsage(cpuFrom);
  // Read once, so that neither the held objects nor the dropped ones are optimised away.
  void dropped;
  void kept;
  const burst = async (rounds: number, tag: string) => {
    for (let round = 0; round < rounds; round++)
      await Promise.all(
        Array.from({ length: BURST_IN_FLIGHT }, (_, i) => client.set(`burst:${tag}:${round}:${i}`)),
      );
  };
  await burst(200, 'warm-up');
  const burstFrom = process.cpuUsage();
  await burst(BURST_ROUNDS, 'measured');
  const burstCpu = process.cpuUsage(burstFrom);
  await client.close();
  waits.sort((a, b) => a - b);
  return {
    requests,
    ...promoted,
    p50Ms: waits[waits.length >> 1] ?? 0,
    maxMs: waits.at(-1) ?? 0,
    cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, requests),
    burstCpuUsPerCommand: (burstCpu.user + burstCpu.system) / (BURST_ROUNDS * BURST_IN_FLIGHT),
  };
}

function inChild(name: ClientName): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(
      new URL(import.meta.url).pathname,
      [
        '--child',
        name,
        '--rate',
        String(rate),
        '--seconds',
        String(seconds),
        '--hold-objects',
        String(holdObjects),
      ],
      { execArgv: ['--max-semi-space-size=16'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    child.once('message', (m) => resolve(m as ChildResult));
    child.once('exit', (code) =>
      code === 0 ? undefined : reject(new Error(`${name}: child exited with ${code}`)),
    );
  });
}

if (args.child) {
  if (!process.send) throw new Error('--child is how this bench starts its own children: run it without');
  const result = await runChild(args.child as ClientName);
  // Disconnecting the IPC channel lets the child end once the result is sent (nothing else is open).
  process.send(result, () => process.disconnect());
} else {
  console.log(
    `cache promotion: ${rate} requests/s for ${seconds} s, each holding ${holdObjects} objects across one SET NX PX; a child process per client (--max-semi-space-size=16)`,
  );
  const rows: string[][] = [];
  for (const name of CLIENTS) {
    const r = await inChild(name);
    rows.push([
      name,
      String(r.requests),
      `${r.p50Ms.toFixed(2)}/${r.maxMs.toFixed(1)}`,
      (r.bytes / 1e6 / seconds).toFixed(2),
      String(r.scavenges),
      String(r.markCompacts),
      (r.gcMs / seconds).toFixed(1),
      r.cpuUsPerRequest.toFixed(1),
      r.burstCpuUsPerCommand.toFixed(1),
    ]);
  }
  printTable(
    [
      'client',
      'requests',
      'answered p50/max ms',
      'promoted MB/s',
      'scavenges',
      'mark-compacts',
      'GC ms/s',
      'CPU µs/request',
      `burst: CPU µs/command (${BURST_IN_FLIGHT} in flight)`,
    ],
    rows,
  );
}
