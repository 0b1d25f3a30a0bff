/**
 * The fault campaign on one local-mode platform: faults a single install can inflict on itself
 * without touching anyone else on the shared machine, each bounded and ending by itself.
 *
 * - a service SIGKILLed under load and started again (identity, which takes every access
 *   decision): every presentation device-ingest accepted is decided exactly once, correctly;
 * - Redis flushed — only this install's keys (its INSTALL_NAMESPACE prefix; other checkouts use
 *   the same Redis): caches rebuild, decisions stay right, a revocation holds;
 * - the police's upper platform down for 60 s under a steady inflow of captures: uploads queue
 *   and drain, nothing is lost, each device's captures arrive in capture order.
 *
 * The Kafka broker and Postgres are not restarted: on this machine they are shared with the
 * other engineers' checkouts and CI, and the infra tooling can only restart them for everyone.
 *
 * ANFANG_E2E_FAULTS=0 skips the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import type { DeviceRuntime } from '@anfang/simulator';
import { waitFor } from '@anfang/testing';
import { flushInstallKeys, installKeyCount, killAndRestart, type Restarted } from './support/faults.ts';
import { residentOfDoor } from './support/site.ts';
import { openWorld, type World } from './support/world.ts';

const { AccessDecision, AccessReason } = anfang.identity.v1;

const enabled = process.env.ANFANG_E2E_FAULTS !== '0';
/** How long the upper platform is down (ANFANG_E2E_OUTAGE_S, default 60). */
const OUTAGE_MS = Number(process.env.ANFANG_E2E_OUTAGE_S ?? 60) * 1000;

let world: World;
const restarted: Restarted[] = [];
/**
 * The identity faults run one after the other (the flush must not land on a service being
 * restarted), beside the upper platform's outage, which needs no identity.
 */
let identityFaultDone!: () => void;
const identityFree = new Promise<void>((resolve) => (identityFaultDone = resolve));
/** And so do the two faults on police-upload's link to the upper platform. */
let outageDone!: () => void;
const outageOver = new Promise<void>((resolve) => (outageDone = resolve));

beforeAll(async () => {
  if (!enabled) return;
  world = await openWorld({ prefix: 'flt', compounds: 3 });
}, 480_000);

afterAll(async () => {
  for (const r of restarted) await r.stop();
  await world?.close();
});

