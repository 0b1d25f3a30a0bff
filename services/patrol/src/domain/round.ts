/**
 * Round evaluation: from a round's plan and the check-ins attributed to it, the outcome of each
 * stop, the round's status and the violations that stand. Pure and total — re-run on every
 * check-in (live), when the scheduler closes the round, and again whenever a check-in arrives
 * late, so the result depends only on the inputs, never on the order they arrived in.
 */

export type ViolationKind =
  | 'missed_checkpoint'
  | 'wrong_order'
  | 'early'
  | 'late'
  | 'unknown_guard'
  | 'unknown_tag'
  | 'round_not_started'
  | 'round_unfinished'
  | 'duty_point_left_early';

export type Severity = 'low' | 'medium' | 'high';

export type RoundStatus = 'scheduled' | 'in_progress' | 'completed' | 'unfinished' | 'not_started';

export type StopOutcome = 'pending' | 'on_time' | 'early' | 'late' | 'missed';

export interface PlannedStop {
  /** 1-based position in the route. */
  readonly sequence: number;
  readonly checkpointId: string;
  readonly minutesFromPrevious: number;
  readonly toleranceMinutes: number;
  /** Minutes the guard must stay at a duty point; 0 for a plain checkpoint. */
  readonly stayMinutes: number;
}

export interface RoundPlan {
  readonly plannedStart: Date;
  readonly stops: readonly PlannedStop[];
}

export interface RoundCheckIn {
  readonly eventId: string;
  readonly checkpointId: string;
  readonly at: Date;
}

export interface StopResult {
  readonly sequence: number;
  readonly checkpointId: string;
  readonly expectedAt: Date;
  readonly checkedInAt: Date | undefined;
  readonly outcome: StopOutcome;
  readonly deviationSeconds: number;
  /** Position among the checked-in stops (1-based); 0 when not checked in. */
  readonly actualSequence: number;
}

/** A violation as evaluation finds it; `key` identifies it across re-evaluations. */
export interface Finding {
  readonly key: string;
  readonly kind: ViolationKind;
  readonly severity: Severity;
  readonly checkpointId: string;
  readonly expectedSequence: number;
  readonly actualSequence: number;
  readonly expectedAt: Date | undefined;
  readonly actualAt: Date | undefined;
  readonly deviationSeconds: number;
  readonly checkInEventIds: readonly string[];
  readonly detail: string;
}

export interface RoundEvaluation {
  readonly status: RoundStatus;
  readonly stops: readonly StopResult[];
  readonly findings: readonly Finding[];
}

const MINUTE_MS = 60_000;

/** When the round should be over: the last stop's expected time plus its tolerance and stay. */
export function plannedEnd(plan: RoundPlan): Date {
  let minutes = 0;
  for (const stop of plan.stops) minutes += stop.minutesFromPrevious + stop.stayMinutes;
  const last = plan.stops.at(-1);
  return new Date(plan.plannedStart.getTime() + (minutes + (last?.toleranceMinutes ?? 0)) * MINUTE_MS);
}

/**
 * Beyond the tolerance a deviation is a violation; up to twice the tolerance it is a minor one
 * (a guard slowed down by a resident's question), further out it is worth a supervisor's look.
 */
function timingSeverity(deviationMs: number, toleranceMs: number): Severity {
  return Math.abs(deviationMs) <= 2 * toleranceMs ? 'low' : 'medium';
}

const seconds = (ms: number): number => Math.round(ms / 1000);

