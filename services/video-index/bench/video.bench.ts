/**
 * video-index benchmark (a command, not a test), on the local infrastructure (`./anfang infra up`):
 *
 *   node services/video-index/bench/video.bench.ts [--rows 5000000] [--days 60] [--cameras 500]
 *        [--writes 20000] [--queries 300] [--sweep-seconds 20]
 *
 * 1. Index writes: the service's batched upsert (one statement per 1 000 rows) beside the same
 *    upsert one row at a time, in the same run, on the same fresh database (goal ≥ 10×).
 * 2. Search by camera + time range (one day, first page of 50, newest first) over `--rows` index
 *    rows spread over `--days` day partitions and `--cameras` cameras, generated with
 *    INSERT … SELECT generate_series; p50/p99 beside a `SELECT 1` round trip (goal p99 ≤ 50 ms).
 * 3. Sweep rate while ingest runs: the retention sweep (batches of 500: one DeleteObjects request
 *    to the real S3 store, one transaction) for `--sweep-seconds` while a writer indexes
 *    continuously; ingest rate beside the same writer alone.
 * Figures only: the command never fails on speed.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createS3ObjectStore } from '@anfang/platform/objects';
import { createPool, migrate, type Pool } from '@anfang/platform/pg';
import { createTestBucket, createTestDatabase, infraEnv, reportGoals, type BenchGoal } from '@anfang/testing';
import type { MediaRow } from '../src/domain/sources.ts';
import { createMediaStore, type MediaStore } from '../src/store/media.ts';
import { createPartitions, dayStart } from '../src/store/partitions.ts';
import { createRetentionStore } from '../src/store/retention.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    days: { type: 'string', default: '60' },
    cameras: { type: 'string', default: '500' },
    writes: { type: 'string', default: '20000' },
    queries: { type: 'string', default: '300' },
    'sweep-seconds': { type: 'string', default: '20' },
  },
});
const ROWS = Number(args.rows);
const DAYS = Number(args.days);
const CAMERAS = Number(args.cameras);
const WRITES = Number(args.writes);
const QUERIES = Number(args.queries);
const SWEEP_MS = Number(args['sweep-seconds']) * 1000;
const COMPOUND = '370303001001998';
const DAY_MS = 86_400_000;

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const ms = (n: number) => `${n.toFixed(2)} ms`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

let seq = 0;
function row(at: Date): MediaRow {
  const camera = `cam-${seq % CAMERAS}`;
  return {
    objectKey: `device-ingest/captures/${COMPOUND}/${at.toISOString().slice(0, 10)}/${camera}/${randomUUID()}-${seq++}.jpg`,
    capturedAt: at,
    compoundId: COMPOUND,
    deviceId: camera,
    eventType: 'anfang.device.v1.FaceCaptured',
    eventId: randomUUID(),
    imageClass: 'faces',
    plateNumber: '',
    personId: '',
    contentType: 'image/jpeg',
    sizeBytes: 40_000,
    sha256: '',
  };
}

async function writes(media: MediaStore): Promise<BenchGoal> {
  const now = Date.now();
  const rows = Array.from({ length: WRITES }, (_, i) => row(new Date(now - (i % 86_400) * 1000)));
  const single = rows.slice(0, Math.max(500, Math.floor(WRITES / 10)));
  const batched = rows.slice(single.length);
  await media.write([row(new Date(now))]);
  let t = performance.now();
  for (const r of single) await media.write([r]);
  const singleRate = single.length / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < batched.length; i += 1000) await media.write(batched.slice(i, i + 1000));
  const batchedRate = batched.length / ((performance.now() - t) / 1000);
  console.log(
    '\n1. index writes (upsert, idempotent on the object key, storage figures in the same transaction)',
  );
  console.log(`   single-row (baseline) ${fmt(singleRate).padStart(9)} rows/s  (${single.length} rows)`);
  console.log(`   batched, 1 000 / stmt ${fmt(batchedRate).padStart(9)} rows/s  (${batched.length} rows)`);
  return {
    figure: 'batched index writes',
    value: batchedRate,
    unit: 'rows/s',
    baseline: { label: 'single-row upserts', value: singleRate },
    goal: '≥ 10 × single-row',
    met: batchedRate >= 10 * singleRate,
  };
}

async function generate(pool: Pool): Promise<{ from: Date; to: Date }> {
  const to = dayStart(new Date());
  const from = new Date(to.getTime() - DAYS * DAY_MS);
  await createPartitions(pool).ensure(
    Array.from({ length: DAYS + 1 }, (_, d) => new Date(from.getTime() + d * DAY_MS)),
  );
  const t = performance.now();
  const chunk = 250_000;
  for (let start = 0; start < ROWS; start += chunk) {
    await pool.query(
      `INSERT INTO media_index (object_key, captured_at, compound_id, device_id, event_type, event_id, image_class,
                                content_type, size_bytes)
       SELECT 'device-ingest/captures/${COMPOUND}/g/' || lpad(n::text, 10, '0') || '.jpg',
              $1::timestamptz + (n::double precision / $3) * ($2::timestamptz - $1::timestamptz),
              $4, 'cam-' || (n % $5), 'anfang.device.v1.FaceCaptured', gen_random_uuid()::text,
              (ARRAY['faces','vehicles','alarms','general'])[1 + n % 4], 'image/jpeg', 40000
       FROM generate_series($6::bigint, $7::bigint) AS n`,
      [from, to, ROWS, COMPOUND, CAMERAS, start, Math.min(ROWS, start + chunk) - 1],
    );
  }
  await pool.query('ANALYZE media_index');
  console.log(
    `\n2. ${fmt(ROWS)} rows over ${DAYS} day partitions and ${CAMERAS} cameras generated in ${((performance.now() - t) / 1000).toFixed(0)} s`,
  );
  return { from, to };
}

async function search(pool: Pool, media: MediaStore, span: { from: Date; to: Date }): Promise<BenchGoal> {
  const base: number[] = [];
  const found: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    let t = performance.now();
    await pool.query('SELECT 1');
    base.push(performance.now() - t);
    const day = Math.floor(Math.random() * (DAYS - 1));
    const from = new Date(span.from.getTime() + day * DAY_MS + Math.floor(Math.random() * DAY_MS));
    t = performance.now();
    const page = await media.search({
      compoundId: COMPOUND,
      deviceIds: [`cam-${Math.floor(Math.random() * CAMERAS)}`],
      from,
      to: new Date(from.getTime() + DAY_MS),
      eventType: '',
      plateNumber: '',
      personId: '',
      imageClass: undefined,
      after: undefined,
      limit: 51,
    });
    times.push(performance.now() - t);
    found.push(page.length);
  }
  base.sort((a, b) => a - b);
  times.sort((a, b) => a - b);
  console.log(
    `   search by camera + one day, first page of 50 (${QUERIES} queries, ${(found.reduce((a, b) => a + b, 0) / QUERIES).toFixed(0)} rows per page on average)`,
  );
  console.log(`   SELECT 1 (baseline)   p50 ${ms(percentile(base, 50))}  p99 ${ms(percentile(base, 99))}`);
  console.log(`   search                p50 ${ms(percentile(times, 50))}  p99 ${ms(percentile(times, 99))}`);
  return {
    figure: `search p99, camera + one day over ${fmt(ROWS)} rows`,
    value: percentile(times, 99),
    unit: 'ms',
    baseline: { label: 'SELECT 1 p99', value: percentile(base, 99) },
    goal: '≤ 50 ms',
    met: percentile(times, 99) <= 50,
  };
}

async function sweepWhileIngest(pool: Pool, media: MediaStore, span: { from: Date }): Promise<BenchGoal> {
  const env = infraEnv();
  const bucket = await createTestBucket('video-bench');
  const objects = await createS3ObjectStore({
    url: env.s3.endpoint,
    accessKey: env.s3.accessKey,
    secretKey: env.s3.secretKey,
    region: env.s3.region,
    bucket: bucket.bucket,
    prefix: 'device-ingest/',
  });
  try {
    const retention = createRetentionStore({
      pool,
      objects,
      partitions: createPartitions(pool),
      defaults: { faces: 30, vehicles: 30, alarms: 30, general: 30 },
    });
    const ingest = async (signal: AbortSignal) => {
      let n = 0;
      while (!signal.aborted) {
        const now = Date.now();
        await media.write(Array.from({ length: 200 }, () => row(new Date(now))));
        n += 200;
      }
      return n;
    };
    const alone = new AbortController();
    setTimeout(() => alone.abort(), SWEEP_MS / 2);
    let t = performance.now();
    const aloneRate = (await ingest(alone.signal)) / ((performance.now() - t) / 1000);

    const stop = new AbortController();
    setTimeout(() => stop.abort(), SWEEP_MS);
    t = performance.now();
    // "Now" is the generated span's end + 30 days - DAYS/2: half the generated days are due.
    const now = new Date(span.from.getTime() + (DAYS / 2 + 30) * DAY_MS);
    const [swept, ingested] = await Promise.all([
      retention.sweep(now, { batch: 500, pauseMs: 0, signal: stop.signal }),
      ingest(stop.signal),
    ]);
    const seconds = (performance.now() - t) / 1000;
    console.log(
      `\n3. retention sweep (500 per batch, DeleteObjects + one transaction each) while ingest runs, ${(SWEEP_MS / 1000).toFixed(0)} s`,
    );
    console.log(`   ingest alone (baseline) ${fmt(aloneRate).padStart(9)} rows/s`);
    console.log(`   ingest during the sweep ${fmt(ingested / seconds).padStart(9)} rows/s`);
    console.log(
      `   sweep                   ${fmt(swept.deleted / seconds).padStart(9)} images/s deleted (${fmt(swept.deleted)} in ${swept.batches} batches)`,
    );
    // The issue asks for the sweep rate; that live traffic keeps at least half its pace is ours.
    return {
      figure: `ingest while the sweep deletes ${fmt(swept.deleted / seconds)} images/s`,
      value: ingested / seconds,
      unit: 'rows/s',
      baseline: { label: 'ingest alone', value: aloneRate },
      goal: '≥ 0.5 × ingest alone',
      met: ingested / seconds >= 0.5 * aloneRate,
    };
  } finally {
    await objects.close();
    await bucket.drop();
  }
}

const db = await createTestDatabase('video-bench');
const pool = createPool({
  url: db.url,
  applicationName: 'video-index-bench',
  max: 8,
  statementTimeoutMs: 600_000,
});
try {
  await migrate(pool, { dir: new URL('../src/store/migrations', import.meta.url) });
  const media = createMediaStore(pool, createPartitions(pool));
  console.log('video-index benchmark: local Postgres and S3 store, a fresh database and bucket per run');
  const goals = [await writes(media)];
  const span = await generate(pool);
  goals.push(await search(pool, media, span));
  goals.push(await sweepWhileIngest(pool, media, span));
  reportGoals('video', goals);
} finally {
  await pool.end();
  await db.drop();
}
