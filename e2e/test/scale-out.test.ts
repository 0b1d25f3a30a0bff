/**
 * Scale-out (issue 13): a second instance of every consuming service of a local-mode platform —
 * a second replica of each Deployment, same databases, groups and caches — joins its service's
 * consumer group; the partitions split between the two, and under traffic of every kind (face
 * captures at unit doors, plate reads at barriers, perimeter trigger bursts) nothing is lost and
 * nothing is processed twice: every capture decided once and at the upper platform, every plate
 * read one passage, every burst one alarm. For the groups the captures feed, both instances are
 * seen to have done part of the work (committed offsets advanced in partitions each one owns).
 *
 * The throughput with one and with two instances is `./anfang bench scale`.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@anfang/contracts';
import type { DeviceRuntime } from '@anfang/simulator';
import { groupMembers, kafkaClient, waitFor, type GroupMember } from '@anfang/testing';
import { armedWall, intrusion } from './support/perimeter.ts';
import { watch, type Watcher } from './support/bus.ts';
import { startReplica, type Restarted } from './support/faults.ts';
import { serviceNames } from './support/platform.ts';
import { plateRead } from './support/vehicles.ts';
import { openWorld, type World } from './support/world.ts';

const enabled = process.env.ANFANG_E2E_SCALE !== '0';
/** Groups the face captures feed: both instances must be seen working in each. */
const CAPTURE_GROUPS = ['identity', 'video-index', 'police-upload'];
const CAPTURE_ROUNDS = 4;

let world: World;
let passages: Watcher<typeof topics.vehiclePassageRecorded>;
const replicas: Restarted[] = [];
/** The consuming services of this install, from its consumer groups (`<namespace>.<service>`). */
let consuming: string[] = [];

const groupOf = (service: string) => `${world.platform.namespace}.${service}`;

beforeAll(async () => {
  if (!enabled) return;
  passages = await watch([topics.vehiclePassageRecorded]);
  world = await openWorld({ prefix: 'scl', compounds: 4 });
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    consuming = groups
      .map((g) => g.groupId.slice(groupOf('').length))
      .filter((name, i) => groups[i]!.groupId.startsWith(groupOf('')) && serviceNames.includes(name))
      .sort();
  } finally {
    await admin.disconnect();
  }
  // One after the other: each start is a rebalance of its own group only, but nine services
  // starting at once on two CPUs would time out their readiness.
  for (const service of consuming) replicas.push(await startReplica(world.platform, service));
}, 600_000);

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await world?.close();
  await passages?.close();
});

/** Each member's partitions, once both instances of the group hold some. */
async function splitOf(service: string): Promise<GroupMember[]> {
  return waitFor(
    async () => {
      const members = await groupMembers(groupOf(service));
      const owns = (m: GroupMember) => Object.values(m.partitions).some((p) => p.length > 0);
      return members.length === 2 && members.every(owns) ? members : undefined;
    },
    {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      message: `${service}: two instances never split the partitions`,
    },
  );
}

