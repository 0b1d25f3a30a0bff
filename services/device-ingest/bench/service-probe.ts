/**
 * Preloaded into the benchmark's service child (`--import`): what stops the service's event loop,
 * so the benchmark can say what its slow acknowledgements are made of. It records garbage
 * collections (a PerformanceObserver on 'gc': start, duration, kind) and event-loop stalls (a
 * 10 ms timer that fires late: the loop was busy from its due time until it ran), both in epoch
 * milliseconds (`performance.timeOrigin` + now, the benchmark's clock too), the event-loop
 * delay histogram (`monitorEventLoopDelay`), what the scavenges promoted to the old generation
 * (`v8.GCProfiler`: the old spaces' growth across each scavenge; what the mark-compacts are paid
 * for); and what the acknowledgements waited on: every
 * pipeline `accept` call's stages (the pipeline's ACCEPT_TIMINGS_CHANNEL) and every outgoing HTTP
 * PUT (the S3 pictures; Node's `http.client.*` diagnostics channels): created, given a socket,
 * answered. Read and reset over IPC: `{ type: 'probe', id, trace }` is answered `{ type: 'probe',
 * id, gcs, promotion, stalls, loop, accepts, puts }` with everything since the last read.
 * Nothing of it is the service's own code: it observes, and costs a timer tick every 10 ms.
 *
 * The accepts and PUTs are recorded only until the next read and only when that read asked for
 * them (`trace: true`: the paced phases, whose acknowledgements they explain). A record is an
 * object per accept and two listeners per PUT, 50 000 of them in a saturation phase, all sent over
 * IPC at its end: that would be the benchmark's memory and CPU counted as the service's. And while
 * nothing subscribes to its channel, the pipeline builds no stage times at all, as in production.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { constants, type PerformanceEntry } from 'node:perf_hooks';
// Relative, not the package: the probe is preloaded into the bundled service, which has no @anfang/testing.
import { recordPromotion, type Promotion } from '../../../packages/testing/src/gc-promotion.ts';
import { ACCEPT_TIMINGS_CHANNEL, type AcceptTimings } from '../src/ingest/pipeline.ts';

export interface Pause {
  /** Epoch ms. */
  readonly start: number;
  readonly ms: number;
  readonly kind?: string;
}

/** An outgoing HTTP PUT (an S3 picture), epoch ms. */
export interface PutTimings {
  readonly created: number;
  /** Given a socket of the keep-alive pool (later than `created` when it waited for one). */
  socket?: number;
  /** The answer's headers arrived. */
  answered?: number;
}

export interface ProbeReading {
  readonly gcs: Pause[];
  readonly promotion: Promotion;
  readonly stalls: Pause[];
  readonly accepts: AcceptTimings[];
  readonly puts: PutTimings[];
  /** Event-loop delay since the last read, ms. */
  readonly loop: { readonly p50: number; readonly p99: number; readonly max: number };
}

const TICK_MS = 10;
/** A tick this much late is recorded as a stall (shorter ones are the histogram's). */
const STALL_MS = 20;

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

const epoch = (t: number): number => performance.timeOrigin + t;
let gcs: Pause[] = [];
let stalls: Pause[] = [];
let accepts: AcceptTimings[] = [];
let puts: PutTimings[] = [];
/** Records kept between two reads at most (a phase's worth), so an unread probe cannot grow. */
const MAX_RECORDS = 100_000;

const onAccept = (message: unknown): void => {
  if (accepts.length < MAX_RECORDS) accepts.push(message as AcceptTimings);
};
const onRequestCreated = (message: unknown): void => {
  const request = (message as { request: ClientRequest }).request;
  if (request.method !== 'PUT' || puts.length >= MAX_RECORDS) return;
  const put: PutTimings = { created: epoch(performance.now()) };
  puts.push(put);
  request.once('socket', () => (put.socket = epoch(performance.now())));
  request.once('response', () => (put.answered = epoch(performance.now())));
};
const TRACED: readonly (readonly [string, (message: unknown) => void])[] = [
  [ACCEPT_TIMINGS_CHANNEL, onAccept],
  ['http.client.request.created', onRequestCreated],
];
let tracing = false;
/** Records the accepts' stages and the PUTs from now on, or stops. */
function trace(on: boolean): void {
  if (on === tracing) return;
  tracing = on;
  for (const [channel, listener] of TRACED)
    if (on) subscribe(channel, listener);
    else unsubscribe(channel, listener);
}

new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    gcs.push({ start: epoch(e.startTime), ms: e.duration, kind: GC_KINDS[kind ?? -1] ?? String(kind) });
  }
}).observe({ entryTypes: ['gc'] });

const promotion = recordPromotion();

const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();

let due = performance.now() + TICK_MS;
setInterval(() => {
  const t = performance.now();
  const late = t - due;
  if (late >= STALL_MS) stalls.push({ start: epoch(due), ms: late });
  due = t + TICK_MS;
}, TICK_MS).unref();

process.on('message', (m: { type?: string; id?: number; trace?: boolean }) => {
  if (m.type !== 'probe') return;
  trace(m.trace === true);
  const reading: ProbeReading = {
    gcs,
    promotion: promotion.take(),
    stalls,
    accepts,
    puts,
    loop: {
      p50: histogram.percentile(50) / 1e6,
      p99: histogram.percentile(99) / 1e6,
      max: histogram.max / 1e6,
    },
  };
  gcs = [];
  stalls = [];
  accepts = [];
  puts = [];
  histogram.reset();
  process.send?.({ type: 'probe', id: m.id, ...reading });
});
