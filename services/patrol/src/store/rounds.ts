/**
 * Rounds, check-ins and violations. Every change to a round's check-ins or its closed state
 * re-evaluates the whole round under the round's row lock (`FOR UPDATE`), and the resulting
 * violation changes are written with their PatrolViolationChanged events in the same
 * transaction, so a committed evaluation is always published and two evaluations of one round
 * never interleave.
 */
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { uuidv7 } from '@anfang/platform/bus';
import { FailedPreconditionError, NotFoundError } from '@anfang/platform/grpc';
import { outboxEventPublisher, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import {
  evaluateRound,
  plannedEnd,
  type Finding,
  type PlannedStop,
  type RoundStatus,
  type Severity,
  type StopResult,
  type ViolationKind,
} from '../domain/round.ts';
import { occurrences, scheduleEnd } from '../domain/schedule.ts';
import { evidenceFingerprint, reconcileViolations, type StoredViolation } from '../domain/violations.ts';
import { SCHEDULE_COLUMNS, scheduleOf, type RouteStopInput, type Schedule } from './planning.ts';

const { ViolationKind: KindEnum, ViolationStatus } = anfang.patrol.v1;
const { Priority } = anfang.common.v1;

export const KIND_TO_PROTO: Readonly<Record<ViolationKind, anfang.patrol.v1.ViolationKind>> = {
  missed_checkpoint: KindEnum.VIOLATION_KIND_MISSED_CHECKPOINT,
  wrong_order: KindEnum.VIOLATION_KIND_WRONG_ORDER,
  early: KindEnum.VIOLATION_KIND_EARLY,
  late: KindEnum.VIOLATION_KIND_LATE,
  unknown_guard: KindEnum.VIOLATION_KIND_UNKNOWN_GUARD,
  unknown_tag: KindEnum.VIOLATION_KIND_UNKNOWN_TAG,
  round_not_started: KindEnum.VIOLATION_KIND_ROUND_NOT_STARTED,
  round_unfinished: KindEnum.VIOLATION_KIND_ROUND_UNFINISHED,
  duty_point_left_early: KindEnum.VIOLATION_KIND_DUTY_POINT_LEFT_EARLY,
};

export const SEVERITY_TO_PROTO: Readonly<Record<Severity, anfang.common.v1.Priority>> = {
  low: Priority.PRIORITY_LOW,
  medium: Priority.PRIORITY_MEDIUM,
  high: Priority.PRIORITY_HIGH,
};

export interface RoundRecord {
  readonly roundId: string;
  readonly scheduleId: string;
  readonly routeId: string;
  readonly guardId: string;
  readonly compoundId: string;
  readonly shiftName: string;
  readonly plannedStart: Date;
  readonly plannedEnd: Date;
  readonly status: RoundStatus;
  readonly closedAt: Date | undefined;
  readonly stops: readonly StopResult[];
  readonly stopsTotal: number;
  readonly stopsChecked: number;
  readonly stopsOnTime: number;
  readonly openViolations: number;
}

export interface ViolationRecord {
  readonly violationId: string;
  readonly compoundId: string;
  readonly kind: ViolationKind;
  readonly status: 'raised' | 'withdrawn';
  readonly severity: Severity;
  readonly roundId: string | undefined;
  readonly routeId: string | undefined;
  readonly guardId: string | undefined;
  readonly checkpointId: string | undefined;
  readonly expectedSequence: number;
  readonly actualSequence: number;
  readonly expectedAt: Date | undefined;
  readonly actualAt: Date | undefined;
  readonly deviationSeconds: number;
  readonly checkInEventIds: readonly string[];
  readonly detail: string;
  readonly raisedAt: Date;
  readonly updatedAt: Date;
}

export interface CheckInInput {
  readonly eventId: string;
  readonly compoundId: string;
  readonly deviceId: string;
  readonly method: number;
  readonly checkpointTagId: string;
  readonly guardTagId: string;
  readonly guardUserId: string;
  readonly occurredAt: Date;
}

export type CheckInOutcome =
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'unknown_tag' | 'unknown_guard'; readonly violationId: string }
  | { readonly kind: 'unscheduled'; readonly guardId: string; readonly checkpointId: string }
  | { readonly kind: 'attributed'; readonly roundId: string; readonly status: RoundStatus };