/** The group's committed offset of every partition it has committed, by `topic/partition`. */
async function committed(service: string): Promise<Map<string, bigint>> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: groupOf(service) });
    return new Map(
      offsets.flatMap(({ topic, partitions }) =>
        partitions
          .filter((p) => Number(p.offset) >= 0)
          .map((p) => [`${topic}/${p.partition}`, BigInt(p.offset)] as const),
      ),
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until a count in a service's own database reaches `expected`, then checks it stays there
 * a moment longer: an event processed twice would show as more.
 */
async function countsSettle(
  service: string,
  sql: string,
  params: unknown[],
  expected: number,
  what: string,
): Promise<void> {
  const db = await world.platform.database(service);
  try {
    const count = async () => Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
    let last = 0;
    await waitFor(async () => ((last = await count()) >= expected ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      message: `${service}: not every one of ${expected} ${what}`,
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message} (${last})`, { cause: error });
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await count(), `${service}: ${what}`).toBe(expected);
  } finally {
    await db.end();
  }
}

const devicesOf = (kind: DeviceRuntime['device']['kind'], protocol: DeviceRuntime['device']['protocol']) =>
  world.kit.devices.filter((rt) => rt.device.kind === kind && rt.device.protocol === protocol);

describe.runIf(enabled)('two instances of every consuming service', () => {
  it('split every consumer group by partition', { timeout: 240_000 }, async () => {
    // Every service that consumes the device events the traffic below sends.
    expect(consuming).toEqual(
      expect.arrayContaining([...CAPTURE_GROUPS, 'vehicle-access', 'perimeter-alarms']),
    );
    for (const service of consuming) {
      const members = await splitOf(service);
      const counts = members.map((m) => Object.values(m.partitions).reduce((n, p) => n + p.length, 0));
      console.log(`${service}: two instances, ${counts.join(' + ')} partitions`);
    }
  });

  it(
    'lose nothing and process nothing twice under captures, plate reads and perimeter bursts',
    { timeout: 420_000 },
    async () => {
      const before = new Map(
        await Promise.all(CAPTURE_GROUPS.map(async (g) => [g, await committed(g)] as const)),
      );
      const members = new Map(
        await Promise.all(CAPTURE_GROUPS.map(async (g) => [g, await splitOf(g)] as const)),
      );

      // Face captures of strangers (a picture each) at every generic unit door of the kit.
      const doors = devicesOf('unitDoor', 'generic');
      expect(doors.length).toBeGreaterThanOrEqual(16);
      const facesBefore = world.upper.peer.received('faces').length;
      const duplicatesBefore = world.upper.peer.stats().duplicates;
      for (let round = 0; round < CAPTURE_ROUNDS; round++)
        await Promise.all(
          doors.map(async (rt) => {
            const delivery = await world.showFace(rt, '');
            expect(delivery, delivery.reason).toMatchObject({ accepted: 1 });
          }),
        );
      const captures = doors.length * CAPTURE_ROUNDS;

      // A read of a plate of its own at every Dahua barrier camera of the kit.
      const cameras = devicesOf('plateCamera', 'itsapi');
      expect(cameras.length).toBeGreaterThan(0);
      const plates = new Set<string>();
      for (const camera of cameras) {
        const plate = `鲁C${randomInt(10_000, 100_000)}`;
        plates.add(plate);
        await plateRead(world.kit, camera, plate);
      }

      // A burst of three triggers at each Hikvision perimeter sensor, each in an armed zone of its own.
      const sensors = devicesOf('perimeter', 'isapi');
      expect(sensors.length).toBeGreaterThan(1);
      const zones = new Map<string, string>();
      for (const sensor of sensors)
        zones.set(
          await armedWall(world.rest, sensor, `围界 ${sensor.device.key}`, 'scale-out'),
          sensor.device.compound.code,
        );
      for (let i = 0; i < 3; i++) await Promise.all(sensors.map((sensor) => intrusion(world.kit, sensor)));

      // identity: every capture decided exactly once — one stored record each, in this install's
      // own database (the bus is shared with other installs on a busy machine, whose simulated
      // doors have the same ids).
      const deviceIds = doors.map((rt) => rt.device.deviceId);
      await countsSettle(
        'identity',
        `SELECT count(*) AS n FROM access_records WHERE device_id = ANY($1)`,
        [deviceIds],
        captures,
        'captures decided',
      );

      // police-upload: every capture at the upper platform; a re-send recognised by its id.
      const doorIds = new Set(doors.map((rt) => rt.device.gat1400Id));
      const arrived = () =>
        new Set(
          world.upper.peer
            .received('faces')
            .slice(facesBefore)
            .filter((f) => doorIds.has(String(f.object.DeviceID)))
            .map((f) => f.id),
        ).size;
      await waitFor(() => (arrived() >= captures ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 500,
        message: `not every capture reached the upper platform`,
      }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}: ${arrived()}/${captures}`, { cause: error });
      });
      expect(world.upper.peer.stats().duplicates - duplicatesBefore).toBeLessThanOrEqual(
        Math.ceil(captures / 100),
      );

      // video-index: every capture's picture indexed once.
      await countsSettle(
        'video-index',
        `SELECT count(*) AS n FROM media_index WHERE device_id = ANY($1)`,
        [deviceIds],
        captures,
        'pictures indexed',
      );

      // vehicle-access: one passage per read (a second decision would be a second passage event).
      const passagesOf = (plate: string) =>
        new Set(
          passages.events
            .filter((e) => (e.payload as { plateNumber?: string }).plateNumber === plate)
            .map((e) => e.eventId),
        ).size;
      await waitFor(() => ([...plates].every((p) => passagesOf(p) >= 1) ? true : undefined), {
        timeoutMs: 120_000,
        message: 'not every plate read became a passage',
      });
      expect(
        [...plates].filter((p) => passagesOf(p) > 1),
        'plates decided twice',
      ).toEqual([]);

      // perimeter-alarms: one alarm per burst, with all three triggers.
      for (const [zoneId, compoundId] of zones) {
        const mine = await waitFor(
          async () => {
            const { alarms = [] } = await world.rest<{
              alarms?: { zoneId?: string; occurrenceCount: number }[];
            }>('GET', `/v1/alarm/alarms?compoundId=${compoundId}`);
            const ofZone = alarms.filter((a) => a.zoneId === zoneId);
            return ofZone.length > 0 && ofZone.reduce((n, a) => n + a.occurrenceCount, 0) >= 3
              ? ofZone
              : undefined;
          },
          { timeoutMs: 120_000, message: `zone ${zoneId}: the burst was not alarmed` },
        );
        expect(mine, `zone ${zoneId}: one alarm for its burst`).toHaveLength(1);
        expect(mine[0]!.occurrenceCount).toBe(3);
      }

      // Both instances worked: each owns a partition whose committed offset moved.
      for (const service of CAPTURE_GROUPS) {
        const after = await committed(service);
        const moved = new Set(
          [...after]
            .filter(([key, offset]) => offset > (before.get(service)!.get(key) ?? 0n))
            .map(([k]) => k),
        );
        const worked = members
          .get(service)!
          .map((m) =>
            Object.entries(m.partitions).some(([topic, parts]) =>
              parts.some((p) => moved.has(`${topic}/${p}`)),
            ),
          );
        console.log(
          `${service}: partitions moved ${moved.size}; instances that worked ${worked.filter(Boolean).length}/2`,
        );
        expect(worked, `${service}: an instance did none of the work`).toEqual([true, true]);
      }
      console.log(
        `scale-out: ${captures} captures, ${plates.size} plate reads, ${zones.size} bursts over two instances of ${consuming.length} services — none lost, none twice`,
      );
    },
  );
});
