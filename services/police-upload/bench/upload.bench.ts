/**
 * police-upload benchmark (a command, not a test), on the local infrastructure with the GA/T 1400
 * conformance peer as the upper platform, loopback only:
 *
 *   node services/police-upload/bench/upload.bench.ts [--objects 5000] [--rate 500] [--seconds 20]
 *        [--outage 10] [--inflow 200] [--batch 50] [--concurrency 8] [--picture-budget <bytes>]
 *        [--profile <file.cpuprofile>]
 *
 * `--picture-budget` is the service's POLICE_UPLOAD_ENQUEUED_PICTURE_BYTES (its default unless
 * given): 0 measures the drain of rows that kept only their pictures' keys (a platform beyond its
 * budget), which reads every picture from the S3 store at send time. `--profile` writes a CPU
 * profile of the throughput phase's drain (the process's one thread: service, peer and bench).
 *
 * 1. Baseline: a plain HTTP POST loop of the same Face bodies (`--batch`, `--concurrency` in flight) to the
 *    same peer, which validates and counts them exactly as it does for the service.
 *    Beside it, the store's own ceiling: a plain GET loop of the same picture from the same bucket
 *    through the platform's S3 client, as many in flight as the store's socket pool (64) allows,
 *    which the senders' claimed batches fill (`--concurrency` × `--batch` pictures at once).
 * 2. Upload throughput: `--objects` captures wait in the outbox while the peer is down; it comes
 *    back and the time from the first to the last arrival gives objects/s (goal ≥ 0.5× baseline),
 *    and the process's CPU time over that drain per object (the service, the peer and the bench),
 *    beside Postgres' own: the CPU time of the server processes serving the service's database
 *    (its connections and autovacuum there, read from /proc; the server's shared processes —
 *    WAL writer, I/O workers, checkpointer — are left out, as other databases share them).
 * 3. Capture → upper platform latency at `--rate` objects/s for `--seconds` (goal p99 ≤ 2 s),
 *    timed from each capture's publication to its arrival at the peer.
 * 4. Drain after an outage: `--inflow` captures/s continue while the peer is down `--outage`
 *    seconds (60 for the full drill); after it returns, the backlog and the ongoing inflow are
 *    drained; drain rate = objects delivered / time to an empty backlog (goal ≥ 2× inflow).
 * Figures only: the command never fails on speed.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { callGat1400, wrap, type Obj } from '@anfang/gat1400';
import { FACE_JPEG_BASE64 } from '@anfang/gat1400/fixtures';
import { createS3ObjectStore } from '@anfang/platform/objects';
import { reportGoals, s3StoreOptions, startCpuProfile } from '@anfang/testing';
import { faceFromCapture } from '../src/domain/objects.ts';
import { percentile } from '../src/upload/metrics.ts';
import { expectedFaceId, FACE_CAMERA, LOWER_ID, startHarness } from '../test/harness.ts';

const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '20' },
    outage: { type: 'string', default: '10' },
    inflow: { type: 'string', default: '200' },
    batch: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '8' },
    'picture-budget': { type: 'string' },
    profile: { type: 'string' },
  },
});
const OBJECTS = Number(args.objects);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const OUTAGE_S = Number(args.outage);
const INFLOW = Number(args.inflow);
/** Face cameras the captures come from: the bus key, so several partitions are busy as in a compound. */
const CAMERAS = 32;
const BATCH = Number(args.batch);
const IN_FLIGHT = Number(args.concurrency);
/** The platform S3 store's socket pool (S3ObjectStoreOptions.maxSockets default), the service's too. */
const S3_SOCKETS = 64;

const h = await startHarness('police-upload-bench', {
  extra: {
    POLICE_UPLOAD_BATCH_SIZE: String(BATCH),
    POLICE_UPLOAD_CONCURRENCY: String(IN_FLIGHT),
    POLICE_UPLOAD_POLL_MS: '20',
    POLICE_UPLOAD_RETRY_MAX_MS: '1000',
    LOG_LEVEL: 'error',
    ...(args['picture-budget'] === undefined
      ? {}
      : { POLICE_UPLOAD_ENQUEUED_PICTURE_BYTES: args['picture-budget'] }),
  },
});
const faces = h.peer.counts('faces');
const arrivals = new Map<string, number>();
const line = (s: string) => console.log(`[bench upload] ${s}`);
const backlog = async () =>
  Number((await h.sql.query<{ n: string }>('SELECT count(*) AS n FROM upload_outbox')).rows[0]!.n);