function byTime(a: RoundCheckIn, b: RoundCheckIn): number {
  return a.at.getTime() - b.at.getTime() || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

function formatDuration(ms: number): string {
  const total = Math.round(Math.abs(ms) / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

/**
 * `closed` is true once the scheduler has closed the round (planned end plus grace): only then
 * are stops without a check-in missed and the round unfinished or not started.
 */
export function evaluateRound(
  plan: RoundPlan,
  checkIns: readonly RoundCheckIn[],
  closed: boolean,
): RoundEvaluation {
  const ordered = [...checkIns].sort(byTime);
  const tapsByCheckpoint = new Map<string, RoundCheckIn[]>();
  for (const checkIn of ordered) {
    const taps = tapsByCheckpoint.get(checkIn.checkpointId) ?? [];
    taps.push(checkIn);
    tapsByCheckpoint.set(checkIn.checkpointId, taps);
  }
  const planned = new Set(plan.stops.map((stop) => stop.checkpointId));
  const walked = plan.stops
    .filter((stop) => tapsByCheckpoint.has(stop.checkpointId))
    .sort((a, b) =>
      byTime(tapsByCheckpoint.get(a.checkpointId)![0]!, tapsByCheckpoint.get(b.checkpointId)![0]!),
    );
  const actualSequence = new Map(walked.map((stop, index) => [stop.sequence, index + 1]));

  const findings: Finding[] = [];
  const stops: StopResult[] = [];
  // Each stop is expected a fixed time after the previous one was left (the plan's anchor when
  // the previous one was not checked in), so one slow leg does not make every later stop late.
  let anchor = plan.plannedStart.getTime();
  for (const stop of plan.stops) {
    const expected = anchor + stop.minutesFromPrevious * MINUTE_MS;
    const taps = tapsByCheckpoint.get(stop.checkpointId);
    const first = taps?.[0];
    const base = {
      checkpointId: stop.checkpointId,
      expectedSequence: stop.sequence,
      expectedAt: new Date(expected),
    };
    if (!first) {
      stops.push({
        sequence: stop.sequence,
        checkpointId: stop.checkpointId,
        expectedAt: new Date(expected),
        checkedInAt: undefined,
        outcome: closed ? 'missed' : 'pending',
        deviationSeconds: 0,
        actualSequence: 0,
      });
      anchor = expected + stop.stayMinutes * MINUTE_MS;
      continue;
    }
    const position = actualSequence.get(stop.sequence)!;
    const deviation = first.at.getTime() - expected;
    const tolerance = stop.toleranceMinutes * MINUTE_MS;
    const outcome: StopOutcome =
      deviation < -tolerance ? 'early' : deviation > tolerance ? 'late' : 'on_time';
    stops.push({
      sequence: stop.sequence,
      checkpointId: stop.checkpointId,
      expectedAt: new Date(expected),
      checkedInAt: first.at,
      outcome,
      deviationSeconds: seconds(deviation),
      actualSequence: position,
    });
    if (outcome !== 'on_time')
      findings.push({
        ...base,
        key: `${outcome}:${stop.sequence}`,
        kind: outcome,
        severity: timingSeverity(deviation, tolerance),
        actualSequence: position,
        actualAt: first.at,
        deviationSeconds: seconds(deviation),
        checkInEventIds: [first.eventId],
        detail: `checked in ${formatDuration(deviation)} ${outcome} (tolerance ± ${stop.toleranceMinutes} min)`,
      });

    const departure =
      stop.stayMinutes > 0 ? departureFrom(stop.checkpointId, taps, ordered, planned) : undefined;
    if (stop.stayMinutes > 0) {
      const required = stop.stayMinutes * MINUTE_MS;
      const stay = departure ? departure.at.getTime() - first.at.getTime() : undefined;
      if (stay !== undefined && stay < required)
        findings.push({
          ...base,
          key: `duty_point_left_early:${stop.sequence}`,
          kind: 'duty_point_left_early',
          severity: 'medium',
          actualSequence: position,
          actualAt: departure!.at,
          deviationSeconds: seconds(stay - required),
          checkInEventIds: [first.eventId, departure!.eventId],
          detail: `stayed ${formatDuration(stay)} of the required ${stop.stayMinutes} min`,
        });
      else if (stay === undefined && closed)
        findings.push({
          ...base,
          key: `duty_point_left_early:${stop.sequence}`,
          kind: 'duty_point_left_early',
          severity: 'medium',
          actualSequence: position,
          actualAt: undefined,
          deviationSeconds: 0,
          checkInEventIds: [first.eventId],
          detail: `no check-in after arriving: the required stay of ${stop.stayMinutes} min is not shown`,
        });
    }
    // At a duty point a check-out tap moves the next leg's start; a departure inferred from the
    // next checkpoint's tap must not, or that checkpoint would be measured from itself. A plain
    // checkpoint tapped twice is left at the first tap.
    anchor =
      stop.stayMinutes > 0
        ? Math.max(first.at.getTime() + stop.stayMinutes * MINUTE_MS, taps.at(-1)!.at.getTime())
        : first.at.getTime();
  }

  let highestSoFar = 0;
  for (const stop of walked) {
    if (stop.sequence < highestSoFar) {
      const first = tapsByCheckpoint.get(stop.checkpointId)![0]!;
      const result = stops[stop.sequence - 1]!;
      findings.push({
        key: `wrong_order:${stop.sequence}`,
        kind: 'wrong_order',
        severity: 'low',
        checkpointId: stop.checkpointId,
        expectedSequence: stop.sequence,
        actualSequence: actualSequence.get(stop.sequence)!,
        expectedAt: result.expectedAt,
        actualAt: first.at,
        deviationSeconds: result.deviationSeconds,
        checkInEventIds: [first.eventId],
        detail: `checkpoint ${stop.sequence} checked in after checkpoint ${highestSoFar}`,
      });
    }
    highestSoFar = Math.max(highestSoFar, stop.sequence);
  }

  const allChecked = walked.length === plan.stops.length;
  let status: RoundStatus;
  if (allChecked) status = 'completed';
  else if (!closed) status = walked.length > 0 ? 'in_progress' : 'scheduled';
  else if (walked.length === 0) {
    status = 'not_started';
    findings.push({
      key: 'round_not_started',
      kind: 'round_not_started',
      severity: 'high',
      checkpointId: '',
      expectedSequence: 0,
      actualSequence: 0,
      expectedAt: plan.plannedStart,
      actualAt: undefined,
      deviationSeconds: 0,
      checkInEventIds: [],
      detail: 'no checkpoint of the round was checked in',
    });
  } else {
    status = 'unfinished';
    const missed = stops.filter((stop) => stop.outcome === 'missed');
    for (const stop of missed)
      findings.push({
        key: `missed_checkpoint:${stop.sequence}`,
        kind: 'missed_checkpoint',
        severity: 'high',
        checkpointId: stop.checkpointId,
        expectedSequence: stop.sequence,
        actualSequence: 0,
        expectedAt: stop.expectedAt,
        actualAt: undefined,
        deviationSeconds: 0,
        checkInEventIds: [],
        detail: `checkpoint ${stop.sequence} was not checked in`,
      });
    findings.push({
      key: 'round_unfinished',
      kind: 'round_unfinished',
      severity: 'medium',
      checkpointId: '',
      expectedSequence: 0,
      actualSequence: 0,
      expectedAt: plannedEnd(plan),
      actualAt: walked.length > 0 ? lastTap(ordered, planned)?.at : undefined,
      deviationSeconds: 0,
      checkInEventIds: [],
      detail: `${walked.length} of ${plan.stops.length} checkpoints checked in`,
    });
  }
  return { status, stops, findings };
}

/**
 * When the guard left a duty point: the last check-in at the point when there are several,
 * else the first check-in at another checkpoint of the route afterwards.
 */
function departureFrom(
  checkpointId: string,
  taps: readonly RoundCheckIn[],
  ordered: readonly RoundCheckIn[],
  planned: ReadonlySet<string>,
): RoundCheckIn | undefined {
  if (taps.length > 1) return taps.at(-1);
  const arrival = taps[0]!;
  return ordered.find(
    (checkIn) =>
      checkIn.checkpointId !== checkpointId &&
      planned.has(checkIn.checkpointId) &&
      byTime(checkIn, arrival) > 0,
  );
}

function lastTap(ordered: readonly RoundCheckIn[], planned: ReadonlySet<string>): RoundCheckIn | undefined {
  return ordered.findLast((checkIn) => planned.has(checkIn.checkpointId));
}