/** A resident of one unit door of the compound with a card and a grant on that door. */
async function residentAt(compoundIndex: number) {
  const compound = world.kit.compounds[compoundIndex]!;
  const door = world.kit.device(
    'unitDoor',
    (rt) => rt.device.compound === compound && rt.device.protocol === 'generic',
  );
  return { door, ...(await residentOfDoor(world.rest, door)) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The generic unit doors of a compound of the kit, in catalogue order. */
const genericUnitDoors = (compoundIndex: number) =>
  world.kit.devices.filter(
    (rt) =>
      rt.device.compound === world.kit.compounds[compoundIndex] &&
      rt.device.kind === 'unitDoor' &&
      rt.device.protocol === 'generic',
  );

/** The Faces objects the peer accepted from a device. */
const facesOf = (rt: DeviceRuntime) =>
  world.upper.peer.received('faces').filter((f) => f.object.DeviceID === rt.device.gat1400Id);

interface Uploads {
  readonly already: ReadonlyMap<DeviceRuntime, number>;
  readonly sent: ReadonlyMap<DeviceRuntime, number>;
  total(): number;
}

/**
 * Strangers at each door every 2 s for `durationMs` — a face capture with its picture each, every
 * one accepted by device-ingest — with a fault: `before` the stream starts, `during` it, and
 * `after` it (always: the fault ends).
 */
async function captureStream(
  doors: readonly DeviceRuntime[],
  durationMs: number,
  fault: {
    before?: () => Promise<void>;
    during?: () => Promise<void>;
    after?: (uploads: Uploads) => Promise<void>;
  },
): Promise<Uploads> {
  const already = new Map(doors.map((rt) => [rt, facesOf(rt).length]));
  const sent = new Map(doors.map((rt) => [rt, 0]));
  const uploads = { already, sent, total: () => [...sent.values()].reduce((a, b) => a + b, 0) };
  try {
    await fault.before?.();
    const started = Date.now();
    const stream = (async () => {
      while (Date.now() - started < durationMs) {
        await Promise.all(
          doors.map(async (rt) => {
            const delivery = await world.showFace(rt, '');
            expect(delivery, delivery.reason).toMatchObject({ accepted: 1 });
            sent.set(rt, sent.get(rt)! + 1);
          }),
        );
        await sleep(2_000);
      }
    })();
    await Promise.all([stream, fault.during?.()]);
  } finally {
    await fault.after?.(uploads);
  }
  return uploads;
}

/**
 * Waits until every capture of the stream is at the peer (distinct object ids per device) and
 * checks what the receiver saw twice stays rare (at least once, under stable ids: ≤ 1 %).
 * Returns the duplicates the peer counted meanwhile.
 */
async function allAtThePeer(doors: readonly DeviceRuntime[], uploads: Uploads): Promise<number> {
  const duplicatesBefore = world.upper.peer.stats().duplicates;
  const arrived = (rt: DeviceRuntime) => new Set(facesOf(rt).map((f) => f.id)).size;
  const expected = (rt: DeviceRuntime) => uploads.sent.get(rt)! + uploads.already.get(rt)!;
  await waitFor(() => (doors.every((rt) => arrived(rt) >= expected(rt)) ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 500,
    message: `not all ${uploads.total()} captures arrived`,
  }).catch((error: unknown) => {
    const counts = doors.map((rt) => `${rt.device.key} ${arrived(rt)}/${expected(rt)}`).join(', ');
    throw new Error(`${(error as Error).message}: ${counts}`, { cause: error });
  });
  const duplicates = world.upper.peer.stats().duplicates - duplicatesBefore;
  expect(duplicates).toBeLessThanOrEqual(Math.ceil(uploads.total() / 100));
  return duplicates;
}

describe.runIf(enabled).concurrent('faults', () => {
  it(
    'SIGKILL of identity under load: every accepted presentation is decided exactly once, allowed',
    { timeout: 240_000 },
    async () => {
      try {
        await sigkillIdentityUnderLoad();
      } finally {
        identityFaultDone();
      }
    },
  );

  async function sigkillIdentityUnderLoad() {
    const { door, card, personId } = await residentAt(0);
    const sent: string[] = [];
    // A steady stream of card swipes: ~6 a second for 20 s, identity killed after 5 s and
    // started again while the stream goes on.
    const load = (async () => {
      const started = Date.now();
      while (Date.now() - started < 20_000) {
        const delivery = await world.presentCard(door, card);
        expect(delivery, delivery.reason).toMatchObject({ accepted: 1 });
        sent.push(`${door.device.serialNumber}-${door.serial}`);
        await sleep(150);
      }
    })();
    await sleep(5_000);
    const before = sent.length;
    restarted.push(await killAndRestart(world.platform, 'identity'));
    const readyAt = Date.now();
    await load;
    console.log(`identity SIGKILL: ${sent.length} swipes accepted, ${before} before the kill`);
    expect(before).toBeGreaterThan(0);
    expect(sent.length).toBeGreaterThan(before);

    const mine = () => world.accessRecords(door, (r) => r.personId === personId);
    await waitFor(
      () => (new Set(mine().map((r) => r.sourceEventId)).size >= sent.length ? true : undefined),
      {
        timeoutMs: 120_000,
        message: `not every accepted swipe was decided (${sent.length} sent)`,
      },
    ).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}: ${new Set(mine().map((r) => r.sourceEventId)).size} decided`,
        {
          cause: error,
        },
      );
    });
    // Anything redelivered after the kill would show up within a few seconds.
    await sleep(5_000);
    const records = mine();
    const perEvent = new Map<string, number>();
    for (const r of records) perEvent.set(r.sourceEventId, (perEvent.get(r.sourceEventId) ?? 0) + 1);
    expect(
      [...perEvent.values()].filter((n) => n > 1),
      'decisions made twice',
    ).toEqual([]);
    expect(perEvent.size).toBe(sent.length);
    expect(
      records.filter((r) => r.decision !== AccessDecision.ACCESS_DECISION_ALLOWED),
      'swipes refused',
    ).toEqual([]);

    // People reach identity through the gateway again: its channel reconnects with back-off
    // (503 UNAVAILABLE meanwhile, which a client repeats).
    await waitFor(() => world.rest('GET', '/v1/addresses?parentCode=370303').then(() => true), {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      message: 'the gateway did not reach the restarted identity',
    });
    console.log(
      `identity SIGKILL: the gateway reached identity again ${Date.now() - readyAt} ms after it was ready`,
    );
  }

  it(
    "Redis flushed (this install's keys only): caches rebuild, decisions stay right, a revocation holds",
    // It waits for the SIGKILL fault to end first.
    { timeout: 420_000 },
    async () => {
      await identityFree;
      const { door, doorId, card, cardCredentialId } = await residentAt(1);
      const decide = async (what: string) => {
        const before = world.accessRecords(door, (r) => r.doorId === doorId).length;
        const delivery = await world.presentCard(door, card);
        expect(delivery, delivery.reason).toMatchObject({ accepted: 1 });
        return waitFor(() => world.accessRecords(door, (r) => r.doorId === doorId)[before], {
          timeoutMs: 60_000,
          message: `no decision: ${what}`,
        });
      };
      expect((await decide('warm')).decision).toBe(AccessDecision.ACCESS_DECISION_ALLOWED);
      expect(await installKeyCount(world.platform)).toBeGreaterThan(0);

      const flushed = await flushInstallKeys(world.platform);
      console.log(`redis: ${flushed} keys of this install flushed`);
      expect(await installKeyCount(world.platform)).toBe(0);
      // Sessions may live in the flushed store: sign in again as a user would.
      world.rest = await world.signInAdmin();
      expect((await decide('after the flush')).decision).toBe(AccessDecision.ACCESS_DECISION_ALLOWED);
      expect(await installKeyCount(world.platform), 'the caches did not rebuild').toBeGreaterThan(0);

      await world.rest('POST', `/v1/credentials/${cardCredentialId}:revoke`, { reason: 'card lost' });
      await flushInstallKeys(world.platform);
      world.rest = await world.signInAdmin();
      const revoked = await decide('after the revocation and a second flush');
      expect(revoked).toMatchObject({
        decision: AccessDecision.ACCESS_DECISION_DENIED,
        reason: AccessReason.ACCESS_REASON_REVOKED,
      });
    },
  );

  it(
    'the upper platform down for 60 s under a steady inflow: uploads queue and drain oldest first, nothing lost, nothing duplicated',
    { timeout: 300_000 },
    async () => {
      try {
        const doors = genericUnitDoors(2).slice(0, 3);
        const peer = world.upper.peer;
        let during = -1;
        const uploads = await captureStream(doors, OUTAGE_MS, {
          before: () => peer.mode('down'),
          after: async (stream) => {
            during = doors.reduce((n, rt) => n + facesOf(rt).length - stream.already.get(rt)!, 0);
            await peer.mode('up');
          },
        });
        expect(during, 'uploads accepted while the upper platform was down').toBe(0);
        const upAt = Date.now();
        const duplicates = await allAtThePeer(doors, uploads);
        // Back-filled oldest first: each door's oldest capture is in the first batch claimed. The
        // back-log (≤ 93 captures) goes out as two batches side by side, either may land first:
        // the oldest is at worst behind the younger batch's share (about 40 %), never at the end,
        // where it was when each row waited out its own back-off.
        const oldestAt = doors.map((rt) => {
          const seen = new Set<string>();
          const arrivals = facesOf(rt)
            .slice(uploads.already.get(rt)!)
            .filter((f) => !seen.has(f.id) && seen.add(f.id));
          const shotTimes = arrivals.map((f) => String(f.object.ShotTime));
          const oldest = shotTimes.indexOf([...shotTimes].sort()[0]!);
          return { door: rt.device.key, oldest, of: arrivals.length };
        });
        console.log(
          `upper platform down ${OUTAGE_MS / 1000} s: ${uploads.total()} captures queued, drained ${Date.now() - upAt} ms after it came back; duplicates ${duplicates}; oldest capture arrived at ${oldestAt.map((o) => `${o.oldest + 1}/${o.of}`).join(', ')}`,
        );
        for (const o of oldestAt)
          expect(o.oldest, `${o.door}: oldest capture's place`).toBeLessThan(o.of * 0.75);
      } finally {
        outageDone();
      }
    },
  );

  it(
    'SIGKILL of police-upload under a steady inflow: every capture reaches the upper platform, nothing duplicated',
    { timeout: 420_000 },
    async () => {
      // After the outage: both faults on police-upload's link at once would tell nothing apart.
      await outageOver;
      const doors = genericUnitDoors(2).slice(3, 6);
      const uploads = await captureStream(doors, 20_000, {
        during: async () => {
          await sleep(5_000);
          restarted.push(await killAndRestart(world.platform, 'police-upload'));
        },
      });
      const duplicates = await allAtThePeer(doors, uploads);
      console.log(
        `police-upload SIGKILL: ${uploads.total()} captures, all at the peer; duplicates ${duplicates}`,
      );
    },
  );

  it.todo(
    'Kafka broker restarted under load — the broker is shared on this machine; restarting it disturbs every install',
  );
  it.todo('Postgres restarted under load — shared as the broker is; not restarted here');
});
