/**
 * device-ingest benchmark (a command, not a test): events/s and acknowledge latency of the real
 * service, from device request to "on Kafka", beside a raw batched kafkajs producer of the same
 * normalised payloads, in one run on the local infrastructure (`./anfang infra up`), loopback only.
 *
 *   node services/device-ingest/bench/ingest.bench.ts [--devices 20000] [--gat-devices 200]
 *        [--duration-s 20] [--paced-s 10] [--rate 2000] [--concurrency 64] [--batch 20]
 *        [--image-every 10] [--only generic|gat1400|raw] [--cpu-prof DIR] [--heap-snapshot DIR]
 *        [--node-options='--max-semi-space-size=32 …'] [--redis-db 9] [--heartbeat-s 30]
 *
 * The service runs as a child process (src/service.ts, its production defaults, LOG_LEVEL=warn)
 * in a fresh database and bucket, publishing to the catalogue topics; its Redis keys go to their
 * own logical database (`--redis-db`, flushed at the end: the 8-day dedupe marks would otherwise
 * stay). Devices are registered through the gRPC registry (ImportDevices, CSV chunks); the
 * GA/T 1400 cameras then register with HTTP Digest like a camera does.
 *
 * The devices behave like real ones: every device keeps alive every `--heartbeat-s` (the status
 * policy's 30 s; generic devices a signed heartbeat, GA/T 1400 cameras a Keepalive: 20 000 devices
 * are ~670 requests/s, real load on the service throughout; one outstanding per device, a heartbeat due while the last is unanswered is
 * skipped and counted; 0: none, the old bench, where every device came online with its first
 * event and timed out 90 s after its last, inside the measured phases). The first round — every
 * device coming online within one interval, as after a restart — is a phase of its own, where
 * the cost of a mass transition is measured; then 10 s of heartbeats alone (the CPU a heartbeat
 * costs, the baseline of "settle").
 *
 * Scenarios, each `--duration-s` closed-loop at saturation (`--concurrency` requests in flight,
 * keep-alive sockets), then `--paced-s` open-loop (latency counted from the scheduled send time,
 * so a stall is not hidden by coordinated omission): generic ×B at `--rate` events/s (the goal's
 * 2 000), the others at 70 % of their own saturation rate (at most `--rate`: beyond its capacity
 * an open loop measures its queue). Before each phase the service settles: until its CPU is back
 * within 0.1 core of heartbeats alone (at most 30 s), so a phase does not pay for the last one's
 * garbage, transitions and outbox rounds.
 *   generic ×1      POST /api/v1/device/events, one event per request, signed per request
 *   generic ×B      the same, B events per request
 *   GA/T 1400 ×B    POST /VIID/Faces and /VIID/MotorVehicles alternately, B objects per request,
 *                   each with its two base64 pictures (the real shape: two S3 puts per event)
 *   kafkajs raw     idempotent, acks=all producer (the bus's guarantees) sending FaceCaptured
 *                   encoded with the contracts codec, 500 per send: the baseline. To its own topic
 *                   (RAW_TOPIC, created with the catalogue topic's partition count and deleted
 *                   afterwards), so it never floods the shared face-captured topic other tests read
 *   floor           the raw producer again, each batch's pictures (1 in `--image-every`) PUT first
 *                   through the platform's S3 client, one object each under the service's keys:
 *                   the work SPEC § 3 asks per event and nothing more (no HTTP, signature, dedupe
 *                   or answer) — what any ingest service could reach beside the raw producer here
 *   S3 PUT loop     the GA/T pictures PUT straight to the same bucket, 64 in flight (the service's
 *                   S3 socket pool): the store's own ceiling on this machine, the GA/T row's baseline
 * One in `--image-every` generic events carries a 337-byte JPEG (one S3 put).
 * RSS is the child's VmRSS (/proc), idle after a GC with every device loaded, and its peak under
 * load; heap is its process.memoryUsage().
 *
 * Phase by phase (heartbeat round, each saturation, each paced phase, each settle) the run prints
 * the service's CPU, its peak RSS, heap, external memory and anonymous memory (smaps_rollup) at
 * the phase's end, the event-loop delay, stalls and every GC pause (bench/service-probe.ts,
 * preloaded into the child), and the devices whose status changed (device_activity). Every
 * acknowledgement of a paced phase over 50 ms is set against them: during a GC pause, during
 * another stall of the event loop, or neither (waiting on Kafka, Redis, S3, Postgres or the CPU),
 * and whether a device transition committed while it waited.
 *
 * Diagnostics: `--cpu-prof DIR` writes one CPU profile of the service per scenario's saturation
 * phase (`DIR/<scenario>.cpuprofile`, recorded through the inspector, so start-up and device
 * registration stay out of it), one per paced phase (`<scenario>-paced.cpuprofile`) and one of
 * the heartbeats alone (`heartbeats-only.cpuprofile`); `--heap-snapshot DIR` writes `idle.heapsnapshot` (after the GC)
 * and `loaded.heapsnapshot` (after the scenarios); `--node-options` adds Node/V8 flags to the
 * service's own (the chart's NODE_OPTIONS, which the child gets like the rest of the chart's
 * environment of the component), e.g. to compare heap sizes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import pg from 'pg';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { allTopics, anfang, DeviceRegistryService, topics } from '@anfang/contracts';
import { uuidv7 } from '@anfang/platform/bus';
import { generateKey } from '@anfang/platform/crypto';
import { callerInterceptor } from '@anfang/platform/auth';
import { createGrpcClient } from '@anfang/platform/grpc';
import {
  createTestBucket,
  createTestDatabase,
  createTopicsWithLeaders,
  ensureTopics,
  infraEnv,
  kafkaClient,
  type TestBucket,
  type TestDatabase,
  printTable,
  reportGoals,
  s3StoreOptions,
  SERVICE_CHILD,
  SERVICE_CHILD_FILES,
  GC_PROMOTION_FILE,
  type BenchGoal,
  machineCpu,
  type AccountedProcess,
  type CpuAccount,
  type MachineCpu,
} from '@anfang/testing';
import { status as infraStatus } from '@anfang/infra';
import { bundle, repoRoot } from '@anfang/chart/bundle';
import { createS3ObjectStore } from '@anfang/platform/objects';
import {
  FACE_JPEG_BASE64,
  faceObject,
  motorVehicleObject,
  PLATE_JPEG_BASE64,
} from '@anfang/gat1400/fixtures';
import { digestAuthorization } from '@anfang/gat1400';
import { captureImageObject } from '../src/domain/image-keys.ts';
import { sign } from '../src/domain/signature.ts';
import type { AcceptTimings } from '../src/ingest/pipeline.ts';
import type { Pause, ProbeReading, PutTimings } from './service-probe.ts';

/** The bench registers its devices as a provisioning service, like the simulator. */
const CALLER_TOKEN_KEY = generateKey();
const INSTALLER = { subject: 'svc:bench', role: 'service', compounds: 'all' } as const;

// ---- arguments -----------------------------------------------------------------------------------

function options() {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '20000' },
      'gat-devices': { type: 'string', default: '200' },
      'duration-s': { type: 'string', default: '20' },
      'paced-s': { type: 'string', default: '10' },
      rate: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '64' },
      batch: { type: 'string', default: '20' },
      'image-every': { type: 'string', default: '10' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'heap-snapshot': { type: 'string' },
      'node-options': { type: 'string', default: '' },
      'redis-db': { type: 'string', default: '9' },
      'raw-batch': { type: 'string', default: '500' },
      'heartbeat-s': { type: 'string', default: String(DEFAULT_HEARTBEAT_S) },
    },
  });
  return {
    devices: Number(values.devices),
    gatDevices: Number(values['gat-devices']),
    durationMs: Number(values['duration-s']) * 1000,
    pacedMs: Number(values['paced-s']) * 1000,
    rate: Number(values.rate),
    concurrency: Number(values.concurrency),
    batch: Number(values.batch),
    imageEvery: Math.max(1, Number(values['image-every'])),
    only: values.only,
    cpuProf: values['cpu-prof'],
    heapSnapshot: values['heap-snapshot'],
    nodeOptions: values['node-options'].split(/\s+/).filter((x) => x !== ''),
    redisDb: Number(values['redis-db']),
    rawBatch: Number(values['raw-batch']),
    heartbeatMs: Number(values['heartbeat-s']) * 1000,
  };
}

// ---- helpers -------------------------------------------------------------------------------------

const now = (): number => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '—';
const mib = (bytes: number): string => `${fmt(bytes / 1048576, 0)} MiB`;