export interface RoundTimings {
  /** How long after its planned end a round stays open for check-ins before it is closed. */
  readonly closeGraceMinutes: number;
  /** How long before its planned start a check-in still belongs to a round. */
  readonly earlyWindowMinutes: number;
}

export interface SchedulerWindow {
  readonly lookbackHours: number;
  readonly aheadHours: number;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string;
}

type Row = Record<string, unknown>;

const HOUR_MS = 3_600_000;
/** Scheduler ticks of every replica take this transaction-scoped advisory lock; one runs. */
const SCHEDULER_LOCK = 7_241_865_325_823_965n;
/**
 * Namespace of the per-guard advisory locks (two-key form, a key space apart from the one-key
 * locks). Recording a guard's check-in and creating that guard's round take it, so a check-in
 * committed while its round is being created is either seen by the round's creation or sees
 * the round — never neither.
 */
const GUARD_LOCK_NAMESPACE = 7241;

async function lockGuard(tx: ClientBase, guardId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [GUARD_LOCK_NAMESPACE, guardId]);
}
const CLOSE_BATCH = 100;

const dateOrUndefined = (value: unknown): Date | undefined => (value === null ? undefined : (value as Date));
const textOrUndefined = (value: unknown): string | undefined =>
  value === null ? undefined : (value as string);

interface StoredStopResult {
  readonly sequence: number;
  readonly checkpointId: string;
  readonly expectedAt: string;
  /** Absent when not checked in (JSON drops undefined). */
  readonly checkedInAt?: string;
  readonly outcome: StopResult['outcome'];
  readonly deviationSeconds: number;
  readonly actualSequence: number;
}

function roundOf(row: Row): RoundRecord {
  const stored = row.stop_results as StoredStopResult[];
  return {
    roundId: row.round_id as string,
    scheduleId: row.schedule_id as string,
    routeId: row.route_id as string,
    guardId: row.guard_id as string,
    compoundId: row.compound_id as string,
    shiftName: row.shift_name as string,
    plannedStart: row.planned_start as Date,
    plannedEnd: row.planned_end as Date,
    status: row.status as RoundStatus,
    closedAt: dateOrUndefined(row.closed_at),
    stops: stored.map((stop) => ({
      ...stop,
      expectedAt: new Date(stop.expectedAt),
      checkedInAt: stop.checkedInAt === undefined ? undefined : new Date(stop.checkedInAt),
    })),
    stopsTotal: row.stops_total as number,
    stopsChecked: row.stops_checked as number,
    stopsOnTime: row.stops_on_time as number,
    openViolations: Number(row.open_violations ?? 0),
  };
}

