/**
 * Two replicas over one database, both running the scheduler and consuming check-ins: every
 * round is materialised once and closed once, and a check-in is evaluated once whichever
 * replica takes it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { uniqueName, waitFor } from '@anfang/testing';
import { localStart, MINUTE_MS, startHarness, type Harness } from './harness.ts';

const { ViolationKind, ViolationStatus } = anfang.patrol.v1;
const GUARDS = 8;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('patrol-replicas', {
    PATROL_SCHEDULER_INTERVAL_MS: '100',
    PATROL_CLOSE_GRACE_MINUTES: '0',
  });
  await h.startReplica();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

it('materialises and closes each round once, and raises each violation once', async () => {
  const metadata = h.manager;
  const tagId = uniqueName('tag');
  const { checkpoint } = await h.client.createCheckpoint(
    { checkpoint: { compoundId: h.compoundId, name: '北门', tagId } },
    { metadata },
  );
  const { route } = await h.client.createRoute(
    {
      route: {
        compoundId: h.compoundId,
        name: '单点',
        stops: [{ checkpointId: checkpoint!.checkpointId!, toleranceMinutes: 5 }],
      },
    },
    { metadata },
  );
  const past = localStart(new Date(Date.now() - 90 * MINUTE_MS));
  const guardTags: string[] = [];
  for (let i = 0; i < GUARDS; i++) {
    const tag = uniqueName(`card-${i}`);
    guardTags.push(tag);
    const { guard } = await h.client.createGuard(
      { guard: { compoundId: h.compoundId, name: `guard ${i}`, tagId: tag } },
      { metadata },
    );
    await h.client.createSchedule(
      {
        schedule: {
          routeId: route!.routeId!,
          guardId: guard!.guardId!,
          weekdays: [1, 2, 3, 4, 5, 6, 7],
          startTime: past.startTime,
          utcOffsetMinutes: 480,
          validFrom: past.date,
        },
      },
      { metadata },
    );
  }

  // Today's past round of every guard is closed as not started (tomorrow's stays open).
  const notStarted = await waitFor(
    () => {
      const raised = h.violations.filter(
        (v) =>
          v.kind === ViolationKind.VIOLATION_KIND_ROUND_NOT_STARTED &&
          v.status === ViolationStatus.VIOLATION_STATUS_RAISED,
      );
      return raised.length >= GUARDS && raised;
    },
    { timeoutMs: 30_000 },
  );
  // Half the guards' wands upload now: both replicas consume.
  for (const tag of guardTags.slice(0, GUARDS / 2))
    await h.checkIn({
      at: new Date(past.start.getTime() + 2 * MINUTE_MS),
      checkpointTagId: tagId,
      guardTagId: tag,
    });
  await waitFor(
    () =>
      h.violations.filter((v) => v.status === ViolationStatus.VIOLATION_STATUS_WITHDRAWN).length >=
      GUARDS / 2,
    { timeoutMs: 30_000 },
  );

  const { rows: rounds } = await h.sql.query<{ n: number; closed: number }>(
    `SELECT count(*)::int AS n, count(closed_at)::int AS closed FROM rounds WHERE planned_start = $1`,
    [past.start],
  );
  expect(rounds[0]).toEqual({ n: GUARDS, closed: GUARDS });
  const { rows: all } = await h.sql.query(
    `SELECT v.kind, v.status, v.detail, r.planned_start, r.closed_at
       FROM violations v LEFT JOIN rounds r USING (round_id) ORDER BY v.raised_at`,
  );
  const { rows: violations } = await h.sql.query<{ status: string; n: number }>(
    // Round violations only: other test files' check-ins reach this service too, as unknown tags.
    `SELECT status, count(*)::int AS n FROM violations WHERE round_id IS NOT NULL GROUP BY status ORDER BY status`,
  );
  expect(violations, JSON.stringify(all)).toEqual([
    { status: 'raised', n: GUARDS / 2 },
    { status: 'withdrawn', n: GUARDS / 2 },
  ]);
  // One raise per round so far, whichever replica closed it.
  const roundsRaised = new Set(notStarted.map((v) => v.roundId));
  expect(roundsRaised.size).toBe(notStarted.length);
});
