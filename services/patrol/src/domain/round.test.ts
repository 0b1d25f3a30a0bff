import { describe, expect, it } from 'vitest';
import { evaluateRound, plannedEnd, type PlannedStop, type RoundCheckIn, type RoundPlan } from './round.ts';

const START = new Date('2026-11-28T22:00:00Z');
const at = (minutes: number, seconds = 0) => new Date(START.getTime() + minutes * 60_000 + seconds * 1000);

/** A → B (10 min) → C (10 min), ± 3 min each. */
const stops: PlannedStop[] = [
  { sequence: 1, checkpointId: 'A', minutesFromPrevious: 0, toleranceMinutes: 3, stayMinutes: 0 },
  { sequence: 2, checkpointId: 'B', minutesFromPrevious: 10, toleranceMinutes: 3, stayMinutes: 0 },
  { sequence: 3, checkpointId: 'C', minutesFromPrevious: 10, toleranceMinutes: 3, stayMinutes: 0 },
];
const plan: RoundPlan = { plannedStart: START, stops };

let next = 0;
const tap = (checkpointId: string, minutes: number, seconds = 0): RoundCheckIn => ({
  eventId: `e${++next}-${checkpointId}`,
  checkpointId,
  at: at(minutes, seconds),
});

const kinds = (checkIns: RoundCheckIn[], closed: boolean, p: RoundPlan = plan) =>
  evaluateRound(p, checkIns, closed).findings.map((f) => f.key);

