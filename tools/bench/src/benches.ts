/**
 * Every benchmark of the repository, in the order `./anfang bench all` runs them: the bus first
 * (everything else rides on it), then each service's. One list, so the command, its usage text
 * and the summary cannot disagree.
 */
export interface Bench {
  /** The name on the command line: `./anfang bench <name>`. */
  readonly name: string;
  /** The script, from the repository root. */
  readonly script: string;
  /** What it measures against what, in one line. */
  readonly measures: string;
  /** The issue whose goals it checks. */
  readonly issue: number;
}

export const BENCHES: readonly Bench[] = [
  {
    name: 'bus',
    script: 'packages/platform/bench/bus.bench.ts',
    measures: 'Kafka bus publish → consume throughput beside raw kafkajs',
    issue: 2,
  },
  {
    name: 'ingest',
    script: 'services/device-ingest/bench/ingest.bench.ts',
    measures: 'device request → on Kafka, events/s and acknowledge latency beside a raw producer',
    issue: 3,
  },
  {
    name: 'authorize',
    script: 'services/identity/bench/authorize.bench.ts',
    measures: 'Authorize warm and cache-miss latency and throughput beside an Echo RPC',
    issue: 4,
  },
  {
    name: 'decision',
    script: 'services/vehicle-access/bench/decision.bench.ts',
    measures: 'plate read → barrier decision p99 with 100,000 vehicles beside a no-op decision',
    issue: 5,
  },
  {
    name: 'alarms',
    script: 'services/perimeter-alarms/bench/alarm.bench.ts',
    measures: 'trigger → alarm event p99 and throughput at 1,000/s over 500 zones beside a pass-through',
    issue: 6,
  },
  {
    name: 'video',
    script: 'services/video-index/bench/video.bench.ts',
    measures: 'batched index writes, search over millions of rows, sweep while ingesting',
    issue: 8,
  },
  {
    name: 'scoring',
    script: 'services/compliance-scoring/bench/recompute.bench.ts',
    measures: 'full recompute of 5,000 compounds and status event → level beside reading the evidence',
    issue: 9,
  },
  {
    name: 'upload',
    script: 'services/police-upload/bench/upload.bench.ts',
    measures: 'GA/T 1400 upload throughput and latency beside a plain POST loop to the same peer',
    issue: 10,
  },
  {
    name: 'scale',
    script: 'services/identity/bench/scale.bench.ts',
    measures: 'decisions per second with two identity instances beside one, and the sizing of a city',
    issue: 13,
  },
  {
    name: 'gateway',
    script: 'services/gateway/bench/rest.bench.ts',
    measures: 'REST through the gateway beside the same RPC over gRPC',
    issue: 11,
  },
];

export function findBench(name: string): Bench | undefined {
  return BENCHES.find((b) => b.name === name);
}
