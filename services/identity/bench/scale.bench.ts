/**
 * Scale-out benchmark (issue 13, a command, not a test): presented credentials decided and
 * recorded per second by one identity instance, then by two instances of one consumer group,
 * each instance its own process, on the local infrastructure (`./anfang infra up`).
 *
 *   node services/identity/bench/scale.bench.ts [--events 6000] [--readers 96] [--city-compounds 5000]
 *        [--peak-per-compound 0.5]
 *
 * Each round starts its instances under a fresh group, waits until every partition of the
 * credential topic is assigned, publishes `--events` card presentations spread over `--readers`
 * readers (device-keyed, so over every partition) and times the first publish to the last access
 * record seen on `anfang.identity.access-recorded.v1`. Goal: two instances ≥ 1.8 × one. From the
 * measured rate per instance and its CPU, the sizing of a city: instances (and cores) to carry
 * `--city-compounds` compounds at `--peak-per-compound` access events per second each at peak
 * (0.5/s ≈ a 1,000-household compound's morning rush), with headroom to run at 50 % CPU.
 *
 * Each instance runs under a CPU limit of `--cpu-limit` cores (default 0.25, Kubernetes `250m`),
 * enforced by the kernel's CFS quota on a cgroup of its own, exactly as a pod's limit is: what a
 * replica adds in a cluster is its own share of CPU, while on this two-core machine an unlimited
 * instance competes with the other one and with Kafka and Postgres for the same two cores, and
 * the ratio then measures the machine rather than the service. The machine's CPU use is printed
 * for each round so that the headroom is visible. `--cpu-limit 0` runs the instances unlimited
 * (and so does a machine without a writable cgroup filesystem, which the output says).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { anfang, IdentityService, topics } from '@anfang/contracts';
import { mintCallerMetadata, type Caller, type Role } from '@anfang/platform/auth';
import { createBus, createEventPublisher } from '@anfang/platform/bus';
import { createGrpcClient } from '@anfang/platform/grpc';
import { createLogger } from '@anfang/platform/log';
import {
  cpuLimit,
  createTestDatabase,
  ensureTopics,
  groupMembers,
  infraEnv,
  kafkaClient,
  reportGoals,
  SERVICE_CHILD,
  waitFor,
} from '@anfang/testing';
import { COMPOUND, identityTestEnv, seedReaderBank, seedResident, seedSite } from '../test/harness.ts';

const { DeviceType } = anfang.common.v1;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '6000' },
    readers: { type: 'string', default: '96' },
    'city-compounds': { type: 'string', default: '5000' },
    'peak-per-compound': { type: 'string', default: '0.5' },
    'cpu-limit': { type: 'string', default: '0.25' },
  },
});
const EVENTS = Number(values.events);
const READERS = Number(values.readers);
const CITY = Number(values['city-compounds']);
const PEAK = Number(values['peak-per-compound']);
const CPU_LIMIT = Number(values['cpu-limit']);
const CARD = 'CC000001';

const db = await createTestDatabase('identity-scale');
const callerKey = randomBytes(32).toString('base64url');
const baseEnv = identityTestEnv(db.url, callerKey, { LOG_LEVEL: 'warn' });

interface Instance {
  readonly proc: ChildProcess;
  readonly grpcPort: number;
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** Whether the last instance started ran under the CPU limit (false: no writable cgroup here). */
let limited = false;

async function startInstance(group: string): Promise<Instance> {
  const proc = fork(SERVICE_CHILD, [new URL('../src/service.ts', import.meta.url).pathname], {
    env: { ...baseEnv, OTEL_SERVICE_NAME: group },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const limit = CPU_LIMIT > 0 ? await cpuLimit(`anfang-bench-${proc.pid}`, CPU_LIMIT) : undefined;
  limited = limit !== undefined;
  await limit?.add(proc.pid!);
  const ports = await new Promise<{ grpc: number }>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`identity exited during start (code ${code})`)));
    proc.on('message', (m: { type: string; ports?: { grpc: number } }) => {
      if (m.type === 'ready') resolve(m.ports!);
    });
  });
  return {
    proc,
    grpcPort: ports.grpc,
    cpuMicros: () =>
      new Promise((resolve) => {
        const id = Math.random();
        const listener = (m: { type: string; id?: number; cpu?: NodeJS.CpuUsage }) => {
          if (m.type !== 'mem' || m.id !== id) return;
          proc.off('message', listener);
          resolve(m.cpu!.user + m.cpu!.system);
        };
        proc.on('message', listener);
        proc.send({ type: 'mem', id });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.send({ type: 'stop' });
      }).then(() => limit?.remove()),
  };
}

/** Busy and total CPU time of the whole machine so far, in clock ticks (/proc/stat). */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - cpu[3]! - cpu[4]!, total };
}

const logger = createLogger({ service: 'identity-scale-bench', level: 'warn' });
const bus = await createBus({
  kind: 'kafka',
  brokers: infraEnv().kafkaBrokers,
  clientId: 'identity-scale',
  logger,
});
const devicesPublisher = createEventPublisher({ bus, producer: 'device-ingest' });
const records = kafkaClient().consumer({
  groupId: `identity-scale-watch-${randomUUID()}`,
  maxWaitTimeInMs: 50,
});
const seen = new Set<string>();
let lastSeenAt = 0;

