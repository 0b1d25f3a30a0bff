/**
 * A day of patrols end to end: planning over gRPC, check-ins on the real Kafka topic (many of
 * them uploaded hours after the tap, as offline wands do), the scheduler materialising and
 * closing rounds, violations as rows and as events on the real topic, and report figures
 * worked out by hand below.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromDate, timestampToDate } from '@anfang/contracts';
import { waitFor, uniqueName } from '@anfang/testing';
import { localStart, MINUTE_MS, startHarness, type Harness } from './harness.ts';

const { RoundStatus, StopOutcome, ViolationKind, ViolationStatus, ReportGrouping } = anfang.patrol.v1;
const K = ViolationKind;

let h: Harness;
/** Past rounds start here: closed by the scheduler before their check-ins arrive. */
let past: ReturnType<typeof localStart>;
/** The live round starts here: still open (planned end + 60 min grace is ahead). */
let live: ReturnType<typeof localStart>;
const tags = { A: uniqueName('tag-a'), B: uniqueName('tag-b'), C: uniqueName('tag-c') };
const readerD = crypto.randomUUID();
const checkpoints: Record<string, string> = {};
const guards: Record<string, { id: string; tag: string }> = {};
const routes: Record<string, string> = {};
const roundOf: Record<string, string> = {};
const MOBILE = 'late';

const pastAt = (minutes: number) => new Date(past.start.getTime() + minutes * MINUTE_MS);
const liveAt = (minutes: number) => new Date(live.start.getTime() + minutes * MINUTE_MS);

async function getRound(roundId: string) {
  return (await h.client.getRound({ roundId }, { metadata: h.manager })).round!;
}

async function raised(roundId: string) {
  const { violations } = await h.client.listViolations(
    { compoundId: h.compoundId, roundId },
    { metadata: h.manager },
  );
  return violations!.map((v) => [v.kind, v.expectedSequence]).sort();
}

const eventsOf = (roundId: string) => h.violations.filter((v) => v.roundId === roundId);