describe('evaluateRound', () => {
  it('a round walked on time is completed without findings', () => {
    const result = evaluateRound(plan, [tap('A', 1), tap('B', 11, 30), tap('C', 20)], true);
    expect(result.status).toBe('completed');
    expect(result.findings).toEqual([]);
    expect(result.stops.map((s) => s.outcome)).toEqual(['on_time', 'on_time', 'on_time']);
    expect(result.stops.map((s) => s.actualSequence)).toEqual([1, 2, 3]);
  });

  it('measures each leg from the previous check-in, so one slow leg makes one late stop', () => {
    const result = evaluateRound(plan, [tap('A', 0), tap('B', 15), tap('C', 25)], false);
    expect(result.stops.map((s) => s.outcome)).toEqual(['on_time', 'late', 'on_time']);
    expect(result.stops[1]!.deviationSeconds).toBe(300);
    expect(result.stops[2]!.expectedAt).toEqual(at(25));
  });

  it('is on time exactly at the tolerance and late one second after it', () => {
    expect(kinds([tap('A', 3)], false)).toEqual([]);
    expect(kinds([tap('A', 3, 1)], false)).toEqual(['late:1']);
    expect(kinds([tap('A', -3)], false)).toEqual([]);
    expect(kinds([tap('A', -3, -1)], false)).toEqual(['early:1']);
  });

  it('grades timing beyond the tolerance in bands: minor up to twice it, then medium', () => {
    const minor = evaluateRound(plan, [tap('A', 6)], false).findings[0]!;
    const major = evaluateRound(plan, [tap('A', 6, 1)], false).findings[0]!;
    expect([minor.kind, minor.severity, minor.deviationSeconds]).toEqual(['late', 'low', 360]);
    expect([major.kind, major.severity]).toEqual(['late', 'medium']);
    const early = evaluateRound(plan, [tap('A', -10)], false).findings[0]!;
    expect([early.kind, early.severity, early.deviationSeconds]).toEqual(['early', 'medium', -600]);
    expect(early.checkInEventIds).toHaveLength(1);
  });

  it('an open round with check-ins missing is in progress and has no missed checkpoint yet', () => {
    const result = evaluateRound(plan, [tap('A', 0)], false);
    expect(result.status).toBe('in_progress');
    expect(result.findings).toEqual([]);
    expect(result.stops.map((s) => s.outcome)).toEqual(['on_time', 'pending', 'pending']);
  });

  it('a closed round missing a checkpoint is unfinished with the missed checkpoint as evidence', () => {
    const result = evaluateRound(plan, [tap('A', 0), tap('C', 20)], true);
    expect(result.status).toBe('unfinished');
    expect(result.findings.map((f) => f.key)).toEqual(['missed_checkpoint:2', 'round_unfinished']);
    const missed = result.findings[0]!;
    expect(missed).toMatchObject({
      checkpointId: 'B',
      expectedSequence: 2,
      actualSequence: 0,
      severity: 'high',
    });
    expect(missed.expectedAt).toEqual(at(10));
    // C is measured from B's planned time when B was not checked in.
    expect(result.stops[2]!.outcome).toBe('on_time');
    expect(result.findings[1]!.detail).toBe('2 of 3 checkpoints checked in');
  });

  it('a closed round without any check-in is not started — one finding, not one per stop', () => {
    const result = evaluateRound(plan, [], true);
    expect(result.status).toBe('not_started');
    expect(result.findings.map((f) => f.key)).toEqual(['round_not_started']);
    expect(result.stops.map((s) => s.outcome)).toEqual(['missed', 'missed', 'missed']);
  });

  it('an open round without check-ins is only scheduled', () => {
    expect(evaluateRound(plan, [], false).status).toBe('scheduled');
  });

  it('flags the stop checked in after a later one as wrong order', () => {
    const result = evaluateRound(plan, [tap('A', 0), tap('C', 10), tap('B', 20)], false);
    const wrong = result.findings.find((f) => f.kind === 'wrong_order')!;
    expect(wrong).toMatchObject({
      key: 'wrong_order:2',
      checkpointId: 'B',
      expectedSequence: 2,
      actualSequence: 3,
    });
    expect(result.findings.filter((f) => f.kind === 'wrong_order')).toHaveLength(1);
    expect(result.status).toBe('completed');
  });

  it('judges a repeated tap by the first one, and ignores checkpoints outside the route', () => {
    const result = evaluateRound(
      plan,
      [tap('A', 0), tap('A', 30), tap('X', 5), tap('B', 10), tap('C', 20)],
      true,
    );
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('completed');
  });

  it('does not depend on the order check-ins arrive in (an offline wand uploading later)', () => {
    const taps = [tap('A', 0), tap('B', 14), tap('C', 30)];
    const live = evaluateRound(plan, taps, true);
    const reversed = evaluateRound(plan, [...taps].reverse(), true);
    expect(reversed).toEqual(live);
  });

  it('gives the same evaluation for every arrival order of the same check-ins', () => {
    const taps = [tap('A', 0), tap('C', 9), tap('B', 21), tap('B', 25), tap('X', 3)];
    const expected = evaluateRound(plan, taps, true);
    const permutations = (list: RoundCheckIn[]): RoundCheckIn[][] =>
      list.length <= 1
        ? [list]
        : list.flatMap((item, i) =>
            permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [item, ...rest]),
          );
    for (const order of permutations(taps)) expect(evaluateRound(plan, order, true)).toEqual(expected);
  });

  it('a late-arriving check-in turns a missed checkpoint into a late one', () => {
    const a = tap('A', 0);
    const c = tap('C', 22);
    expect(kinds([a, c], true)).toEqual(['missed_checkpoint:2', 'round_unfinished']);
    expect(kinds([a, c, tap('B', 14)], true)).toEqual(['late:2']);
  });

  describe('duty points', () => {
    const duty: RoundPlan = {
      plannedStart: START,
      stops: [
        { sequence: 1, checkpointId: 'A', minutesFromPrevious: 0, toleranceMinutes: 2, stayMinutes: 0 },
        { sequence: 2, checkpointId: 'D', minutesFromPrevious: 5, toleranceMinutes: 2, stayMinutes: 15 },
        { sequence: 3, checkpointId: 'C', minutesFromPrevious: 5, toleranceMinutes: 2, stayMinutes: 0 },
      ],
    };

    it('a full stay, shown by a second tap, is fine and the next leg starts at that tap', () => {
      const result = evaluateRound(duty, [tap('A', 0), tap('D', 5), tap('D', 21), tap('C', 26)], true);
      expect(result.findings).toEqual([]);
      expect(result.stops[2]!.expectedAt).toEqual(at(26));
    });

    it('leaving before the stay is over is a violation with both taps as evidence', () => {
      const arrive = tap('D', 5);
      const leave = tap('D', 12);
      const result = evaluateRound(duty, [tap('A', 0), arrive, leave, tap('C', 25)], true);
      const left = result.findings.find((f) => f.kind === 'duty_point_left_early')!;
      expect(left.deviationSeconds).toBe(-480);
      expect(left.checkInEventIds).toEqual([arrive.eventId, leave.eventId]);
      expect(left.detail).toBe('stayed 7 min of the required 15 min');
    });

    it('with one tap, the next checkpoint shows when the guard left', () => {
      expect(kinds([tap('A', 0), tap('D', 5), tap('C', 12)], true, duty)).toContain(
        'duty_point_left_early:2',
      );
      // Measured from arrival + stay, C on time at 25 min: the guard stayed.
      expect(kinds([tap('A', 0), tap('D', 5), tap('C', 25)], true, duty)).toEqual([]);
    });

    it('a single tap at a duty point with nothing after it is only judged once the round closes', () => {
      const taps = [tap('A', 0), tap('D', 5)];
      expect(kinds(taps, false, duty)).toEqual([]);
      const closed = evaluateRound(duty, taps, true).findings.map((f) => f.key);
      expect(closed).toContain('duty_point_left_early:2');
      expect(closed).toContain('missed_checkpoint:3');
    });
  });

  it('planned end is the last expected time plus its tolerance and every stay', () => {
    expect(plannedEnd(plan)).toEqual(at(23));
    expect(
      plannedEnd({
        plannedStart: START,
        stops: [
          { sequence: 1, checkpointId: 'D', minutesFromPrevious: 5, toleranceMinutes: 1, stayMinutes: 10 },
        ],
      }),
    ).toEqual(at(16));
  });
});