/** Publishes one capture per 1/rate s (open loop, in 100 ms slices) for `seconds`; returns id → publish time. */
async function inflow(rate: number, seconds: number, sink: Map<string, number>): Promise<void> {
  const perSlice = Math.max(1, Math.round(rate / 10));
  const start = Date.now();
  const pending: Promise<unknown>[] = [];
  for (let slice = 0; slice < seconds * 10; slice += 1) {
    const at = new Date();
    const inputs = Array.from({ length: perSlice }, (_, i) => ({
      at,
      eventId: randomUUID(),
      camera: i % CAMERAS,
    }));
    for (const i of inputs) sink.set(expectedFaceId(i.eventId, at), at.getTime());
    pending.push(h.faces(inputs));
    const next = start + (slice + 1) * 100;
    await sleep(Math.max(0, next - Date.now()));
  }
  await Promise.all(pending);
}

async function waitAll(ids: Iterable<string>, timeoutMs: number): Promise<void> {
  // Only the ids not seen yet are looked up on each poll: this process also runs the service,
  // and re-checking every arrived id 40 times a second took the CPU it was measuring.
  let missing = [...ids];
  const total = missing.length;
  await h.peer.waitFor(
    () => (missing = missing.filter((id) => !faces.has(id))).length === 0,
    timeoutMs,
    `${total} objects at the peer`,
  );
}

/**
 * GETs/s of `count` whole-object reads of the bench's picture, through the platform's S3 client
 * with the service's pool, `S3_SOCKETS` in flight: what the store serves on this machine.
 */
async function s3GetLoop(count: number): Promise<number> {
  const store = await createS3ObjectStore(s3StoreOptions(h.bucket));
  const loop = async (n: number): Promise<void> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: S3_SOCKETS }, async () => {
        while (next++ < n) await store.get(h.imageKeys.face);
      }),
    );
  };
  try {
    // Warm-up of sockets and JIT: a first pass ran at two thirds of the rate of a third one, and
    // the ceiling is what the store serves a warm client.
    await loop(count);
    const start = Date.now();
    await loop(count);
    return count / ((Date.now() - start) / 1000);
  } finally {
    await store.close();
  }
}

/** CPU time (µs) of each server process serving this database, by pid; 0 where /proc has no such process. */
async function postgresCpu(): Promise<Map<number, number>> {
  const { rows } = await h.sql.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  const tickUs = 1e6 / 100; // USER_HZ
  const cpu = await Promise.all(
    rows.map(async ({ pid }) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [pid, (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * tickUs] as const;
    }),
  );
  return new Map(cpu);
}

function arrivalTimes(): void {
  for (const r of h.peer.received('faces')) if (!arrivals.has(r.id)) arrivals.set(r.id, r.receivedAt);
}