beforeAll(async () => {
  h = await startHarness('patrol-rounds', { PATROL_CLOSE_GRACE_MINUTES: '60' });
  const now = Date.now();
  past = localStart(new Date(now - 180 * MINUTE_MS));
  live = localStart(new Date(now - 40 * MINUTE_MS));
  const metadata = h.manager;

  for (const [name, tagId] of Object.entries(tags)) {
    const { checkpoint } = await h.client.createCheckpoint(
      { checkpoint: { compoundId: h.compoundId, name: `${name} 号岗`, zoneId: 'north', tagId } },
      { metadata },
    );
    checkpoints[name] = checkpoint!.checkpointId!;
  }
  const { checkpoint: duty } = await h.client.createCheckpoint(
    { checkpoint: { compoundId: h.compoundId, name: '监控室 (duty)', deviceId: readerD } },
    { metadata },
  );
  checkpoints.D = duty!.checkpointId!;

  const leg = (name: string, minutesFromPrevious: number, toleranceMinutes = 3, stayMinutes = 0) => ({
    checkpointId: checkpoints[name]!,
    minutesFromPrevious,
    toleranceMinutes,
    stayMinutes,
  });
  const { route: abc } = await h.client.createRoute(
    {
      route: { compoundId: h.compoundId, name: 'R1 A-B-C', stops: [leg('A', 0), leg('B', 10), leg('C', 10)] },
    },
    { metadata },
  );
  routes.abc = abc!.routeId!;
  const { route: withDuty } = await h.client.createRoute(
    {
      route: {
        compoundId: h.compoundId,
        name: 'R2 A-D-C',
        stops: [leg('A', 0, 2), leg('D', 5, 2, 15), leg('C', 5, 2)],
      },
    },
    { metadata },
  );
  routes.duty = withDuty!.routeId!;

  // One guard per scenario, so rounds never compete for a check-in.
  const scenarios = ['onTime', 'missed', 'wrongOrder', 'late', 'notStarted', 'duty', 'live'];
  for (const scenario of scenarios) {
    const tag = uniqueName(`card-${scenario}`);
    // The late guard checks in by phone (the mobile path: a user id, no card).
    const identity = scenario === MOBILE ? { userId: tag } : { tagId: tag };
    const { guard } = await h.client.createGuard(
      { guard: { compoundId: h.compoundId, name: `guard ${scenario}`, ...identity } },
      { metadata },
    );
    guards[scenario] = { id: guard!.guardId!, tag };
    const when = scenario === 'live' ? live : past;
    const { schedule } = await h.client.createSchedule(
      {
        schedule: {
          routeId: scenario === 'duty' ? routes.duty : routes.abc,
          guardId: guard!.guardId!,
          shiftName: '夜班',
          weekdays: [1, 2, 3, 4, 5, 6, 7],
          startTime: when.startTime,
          utcOffsetMinutes: 480,
          // From the round's own local date: no rounds of earlier days.
          validFrom: when.date,
        },
      },
      { metadata },
    );
    expect(schedule!.compoundId).toBe(h.compoundId);
  }

  // The scheduler materialises every round and closes the past ones (nobody checked in yet).
  const rounds = await waitFor(
    async () => {
      const { rounds } = await h.client.listRounds(
        { compoundId: h.compoundId, from: timestampFromDate(pastAt(-1)), to: timestampFromDate(liveAt(1)) },
        { metadata },
      );
      const closed = rounds!.filter((r) => r.status === RoundStatus.ROUND_STATUS_NOT_STARTED);
      return rounds!.length === scenarios.length && closed.length === scenarios.length - 1 && rounds;
    },
    { timeoutMs: 20_000, message: 'rounds were not materialised and closed' },
  );
  for (const [scenario, guard] of Object.entries(guards))
    roundOf[scenario] = rounds.find((r) => r.guardId === guard.id)!.roundId!;

  const tap = (scenario: string, checkpoint: 'A' | 'B' | 'C', minutes: number) =>
    h.checkIn({
      at: pastAt(minutes),
      checkpointTagId: tags[checkpoint],
      ...(scenario === MOBILE
        ? { guardUserId: guards[scenario]!.tag }
        : { guardTagId: guards[scenario]!.tag }),
    });

  // The wands upload now, about three hours after the taps.
  await tap('onTime', 'A', 1);
  await tap('onTime', 'B', 11);
  await tap('onTime', 'C', 20);
  await tap('missed', 'A', 0);
  await tap('missed', 'C', 20);
  await tap('wrongOrder', 'A', 0);
  await tap('wrongOrder', 'C', 10);
  await tap('wrongOrder', 'B', 20);
  await tap('late', 'A', 0);
  await tap('late', 'B', 16);
  await tap('late', 'C', 26);
  await tap('duty', 'A', 0);
  await h.checkIn({ at: pastAt(5), deviceId: readerD, guardTagId: guards.duty!.tag });
  await h.checkIn({ at: pastAt(12), deviceId: readerD, guardTagId: guards.duty!.tag });
  await tap('duty', 'C', 17);
}, 90_000);

afterAll(async () => {
  await h?.close();
});

