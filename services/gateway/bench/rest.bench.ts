/**
 * gateway benchmark (a command, not a test): what a REST call through the gateway costs beside
 * the same RPC called directly over gRPC, and beside a plain HTTP GET of the same HTTP server, in
 * the same run, on the local infrastructure (`./anfang infra up`). The gateway and a real
 * perimeter-alarms run in this process (as in the integration tests); the REST call pays for the
 * session lookup in Redis, both rate-limit counters, the role and scope check, the JSON → proto
 * conversion, minting the caller token, the gRPC call and the masking of the answer.
 *
 *   node services/gateway/bench/rest.bench.ts [--duration-s 5] [--concurrency 16]
 *
 * Each scenario is a closed loop at `--concurrency` requests in flight for `--duration-s`. Goal
 * (issue 11): gateway p50 ≤ direct gRPC p50 + 5 ms. Figures are printed; it never fails on speed.
 */
import { parseArgs } from 'node:util';
import { PerimeterAlarmService } from '@anfang/contracts';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { createGrpcClient } from '@anfang/platform/grpc';
import { reportGoals, TEST_CALLER_TOKEN_KEY } from '@anfang/testing';
import { startHarness } from '../test/harness.ts';

const { values } = parseArgs({
  options: { 'duration-s': { type: 'string', default: '5' }, concurrency: { type: 'string', default: '16' } },
});
const durationMs = Number(values['duration-s']) * 1000;
const concurrency = Number(values.concurrency);

interface Figures {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

async function loop(name: string, call: () => Promise<boolean>): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        const ok = await call().catch(() => false);
        latencies.push(performance.now() - started);
        if (!ok) errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { name, rps: latencies.length / (durationMs / 1000), p50: at(0.5), p99: at(0.99), errors };
}

const h = await startHarness('gateway-bench', {
  GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '100000000',
  GATEWAY_RATE_LIMIT_ADDRESS_PER_MINUTE: '100000000',
  LOG_LEVEL: 'error',
});
try {
  const manager = await h.user('community_manager', [h.compoundA]);
  const created = await h.request<{ zone: { zoneId: string } }>('POST', '/v1/alarm/zones', {
    token: manager.token,
    body: { zone: { compoundId: h.compoundA, name: '基准围墙', kind: 'ZONE_KIND_WALL' } },
  });
  const zoneId = created.body.zone.zoneId;
  const alarmsAddress = h.upstreamAddress;
  const direct = createGrpcClient(PerimeterAlarmService.definition, alarmsAddress, { deadlineMs: 10_000 });
  const metadata = await mintCallerMetadata(
    { subject: 'bench', role: 'community_manager', compounds: [h.compoundA] },
    TEST_CALLER_TOKEN_KEY,
    { ttlSeconds: 3600 },
  );
  const headers = { authorization: `Bearer ${manager.token}` };
  const results = [
    await loop('plain HTTP GET /healthz (baseline)', async () => (await fetch(`${h.url}/healthz`)).ok),
    await loop(
      'direct gRPC GetZone (baseline)',
      async () => (await direct.getZone({ zoneId }, { metadata })).zone !== null,
    ),
    await loop('REST GET /v1/alarm/zones/{id} via gateway', async () => {
      const r = await fetch(`${h.url}/v1/alarm/zones/${zoneId}`, { headers });
      await r.arrayBuffer();
      return r.ok;
    }),
  ];
  direct.close();
  console.log(`gateway REST benchmark — ${concurrency} in flight, ${durationMs / 1000} s per scenario`);
  for (const r of results)
    console.log(
      `${r.name.padEnd(45)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   errors ${r.errors}`,
    );
  const [, grpc, rest] = results;
  reportGoals('gateway', [
    {
      figure: `REST GET through the gateway p50, ${concurrency} in flight`,
      value: rest!.p50,
      unit: 'ms',
      baseline: { label: 'direct gRPC p50', value: grpc!.p50 },
      goal: '≤ direct gRPC p50 + 5 ms',
      met: rest!.p50 <= grpc!.p50 + 5 && rest!.errors === 0,
    },
  ]);
} finally {
  await h.close();
}