try {
  // ---- 1. baseline ------------------------------------------------------------------------
  const image = { ...{ Type: '11', FileFormat: 'Jpeg', Width: 16, Height: 16 }, Data: FACE_JPEG_BASE64 };
  const bodies: Obj[] = Array.from({ length: OBJECTS }, () => {
    const built = faceFromCapture(
      randomUUID(),
      {
        meta: { occurredAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 } },
        device: { gat1400Id: FACE_CAMERA },
        images: [{ objectKey: 'x', kind: 1, width: 16, height: 16 }],
      },
      { lowerId: LOWER_ID },
    );
    if (!built.ok) throw new Error(built.reason);
    const info = built.object.images[0]!.info;
    return {
      ...built.object.body,
      SubImageList: { SubImageInfoObject: [{ ...info, ...image, Type: '11' }] },
    };
  });
  let next = 0;
  const baseStart = Date.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < bodies.length) {
        const batch = bodies.slice(next, next + BATCH);
        next += BATCH;
        const r = await callGat1400(`${h.peer.url}/VIID/Faces`, {
          body: wrap('faces', batch),
          userIdentify: LOWER_ID,
          timeoutMs: 10_000,
        });
        if (r.status !== 200) throw new Error(`baseline POST answered ${r.status}`);
      }
    }),
  );
  const baseline = OBJECTS / ((Date.now() - baseStart) / 1000);
  line(`baseline plain POST loop: ${OBJECTS} objects, ${baseline.toFixed(0)} objects/s`);
  const gets = await s3GetLoop(OBJECTS);
  line(
    `S3 store's own ceiling, plain GET loop of the picture, ${S3_SOCKETS} in flight: ${gets.toFixed(0)} GETs/s`,
  );

  // ---- 2. throughput ----------------------------------------------------------------------
  await h.peer.mode('down');
  const queued = new Map<string, number>();
  for (let i = 0; i < OBJECTS; i += 500) {
    const at = new Date();
    const inputs = Array.from({ length: Math.min(500, OBJECTS - i) }, (_, j) => ({
      at,
      eventId: randomUUID(),
      camera: j % CAMERAS,
    }));
    for (const x of inputs) queued.set(expectedFaceId(x.eventId, at), at.getTime());
    await h.faces(inputs);
  }
  while ((await backlog()) < OBJECTS) await sleep(100);
  const profiler = args.profile === undefined ? undefined : await startCpuProfile();
  await h.peer.mode('up');
  const cpuBefore = process.cpuUsage();
  const postgresBefore = await postgresCpu();
  await waitAll(queued.keys(), 300_000);
  const cpu = process.cpuUsage(cpuBefore);
  // A connection opened during the drain counts from 0; one closed during it is lost (none is at
  // the bench's pace: pools close connections idle for 30 s).
  let postgresUs = 0;
  for (const [pid, us] of await postgresCpu()) postgresUs += us - (postgresBefore.get(pid) ?? 0);
  if (profiler) await writeFile(args.profile!, JSON.stringify(await profiler.stop()));
  arrivalTimes();
  const times = [...queued.keys()].map((id) => arrivals.get(id)!);
  const span = (Math.max(...times) - Math.min(...times)) / 1000;
  const throughput = OBJECTS / Math.max(span, 0.001);
  line(
    `police-upload: ${OBJECTS} objects from the outbox, ${throughput.toFixed(0)} objects/s ` +
      `(${(throughput / baseline).toFixed(2)}× baseline; goal ≥ 0.5×; ` +
      `${(throughput / gets).toFixed(2)}× the S3 GET loop, one picture per object)`,
  );
  // Moves less with the machine's load than objects/s: what the drain costs, not how fast it got it.
  line(
    `process CPU over that drain (service, peer and bench share the process): ` +
      `${((cpu.user + cpu.system) / OBJECTS).toFixed(0)} µs per object; ` +
      `Postgres serving its database: ${(postgresUs / OBJECTS).toFixed(0)} µs per object`,
  );

  // ---- 3. latency at RATE -----------------------------------------------------------------
  const timed = new Map<string, number>();
  await inflow(RATE, SECONDS, timed);
  await waitAll(timed.keys(), 120_000);
  arrivalTimes();
  const latencies = [...timed].map(([id, at]) => arrivals.get(id)! - at);
  line(
    `capture → upper platform at ${RATE}/s for ${SECONDS} s (${timed.size} objects): ` +
      `p50 ${percentile(latencies, 0.5)} ms, p99 ${percentile(latencies, 0.99)} ms, max ${Math.max(...latencies)} ms (goal p99 ≤ 2000 ms)`,
  );

  // ---- 4. drain after an outage -----------------------------------------------------------
  const drained = new Map<string, number>();
  const flow = inflow(INFLOW, OUTAGE_S + 30, drained);
  await sleep(2_000);
  await h.peer.mode('down');
  await sleep(OUTAGE_S * 1000);
  const backlogAtReturn = await backlog();
  await h.peer.mode('up');
  const upAt = Date.now();
  // Everything captured before the platform returned and not yet delivered: the back-fill.
  const owed = [...drained].filter(([id, at]) => at <= upAt && !faces.has(id)).map(([id]) => id);
  await waitAll(owed, 300_000);
  const drainS = (Date.now() - upAt) / 1000;
  const drainRate = owed.length / Math.max(drainS, 0.001);
  line(
    `drain after a ${OUTAGE_S} s outage at ${INFLOW}/s inflow: backlog ${backlogAtReturn} at return, ` +
      `${owed.length} owed objects delivered in ${drainS.toFixed(1)} s (with the ongoing inflow), ` +
      `${drainRate.toFixed(0)} objects/s (${(drainRate / INFLOW).toFixed(1)}× inflow; goal ≥ 2×)`,
  );
  await flow;
  await waitAll(drained.keys(), 120_000);
  const stats = h.peer.stats();
  line(`peer: ${stats.unique} unique objects, ${stats.duplicates} duplicates, ${stats.invalid} invalid`);
  reportGoals('upload', [
    {
      figure: `upload throughput, ${OBJECTS} objects from the outbox`,
      value: throughput,
      unit: 'objects/s',
      baseline: { label: 'plain POST loop to the same peer', value: baseline },
      goal: '≥ 0.5 × plain POST loop',
      met: throughput >= 0.5 * baseline,
    },
    {
      figure: `capture → upper platform p99 at ${RATE}/s`,
      value: percentile(latencies, 0.99),
      unit: 'ms',
      goal: '≤ 2,000 ms',
      met: percentile(latencies, 0.99) <= 2000,
    },
    {
      figure: `drain after a ${OUTAGE_S} s outage`,
      value: drainRate,
      unit: 'objects/s',
      baseline: { label: 'inflow', value: INFLOW },
      goal: '≥ 2 × inflow',
      met: drainRate >= 2 * INFLOW,
    },
  ]);
} finally {
  await h.close();
}