describe('rounds', () => {
  it('a round walked on time (live) is completed with every stop on time and no violation', async () => {
    const guardTagId = guards.live!.tag;
    await h.checkIn({ at: liveAt(1), checkpointTagId: tags.A, guardTagId });
    await h.checkIn({ at: liveAt(11), checkpointTagId: tags.B, guardTagId });
    await h.checkIn({ at: liveAt(21), checkpointTagId: tags.C, guardTagId });
    const round = await waitFor(
      async () => {
        const round = await getRound(roundOf.live!);
        return round.status === RoundStatus.ROUND_STATUS_COMPLETED && round;
      },
      { timeoutMs: 20_000 },
    );
    expect(round.closedAt).toBeFalsy();
    expect(round.stops!.map((s) => s.outcome)).toEqual([
      StopOutcome.STOP_OUTCOME_ON_TIME,
      StopOutcome.STOP_OUTCOME_ON_TIME,
      StopOutcome.STOP_OUTCOME_ON_TIME,
    ]);
    expect(round.stops!.map((s) => s.deviationSeconds)).toEqual([60, 0, 0]);
    expect(await raised(roundOf.live!)).toEqual([]);
    expect(eventsOf(roundOf.live!)).toEqual([]);
  });

  it('a round walked on time but uploaded after closing withdraws every violation it went through', async () => {
    const roundId = roundOf.onTime!;
    await waitFor(async () => (await getRound(roundId)).status === RoundStatus.ROUND_STATUS_COMPLETED, {
      timeoutMs: 20_000,
    });
    expect(await raised(roundId)).toEqual([]);
    // The taps arrive one by one: "not started" (the scheduler), then missed checkpoints and
    // "unfinished" while the upload is half done — each withdrawn by the end, under one id.
    const lastStatus = await waitFor(
      () => {
        const events = eventsOf(roundId);
        const last = new Map(events.map((e) => [e.violationId, e.status]));
        return (
          events.length > 0 &&
          [...last.values()].every((s) => s === ViolationStatus.VIOLATION_STATUS_WITHDRAWN) &&
          last
        );
      },
      { timeoutMs: 20_000 },
    );
    expect(lastStatus.size).toBeGreaterThan(0);
    expect(eventsOf(roundId)[0]).toMatchObject({
      kind: K.VIOLATION_KIND_ROUND_NOT_STARTED,
      status: ViolationStatus.VIOLATION_STATUS_RAISED,
    });
  });

  it('a round that misses a checkpoint produces the violation event with its evidence', async () => {
    const roundId = roundOf.missed!;
    const missed = await waitFor(
      () =>
        eventsOf(roundId).find(
          (e) =>
            e.kind === K.VIOLATION_KIND_MISSED_CHECKPOINT &&
            e.checkpointId === checkpoints.B &&
            e.status === ViolationStatus.VIOLATION_STATUS_RAISED,
        ),
      { timeoutMs: 20_000 },
    );
    expect(missed).toMatchObject({
      roundId,
      routeId: routes.abc,
      guardId: guards.missed!.id,
      checkpointId: checkpoints.B,
      expectedSequence: 2,
      actualSequence: 0,
      severity: anfang.common.v1.Priority.PRIORITY_HIGH,
    });
    expect(timestampToDate(missed.expectedAt)).toEqual(pastAt(10));
    expect(await raised(roundId)).toEqual([
      [K.VIOLATION_KIND_MISSED_CHECKPOINT, 2],
      [K.VIOLATION_KIND_ROUND_UNFINISHED, 0],
    ]);
    expect((await getRound(roundId)).status).toBe(RoundStatus.ROUND_STATUS_UNFINISHED);
  });

  it('flags wrong order (and the timing it implies)', async () => {
    const roundId = roundOf.wrongOrder!;
    await waitFor(async () => (await raised(roundId)).length === 3, { timeoutMs: 20_000 });
    expect(await raised(roundId)).toEqual(
      [
        [K.VIOLATION_KIND_WRONG_ORDER, 2],
        [K.VIOLATION_KIND_EARLY, 3],
        [K.VIOLATION_KIND_LATE, 2],
      ].sort(),
    );
    const { violations } = await h.client.listViolations(
      { compoundId: h.compoundId, roundId },
      { metadata: h.manager },
    );
    const wrong = violations!.find((v) => v.kind === K.VIOLATION_KIND_WRONG_ORDER)!;
    expect([wrong.checkpointId, wrong.expectedSequence, wrong.actualSequence]).toEqual([checkpoints.B, 2, 3]);
    expect(wrong.checkInEventIds).toHaveLength(1);
  });

  it('flags a late check-in beyond the tolerance, graded as minor within twice the tolerance', async () => {
    const roundId = roundOf.late!;
    await waitFor(async () => (await raised(roundId)).length === 1, { timeoutMs: 20_000 });
    const { violations } = await h.client.listViolations(
      { compoundId: h.compoundId, roundId },
      { metadata: h.manager },
    );
    expect(violations!.map((v) => [v.kind, v.expectedSequence, v.deviationSeconds, v.severity])).toEqual([
      [K.VIOLATION_KIND_LATE, 2, 360, anfang.common.v1.Priority.PRIORITY_LOW],
    ]);
    const round = await getRound(roundId);
    expect(round.stops!.map((s) => s.outcome)).toEqual([
      StopOutcome.STOP_OUTCOME_ON_TIME,
      StopOutcome.STOP_OUTCOME_LATE,
      StopOutcome.STOP_OUTCOME_ON_TIME,
    ]);
  });

  it("flags a duty point left early, shown by the fixed reader's second tap", async () => {
    const roundId = roundOf.duty!;
    await waitFor(async () => (await raised(roundId)).length === 2, { timeoutMs: 20_000 });
    expect(await raised(roundId)).toEqual(
      [
        [K.VIOLATION_KIND_DUTY_POINT_LEFT_EARLY, 2],
        [K.VIOLATION_KIND_EARLY, 3],
      ].sort(),
    );
  });

  it('the scheduler closes a round nobody walked as not started', async () => {
    const roundId = roundOf.notStarted!;
    const round = await getRound(roundId);
    expect(round.status).toBe(RoundStatus.ROUND_STATUS_NOT_STARTED);
    expect(round.closedAt).toBeTruthy();
    expect(round.stops!.every((s) => s.outcome === StopOutcome.STOP_OUTCOME_MISSED)).toBe(true);
    const event = await waitFor(() => eventsOf(roundId)[0], { timeoutMs: 20_000 });
    expect([event.kind, event.status, event.shiftId]).toEqual([
      K.VIOLATION_KIND_ROUND_NOT_STARTED,
      ViolationStatus.VIOLATION_STATUS_RAISED,
      round.scheduleId,
    ]);
  });

  it('records an unknown tag and an unknown guard as violations without a round', async () => {
    const unknownTag = await h.checkIn({
      at: pastAt(30),
      checkpointTagId: uniqueName('no-such-tag'),
      guardTagId: guards.onTime!.tag,
    });
    const unknownGuard = await h.checkIn({
      at: pastAt(31),
      checkpointTagId: tags.A,
      guardTagId: 'stranger-card',
    });
    const events = await waitFor(
      () => {
        const found = h.violations.filter((v) =>
          v.checkInEventIds.some((id) => id === unknownTag || id === unknownGuard),
        );
        return found.length === 2 && found;
      },
      { timeoutMs: 20_000 },
    );
    expect(events.map((e) => [e.kind, e.roundId]).sort()).toEqual(
      [
        [K.VIOLATION_KIND_UNKNOWN_GUARD, ''],
        [K.VIOLATION_KIND_UNKNOWN_TAG, ''],
      ].sort(),
    );
    expect(events.find((e) => e.kind === K.VIOLATION_KIND_UNKNOWN_GUARD)!.checkpointId).toBe(checkpoints.A);
  });

  it('a schedule entered after its check-ins adopts them into its round', async () => {
    const tag = uniqueName('card-adopted');
    const { guard } = await h.client.createGuard(
      { guard: { compoundId: h.compoundId, name: 'guard adopted', tagId: tag } },
      { metadata: h.manager },
    );
    // Outside the report period below, so the hand-worked figures stay as they are.
    const when = localStart(new Date(Date.now() - 100 * MINUTE_MS));
    const at = (minutes: number) => new Date(when.start.getTime() + minutes * MINUTE_MS);
    const events = [
      await h.checkIn({ at: at(0), checkpointTagId: tags.A, guardTagId: tag }),
      await h.checkIn({ at: at(10), checkpointTagId: tags.B, guardTagId: tag }),
      await h.checkIn({ at: at(20), checkpointTagId: tags.C, guardTagId: tag }),
    ];
    await waitFor(async () => {
      const { rows } = await h.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM check_ins WHERE event_id = ANY($1) AND round_id IS NULL',
        [events],
      );
      return rows[0]!.n === 3;
    });
    await h.client.createSchedule(
      {
        schedule: {
          routeId: routes.abc,
          guardId: guard!.guardId!,
          weekdays: [1, 2, 3, 4, 5, 6, 7],
          startTime: when.startTime,
          utcOffsetMinutes: 480,
          validFrom: when.date,
        },
      },
      { metadata: h.manager },
    );
    const round = await waitFor(
      async () => {
        const { rounds } = await h.client.listRounds(
          { compoundId: h.compoundId, guardId: guard!.guardId!, to: timestampFromDate(liveAt(0)) },
          { metadata: h.manager },
        );
        return rounds![0]?.status === RoundStatus.ROUND_STATUS_COMPLETED && rounds![0];
      },
      { timeoutMs: 20_000 },
    );
    expect(round.stops!.map((s) => s.outcome)).toEqual([
      StopOutcome.STOP_OUTCOME_ON_TIME,
      StopOutcome.STOP_OUTCOME_ON_TIME,
      StopOutcome.STOP_OUTCOME_ON_TIME,
    ]);
    expect(await raised(round.roundId!)).toEqual([]);
  });

  it('records a resent check-in once', async () => {
    const eventId = crypto.randomUUID();
    const input = { at: liveAt(30), checkpointTagId: tags.C, guardTagId: guards.live!.tag, eventId };
    await h.checkIn(input);
    await h.checkIn(input);
    const { rows } = await waitFor(async () => {
      const result = await h.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM check_ins WHERE event_id = $1',
        [eventId],
      );
      return result.rows[0]!.n > 0 && result;
    });
    expect(rows[0]!.n).toBe(1);
  });
});

