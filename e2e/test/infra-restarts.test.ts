/**
 * The Kafka broker and Postgres restarted under load. The shared infrastructure is every
 * checkout's on this machine, so this file starts infrastructure of its own (a broker and a
 * Postgres of the infra tooling on ports of its range, their own state folder; Redis and the S3
 * store stay the shared ones), runs a small local-mode platform on it, stops and starts each
 * server while a door sends card swipes, and checks that nothing device-ingest acknowledged is
 * lost or decided twice and that every service recovers by itself (no restart of any service).
 * The infrastructure is deleted afterwards.
 *
 * ANFANG_E2E_INFRA_RESTARTS=0 skips the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { allTopics } from '@anfang/contracts/topics';
import { createBus } from '@anfang/platform/bus';
import { waitFor } from '@anfang/testing';
import { watch } from './support/bus.ts';
import { startOwnInfra, type OwnInfra, type OwnServer } from './support/own-infra.ts';
import type { waitReady as WaitReady } from './support/platform.ts';
import type { residentOfDoor as ResidentOfDoor } from './support/site.ts';
import type { AccessRecorded, World } from './support/world.ts';

const { AccessDecision } = anfang.identity.v1;

const enabled = process.env.ANFANG_E2E_INFRA_RESTARTS !== '0';
/** How long each server stays down while the swipes go on. */
const DOWN_MS = 5_000;

let own: OwnInfra | undefined;
let world: World | undefined;
let waitReady: typeof WaitReady;
let residentOfDoor: typeof ResidentOfDoor;

beforeAll(async () => {
  if (!enabled) return;
  own = await startOwnInfra();
  Object.assign(process.env, own.env);
  // A new broker: the topics first, before the test's own consumer joins (the runner would
  // create them only when the platform starts).
  const bus = await createBus({
    kind: 'kafka',
    brokers: [own.env.ANFANG_KAFKA_BROKERS!],
    clientId: 'e2e-infra-restarts',
  });
  try {
    await bus.ensureTopics(allTopics());
  } finally {
    await bus.close();
  }
  // The runner reads the infrastructure's ports when it is loaded: only now.
  ({ waitReady } = await import('./support/platform.ts'));
  ({ residentOfDoor } = await import('./support/site.ts'));
  const { openWorld } = await import('./support/world.ts');
  world = await openWorld({ prefix: 'rst', compounds: 1 });
}, 600_000);

afterAll(async () => {
  await world?.close();
  await own?.remove();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(enabled)('infrastructure restarts', () => {
  const cases: { server: OwnServer; nth: number }[] = [
    { server: 'kafka', nth: 0 },
    { server: 'postgres', nth: 1 },
  ];
  it.each(cases)(
    '$server restarted under a stream of card swipes: nothing acknowledged lost or decided twice, every service recovers by itself',
    { timeout: 420_000 },
    async ({ server, nth }) => {
      const w = world!;
      // A door of each test's own (a reader belongs to one door).
      const door = w.kit.devices.filter(
        (rt) => rt.device.kind === 'unitDoor' && rt.device.protocol === 'generic',
      )[nth]!;
      const { card, personId } = await residentOfDoor(w.rest, door);
      // Acknowledged: device-ingest answered "accepted". Refused or unanswered swipes (the
      // server being down may make device-ingest refuse) are a device's to send again.
      // Device event id → when device-ingest acknowledged it.
      const acknowledged = new Map<string, number>();
      let refused = 0;
      let stopping = false;
      const load = (async () => {
        while (!stopping) {
          try {
            const delivery = await w.presentCard(door, card);
            if (delivery.accepted === 1)
              acknowledged.set(`${door.device.serialNumber}-${door.serial}`, Date.now());
            else refused++;
          } catch {
            refused++;
          }
          await sleep(200);
        }
      })();
      let downFor: number | undefined;
      let stoppedAt = 0;
      try {
        await sleep(5_000);
        stoppedAt = Date.now();
        await own!.stop(server);
        await sleep(DOWN_MS);
        await own!.start(server);
        downFor = Date.now() - stoppedAt;
        await sleep(10_000);
      } finally {
        stopping = true;
        await load;
      }
      console.log(
        `${server} restart: down ${downFor} ms; ${acknowledged.size} swipes acknowledged, ${refused} refused or unanswered`,
      );
      expect(acknowledged.size).toBeGreaterThan(0);

      const status = `http://127.0.0.1:${w.platform.ports.status}/`;
      await waitReady(status, w.platform.lines, 180_000);
      // Read from the beginning by a group of its own, started now: the broker is this file's, so
      // everything on it is this test's, and the check does not rest on a consumer of the test's
      // having lived through the restart. A swipe is the device's event id (serial); device-ingest
      // publishes it under a bus id, which identity's decision names.
      const bus = await watch([topics.deviceCredentialPresented, topics.identityAccessRecorded], {
        start: 'earliest',
      });
      const busIds = () => {
        const ids = new Map<string, string>();
        for (const e of bus.events) {
          if (e.topic.name !== topics.deviceCredentialPresented.name) continue;
          const p = e.payload as anfang.device.v1.CredentialPresented;
          if (p.device?.deviceId === door.device.deviceId && p.card?.cardNumber === card)
            ids.set(p.sourceObjectId, e.eventId);
        }
        return ids;
      };
      const decided = () => {
        const seen = new Set<string>();
        return bus.events
          .filter((e) => e.topic.name === topics.identityAccessRecorded.name)
          .filter((e) => !seen.has(e.eventId) && seen.add(e.eventId))
          .map((e) => e.payload as AccessRecorded)
          .filter((r) => r.device?.deviceId === door.device.deviceId && r.personId === personId);
      };
      const undecided = () => {
        const ids = busIds();
        const made = new Set(decided().map((r) => r.sourceEventId));
        return [...acknowledged.keys()].filter((id) => !made.has(ids.get(id) ?? ''));
      };
      try {
        await waitFor(() => (undecided().length === 0 ? true : undefined), {
          timeoutMs: 180_000,
          intervalMs: 500,
          message: `an acknowledged swipe was never decided after the ${server} restart`,
        }).catch((error: unknown) => {
          const lost = undecided();
          const unpublished = lost.filter((id) => !busIds().has(id));
          const when = unpublished
            .map((id) => `${id} acknowledged ${acknowledged.get(id)! - stoppedAt} ms from the stop`)
            .join(', ');
          throw new Error(
            `${(error as Error).message}: ${lost.length} of ${acknowledged.size} undecided, ${unpublished.length} of them not on the bus (${when})`,
            { cause: error },
          );
        });
        await sleep(5_000);
        const records = decided();
        const perEvent = new Map<string, number>();
        for (const r of records) perEvent.set(r.sourceEventId, (perEvent.get(r.sourceEventId) ?? 0) + 1);
        expect(
          [...perEvent].filter(([, n]) => n > 1),
          'swipes decided twice',
        ).toEqual([]);
        expect(
          records.filter((r) => r.decision !== AccessDecision.ACCESS_DECISION_ALLOWED),
          'swipes refused',
        ).toEqual([]);

        // Every service by itself: ready, and a swipe now is accepted and decided.
        const after = await w.presentCard(door, card);
        expect(after, after.reason).toMatchObject({ accepted: 1 });
        const id = `${door.device.serialNumber}-${door.serial}`;
        await waitFor(() => decided().some((r) => r.sourceEventId === busIds().get(id)), {
          timeoutMs: 60_000,
          message: `a swipe after the ${server} restart was not decided`,
        });
      } finally {
        await bus.close();
      }
    },
  );
});