function violationOf(row: Row): ViolationRecord {
  return {
    violationId: row.violation_id as string,
    compoundId: row.compound_id as string,
    kind: row.kind as ViolationKind,
    status: row.status as 'raised' | 'withdrawn',
    severity: row.severity as Severity,
    roundId: textOrUndefined(row.round_id),
    routeId: textOrUndefined(row.route_id),
    guardId: textOrUndefined(row.guard_id),
    checkpointId: textOrUndefined(row.checkpoint_id),
    expectedSequence: row.expected_sequence as number,
    actualSequence: row.actual_sequence as number,
    expectedAt: dateOrUndefined(row.expected_at),
    actualAt: dateOrUndefined(row.actual_at),
    deviationSeconds: row.deviation_seconds as number,
    checkInEventIds: row.check_in_event_ids as string[],
    detail: row.detail as string,
    raisedAt: row.raised_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

function planStops(stops: readonly RouteStopInput[]): PlannedStop[] {
  return stops.map((stop, index) => ({ ...stop, sequence: index + 1 }));
}

/** Keyset page token: the last item's sort key. */
function pageToken(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

export class InvalidPageTokenError extends Error {}

function parsePageToken(token: string): [string, string] | undefined {
  if (!token) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string'))
      return value as [string, string];
  } catch {
    // fall through: any malformed token is refused the same way
  }
  throw new InvalidPageTokenError('page_token is not a token this service issued');
}

export interface RoundStore {
  recordCheckIn(input: CheckInInput): Promise<CheckInOutcome>;
  /** Materialises the rounds of every schedule in the window around `now`; one replica at a time. */
  materialise(now: Date, window: SchedulerWindow): Promise<number | undefined>;
  /**
   * Ends a schedule after a local date and removes its rounds beyond it that nobody walked (no
   * check-in, not closed): rounds with evidence stay, they were walked.
   */
  endSchedule(scheduleId: string, validUntil: string): Promise<{ schedule: Schedule; roundsRemoved: number }>;
  /** Closes and finally evaluates the rounds whose planned end plus grace has passed. */
  closeDue(now: Date): Promise<number>;
  getRound(roundId: string): Promise<RoundRecord | undefined>;
  listRounds(filter: {
    readonly compoundId: string;
    readonly from: Date | undefined;
    readonly to: Date | undefined;
    readonly guardId: string | undefined;
    readonly routeId: string | undefined;
    readonly pageSize: number;
    readonly pageToken: string;
  }): Promise<Page<RoundRecord>>;
  listViolations(filter: {
    readonly compoundId: string;
    readonly roundId: string | undefined;
    readonly includeWithdrawn: boolean;
    readonly pageSize: number;
    readonly pageToken: string;
  }): Promise<Page<ViolationRecord>>;
}

export function createRoundStore(pool: Pool, producer: string, timings: RoundTimings): RoundStore {
  async function writeViolationEvent(
    tx: ClientBase,
    record: ViolationRecord,
    shiftId: string,
  ): Promise<void> {
    await outboxEventPublisher(tx, producer).publish(
      topics.patrolViolation,
      {
        violationId: record.violationId,
        kind: KIND_TO_PROTO[record.kind],
        status:
          record.status === 'raised'
            ? ViolationStatus.VIOLATION_STATUS_RAISED
            : ViolationStatus.VIOLATION_STATUS_WITHDRAWN,
        severity: SEVERITY_TO_PROTO[record.severity],
        roundId: record.roundId ?? '',
        routeId: record.routeId ?? '',
        shiftId,
        guardId: record.guardId ?? '',
        checkpointId: record.checkpointId ?? '',
        expectedSequence: record.expectedSequence,
        actualSequence: record.actualSequence,
        ...(record.expectedAt ? { expectedAt: timestampFromDate(record.expectedAt) } : {}),
        ...(record.actualAt ? { actualAt: timestampFromDate(record.actualAt) } : {}),
        deviationSeconds: record.deviationSeconds,
        checkInEventIds: [...record.checkInEventIds],
        detail: record.detail,
      },
      { compoundId: record.compoundId, occurredAt: record.updatedAt },
    );
  }

  interface ViolationContext {
    readonly compoundId: string;
    readonly roundId: string | undefined;
    readonly routeId: string | undefined;
    readonly guardId: string | undefined;
    readonly shiftId: string;
  }

  async function upsertViolation(
    tx: ClientBase,
    key: string,
    finding: Finding,
    context: ViolationContext,
  ): Promise<ViolationRecord> {
    const { rows } = await tx.query(
      `INSERT INTO violations (violation_id, violation_key, compound_id, kind, status, severity, round_id, route_id,
         guard_id, checkpoint_id, expected_sequence, actual_sequence, expected_at, actual_at, deviation_seconds,
         check_in_event_ids, detail, fingerprint)
       VALUES ($1, $2, $3, $4, 'raised', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (violation_key) DO UPDATE SET status = 'raised', severity = EXCLUDED.severity,
         checkpoint_id = EXCLUDED.checkpoint_id, expected_sequence = EXCLUDED.expected_sequence,
         actual_sequence = EXCLUDED.actual_sequence, expected_at = EXCLUDED.expected_at,
         actual_at = EXCLUDED.actual_at, deviation_seconds = EXCLUDED.deviation_seconds,
         check_in_event_ids = EXCLUDED.check_in_event_ids, detail = EXCLUDED.detail,
         fingerprint = EXCLUDED.fingerprint, updated_at = now()
       RETURNING *`,
      [
        // Kept on conflict: a violation raised again keeps its id.
        uuidv7(),
        key,
        context.compoundId,
        finding.kind,
        finding.severity,
        context.roundId ?? null,
        context.routeId ?? null,
        context.guardId ?? null,
        finding.checkpointId || null,
        finding.expectedSequence,
        finding.actualSequence,
        finding.expectedAt ?? null,
        finding.actualAt ?? null,
        finding.deviationSeconds,
        finding.checkInEventIds,
        finding.detail,
        evidenceFingerprint(finding),
      ],
    );
    const record = violationOf(rows[0] as Row);
    await writeViolationEvent(tx, record, context.shiftId);
    return record;
  }

  /** Re-evaluates a round the caller holds locked, and writes what changed. */
  async function evaluateLocked(tx: ClientBase, round: Row): Promise<RoundStatus> {
    const roundId = round.round_id as string;
    const plan = {
      plannedStart: round.planned_start as Date,
      stops: (round.plan as { stops: PlannedStop[] }).stops,
    };
    const { rows: checkIns } = await tx.query(
      'SELECT event_id, checkpoint_id, occurred_at FROM check_ins WHERE round_id = $1',
      [roundId],
    );
    const evaluation = evaluateRound(
      plan,
      checkIns.map((row: Row) => ({
        eventId: row.event_id as string,
        checkpointId: row.checkpoint_id as string,
        at: row.occurred_at as Date,
      })),
      round.closed_at !== null,
    );
    await tx.query(
      `UPDATE rounds SET status = $2, stop_results = $3, stops_checked = $4, stops_on_time = $5, updated_at = now()
       WHERE round_id = $1`,
      [
        roundId,
        evaluation.status,
        JSON.stringify(evaluation.stops),
        evaluation.stops.filter((stop) => stop.checkedInAt).length,
        evaluation.stops.filter((stop) => stop.outcome === 'on_time').length,
      ],
    );

    const prefix = `${roundId}:`;
    const { rows: storedRows } = await tx.query(
      'SELECT violation_id, violation_key, status, fingerprint FROM violations WHERE round_id = $1',
      [roundId],
    );
    const stored: StoredViolation[] = storedRows.map((row: Row) => ({
      violationId: row.violation_id as string,
      key: (row.violation_key as string).slice(prefix.length),
      status: row.status as 'raised' | 'withdrawn',
      fingerprint: row.fingerprint as string,
    }));
    const context: ViolationContext = {
      compoundId: round.compound_id as string,
      roundId,
      routeId: round.route_id as string,
      guardId: round.guard_id as string,
      shiftId: round.schedule_id as string,
    };
    for (const change of reconcileViolations(stored, evaluation.findings)) {
      if (change.action === 'withdraw') {
        const { rows } = await tx.query(
          `UPDATE violations SET status = 'withdrawn', updated_at = now() WHERE violation_id = $1 RETURNING *`,
          [change.existing.violationId],
        );
        await writeViolationEvent(tx, violationOf(rows[0] as Row), context.shiftId);
      } else await upsertViolation(tx, prefix + change.finding.key, change.finding, context);
    }
    return evaluation.status;
  }

  async function unknownCheckIn(
    tx: ClientBase,
    input: CheckInInput,
    kind: 'unknown_tag' | 'unknown_guard',
    compoundId: string,
    checkpointId: string,
  ): Promise<CheckInOutcome> {
    const detail =
      kind === 'unknown_tag'
        ? `no checkpoint has ${input.checkpointTagId ? `tag ${input.checkpointTagId}` : `reader ${input.deviceId}`}`
        : `no guard of the compound has ${input.guardTagId ? `tag ${input.guardTagId}` : `user ${input.guardUserId || '(none given)'}`}`;
    const finding: Finding = {
      key: input.eventId,
      kind,
      severity: 'medium',
      checkpointId,
      expectedSequence: 0,
      actualSequence: 0,
      expectedAt: undefined,
      actualAt: input.occurredAt,
      deviationSeconds: 0,
      checkInEventIds: [input.eventId],
      detail,
    };
    const { violationId } = await upsertViolation(tx, `check-in:${input.eventId}`, finding, {
      compoundId,
      roundId: undefined,
      routeId: undefined,
      guardId: undefined,
      shiftId: '',
    });
    return { kind, violationId };
  }

  return {
    async recordCheckIn(input) {
      return withTransaction(pool, async (tx) => {
        const { rowCount } = await tx.query(
          `INSERT INTO check_ins (event_id, compound_id, device_id, method, checkpoint_tag_id, guard_tag_id,
             guard_user_id, occurred_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING`,
          [
            input.eventId,
            input.compoundId,
            input.deviceId,
            input.method,
            input.checkpointTagId,
            input.guardTagId,
            input.guardUserId,
            input.occurredAt,
          ],
        );
        if (rowCount === 0) return { kind: 'duplicate' } as const;

        const { rows: checkpoints } = input.checkpointTagId
          ? await tx.query('SELECT checkpoint_id, compound_id FROM checkpoints WHERE tag_id = $1', [
              input.checkpointTagId,
            ])
          : await tx.query('SELECT checkpoint_id, compound_id FROM checkpoints WHERE device_id = $1', [
              input.deviceId,
            ]);
        const checkpoint = checkpoints[0] as Row | undefined;
        if (!checkpoint) {
          await tx.query(`UPDATE check_ins SET unknown = 'checkpoint' WHERE event_id = $1`, [input.eventId]);
          return unknownCheckIn(tx, input, 'unknown_tag', input.compoundId, '');
        }
        const checkpointId = checkpoint.checkpoint_id as string;
        const compoundId = checkpoint.compound_id as string;
        const { rows: guards } = input.guardTagId
          ? await tx.query('SELECT guard_id FROM guards WHERE compound_id = $1 AND tag_id = $2', [
              compoundId,
              input.guardTagId,
            ])
          : await tx.query('SELECT guard_id FROM guards WHERE compound_id = $1 AND user_id = $2', [
              compoundId,
              input.guardUserId,
            ]);
        const guard = guards[0] as Row | undefined;
        if (!guard) {
          await tx.query(
            `UPDATE check_ins SET unknown = 'guard', checkpoint_id = $2, compound_id = $3 WHERE event_id = $1`,
            [input.eventId, checkpointId, compoundId],
          );
          return unknownCheckIn(tx, input, 'unknown_guard', compoundId, checkpointId);
        }
        const guardId = guard.guard_id as string;
        await lockGuard(tx, guardId);

        // The guard's round that contains this checkpoint and whose window holds the tap; when
        // rounds overlap, the one planned closest to it.
        const { rows: rounds } = await tx.query(
          `SELECT * FROM rounds
            WHERE guard_id = $1
              AND plan -> 'stops' @> jsonb_build_array(jsonb_build_object('checkpointId', $2::text))
              AND planned_start - make_interval(mins => $4) <= $3
              AND planned_end + make_interval(mins => $5) >= $3
            ORDER BY abs(extract(epoch FROM planned_start - $3::timestamptz)), round_id
            LIMIT 1
            FOR UPDATE`,
          [guardId, checkpointId, input.occurredAt, timings.earlyWindowMinutes, timings.closeGraceMinutes],
        );
        const round = rounds[0] as Row | undefined;
        await tx.query(
          'UPDATE check_ins SET checkpoint_id = $2, guard_id = $3, round_id = $4, compound_id = $5 WHERE event_id = $1',
          [input.eventId, checkpointId, guardId, round?.round_id ?? null, compoundId],
        );
        if (!round) return { kind: 'unscheduled', guardId, checkpointId } as const;
        const status = await evaluateLocked(tx, round);
        return { kind: 'attributed', roundId: round.round_id as string, status } as const;
      });
    },

    async materialise(now, window) {
      return withTransaction(pool, async (tx) => {
        const { rows: lock } = await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [
          SCHEDULER_LOCK,
        ]);
        if (!(lock[0] as Row).locked) return undefined;
        const from = new Date(now.getTime() - window.lookbackHours * HOUR_MS);
        const to = new Date(now.getTime() + window.aheadHours * HOUR_MS);
        const { rows } = await tx.query(
          `SELECT schedule.*, routes.stops
             FROM (SELECT ${SCHEDULE_COLUMNS} FROM schedules
                    WHERE valid_until IS NULL OR valid_until >= ($1::timestamptz - interval '2 days')::date) schedule
             JOIN routes USING (route_id)`,
          [from],
        );
        let created = 0;
        for (const row of rows as Row[]) {
          const schedule = scheduleOf(row);
          const stops = planStops(row.stops as RouteStopInput[]);
          for (const start of occurrences(schedule, from, to)) {
            const { rows: inserted } = await tx.query(
              `INSERT INTO rounds (round_id, schedule_id, route_id, guard_id, compound_id, shift_name, planned_start,
                 planned_end, plan, stops_total, stop_results)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (schedule_id, planned_start) DO NOTHING
               RETURNING *`,
              [
                uuidv7(),
                schedule.scheduleId,
                schedule.routeId,
                schedule.guardId,
                schedule.compoundId,
                schedule.shiftName,
                start,
                plannedEnd({ plannedStart: start, stops }),
                JSON.stringify({ stops }),
                stops.length,
                JSON.stringify(evaluateRound({ plannedStart: start, stops }, [], false).stops),
              ],
            );
            const round = inserted[0] as Row | undefined;
            if (!round) continue;
            created++;
            await lockGuard(tx, schedule.guardId);
            // Check-ins recorded before their round existed (a schedule entered after the fact,
            // a scheduler that was down) belong to it now.
            const { rowCount: adopted } = await tx.query(
              `UPDATE check_ins SET round_id = $1
                WHERE round_id IS NULL AND guard_id = $2 AND checkpoint_id = ANY($3::uuid[])
                  AND occurred_at BETWEEN $4::timestamptz - make_interval(mins => $6)
                                      AND $5::timestamptz + make_interval(mins => $7)`,
              [
                round.round_id,
                schedule.guardId,
                stops.map((stop) => stop.checkpointId),
                round.planned_start,
                round.planned_end,
                timings.earlyWindowMinutes,
                timings.closeGraceMinutes,
              ],
            );
            if (adopted) await evaluateLocked(tx, round);
          }
        }
        return created;
      });
    },

    async endSchedule(scheduleId, validUntil) {
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query(
          `UPDATE schedules SET valid_until = $2 WHERE schedule_id = $1 AND valid_from <= $2::date
           RETURNING ${SCHEDULE_COLUMNS}`,
          [scheduleId, validUntil],
        );
        if (rows.length === 0) {
          const { rows: found } = await tx.query('SELECT 1 FROM schedules WHERE schedule_id = $1', [
            scheduleId,
          ]);
          if (found.length === 0) throw new NotFoundError(`schedule ${scheduleId} not found`);
          throw new FailedPreconditionError(`valid_until ${validUntil} is before the schedule's valid_from`);
        }
        const schedule = scheduleOf(rows[0] as Row);
        // A check-in of this guard being attributed right now must not land on a removed round.
        await lockGuard(tx, schedule.guardId);
        const { rowCount } = await tx.query(
          `DELETE FROM rounds r
            WHERE r.schedule_id = $1 AND r.planned_start >= $2 AND r.closed_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM check_ins c WHERE c.round_id = r.round_id)
              AND NOT EXISTS (SELECT 1 FROM violations v WHERE v.round_id = r.round_id)`,
          [scheduleId, scheduleEnd(validUntil, schedule.utcOffsetMinutes)],
        );
        return { schedule, roundsRemoved: rowCount ?? 0 };
      });
    },

    async closeDue(now) {
      let closed = 0;
      for (;;) {
        // SKIP LOCKED: a round a check-in is evaluating right now is closed on the next pass.
        const batch = await withTransaction(pool, async (tx) => {
          const { rows } = await tx.query(
            `SELECT * FROM rounds
              WHERE closed_at IS NULL AND planned_end <= $1::timestamptz - make_interval(mins => $2)
              ORDER BY planned_end LIMIT $3
              FOR UPDATE SKIP LOCKED`,
            [now, timings.closeGraceMinutes, CLOSE_BATCH],
          );
          for (const row of rows as Row[]) {
            await tx.query('UPDATE rounds SET closed_at = $2 WHERE round_id = $1', [row.round_id, now]);
            await evaluateLocked(tx, { ...row, closed_at: now });
          }
          return rows.length;
        });
        closed += batch;
        if (batch < CLOSE_BATCH) return closed;
      }
    },

    async getRound(roundId) {
      const { rows } = await pool.query(
        `SELECT rounds.*, (SELECT count(*) FROM violations v WHERE v.round_id = rounds.round_id AND v.status = 'raised')
           AS open_violations
           FROM rounds WHERE round_id = $1`,
        [roundId],
      );
      return rows[0] ? roundOf(rows[0] as Row) : undefined;
    },

    async listRounds(filter) {
      const after = parsePageToken(filter.pageToken);
      const { rows } = await pool.query(
        `SELECT rounds.*, (SELECT count(*) FROM violations v WHERE v.round_id = rounds.round_id AND v.status = 'raised')
           AS open_violations
           FROM rounds
          WHERE compound_id = $1
            AND ($2::timestamptz IS NULL OR planned_start >= $2)
            AND ($3::timestamptz IS NULL OR planned_start < $3)
            AND ($4::uuid IS NULL OR guard_id = $4)
            AND ($5::uuid IS NULL OR route_id = $5)
            AND ($6::timestamptz IS NULL OR (planned_start, round_id) < ($6, $7::uuid))
          ORDER BY planned_start DESC, round_id DESC
          LIMIT $8`,
        [
          filter.compoundId,
          filter.from ?? null,
          filter.to ?? null,
          filter.guardId ?? null,
          filter.routeId ?? null,
          after?.[0] ?? null,
          after?.[1] ?? null,
          filter.pageSize + 1,
        ],
      );
      const items = (rows as Row[]).slice(0, filter.pageSize).map(roundOf);
      const last = items.at(-1);
      return {
        items,
        nextPageToken:
          rows.length > filter.pageSize && last ? pageToken(last.plannedStart, last.roundId) : '',
      };
    },

    async listViolations(filter) {
      const after = parsePageToken(filter.pageToken);
      const { rows } = await pool.query(
        `SELECT * FROM violations
          WHERE compound_id = $1
            AND ($2::uuid IS NULL OR round_id = $2)
            AND ($3 OR status = 'raised')
            AND ($4::timestamptz IS NULL OR (raised_at, violation_id) < ($4, $5::uuid))
          ORDER BY raised_at DESC, violation_id DESC
          LIMIT $6`,
        [
          filter.compoundId,
          filter.roundId ?? null,
          filter.includeWithdrawn,
          after?.[0] ?? null,
          after?.[1] ?? null,
          filter.pageSize + 1,
        ],
      );
      const items = (rows as Row[]).slice(0, filter.pageSize).map(violationOf);
      const last = items.at(-1);
      return {
        items,
        nextPageToken:
          rows.length > filter.pageSize && last ? pageToken(last.raisedAt, last.violationId) : '',
      };
    },
  };
}