describe('reports', () => {
  // Closed rounds in the period: the six past ones (the live one is open).
  //                  rounds completed stops checked onTime violations
  // onTime  (R1)       1       1        3      3       3      0
  // missed  (R1)       1       0        3      2       2      2 missed + unfinished
  // wrong   (R1)       1       1        3      3       1      3 wrong order, late B, early C
  // late    (R1)       1       1        3      3       2      1 late
  // notStarted (R1)    1       0        3      0       0      1 not started
  // duty    (R2)       1       1        3      3       2      2 left early, early C
  const period = () => ({ from: timestampFromDate(pastAt(-30)), to: timestampFromDate(pastAt(60)) });

  async function settled() {
    // Every past round evaluated with its check-ins (9 raised violations in all).
    await waitFor(
      async () => {
        const { violations } = await h.client.listViolations(
          { compoundId: h.compoundId, page: { pageSize: 1000 } },
          { metadata: h.manager },
        );
        return violations!.filter((v) => v.roundId).length === 9;
      },
      { timeoutMs: 30_000 },
    );
  }

  it('per compound: completion rate, punctuality and violations by kind', async () => {
    await settled();
    const report = await h.client.getReport(
      { compoundId: h.compoundId, ...period(), groupBy: ReportGrouping.REPORT_GROUPING_COMPOUND },
      { metadata: h.manager },
    );
    expect(report.rows).toHaveLength(1);
    expect(report.rows![0]).toMatchObject({
      key: h.compoundId,
      rounds: 6,
      roundsCompleted: 4,
      completionRate: 0.6667,
      stops: 18,
      stopsChecked: 14,
      stopsOnTime: 10,
      punctuality: 0.7143,
      violations: 9,
      missed: 1,
      late: 2,
      early: 2,
      wrongOrder: 1,
      leftEarly: 1,
      notStarted: 1,
      unfinished: 1,
    });
    expect(report.unknownCheckIns).toBe(2);
  });

  it('per route and per guard', async () => {
    await settled();
    const byRoute = await h.client.getReport(
      { compoundId: h.compoundId, ...period(), groupBy: ReportGrouping.REPORT_GROUPING_ROUTE },
      { metadata: h.manager },
    );
    expect(
      byRoute.rows!.map((r) => [
        r.label,
        r.rounds,
        r.roundsCompleted,
        r.stopsChecked,
        r.stopsOnTime,
        r.violations,
      ]),
    ).toEqual([
      ['R1 A-B-C', 5, 3, 11, 8, 7],
      ['R2 A-D-C', 1, 1, 3, 2, 2],
    ]);
    const byGuard = await h.client.getReport(
      { compoundId: h.compoundId, ...period() },
      { metadata: h.manager },
    );
    const row = (scenario: string) => byGuard.rows!.find((r) => r.key === guards[scenario]!.id)!;
    expect(byGuard.rows).toHaveLength(6);
    expect([row('missed').completionRate, row('missed').punctuality, row('missed').missed]).toEqual([
      0, 1, 1,
    ]);
    expect([row('wrongOrder').punctuality, row('wrongOrder').wrongOrder]).toEqual([0.3333, 1]);
    expect([row('onTime').completionRate, row('onTime').violations]).toEqual([1, 0]);
  });

  it('exports the report as CSV in chunks', async () => {
    await settled();
    let csv = '';
    for await (const chunk of h.client.exportReport(
      { compoundId: h.compoundId, ...period(), groupBy: ReportGrouping.REPORT_GROUPING_ROUTE },
      { metadata: h.manager },
    ))
      csv += Buffer.from(chunk.data!).toString('utf8');
    const lines = csv
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(
      'key,label,rounds,rounds_completed,completion_rate,stops,stops_checked,stops_on_time,punctuality,violations,missed,late,early,wrong_order,left_early,not_started,unfinished',
    );
    expect(lines[1]).toBe(`${routes.abc},R1 A-B-C,5,3,0.6,15,11,8,0.7273,7,1,2,1,1,0,1,1`);
    expect(lines).toHaveLength(3);
  });
});