class Latencies {
  private values = new Float64Array(1 << 16);
  private n = 0;
  add(ms: number): void {
    if (this.n === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = ms;
  }
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const sorted = this.values.slice(0, this.n).sort();
    return sorted[Math.min(this.n - 1, Math.floor(q * this.n))]!;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

function post(
  agent: Agent,
  port: number,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The child's resident set from /proc (bytes). */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * Which malloc the child runs on: jemalloc when the chart's LD_PRELOAD found the library (the
 * image installs libjemalloc2; here it comes with Debian's redis-server), glibc's otherwise.
 */
function mallocOf(pid: number): string {
  if (readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libjemalloc')) return 'jemalloc';
  return SERVICE_ENV.LD_PRELOAD?.includes('jemalloc')
    ? `glibc (the chart preloads ${SERVICE_ENV.LD_PRELOAD}, not installed here: apt-get install libjemalloc2)`
    : 'glibc';
}

/** The child's anonymous resident memory (bytes; heap, malloc, buffers — not code) from smaps_rollup. */
function anonymousOf(pid: number): number {
  const m = /^Anonymous:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * Devices whose online status changed since `since` (device_activity.status_changed_at, the
 * transition's commit time; a device changing twice counts once), and those times (epoch ms).
 */
async function transitionsSince(
  db: TestDatabase,
  since: Date,
): Promise<{ online: number; offline: number; at: number[] }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; at: Date }>(
      'SELECT status, status_changed_at AS at FROM device_activity WHERE status_changed_at >= $1',
      [since],
    );
    return {
      online: rows.filter((r) => r.status === 'online').length,
      offline: rows.filter((r) => r.status === 'offline').length,
      at: rows.map((r) => r.at.getTime()),
    };
  } finally {
    await client.end();
  }
}

/** How much of [start, start + ms] the pauses cover, ms. */
function overlapMs(window: Pause, pauses: readonly Pause[]): number {
  let covered = 0;
  for (const p of pauses)
    covered += Math.max(
      0,
      Math.min(window.start + window.ms, p.start + p.ms) - Math.max(window.start, p.start),
    );
  return covered;
}

/**
 * What the slow acknowledgements of an open-loop phase waited on: a GC pause of ≥ 20 ms inside
 * its wait, else an event-loop stall of ≥ 20 ms without one (the service's own synchronous work),
 * else neither (the wait was elsewhere: Kafka, Redis, S3, Postgres, or the CPU given to others);
 * and how many had a device transition commit during their wait.
 */
function explainSlow(slow: readonly Pause[], probe: ProbeReading, transitionsAt: readonly number[]) {
  const explained = {
    slow: slow.length,
    gc: 0,
    stall: 0,
    neither: 0,
    withTransitions: 0,
    gcShare: 0,
    stallShare: 0,
  };
  for (const ack of slow) {
    const gc = overlapMs(ack, probe.gcs);
    const stall = overlapMs(ack, probe.stalls);
    if (gc >= 20) explained.gc++;
    else if (stall >= 20) explained.stall++;
    else explained.neither++;
    explained.gcShare += gc / ack.ms / slow.length;
    explained.stallShare += Math.max(0, stall - gc) / ack.ms / slow.length;
    if (transitionsAt.some((t) => t >= ack.start && t <= ack.start + ack.ms)) explained.withTransitions++;
  }
  return explained;
}

/** An open-loop acknowledgement: from its scheduled time (epoch ms), and the device that sent it. */
interface Ack extends Pause {
  readonly deviceId?: string | undefined;
}

/** The stages of an acknowledgement's time, ms, in the order they happen (see ackStages). */
const STAGES = [
  ['toService', 'to the service (send, body read)'],
  ['auth', 'auth and parse'],
  ['check', 'dedupe MGET and nonce'],
  ['images', 'pictures stored (PUTs)'],
  ['imagesPublished', 'their events published after'],
  ['plainPublished', 'events without pictures published'],
  ['marks', 'then to the resolve (dedupe marks)'],
  ['answer', 'answer back'],
] as const;
type Stage = (typeof STAGES)[number][0];

/**
 * Where the acknowledgements of an open-loop phase spent their time, stage by stage: each matched
 * to its `accept` call's record (service-probe.ts: same device, inside its wait). The pictures and
 * the events without pictures run side by side after the dedupe check; the later of the two
 * branches is on the acknowledgement's path. Stages a request did not have (no pictures) are left
 * out of that stage's figures.
 */
function ackStages(acks: readonly Ack[], probe: ProbeReading) {
  const byDevice = new Map<string, AcceptTimings[]>();
  for (const t of probe.accepts) {
    const list = byDevice.get(t.deviceId);
    if (list) list.push(t);
    else byDevice.set(t.deviceId, [t]);
  }
  const all = new Map<Stage, Latencies>(STAGES.map(([k]) => [k, new Latencies()]));
  const slowSums = new Map<Stage, { sum: number; n: number }>(STAGES.map(([k]) => [k, { sum: 0, n: 0 }]));
  let matched = 0;
  let slow = 0;
  let slowPicturesLast = 0;
  for (const ack of acks) {
    const answeredAt = ack.start + ack.ms;
    // Epochs of two processes (the service's receive time has ms resolution): a millisecond's slack.
    const t = byDevice
      .get(ack.deviceId ?? '')
      ?.find((r) => r.received >= ack.start - 1 && r.end !== undefined && r.end <= answeredAt + 1);
    if (!t || t.checked === undefined || t.end === undefined) continue;
    matched++;
    const published = Math.max(t.plainPublished ?? t.checked, t.imagesPublished ?? t.checked);
    const stages: Partial<Record<Stage, number>> = {
      toService: t.received - ack.start,
      auth: t.start - t.received,
      check: t.checked - t.start,
      marks: t.end - published,
      answer: answeredAt - t.end,
      ...(t.stored !== undefined
        ? { images: t.stored - t.checked, imagesPublished: (t.imagesPublished ?? t.stored) - t.stored }
        : {}),
      ...(t.plainPublished !== undefined ? { plainPublished: t.plainPublished - t.checked } : {}),
    };
    const isSlow = ack.ms > SLOW_MS;
    if (isSlow) {
      slow++;
      if ((t.imagesPublished ?? 0) > (t.plainPublished ?? 0)) slowPicturesLast++;
    }
    for (const [k, v] of Object.entries(stages) as [Stage, number][]) {
      all.get(k)!.add(v);
      if (isSlow) {
        const s = slowSums.get(k)!;
        s.sum += v;
        s.n++;
      }
    }
  }
  return {
    acks: acks.length,
    matched,
    slow,
    slowPicturesLast,
    stages: STAGES.map(([k, label]) => {
      const s = slowSums.get(k)!;
      return {
        label,
        p50: all.get(k)!.quantile(0.5),
        p99: all.get(k)!.quantile(0.99),
        slowMean: s.n ? s.sum / s.n : NaN,
      };
    }),
    puts: putFigures(probe.puts),
  };
}

/** The service's S3 PUTs of a phase: how long each waited for a socket and for its answer. */
function putFigures(puts: readonly PutTimings[]) {
  const waited = new Latencies();
  const answered = new Latencies();
  for (const p of puts) {
    if (p.socket === undefined || p.answered === undefined) continue;
    waited.add(p.socket - p.created);
    answered.add(p.answered - p.created);
  }
  return {
    count: puts.length,
    socketP50: waited.quantile(0.5),
    socketP99: waited.quantile(0.99),
    answerP50: answered.quantile(0.5),
    answerP99: answered.quantile(0.99),
    answerMax: answered.quantile(1),
  };
}

/** One phase of the service's life in the run: its memory, pauses and device transitions. */
interface PhaseRecord {
  readonly name: string;
  readonly seconds: number;
  readonly peakRss: number;
  readonly end: NodeJS.MemoryUsage;
  readonly anon: number;
  readonly cores: number;
  readonly probe: ProbeReading;
  readonly transitions: { online: number; offline: number };
  readonly heartbeats?: {
    answered: number;
    errors: number;
    skipped: number;
    p50: number;
    p99: number;
    firstError?: string | undefined;
  };
  readonly explained?: ReturnType<typeof explainSlow>;
  readonly stages?: ReturnType<typeof ackStages>;
  /** This process's own event-loop delay p99 and max (ms): a late client reads as a slow service. */
  readonly clientLoop: { p99: number; max: number };
  /** Where the machine's cores went meanwhile. */
  readonly machine?: CpuAccount | undefined;
}

/** The benchmark's own event loop: its stalls delay the answers it times. */
const clientLoop = monitorEventLoopDelay({ resolution: 5 });
clientLoop.enable();

const isLoad = (x: unknown): x is LoadResult =>
  typeof x === 'object' && x !== null && 'events' in x && 'p99' in x;

/** FLUSHDB on one logical database of the infrastructure's Redis (plain RESP, no client library). */
async function flushRedisDb(url: string, db: number): Promise<void> {
  const u = new URL(url);
  await new Promise<void>((resolve) => {
    const socket = connect(Number(u.port || 6379), u.hostname);
    const cmd = (...args: string[]) =>
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    let auth = '';
    if (u.password) auth = u.username ? cmd('AUTH', u.username, u.password) : cmd('AUTH', u.password);
    socket.on('connect', () => socket.write(auth + cmd('SELECT', String(db)) + cmd('FLUSHDB') + cmd('QUIT')));
    socket.resume(); // read the replies, so the server's close is seen
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

/**
 * The environment the chart gives the device-ingest component (charts/anfang/values.yaml,
 * `components.device-ingest.env`: its Node/V8 flags in NODE_OPTIONS, malloc settings), read from
 * there so that the benchmark measures the service as it is deployed.
 */
function chartEnv(): Record<string, string> {
  const values = readFileSync(new URL('../../../charts/anfang/values.yaml', import.meta.url), 'utf8');
  const component = /\n {2}device-ingest:\n((?: {4}.*\n|[ \t]*\n)*)/.exec(values)?.[1];
  if (component === undefined) throw new Error('charts/anfang/values.yaml has no components.device-ingest');
  const env = /\n {4}env:\n((?: {6}.*\n|[ \t]*\n)*)/.exec(`\n${component}`)?.[1] ?? '';
  return Object.fromEntries(
    [...env.matchAll(/^ {6}([A-Z][A-Z0-9_]*): '([^']*)'$/gm)].map((m) => [m[1]!, m[2]!] as const),
  );
}
const SERVICE_ENV = chartEnv();

/** A scenario's name as a file name. */
const profileName = (scenario: string): string =>
  scenario.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Preloaded into the service child: its GC pauses and event-loop stalls. */
const PROBE = new URL('./service-probe.ts', import.meta.url).pathname;

/** The status policy's heartbeat interval (DEVICE_HEARTBEAT_INTERVAL_MS's default), seconds. */
const DEFAULT_HEARTBEAT_S = 30;

/**
 * Scenarios other than the one the latency goal names are paced at this share of their own
 * saturation rate (at most `--rate`): beyond their capacity the open loop measures a queue.
 */
const PACED_SHARE = 0.7;

/** Where the service's deployable bundle is built for the run (productionChild). */
const BUNDLE_DIR = new URL('../../../.cache/bench/device-ingest-bundle', import.meta.url).pathname;

/** The service's own log (stdout and stderr) of the last run. */
const LOG_FILE = new URL('../../../.cache/bench/device-ingest.log', import.meta.url).pathname;

// ---- the child process ---------------------------------------------------------------------------

/** V8 heap spaces of the child (bytes): committed size and live size. */
type HeapSpaces = Record<string, { size: number; used: number }>;

interface Child {
  readonly proc: ChildProcess;
  readonly ports: { grpc: number; http: number; device: number };
  mem(gc?: boolean): Promise<{ mem: NodeJS.MemoryUsage; cpu: NodeJS.CpuUsage; spaces?: HeapSpaces }>;
  /**
   * GC pauses, event-loop stalls and delay since the last call (service-probe.ts); with `trace`,
   * the accepts' stages and the S3 PUTs are recorded until the next call.
   */
  probe(trace?: boolean): Promise<ProbeReading>;
  /** A diagnostic (service-child.ts): CPU profile start/stop, heap snapshot; `path` of the file. */
  diagnose(type: 'profile-start' | 'profile-stop' | 'heap-snapshot', path?: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The service as its image runs it: from the deployable bundle, through its loader hook, so that
 * the measured RSS is the image's (without Node's type stripper: see tools/chart/src/bundle.ts).
 * The child script and the probe go into the bundle too, stripped the same way.
 */
function productionChild(): { child: string; service: string; probe: string; execArgv: string[] } {
  const built = bundle('services/device-ingest', BUNDLE_DIR, {
    extraFiles: [...SERVICE_CHILD_FILES, GC_PROMOTION_FILE, PROBE],
  });
  const inBundle = (path: string): string => join(built.outDir, relative(repoRoot, path));
  return {
    child: inBundle(SERVICE_CHILD),
    service: join(built.packageDir, 'src', 'service.ts'),
    probe: inBundle(PROBE),
    execArgv: [`--import=${built.hook}`],
  };
}

async function startChild(env: NodeJS.ProcessEnv, nodeOptions: readonly string[]): Promise<Child> {
  const production = productionChild();
  const execArgv = [...production.execArgv, '--expose-gc', `--import=${production.probe}`, ...nodeOptions];
  mkdirSync(dirname(LOG_FILE), { recursive: true });
  const log = openSync(LOG_FILE, 'w');
  const proc = fork(production.child, [production.service], {
    env,
    execArgv,
    stdio: ['ignore', log, log, 'ipc'],
  });
  let seq = 0;
  const waiting = new Map<
    number,
    (m: { mem: NodeJS.MemoryUsage; cpu: NodeJS.CpuUsage; spaces?: HeapSpaces }) => void
  >();
  const diagnostics = new Map<number, (error?: string) => void>();
  const probes = new Map<number, (reading: ProbeReading) => void>();
  const ports = await new Promise<Child['ports']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('device-ingest did not start within 120 s')), 120_000);
    proc.once('exit', (code) => reject(new Error(`device-ingest exited during start (code ${code})`)));
    proc.on(
      'message',
      (m: {
        type: string;
        id?: number;
        ports?: Child['ports'];
        mem?: NodeJS.MemoryUsage;
        cpu?: NodeJS.CpuUsage;
        spaces?: HeapSpaces;
        error?: string;
      }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m.ports!);
        } else if (m.type === 'mem') {
          waiting.get(m.id!)?.({ mem: m.mem!, cpu: m.cpu!, ...(m.spaces ? { spaces: m.spaces } : {}) });
          waiting.delete(m.id!);
        } else if (m.type === 'probe') {
          probes.get(m.id!)?.(m as unknown as ProbeReading);
          probes.delete(m.id!);
        } else if (m.type === 'done') {
          diagnostics.get(m.id!)?.(m.error);
          diagnostics.delete(m.id!);
        }
      },
    );
  });
  proc.on('exit', (code, signal) => {
    if (!stopping)
      process.stderr.write(`\ndevice-ingest exited unexpectedly (code ${code}, signal ${signal})\n`);
  });
  let stopping = false;
  return {
    proc,
    ports,
    mem(gc = false) {
      const id = ++seq;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        proc.send({ type: 'mem', id, gc });
      });
    },
    probe(trace = false) {
      const id = ++seq;
      return new Promise((resolve) => {
        probes.set(id, resolve);
        proc.send({ type: 'probe', id, trace });
      });
    },
    diagnose(type, path) {
      const id = ++seq;
      return new Promise((resolve, reject) => {
        diagnostics.set(id, (error) => (error ? reject(new Error(`${type}: ${error}`)) : resolve()));
        proc.send({ type, id, ...(path ? { path } : {}) });
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      stopping = true;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.send({ type: 'stop' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---- devices -------------------------------------------------------------------------------------

const COMPOUND = '370303001001';

interface GenericDevice {
  readonly deviceId: string;
  readonly secret: string;
}
interface GatDevice extends GenericDevice {
  readonly gat1400Id: string;
  readonly kind: 'face' | 'plate';
}

async function registerDevices(
  grpcPort: number,
  total: number,
  gatCount: number,
): Promise<{ generic: GenericDevice[]; gat: GatDevice[]; seconds: number }> {
  const runTag = randomBytes(3).toString('hex');
  const generic: GenericDevice[] = [];
  const gat: GatDevice[] = [];
  const secret = () => `bench-${randomBytes(12).toString('hex')}`;
  const base = 100000 + (randomBytes(3).readUIntBE(0, 3) % 800000);
  for (let i = 0; i < gatCount; i++)
    gat.push({
      deviceId: uuidv7(),
      secret: secret(),
      gat1400Id: `37030300001190${String(base + i).padStart(6, '0')}`,
      kind: i % 2 === 0 ? 'face' : 'plate',
    });
  for (let i = gatCount; i < total; i++) generic.push({ deviceId: uuidv7(), secret: secret() });

  const header = 'device_id,gat1400_id,name,device_type,module,compound_id,protocol,serial_number,secret';
  const rows = [
    ...gat.map((d, i) =>
      [
        d.deviceId,
        d.gat1400Id,
        `bench ${runTag} GA/T ${i}`,
        d.kind === 'face' ? 'face_capture_camera' : 'plate_camera',
        d.kind === 'face' ? 'face_recognition_gates' : 'vehicle_recognition',
        COMPOUND,
        'gat1400',
        `G-${runTag}-${i}`,
        d.secret,
      ].join(','),
    ),
    ...generic.map((d, i) =>
      [
        d.deviceId,
        '',
        `bench ${runTag} gate ${i}`,
        'face_gate',
        'pedestrian_access',
        COMPOUND,
        'generic_http',
        `S-${runTag}-${i}`,
        d.secret,
      ].join(','),
    ),
  ];
  const started = now();
  const client = createGrpcClient(DeviceRegistryService.definition, `127.0.0.1:${grpcPort}`, {
    deadlineMs: 900_000,
    interceptors: [callerInterceptor(INSTALLER, CALLER_TOKEN_KEY)],
  });
  try {
    const CHUNK = 2_000;
    const chunks: string[][] = [];
    for (let i = 0; i < rows.length; i += CHUNK) chunks.push(rows.slice(i, i + CHUNK));
    let done = 0;
    const importOnce = async (chunk: string[]) => {
      let last: anfang.device.v1.ImportDevicesResponse | undefined;
      for await (const m of client.importDevices({
        csv: Buffer.from([header, ...chunk].join('\n') + '\n'),
      }) as unknown as AsyncIterable<anfang.device.v1.ImportDevicesResponse>)
        last = m;
      return last;
    };
    const importChunk = async (chunk: string[]) => {
      let last: anfang.device.v1.ImportDevicesResponse | undefined;
      // A stream dropped on a loaded machine is imported again: a re-import changes nothing.
      for (let attempt = 1; ; attempt++) {
        try {
          last = await importOnce(chunk);
          break;
        } catch (err) {
          if (attempt === 3) throw err;
          process.stderr.write(`\n  import interrupted (${(err as Error).message}), again\n`);
        }
      }
      if (!last?.done || last.failed > 0)
        throw new Error(
          `ImportDevices: ${last?.failed ?? '?'} rows failed: ${JSON.stringify(last?.errors.slice(0, 3))}`,
        );
      done += chunk.length;
      process.stderr.write(`\r  registered ${fmt(done)}/${fmt(rows.length)} devices`);
    };
    // Two imports at a time (each row is its own transaction).
    let next = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (next < chunks.length) await importChunk(chunks[next++]!);
      }),
    );
    process.stderr.write('\n');
  } finally {
    client.close();
  }
  return { generic, gat, seconds: (now() - started) / 1000 };
}

// ---- requests a device sends ---------------------------------------------------------------------

const EVENTS_PATH = '/api/v1/device/events';
const runId = randomBytes(4).toString('hex');
/** The platform S3 store's socket pool (S3ObjectStoreOptions.maxSockets default), the service's too. */
const S3_SOCKETS = 64;
let eventSeq = 0;
let nonceSeq = 0;

function signedHeaders(device: GenericDevice, body: Buffer, path: string): Record<string, string> {
  const timestamp = String(Date.now());
  const nonce = `n${runId}${(nonceSeq++).toString(36)}`;
  return {
    'content-type': 'application/json',
    'x-device-id': device.deviceId,
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    'x-signature': sign(device.secret, { timestamp, nonce, method: 'POST', path, body }),
  };
}

function genericBody(count: number, imageEvery: number): Buffer {
  const events = [];
  for (let i = 0; i < count; i++) {
    const seq = eventSeq++;
    events.push({
      type: 'face_captured',
      eventId: `e${runId}-${seq}`,
      time: Date.now(),
      liveness: 'genuine',
      livenessScore: 0.97,
      direction: 'in',
      ...(seq % imageEvery === 0 ? { images: [{ kind: 'face', data: FACE_JPEG_BASE64 }] } : {}),
    });
  }
  return Buffer.from(JSON.stringify({ events }));
}

/** yyyyMMddHHmmss (Beijing) of a ms time. */
function gatTime(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}

const gatSeq = new Map<string, number>();
const GAT_EPOCH = Math.floor(Date.now() / 60_000) * 60_000 - 3600_000; // a minute's start

function gatBody(device: GatDevice, count: number): { path: string; body: Buffer } {
  const list = [];
  for (let i = 0; i < count; i++) {
    // Unique ids per device: the serial (5 digits, odd so serial+1 stays distinct) and the time.
    const n = gatSeq.get(device.gat1400Id) ?? 0;
    gatSeq.set(device.gat1400Id, n + 1);
    // Seconds below 58: the fixture's FaceDisAppearTime is ShotTime + 2 s, digit-wise.
    const k = Math.floor(n / 49_000);
    const time = gatTime(GAT_EPOCH + Math.floor(k / 50) * 60_000 + (k % 50) * 1000);
    const serial = (n % 49_000) * 2 + 1;
    list.push(
      device.kind === 'face'
        ? faceObject({ deviceId: device.gat1400Id, time, serial })
        : motorVehicleObject({
            deviceId: device.gat1400Id,
            time,
            serial,
            plate: `鲁C${String(n % 100000).padStart(5, '0')}`,
          }),
    );
  }
  return device.kind === 'face'
    ? { path: '/VIID/Faces', body: Buffer.from(JSON.stringify({ FaceListObject: { FaceObject: list } })) }
    : {
        path: '/VIID/MotorVehicles',
        body: Buffer.from(JSON.stringify({ MotorVehicleListObject: { MotorVehicleObject: list } })),
      };
}

const GAT_HEADERS = (id: string) => ({ 'content-type': 'application/VIID+JSON', 'user-identify': id });

async function gatRegister(agent: Agent, port: number, device: GatDevice): Promise<void> {
  const path = '/VIID/System/Register';
  const body = Buffer.from(JSON.stringify({ RegisterObject: { DeviceID: device.gat1400Id } }));
  const first = await post(agent, port, path, body, GAT_HEADERS(device.gat1400Id));
  const challenge = first.headers['www-authenticate'];
  if (first.status !== 401 || typeof challenge !== 'string')
    throw new Error(`GA/T register: expected a 401 challenge, got ${first.status} ${first.body}`);
  const authorization = digestAuthorization({
    username: device.gat1400Id,
    secret: device.secret,
    method: 'POST',
    uri: path,
    challenge,
  });
  const second = await post(agent, port, path, body, { ...GAT_HEADERS(device.gat1400Id), authorization });
  if (second.status !== 200) throw new Error(`GA/T register: ${second.status} ${second.body}`);
}

// ---- load ----------------------------------------------------------------------------------------

/** One request's worth: sends it, resolves to the number of events acknowledged (throws otherwise). */
type Send = (() => Promise<number>) & { readonly deviceId?: string };

interface LoadResult {
  readonly events: number;
  readonly requests: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly firstError?: string;
  /** Open loop: the acknowledgements over SLOW_MS, from their scheduled time (epoch ms). */
  readonly slow?: readonly Pause[];
  /** Open loop: every acknowledgement. */
  readonly acks?: readonly Ack[];
}

/** The goal's bound on an acknowledgement; slower ones are explained (`explainSlow`). */
const SLOW_MS = 50;
const epochOf = (t: number): number => performance.timeOrigin + t;

/** Closed loop: `concurrency` senders for `durationMs`. */
async function saturate(makeSend: () => Send, concurrency: number, durationMs: number): Promise<LoadResult> {
  const lat = new Latencies();
  let events = 0;
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = now();
  const until = started + durationMs;
  let last = started;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (now() < until) {
        const send = makeSend();
        const t0 = now();
        try {
          const n = await send();
          events += n;
          requests++;
          last = now();
          lat.add(last - t0);
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
          if (errors > 1000) throw new Error(`too many failed requests: ${firstError}`, { cause: err });
        }
      }
    }),
  );
  const seconds = (last - started) / 1000;
  return {
    events,
    requests,
    seconds,
    rate: events / seconds,
    p50: lat.quantile(0.5),
    p99: lat.quantile(0.99),
    errors,
    ...(firstError ? { firstError } : {}),
  };
}

/** Open loop: requests of `perRequest` events scheduled at `rate` events/s; latency from the schedule. */
async function paced(
  makeSend: () => Send,
  perRequest: number,
  rate: number,
  durationMs: number,
): Promise<LoadResult> {
  const lat = new Latencies();
  const interval = (1000 * perRequest) / rate;
  const total = Math.max(1, Math.floor(durationMs / interval));
  let events = 0;
  let errors = 0;
  let firstError: string | undefined;
  const slow: Pause[] = [];
  const acks: Ack[] = [];
  const inflight: Promise<void>[] = [];
  const started = now();
  let i = 0;
  while (i < total) {
    const wait = started + i * interval - now();
    if (wait > 1) await sleep(wait - 0.5);
    else if (wait > 0) await new Promise((r) => setImmediate(r));
    const t = now();
    while (i < total && started + i * interval <= t) {
      const scheduled = started + i * interval;
      const send = makeSend();
      inflight.push(
        send().then(
          (n) => {
            events += n;
            const ms = now() - scheduled;
            lat.add(ms);
            acks.push({ start: epochOf(scheduled), ms, deviceId: send.deviceId });
            if (ms > SLOW_MS) slow.push({ start: epochOf(scheduled), ms });
          },
          (err: unknown) => {
            errors++;
            firstError ??= (err as Error).message;
          },
        ),
      );
      i++;
    }
  }
  await Promise.all(inflight);
  const seconds = (now() - started) / 1000;
  return {
    events,
    requests: total,
    seconds,
    rate: events / seconds,
    p50: lat.quantile(0.5),
    p99: lat.quantile(0.99),
    errors,
    ...(firstError ? { firstError } : {}),
    slow,
    acks,
  };
}

/** A device's keep-alive request: the generic API's signed heartbeat, GA/T 1400's Keepalive. */
type KeepAlive = () => { path: string; body: Buffer; headers: Record<string, string> };

function genericHeartbeat(device: GenericDevice): KeepAlive {
  const path = '/api/v1/device/heartbeat';
  return () => {
    const body = Buffer.from('{}');
    return { path, body, headers: signedHeaders(device, body, path) };
  };
}

function gatKeepalive(device: GatDevice): KeepAlive {
  const body = Buffer.from(JSON.stringify({ KeepaliveObject: { DeviceID: device.gat1400Id } }));
  return () => ({ path: '/VIID/System/Keepalive', body, headers: GAT_HEADERS(device.gat1400Id) });
}

/**
 * Every device keeps alive every `intervalMs` as real devices do (the status policy's
 * interval), spread evenly over the interval: an open loop of devices / interval requests per
 * second beside whatever a scenario sends. Like a device, one at a time: a heartbeat still
 * unanswered when the next is due skips that one (counted), so a starved service is not buried
 * under a queue no device would build. `take()` returns the figures since its last call.
 */
function startHeartbeats(port: number, devices: readonly KeepAlive[], intervalMs: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const started = now();
  const inflight = new Set<Promise<void>>();
  let lat = new Latencies();
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let skipped = 0;
  let firstError: string | undefined;
  let running = true;
  const waiting = new Set<KeepAlive>();
  const beat = (device: KeepAlive) => {
    if (waiting.has(device)) {
      skipped++;
      return;
    }
    waiting.add(device);
    const { path, body, headers } = device();
    const t0 = now();
    const tracked = post(agent, port, path, body, headers)
      .then((res) => {
        if (res.status !== 200) throw new Error(`heartbeat: HTTP ${res.status} ${res.body.slice(0, 200)}`);
        answered++;
        lat.add(now() - t0);
      })
      .catch((err: unknown) => {
        errors++;
        firstError ??= (err as Error).message;
      })
      .finally(() => waiting.delete(device));
    inflight.add(tracked);
    void tracked.finally(() => inflight.delete(tracked));
  };
  const loop = (async () => {
    while (running) {
      const due = Math.floor(((now() - started) * devices.length) / intervalMs);
      while (sent < due) beat(devices[sent++ % devices.length]!);
      await sleep(10);
    }
  })();
  return {
    take() {
      const figures = {
        answered,
        errors,
        skipped,
        p50: lat.quantile(0.5),
        p99: lat.quantile(0.99),
        firstError,
      };
      lat = new Latencies();
      answered = 0;
      errors = 0;
      skipped = 0;
      firstError = undefined;
      return figures;
    },
    async stop() {
      running = false;
      await loop;
      await Promise.allSettled([...inflight]);
      agent.destroy();
    },
  };
}

function genericSend(
  agent: Agent,
  port: number,
  devices: GenericDevice[],
  perRequest: number,
  imageEvery: number,
) {
  let next = 0;
  return (): Send => {
    const device = devices[next++ % devices.length]!;
    const body = genericBody(perRequest, imageEvery);
    const headers = signedHeaders(device, body, EVENTS_PATH);
    const send = async () => {
      const res = await post(agent, port, EVENTS_PATH, body, headers);
      if (res.status !== 200) throw new Error(`generic: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      const answer = JSON.parse(res.body) as { results: { status: string }[] };
      const accepted = answer.results.filter((r) => r.status === 'accepted').length;
      if (accepted !== perRequest)
        throw new Error(`generic: ${accepted}/${perRequest} accepted: ${res.body.slice(0, 200)}`);
      return accepted;
    };
    return Object.assign(send, { deviceId: device.deviceId });
  };
}

function gatSend(agent: Agent, port: number, devices: GatDevice[], perRequest: number) {
  let next = 0;
  return (): Send => {
    const device = devices[next++ % devices.length]!;
    const { path, body } = gatBody(device, perRequest);
    const headers = GAT_HEADERS(device.gat1400Id);
    return async () => {
      const res = await post(agent, port, path, body, headers);
      if (res.status !== 200) throw new Error(`GA/T: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      const answer = JSON.parse(res.body) as {
        ResponseStatusListObject: { ResponseStatusObject: { StatusCode: number | string }[] };
      };
      const ok = answer.ResponseStatusListObject.ResponseStatusObject.filter(
        (s) => Number(s.StatusCode) === 0,
      ).length;
      if (ok !== perRequest) throw new Error(`GA/T: ${ok}/${perRequest} stored: ${res.body.slice(0, 300)}`);
      return ok;
    };
  };
}

// ---- the raw baseline ----------------------------------------------------------------------------

/** The raw producer with its pictures PUT first: the floor of the work (rawBaseline). */
const FLOOR_ROW = 'floor: kafkajs raw, pictures PUT first';

/** The raw baseline's own topic (same partitions as the catalogue's face-captured topic). */
const RAW_TOPIC = `anfang.bench.device-ingest-raw.${runId}`;

/**
 * With `pictures` (the floor of the work, not just of Kafka): every batch's pictures (1 in
 * `imageEvery` events, the generic scenario's JPEG) are PUT first through the platform's S3
 * client, one object each under the service's key shape, at most `S3_SOCKETS` in flight, and
 * the batch is sent once they are stored — what any implementation of SPEC § 3 ("images go to
 * object storage first") must do per event, and nothing else: no HTTP, no signature, no dedupe,
 * no answer. The next batch's PUTs run while this one is sent. What it reaches on this machine is
 * about what any ingest service could reach beside the raw producer.
 */
async function rawBaseline(
  devices: GenericDevice[],
  batch: number,
  durationMs: number,
  imageEvery: number,
  pictures?: { bucket: string },
): Promise<LoadResult> {
  const topic = topics.deviceFaceCaptured;
  const store = pictures
    ? await createS3ObjectStore({
        ...s3StoreOptions(pictures.bucket, 'device-ingest/'),
        maxSockets: S3_SOCKETS,
      })
    : undefined;
  const picture = Buffer.from(FACE_JPEG_BASE64, 'base64');
  const kafka = kafkaClient({ clientId: 'bench-ingest-raw' });
  const admin = kafka.admin();
  await admin.connect();
  const [meta] = (await admin.fetchTopicMetadata({ topics: [topic.name] })).topics;
  await createTopicsWithLeaders(admin, [
    { topic: RAW_TOPIC, numPartitions: Math.max(1, meta?.partitions.length ?? 1) },
  ]);
  // The bus's guarantees: idempotent, acks=all, one request in flight.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  let n = 0;
  const puts: Promise<unknown>[] = [];
  const message = () => {
    const seq = n++;
    const device = devices[seq % devices.length]!;
    const nowMs = Date.now();
    const eventId = uuidv7(nowMs);
    const ts = { seconds: Math.floor(nowMs / 1000), nanos: (nowMs % 1000) * 1e6 };
    // The service's own object: key, PUT options and ImageRef (src/domain/image-keys.ts).
    const image =
      seq % imageEvery === 0
        ? captureImageObject({
            compoundId: COMPOUND,
            occurredAt: new Date(nowMs),
            deviceId: device.deviceId,
            eventId,
            index: 0,
            contentType: 'image/jpeg',
            kind: anfang.common.v1.ImageKind.IMAGE_KIND_FACE,
            bytes: picture,
            storePrefix: 'device-ingest/',
          })
        : undefined;
    if (store && image) puts.push(store.put(image.key, picture, image.put));
    const value = topic.payload.encode({
      meta: {
        eventId,
        eventType: topic.payload.typeName,
        occurredAt: ts,
        recordedAt: ts,
        producer: 'device-ingest',
        compoundId: COMPOUND,
      },
      device: {
        deviceId: device.deviceId,
        deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_FACE_GATE,
        module: anfang.common.v1.Module.MODULE_PEDESTRIAN_ACCESS,
        addressCode: COMPOUND,
        direction: anfang.common.v1.Direction.DIRECTION_IN,
        name: `bench gate ${seq % devices.length}`,
      },
      sourceObjectId: `raw${runId}-${seq}`,
      liveness: anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE,
      livenessScore: 0.97,
      direction: anfang.common.v1.Direction.DIRECTION_IN,
      images: image ? [image.ref] : [],
    } as Parameters<typeof topic.payload.encode>[0]);
    return {
      key: device.deviceId,
      value: Buffer.from(value),
      headers: {
        'anfang-event-id': eventId,
        'anfang-event-type': topic.payload.typeName,
        'anfang-producer': 'device-ingest',
      },
    };
  };
  type RawMessage = ReturnType<typeof message>;
  /** A batch's messages, once its pictures are stored; awaited by the next send (or at the end). */
  const prepare = (): Promise<RawMessage[]> => {
    const messages = Array.from({ length: batch }, message);
    const ready = Promise.all(puts.splice(0)).then(() => messages);
    ready.catch(() => undefined); // a failed PUT fails the send that awaits it, counted there
    return ready;
  };
  // The next batch's pictures are stored while this one is sent (more batches ahead measured the
  // same: the store is the bound).
  let next = store ? prepare() : undefined;
  try {
    const send: Send = async () => {
      let messages: RawMessage[];
      if (next) {
        const ready = next;
        next = prepare();
        messages = await ready;
      } else messages = Array.from({ length: batch }, message);
      await producer.send({ topic: RAW_TOPIC, messages, acks: -1 });
      return batch;
    };
    await saturate(() => send, 1, 2_000); // warm-up
    return await saturate(() => send, 1, durationMs);
  } finally {
    await next?.catch(() => undefined);
    await store?.close();
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [RAW_TOPIC] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

// ---- the object store's own ceiling ---------------------------------------------------------------

/**
 * A plain PUT loop of the GA/T fixture's picture bodies (with the metadata the service writes)
 * to the service's bucket, `concurrency` PUTs in flight through the platform's S3 client with
 * the service's socket pool (64): what the store takes on this machine, beside which the GA/T
 * row (two PUTs per object) is read. Counted in PUTs.
 */
async function s3Baseline(bucket: string, concurrency: number, durationMs: number): Promise<LoadResult> {
  const store = await createS3ObjectStore(s3StoreOptions(bucket, 'bench-s3-baseline/'));
  const pictures = [FACE_JPEG_BASE64, PLATE_JPEG_BASE64].map((b) => Buffer.from(b, 'base64'));
  let n = 0;
  const send: Send = async () => {
    const seq = n++;
    const body = pictures[seq % pictures.length]!;
    await store.put(`captures/${runId}/${seq}.jpg`, body, {
      contentType: 'image/jpeg',
      metadata: { 'event-id': uuidv7(), 'device-id': 'bench-s3', sha256: 'f'.repeat(64) },
    });
    return 1;
  };
  try {
    await saturate(() => send, concurrency, 2_000); // warm-up: sockets
    return await saturate(() => send, concurrency, durationMs);
  } finally {
    await store.close();
  }
}

// ---- what the service went through -------------------------------------------------------------

function printPhases(phases: readonly PhaseRecord[], heartbeatMs: number): void {
  if (phases.length === 0) return;
  console.log('');
  console.log(
    heartbeatMs > 0
      ? `the service phase by phase (every device keeps alive every ${heartbeatMs / 1000} s throughout, ` +
          `the status policy's interval; "settle": until its CPU is back within 0.1 core of heartbeats only):`
      : 'the service phase by phase (no heartbeats: every device comes online with its first event and times out 90 s after its last):',
  );
  const header = [
    'phase',
    's',
    'CPU',
    'peak RSS',
    'RSS end',
    'heap used/comm.',
    'external (ab)',
    'anon',
    'loop p99/max ms',
    'client loop',
    'stalls ≥20/≥50',
    'GC n, total, max ms',
    'promoted MB/s, MCs',
    'on/off',
    'heartbeats/s, p50/p99',
  ];
  const table = phases.map((ph) => {
    const gcMs = ph.probe.gcs.reduce((a, g) => a + g.ms, 0);
    const gcMax = ph.probe.gcs.reduce((a, g) => Math.max(a, g.ms), 0);
    return [
      ph.name,
      fmt(ph.seconds, 0),
      ph.cores.toFixed(2),
      mib(ph.peakRss),
      mib(ph.end.rss),
      `${fmt(ph.end.heapUsed / 1048576)}/${mib(ph.end.heapTotal)}`,
      `${fmt(ph.end.external / 1048576)} (${mib(ph.end.arrayBuffers)})`,
      mib(ph.anon),
      `${fmt(ph.probe.loop.p99, 0)}/${fmt(ph.probe.loop.max, 0)}`,
      `${fmt(ph.clientLoop.p99, 0)}/${fmt(ph.clientLoop.max, 0)}`,
      `${ph.probe.stalls.length}/${ph.probe.stalls.filter((x) => x.ms >= 50).length}`,
      `${ph.probe.gcs.length}, ${fmt(gcMs)}, ${fmt(gcMax)}`,
      `${fmt(ph.probe.promotion.bytes / 1e6 / ph.seconds, 1)}, ${ph.probe.promotion.markCompacts}`,
      `${ph.transitions.online}/${ph.transitions.offline}`,
      ph.heartbeats
        ? `${fmt(ph.heartbeats.answered / ph.seconds)}, ${fmt(ph.heartbeats.p50, 0)}/${fmt(ph.heartbeats.p99, 0)} ms` +
          (ph.heartbeats.errors ? `, ${ph.heartbeats.errors} failed` : '') +
          (ph.heartbeats.skipped ? `, ${ph.heartbeats.skipped} skipped` : '')
        : '—',
    ];
  });
  printTable(header, table);
  console.log(
    "CPU: the service's cores; RSS end, heap, external (array buffers), anon (smaps_rollup Anonymous): at the " +
      "phase's end; loop: the service's event-loop delay (client loop: this process's); stalls: a 10 ms timer late by ≥ 20/≥ 50 ms; GC: every pause; promoted: what the scavenges moved to the old generation, MCs: mark-compacts; on/off: " +
      'devices whose status changed to online/offline in the phase.',
  );
  for (const ph of phases.filter((x) => x.explained && x.explained.slow > 0)) {
    const e = ph.explained!;
    const share = (n: number) => `${n} (${fmt((100 * n) / e.slow)} %)`;
    console.log(
      `${ph.name}: ${e.slow} acknowledgements over ${SLOW_MS} ms — during a GC pause ≥ 20 ms ${share(e.gc)}, ` +
        `during another event-loop stall ≥ 20 ms ${share(e.stall)}, neither ${share(e.neither)}; ` +
        `of their wait GC covered ${fmt(100 * e.gcShare)} %, other stalls ${fmt(100 * e.stallShare)} %; ` +
        `${e.withTransitions} had a device transition commit while they waited`,
    );
  }
  for (const ph of phases.filter((x) => x.stages && x.stages.matched > 0)) {
    const st = ph.stages!;
    console.log(
      `${ph.name}: where the acknowledgements' time went (${st.matched} of ${st.acks} matched to the ` +
        `service's accept calls; ms, p50 / p99 of all, mean of the ${st.slow} over ${SLOW_MS} ms, ` +
        `${st.slowPicturesLast} of which had their picture events published last):`,
    );
    const width = Math.max(...st.stages.map((x) => x.label.length));
    for (const x of st.stages)
      console.log(
        `  ${x.label.padEnd(width)}  ${fmt(x.p50, 1).padStart(6)} / ${fmt(x.p99, 1).padStart(6)}   slow ${fmt(x.slowMean, 1).padStart(6)}`,
      );
    const p = st.puts;
    console.log(
      `  S3 PUTs: ${p.count}, waiting for a socket p50 ${fmt(p.socketP50, 2)} / p99 ${fmt(p.socketP99, 2)} ms, ` +
        `answered p50 ${fmt(p.answerP50, 1)} / p99 ${fmt(p.answerP99, 1)} / max ${fmt(p.answerMax, 1)} ms`,
    );
  }
  const gcKinds = new Map<string, { n: number; ms: number; max: number }>();
  for (const ph of phases.filter((x) => x.name.includes('paced')))
    for (const g of ph.probe.gcs) {
      const k = gcKinds.get(g.kind ?? '?') ?? { n: 0, ms: 0, max: 0 };
      gcKinds.set(g.kind ?? '?', { n: k.n + 1, ms: k.ms + g.ms, max: Math.max(k.max, g.ms) });
    }
  if (gcKinds.size)
    console.log(
      `GC in the paced phases by kind: ${[...gcKinds]
        .map(([k, v]) => `${k} ${v.n}× (${fmt(v.ms)} ms, max ${fmt(v.max, 1)})`)
        .join(', ')}`,
    );
}

/**
 * The processes whose CPU the run accounts for: the service, this process (the load's client and
 * the baselines' producer), and the local infrastructure's servers as `./anfang infra` knows
 * them (each with its descendants: Postgres's backends).
 */
async function accountMachine(servicePid: number): Promise<MachineCpu | undefined> {
  const servers = await infraStatus().catch(() => []);
  const named: Record<string, AccountedProcess> = {
    service: { pid: servicePid },
    'bench client': { pid: process.pid },
  };
  for (const server of servers)
    if (server.pid !== undefined)
      named[server.name === 's3' ? 'S3 store' : server.name] = { pid: server.pid, tree: true };
  return machineCpu(named);
}

/** Where the machine's cores went in each phase that carried load, and in the baselines. */
function printMachine(phases: readonly PhaseRecord[], rows: readonly Row[]): void {
  const accounted: [string, CpuAccount][] = [
    ...phases.flatMap((ph): [string, CpuAccount][] =>
      ph.machine && ph.name !== 'settle' ? [[ph.name, ph.machine]] : [],
    ),
    ...rows.flatMap((r): [string, CpuAccount][] => (!r.goals && r.machine ? [[r.name, r.machine]] : [])),
  ];
  const first = accounted[0]?.[1];
  if (!first) return;
  const names = [...first.byName.keys()];
  console.log('');
  console.log(
    `the machine's ${first.cores} cores phase by phase (CPU seconds per second, from /proc; "bench client" is this ` +
      'process: the load and heartbeats, or the producer and the PUT loop in the baselines; other: busy in ' +
      'none of the named processes; steal: taken by the hypervisor):',
  );
  printTable(
    ['phase', ...names, 'other', 'idle', 'steal'],
    accounted.map(([name, a]) => [
      name,
      ...names.map((n) => (a.byName.get(n) ?? 0).toFixed(2)),
      a.other.toFixed(2),
      a.idle.toFixed(2),
      a.steal.toFixed(2),
    ]),
  );
}

/**
 * What ≥ 0.4× the raw producer asks of the service here. Two limits bind it. Its JavaScript runs
 * on one thread, about one core (V8's helper threads add a little), of which heartbeats take
 * their share whatever the load. And beyond what heartbeats alone keep busy, every event of the
 * batched scenario costs CPU outside the service — the client that sends it, Kafka, the store,
 * Redis, Postgres — on the same cores. At 0.4× the raw rate, each limit leaves the service a
 * budget per event (the machine's extrapolated linearly); the smaller binds. The raw producer has
 * the same one-thread limit, and none of the others. With the floor (rawBaseline with pictures):
 * where the work itself, done the cheapest way, stands beside the raw producer, and the service
 * beside it.
 */
function printRatioBound(
  phases: readonly PhaseRecord[],
  rows: readonly Row[],
  baseline: Row,
  floor: Row | undefined,
  batch: number,
  imageEvery: number,
): void {
  const scenario = `generic signed HTTP ×${batch}`;
  const steady = phases.find((ph) => ph.name === 'heartbeats only')?.machine;
  const loaded = phases.find((ph) => ph.name === `${scenario}: saturation`)?.machine;
  const row = rows.find((r) => r.name === scenario);
  if (!steady || !loaded || !row) return;
  const busy = (a: CpuAccount) => [...a.byName.values()].reduce((x, y) => x + y, 0) + a.other;
  const perEventUs = (loadedCores: number, steadyCores: number) =>
    ((loadedCores - steadyCores) * 1e6) / row.load.rate;
  const named = (name: string) => perEventUs(loaded.byName.get(name) ?? 0, steady.byName.get(name) ?? 0);
  const serviceUs = named('service');
  const restUs = perEventUs(busy(loaded), busy(steady)) - serviceUs;
  const rest = [...loaded.byName.keys()]
    .filter((n) => n !== 'service')
    .map((n) => `${n} ${fmt(named(n))}`)
    .concat(`other ${fmt(perEventUs(loaded.other, steady.other))}`)
    .join(', ');
  const heartbeatCores = steady.byName.get('service') ?? 0;
  const target = 0.4 * baseline.load.rate;
  const threadBudgetUs = ((1 - heartbeatCores) * 1e6) / target;
  const available = loaded.cores - loaded.steal - busy(steady);
  const machineBudgetUs = (available * 1e6) / target - restUs;
  const budgetUs = Math.min(threadBudgetUs, machineBudgetUs);
  const rawUs = ((baseline.clientCpu ?? NaN) * 1e6) / baseline.load.rate;
  const limits =
    `its one thread, less the ${heartbeatCores.toFixed(2)} core heartbeats take, ${fmt(threadBudgetUs)}; ` +
    `the ${loaded.cores} cores, less the ${busy(steady).toFixed(2)} heartbeats keep busy and the rest's ` +
    `${fmt(restUs)} per event, ${fmt(machineBudgetUs)}`;
  console.log(
    `the ratio goal (${scenario} at saturation, beyond heartbeats alone): per event the service spent ` +
      `${fmt(serviceUs)} µs of CPU and the rest of the machine ${fmt(restUs)} (${rest}). 0.4× the raw producer ` +
      `(${fmt(target)} events/s) ` +
      (budgetUs > 0
        ? `leaves the service ${fmt(budgetUs)} µs per event (${limits}): ${(serviceUs / budgetUs).toFixed(1)}× less than it spent.`
        : `is beyond this machine even for a service that cost nothing (${limits}).`) +
      ` The raw producer's one thread spent ${fmt(rawUs)} µs per event.`,
  );
  if (floor)
    console.log(
      `the floor of the work (${floor.name}: the pictures of 1 in ${imageEvery} events stored, then the events ` +
        `on Kafka; no HTTP, signature, dedupe or answer) reached ${fmt(floor.load.rate)} events/s = ` +
        `${(floor.load.rate / baseline.load.rate).toFixed(2)}× the raw producer, its client spending ` +
        `${fmt(((floor.clientCpu ?? NaN) * 1e6) / floor.load.rate)} µs per event; ${scenario} reached ` +
        `${(row.load.rate / floor.load.rate).toFixed(2)}× the floor.`,
    );
}

// ---- main ----------------------------------------------------------------------------------------

interface Row {
  readonly name: string;
  readonly perRequest: number;
  readonly load: LoadResult;
  readonly paced?: LoadResult;
  readonly pacedRate?: number;
  readonly serviceCpu?: number; // cores used by the service during the load phase
  readonly clientCpu?: number;
  readonly goals: boolean; // judged against the goals
  /** Where the machine's cores went in the load phase (the baselines', which are not phases). */
  readonly machine?: CpuAccount | undefined;
}

async function main(): Promise<void> {
  const o = options();
  const infra = infraEnv();
  const want = (what: string) => o.only === undefined || o.only.split(',').includes(what);
  console.log(
    `device-ingest benchmark: ${fmt(o.devices)} registered devices (${o.gatDevices} GA/T 1400); ` +
      `each scenario ${o.durationMs / 1000} s at saturation (${o.concurrency} requests in flight) then ` +
      `${o.pacedMs / 1000} s open-loop at ${fmt(o.rate)} events/s; batches of ${o.batch}; ` +
      `1 in ${o.imageEvery} generic events with a 337-byte JPEG, GA/T objects with 2 pictures each`,
  );
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}) shared by this client, the service, Kafka, Postgres, Redis and S3; loopback HTTP; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `service environment from the chart: ${
      Object.entries(SERVICE_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '(none)'
    }${o.nodeOptions.length ? `; extra Node flags: ${o.nodeOptions.join(' ')}` : ''}`,
  );

  let db: TestDatabase | undefined;
  let bucket: TestBucket | undefined;
  let child: Child | undefined;
  const rows: Row[] = [];
  const phases: PhaseRecord[] = [];
  const heartbeatMs = o.heartbeatMs;
  let heartbeats: ReturnType<typeof startHeartbeats> | undefined;
  let idle: { rss: number; heap: number } | undefined;
  let peakRss = 0;
  let peakHeap = 0;
  let failed = false;
  let registration: { seconds: number; devices: number } | undefined;
  const redisUrl = `${infra.redisUrl.replace(/\/\d*$/, '')}/${o.redisDb}`;
  try {
    // What the chart's topic Job does before services start (a freshly reset Kafka has none).
    await ensureTopics(allTopics());
    db = await createTestDatabase('bench_ingest');
    bucket = await createTestBucket('bench-ingest');
    const devicePort = await freePort();
    child = await startChild(
      {
        // The service child's whole environment is built here, like a process runner's.
        // eslint-disable-next-line no-restricted-properties
        ...process.env,
        ...SERVICE_ENV,
        OTEL_SERVICE_NAME: 'device-ingest',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        GRPC_PORT: '0',
        HTTP_PORT: '0',
        DEVICE_HTTP_PORT: String(devicePort),
        DATABASE_URL: db.url,
        BUS_KIND: 'kafka',
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        CACHE_KIND: 'redis',
        REDIS_URL: redisUrl,
        OBJECTS_KIND: 's3',
        S3_ENDPOINT: infra.s3.endpoint,
        S3_ACCESS_KEY: infra.s3.accessKey,
        S3_SECRET_KEY: infra.s3.secretKey,
        S3_REGION: infra.s3.region,
        S3_BUCKET: bucket.bucket,
        OBJECTS_CREATE_BUCKET: 'false',
        DATA_KEYS: `k1:${generateKey()}`,
        CALLER_TOKEN_KEY,
        // Consumer groups of its own: in the shared `device-ingest` group it would take partitions
        // of the command topic from other installs on this Kafka and reject their commands.
        INSTALL_NAMESPACE: `bench-${runId}`,
      },
      o.nodeOptions,
    );
    const pid = child.proc.pid!;
    const port = child.ports.device;
    const machine = await accountMachine(pid);
    /** Runs `run` and accounts the machine's cores meanwhile. */
    const accounted = async <T>(run: () => Promise<T>): Promise<[T, CpuAccount | undefined]> => {
      const from = machine?.mark();
      const result = await run();
      const to = machine?.mark();
      return [result, from && to && machine?.between(from, to)];
    };
    process.stderr.write(
      `device-ingest up (pid ${pid}, devices :${port}, gRPC :${child.ports.grpc}; malloc: ${mallocOf(pid)})\n`,
    );

    const reg = await registerDevices(child.ports.grpc, o.devices, o.gatDevices);
    registration = { seconds: reg.seconds, devices: o.devices };
    const agent = new Agent({ keepAlive: true, maxSockets: Math.max(o.concurrency, 256) });

    // Every device in the directory (NOTIFY per row): the last ones answer a signed heartbeat.
    const probe = reg.generic.slice(-20);
    const deadline = now() + 120_000;
    for (const d of probe) {
      for (;;) {
        const body = Buffer.from('{}');
        const res = await post(
          agent,
          port,
          '/api/v1/device/heartbeat',
          body,
          signedHeaders(d, body, '/api/v1/device/heartbeat'),
        );
        if (res.status === 200) break;
        if (now() > deadline) throw new Error(`device ${d.deviceId} not accepted: ${res.status} ${res.body}`);
        await sleep(200);
      }
    }
    // GA/T 1400 cameras register with Digest, 16 at a time.
    let gi = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (gi < reg.gat.length) await gatRegister(agent, port, reg.gat[gi++]!);
      }),
    );

    await sleep(2_000);
    const m = await child.mem(true);
    idle = { rss: rssOf(pid), heap: m.mem.heapUsed };
    if (o.heapSnapshot) {
      mkdirSync(o.heapSnapshot, { recursive: true });
      await child.diagnose('heap-snapshot', join(o.heapSnapshot, 'idle.heapsnapshot'));
    }
    process.stderr.write(
      `idle: RSS ${mib(idle.rss)}, heap used ${mib(idle.heap)} of ${mib(m.mem.heapTotal)}, ` +
        `external ${mib(m.mem.external)} (array buffers ${mib(m.mem.arrayBuffers)})\n`,
    );
    if (m.spaces)
      process.stderr.write(
        `  heap spaces (committed/live): ${Object.entries(m.spaces)
          .filter(([, sp]) => sp.size >= 1048576)
          .map(([name, sp]) => `${name.replace(/_space$/, '')} ${mib(sp.size)}/${mib(sp.used)}`)
          .join(', ')}\n`,
      );

    let sampling = true;
    let phasePeakRss = 0;
    const sampler = (async () => {
      while (sampling) {
        const rss = rssOf(pid);
        peakRss = Math.max(peakRss, rss);
        phasePeakRss = Math.max(phasePeakRss, rss);
        await sleep(250);
      }
    })();

    /**
     * Runs one phase of the service's life and records what it cost (memory, pauses, transitions);
     * `trace`: where its acknowledgements' time went, too (the paced phases).
     */
    const phase = async <T>(name: string, run: () => Promise<T>, trace = false): Promise<T> => {
      await child!.probe(trace); // what came before is not this phase's
      clientLoop.reset();
      const before = await child!.mem();
      const startedAt = new Date();
      const t0 = now();
      phasePeakRss = rssOf(pid);
      const [result, cores] = await accounted(run);
      const seconds = (now() - t0) / 1000;
      const reading = await child!.probe();
      const after = await child!.mem();
      peakHeap = Math.max(peakHeap, after.mem.heapUsed);
      const transitions = await transitionsSince(db!, startedAt);
      phases.push({
        name,
        seconds,
        peakRss: Math.max(phasePeakRss, rssOf(pid)),
        end: after.mem,
        anon: anonymousOf(pid),
        cores: (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6 / seconds,
        probe: reading,
        clientLoop: { p99: clientLoop.percentile(99) / 1e6, max: clientLoop.max / 1e6 },
        machine: cores,
        transitions,
        ...(heartbeats ? { heartbeats: heartbeats.take() } : {}),
        ...(isLoad(result) && result.slow
          ? { explained: explainSlow(result.slow, reading, transitions.at) }
          : {}),
        ...(isLoad(result) && result.acks ? { stages: ackStages(result.acks, reading) } : {}),
      });
      return result;
    };

    /**
     * Until the service is back to its heartbeat-only CPU (within 0.1 core over a second, at most
     * 30 s): a scenario's garbage, queued transitions and outbox rounds are not the next one's.
     */
    let steadyCores = 0;
    const settle = () =>
      phase('settle', async () => {
        for (let i = 0; i < 30; i++) {
          const a = await child!.mem();
          await sleep(1_000);
          const b = await child!.mem();
          if ((b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e6 <= steadyCores + 0.1) return;
        }
      });

    if (heartbeatMs > 0) {
      heartbeats = startHeartbeats(
        port,
        [...reg.generic.map(genericHeartbeat), ...reg.gat.map(gatKeepalive)],
        heartbeatMs,
      );
      await phase(`first heartbeat round (${fmt(o.devices)} devices come online)`, () => sleep(heartbeatMs));
      if (o.cpuProf) await child.diagnose('profile-start');
      await phase('heartbeats only', () => sleep(10_000));
      if (o.cpuProf) {
        mkdirSync(o.cpuProf, { recursive: true });
        await child.diagnose('profile-stop', join(o.cpuProf, 'heartbeats-only.cpuprofile'));
      }
      const steady = phases[phases.length - 1]!;
      steadyCores = steady.cores;
      const online = await child.mem(true);
      process.stderr.write(
        `every device online, heartbeating: ${fmt(steady.heartbeats!.answered / steady.seconds)} heartbeats/s at ` +
          `${fmt((steady.cores * 1e6 * steady.seconds) / steady.heartbeats!.answered)} µs of service CPU each; ` +
          `after a GC RSS ${mib(rssOf(pid))}, heap used ${mib(online.mem.heapUsed)} of ${mib(online.mem.heapTotal)}\n`,
      );
    }

    const scenario = async (
      name: string,
      perRequest: number,
      makeSend: () => Send,
      rate: (capacity: number) => number,
      goals: boolean,
    ): Promise<void> => {
      await settle();
      process.stderr.write(`${name}: saturating…`);
      if (o.cpuProf) await child!.diagnose('profile-start');
      const before = await child!.mem();
      const clientBefore = process.cpuUsage();
      const load = await phase(`${name}: saturation`, () => saturate(makeSend, o.concurrency, o.durationMs));
      const after = await child!.mem();
      const clientAfter = process.cpuUsage(clientBefore);
      if (o.cpuProf) {
        // After the CPU figures: writing the profile is not the service's work.
        mkdirSync(o.cpuProf, { recursive: true });
        await child!.diagnose('profile-stop', join(o.cpuProf, `${profileName(name)}.cpuprofile`));
      }
      const cores = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6 / load.seconds;
      const serviceCpu = cores({
        user: after.cpu.user - before.cpu.user,
        system: after.cpu.system - before.cpu.system,
      });
      process.stderr.write(
        ` ${fmt(load.events)} events in ${load.requests} requests, ${load.seconds.toFixed(1)} s: ${fmt(load.rate)} events/s, p99 ${fmt(load.p99, 1)} ms; paced…`,
      );
      const pacedRate = rate(load.rate);
      let p: LoadResult | undefined;
      if (o.pacedMs > 0) {
        await settle();
        if (o.cpuProf) await child!.diagnose('profile-start');
        p = await phase(
          `${name}: paced at ${fmt(pacedRate)}/s`,
          () => paced(makeSend, perRequest, pacedRate, o.pacedMs),
          true,
        );
        if (o.cpuProf)
          await child!.diagnose('profile-stop', join(o.cpuProf, `${profileName(name)}-paced.cpuprofile`));
      }
      process.stderr.write(p ? ` p99 ${fmt(p.p99, 1)} ms at ${fmt(pacedRate)}/s\n` : '\n');
      for (const r of [load, p])
        if (r?.errors) process.stderr.write(`  ${r.errors} failed requests, first: ${r.firstError}\n`);
      rows.push({
        name,
        perRequest,
        load,
        ...(p ? { paced: p, pacedRate } : {}),
        serviceCpu,
        clientCpu: cores(clientAfter),
        goals,
      });
    };
    /** The goal's rate for the scenario it names; others at what they can take (their own capacity). */
    const goalRate = () => o.rate;
    const withinCapacity = (capacity: number) => Math.min(o.rate, Math.floor(capacity * PACED_SHARE));

    // Warm-up (JIT, sockets, producer batches, S3 connections).
    process.stderr.write('warming up…\n');
    await saturate(genericSend(agent, port, reg.generic, o.batch, o.imageEvery), o.concurrency, 3_000);
    if (reg.gat.length) await saturate(gatSend(agent, port, reg.gat, o.batch), 16, 2_000);

    if (want('generic')) {
      await scenario(
        'generic signed HTTP ×1',
        1,
        genericSend(agent, port, reg.generic, 1, o.imageEvery),
        withinCapacity,
        true,
      );
      await scenario(
        `generic signed HTTP ×${o.batch}`,
        o.batch,
        genericSend(agent, port, reg.generic, o.batch, o.imageEvery),
        goalRate,
        true,
      );
    }
    if (want('gat1400') && reg.gat.length)
      await scenario(
        `GA/T 1400 Faces/MotorVehicles ×${o.batch}`,
        o.batch,
        gatSend(agent, port, reg.gat, o.batch),
        withinCapacity,
        true,
      );
    await settle();
    sampling = false;
    await sampler;
    // The baselines below measure the producer and the store, not the service: no load beside them.
    await heartbeats?.stop();
    const loaded = await child.mem();
    if (o.heapSnapshot) await child.diagnose('heap-snapshot', join(o.heapSnapshot, 'loaded.heapsnapshot'));
    peakHeap = Math.max(peakHeap, loaded.mem.heapUsed);

    /** A baseline measured in this process: its rate, this process's CPU and the machine's cores. */
    const baselineRow = async (
      name: string,
      perRequest: number,
      unit: string,
      run: () => Promise<LoadResult>,
    ): Promise<void> => {
      process.stderr.write(`${name}…`);
      const clientBefore = process.cpuUsage();
      const [load, cores] = await accounted(run);
      const c = process.cpuUsage(clientBefore);
      process.stderr.write(` ${fmt(load.rate)} ${unit}/s\n`);
      rows.push({
        name,
        perRequest,
        load,
        clientCpu: (c.user + c.system) / 1e6 / load.seconds,
        goals: false,
        machine: cores,
      });
    };
    if (want('gat1400') && reg.gat.length)
      await baselineRow(`S3 PUT loop, ${S3_SOCKETS} in flight (store baseline, PUTs)`, 1, 'PUTs', () =>
        s3Baseline(bucket!.bucket, S3_SOCKETS, o.durationMs),
      );
    if (want('raw') || want('generic') || want('gat1400'))
      await baselineRow(`kafkajs raw, ${o.rawBatch}/send (baseline)`, o.rawBatch, 'events', () =>
        rawBaseline(reg.generic, o.rawBatch, o.durationMs, o.imageEvery),
      );
    if (want('raw') || want('generic'))
      await baselineRow(`${FLOOR_ROW}, ${o.rawBatch}/send`, o.rawBatch, 'events', () =>
        rawBaseline(reg.generic, o.rawBatch, o.durationMs, o.imageEvery, { bucket: bucket!.bucket }),
      );
    agent.destroy();
  } catch (err) {
    failed = true;
    console.error(`\nbenchmark failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    process.stderr.write('cleaning up…\n');
    await heartbeats?.stop();
    await child?.stop().catch(() => undefined);
    process.stderr.write('  service stopped\n');
    await bucket?.drop().catch((e: unknown) => console.error(`bucket not dropped: ${(e as Error).message}`));
    await db?.drop().catch(() => undefined);
    process.stderr.write('  bucket and database dropped\n');
    await flushRedisDb(infra.redisUrl, o.redisDb);
    process.stderr.write('  redis flushed\n');
  }
  if (o.cpuProf) console.log(`CPU profiles of the service's saturation phases written to ${o.cpuProf}`);
  if (o.heapSnapshot) console.log(`heap snapshots of the service written to ${o.heapSnapshot}`);
  if (failed && rows.length === 0) {
    process.exitCode = 1;
    return;
  }

  // ---- the table ----
  const baseline = rows.find((r) => r.name.startsWith('kafkajs raw'));
  const storeBaseline = rows.find((r) => r.name.startsWith('S3 PUT loop'));
  const gatRow = rows.find((r) => r.name.startsWith('GA/T'));
  const header = [
    'scenario',
    'events',
    'events/s',
    'vs raw',
    'p50 ms sat.',
    'p99 ms sat.',
    'paced events/s',
    'p50 ms paced',
    'p99 ms paced',
    'service CPU',
    'µs CPU/event',
    'client CPU',
    'errors',
  ];
  const table = rows.map((r) => [
    r.name,
    fmt(r.load.events),
    fmt(r.load.rate),
    baseline && r !== storeBaseline ? `${(r.load.rate / baseline.load.rate).toFixed(2)}×` : '—',
    fmt(r.load.p50, 1),
    fmt(r.load.p99, 1),
    fmt(r.pacedRate ?? NaN),
    fmt(r.paced?.p50 ?? NaN, 1),
    fmt(r.paced?.p99 ?? NaN, 1),
    r.serviceCpu === undefined ? '—' : `${r.serviceCpu.toFixed(2)} cores`,
    // The raw baseline's is its producer's (this process) CPU.
    fmt(((r.serviceCpu ?? r.clientCpu ?? NaN) * 1e6) / r.load.rate, 0),
    r.clientCpu === undefined ? '—' : `${r.clientCpu.toFixed(2)} cores`,
    String(r.load.errors + (r.paced?.errors ?? 0)),
  ]);
  console.log('');
  printTable(header, table);
  console.log('');
  console.log(
    `p50/p99 sat.: request → acknowledged (200 after the events are on Kafka) at saturation; ` +
      `paced: open-loop, from the scheduled send time, at ${fmt(o.rate)} events/s for ×${o.batch} (the goal's), ` +
      `the others at ${PACED_SHARE * 100} % of their own saturation rate (at most ${fmt(o.rate)}). ` +
      `"raw": one producer.send of ${o.rawBatch} → acked.`,
  );
  printPhases(phases, heartbeatMs);
  printMachine(phases, rows);
  if (baseline)
    printRatioBound(
      phases,
      rows,
      baseline,
      rows.find((r) => r.name.startsWith(FLOOR_ROW)),
      o.batch,
      o.imageEvery,
    );
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (storeBaseline && gatRow)
    console.log(
      `GA/T 1400 against the store: ${fmt(gatRow.load.rate * 2)} picture PUTs/s (2 per object) = ` +
        `${((gatRow.load.rate * 2) / storeBaseline.load.rate).toFixed(2)}× the plain PUT loop's ${fmt(storeBaseline.load.rate)}/s`,
    );
  if (registration)
    console.log(
      `registration: ${fmt(registration.devices)} devices through ImportDevices in ${fmt(registration.seconds, 1)} s`,
    );
  if (idle)
    console.log(
      `device-ingest memory with ${fmt(o.devices)} devices: idle RSS ${mib(idle.rss)} (heap used ${mib(idle.heap)}); ` +
        `under load peak RSS ${mib(peakRss)} (heap used up to ${mib(peakHeap)})`,
    );

  // ---- goals (issue 3) ----
  const goals: BenchGoal[] = [];
  for (const r of rows.filter((x) => x.goals)) {
    goals.push({
      figure: `${r.name}: sustained events/s`,
      value: r.load.rate,
      unit: 'events/s',
      ...(baseline ? { baseline: { label: baseline.name, value: baseline.load.rate } } : {}),
      goal: '≥ 5,000 events/s and ≥ 0.4 × the raw producer',
      met: r.load.rate >= 5000 && (!baseline || r.load.rate >= 0.4 * baseline.load.rate),
    });
    if (r.paced)
      goals.push({
        figure: `${r.name}: p99 acknowledge at ${fmt(r.pacedRate ?? NaN)} events/s`,
        value: r.paced.p99,
        unit: 'ms',
        goal: '≤ 50 ms, no errors',
        met: r.paced.p99 <= 50 && r.paced.errors === 0,
      });
  }
  if (idle)
    goals.push({
      figure: `peak RSS under load with ${fmt(o.devices)} devices`,
      value: peakRss / 1e6,
      unit: 'MB',
      baseline: { label: 'idle RSS', value: idle.rss / 1e6 },
      goal: '≤ 300 MB',
      met: peakRss <= 300e6,
    });
  reportGoals('ingest', goals);
  if (failed) process.exitCode = 1;
}

await main();