try {
  await ensureTopics([topics.deviceCredentialPresented, topics.identityAccessRecorded]);
  await records.connect();
  await records.subscribe({ topics: [topics.identityAccessRecorded.name], fromBeginning: false });
  await records.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        if (!message.value) continue;
        seen.add(topics.identityAccessRecorded.payload.decode(message.value).sourceEventId);
      }
      lastSeenAt = performance.now();
    },
  });

  // Seed through a first instance: the site, many readers on one door of the residents' group.
  const seeder = await startInstance(`identity-scale-seed-${randomUUID().slice(0, 6)}`);
  const client = createGrpcClient(IdentityService.definition, `127.0.0.1:${seeder.grpcPort}`, {
    deadlineMs: 30_000,
  });
  const as = async (role: Role, extra: Partial<Caller> = {}) => ({
    metadata: await mintCallerMetadata(
      { subject: `bench-${role}`, role, compounds: extra.compounds ?? [COMPOUND], ...extra },
      callerKey,
    ),
  });
  const site = await seedSite({ client, as }, new Set());
  await seedResident({ client, as }, site, 1, CARD);
  const readers = await seedReaderBank({ client, as }, site, READERS);
  client.close();
  await seeder.stop();

  async function round(instances: number): Promise<{ rate: number; cpuCores: number }> {
    const group = `identity-scale-${instances}x-${randomUUID().slice(0, 6)}`;
    const running = await Promise.all(Array.from({ length: instances }, () => startInstance(group)));
    try {
      await waitFor(
        async () => {
          const members = await groupMembers(group);
          const assigned = members.flatMap((m) => m.partitions[topics.deviceCredentialPresented.name] ?? []);
          return (
            members.length === instances &&
            assigned.length === topics.deviceCredentialPresented.partitions &&
            members.every((m) => (m.partitions[topics.deviceCredentialPresented.name] ?? []).length > 0)
          );
        },
        { timeoutMs: 120_000, message: `${instances} instance(s) never got every partition` },
      );
      // Warm-up: JIT, connections and caches, not timed.
      const warm = await publish(200);
      await waitFor(() => warm.every((id) => seen.has(id)), { timeoutMs: 120_000 });
      const cpuBefore = await Promise.all(running.map((i) => i.cpuMicros()));
      const machineBefore = await machineTicks();
      const start = performance.now();
      const ids = await publish(EVENTS);
      await waitFor(() => ids.every((id) => seen.has(id)), {
        timeoutMs: 600_000,
        intervalMs: 200,
        message: `${instances} instance(s) did not record every event`,
      });
      const seconds = (lastSeenAt - start) / 1000;
      const machineAfter = await machineTicks();
      const cpuAfter = await Promise.all(running.map((i) => i.cpuMicros()));
      const cpuSeconds = cpuAfter.reduce((sum, after, i) => sum + (after - cpuBefore[i]!), 0) / 1e6;
      const rate = EVENTS / seconds;
      const machineBusy =
        (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total);
      console.log(
        `${instances} instance(s)${limited ? ` limited to ${CPU_LIMIT} core each` : ', unlimited'}: ` +
          `${EVENTS} events in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} events/s, ` +
          `identity ${(cpuSeconds / seconds).toFixed(2)} cores busy; the machine ${(machineBusy * 100).toFixed(0)} % ` +
          `of ${availableParallelism()} cores busy (everything: Kafka, Postgres, this bench, other work)`,
      );
      return { rate, cpuCores: cpuSeconds / seconds };
    } finally {
      await Promise.all(running.map((i) => i.stop()));
    }
  }

  async function publish(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 500) {
      const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => {
        const eventId = randomUUID();
        ids.push(eventId);
        return devicesPublisher.publish(
          topics.deviceCredentialPresented,
          {
            device: { deviceId: readers[(i + j) % READERS], deviceType: DeviceType.DEVICE_TYPE_FACE_GATE },
            sourceObjectId: eventId,
            card: { cardNumber: CARD },
          },
          { eventId },
        );
      });
      await Promise.all(batch);
    }
    return ids;
  }

  const one = await round(1);
  const two = await round(2);
  const perCore = one.rate / Math.max(one.cpuCores, 0.01);
  const cityRate = CITY * PEAK;
  const cores = Math.ceil(cityRate / perCore / 0.5);
  console.log(
    `\ncity sizing: ${CITY} compounds × ${PEAK} access events/s at peak = ${cityRate.toFixed(0)} events/s; ` +
      `measured ${perCore.toFixed(0)} events/s per busy core of identity → ${cores} cores at 50 % ` +
      `(e.g. ${Math.max(2, Math.ceil(cores / 2))} replicas of 2 cores; the device topics have ` +
      `${topics.deviceCredentialPresented.partitions} partitions, the most replicas one group can use).`,
  );
  reportGoals('scale', [
    {
      figure: `identity decisions recorded, two instances${limited ? ` of ${CPU_LIMIT * 1000}m CPU` : ''}`,
      value: two.rate,
      unit: 'events/s',
      baseline: {
        label: limited ? `one instance of ${CPU_LIMIT * 1000}m CPU` : 'one instance',
        value: one.rate,
      },
      goal: '≥ 1.8 × one instance',
      met: two.rate >= 1.8 * one.rate,
    },
  ]);
} finally {
  await records.disconnect().catch(() => undefined);
  await bus.close();
  await db.drop();
}
