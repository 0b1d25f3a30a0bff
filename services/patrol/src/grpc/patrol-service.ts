/**
 * anfang.patrol.v1.PatrolService: authenticate the caller, check role and compound scope,
 * validate the request, delegate to the stores, map records to protos.
 */
import { anfang, PatrolService, timestampFromDate } from '@anfang/contracts';
import {
  requireCompound,
  requireRole,
  type Caller,
  type CallerVerifier,
  type Role,
} from '@anfang/platform/auth';
import {
  InvalidArgumentError,
  NotFoundError,
  grpcService,
  type CallContext,
  type GrpcService,
} from '@anfang/platform/grpc';
import { csvHeader, csvRecord, type ReportRow } from '../domain/report.ts';
import { formatStartTime, isLocalDate } from '../domain/schedule.ts';
import type { Checkpoint, Guard, PlanningStore, Route, Schedule } from '../store/planning.ts';
import type { ReportGrouping, ReportStore } from '../store/reports.ts';
import {
  InvalidPageTokenError,
  KIND_TO_PROTO,
  SEVERITY_TO_PROTO,
  type RoundRecord,
  type RoundStore,
  type ViolationRecord,
} from '../store/rounds.ts';
import {
  pageSizeOf,
  reportPeriod,
  routeStops,
  scheduleInput,
  validated,
  type Violations,
} from './validate.ts';

const { RoundStatus, StopOutcome, ViolationStatus, ReportGrouping: GroupingEnum } = anfang.patrol.v1;

/** Who plans patrols. */
const PLANNERS: readonly Role[] = ['district_admin', 'community_manager', 'property_staff'];
/** Who reads plans, rounds, violations and reports (a town/street office its area's). */
const READERS: readonly Role[] = [...PLANNERS, 'street_officer', 'police', 'guard', 'auditor', 'service'];

const ROUND_STATUS = {
  scheduled: RoundStatus.ROUND_STATUS_SCHEDULED,
  in_progress: RoundStatus.ROUND_STATUS_IN_PROGRESS,
  completed: RoundStatus.ROUND_STATUS_COMPLETED,
  unfinished: RoundStatus.ROUND_STATUS_UNFINISHED,
  not_started: RoundStatus.ROUND_STATUS_NOT_STARTED,
} as const;

const STOP_OUTCOME = {
  pending: StopOutcome.STOP_OUTCOME_PENDING,
  on_time: StopOutcome.STOP_OUTCOME_ON_TIME,
  early: StopOutcome.STOP_OUTCOME_EARLY,
  late: StopOutcome.STOP_OUTCOME_LATE,
  missed: StopOutcome.STOP_OUTCOME_MISSED,
} as const;

const GROUPING: Readonly<Record<number, ReportGrouping>> = {
  [GroupingEnum.REPORT_GROUPING_UNSPECIFIED]: 'guard',
  [GroupingEnum.REPORT_GROUPING_GUARD]: 'guard',
  [GroupingEnum.REPORT_GROUPING_ROUTE]: 'route',
  [GroupingEnum.REPORT_GROUPING_COMPOUND]: 'compound',
};

function groupingOf(violations: Violations, value: number | null | undefined): ReportGrouping {
  const grouping = GROUPING[value ?? 0];
  if (!grouping) violations.add('group_by', 'GUARD, ROUTE or COMPOUND');
  return grouping ?? 'guard';
}

/** Rows per CSV chunk: a chunk stays far below the gRPC message limit whatever the names. */
const CSV_ROWS_PER_CHUNK = 500;

const ts = (date: Date | undefined) => (date ? timestampFromDate(date) : null);

function checkpointProto(checkpoint: Checkpoint): anfang.patrol.v1.Checkpoint.$Properties {
  return {
    checkpointId: checkpoint.checkpointId,
    compoundId: checkpoint.compoundId,
    name: checkpoint.name,
    zoneId: checkpoint.zoneId,
    deviceId: checkpoint.deviceId ?? '',
    tagId: checkpoint.tagId ?? '',
    createdAt: ts(checkpoint.createdAt),
  };
}

function guardProto(guard: Guard): anfang.patrol.v1.Guard.$Properties {
  return {
    guardId: guard.guardId,
    compoundId: guard.compoundId,
    name: guard.name,
    tagId: guard.tagId ?? '',
    userId: guard.userId ?? '',
    createdAt: ts(guard.createdAt),
  };
}

function routeProto(route: Route): anfang.patrol.v1.Route.$Properties {
  return {
    routeId: route.routeId,
    compoundId: route.compoundId,
    name: route.name,
    stops: route.stops.map((stop) => ({ ...stop })),
    createdAt: ts(route.createdAt),
  };
}

function scheduleProto(schedule: Schedule): anfang.patrol.v1.Schedule.$Properties {
  return {
    scheduleId: schedule.scheduleId,
    compoundId: schedule.compoundId,
    routeId: schedule.routeId,
    guardId: schedule.guardId,
    shiftName: schedule.shiftName,
    weekdays: [...schedule.weekdays],
    startTime: formatStartTime(schedule.startMinute),
    utcOffsetMinutes: schedule.utcOffsetMinutes,
    validFrom: schedule.validFrom,
    validUntil: schedule.validUntil ?? '',
    createdAt: ts(schedule.createdAt),
  };
}

function roundProto(round: RoundRecord): anfang.patrol.v1.Round.$Properties {
  return {
    roundId: round.roundId,
    scheduleId: round.scheduleId,
    routeId: round.routeId,
    guardId: round.guardId,
    compoundId: round.compoundId,
    shiftName: round.shiftName,
    plannedStart: ts(round.plannedStart),
    plannedEnd: ts(round.plannedEnd),
    status: ROUND_STATUS[round.status],
    closedAt: ts(round.closedAt),
    stops: round.stops.map((stop) => ({
      sequence: stop.sequence,
      checkpointId: stop.checkpointId,
      expectedAt: ts(stop.expectedAt),
      checkedInAt: ts(stop.checkedInAt),
      outcome: STOP_OUTCOME[stop.outcome],
      deviationSeconds: stop.deviationSeconds,
      actualSequence: stop.actualSequence,
    })),
    openViolations: round.openViolations,
  };
}

function violationProto(violation: ViolationRecord): anfang.patrol.v1.Violation.$Properties {
  return {
    violationId: violation.violationId,
    compoundId: violation.compoundId,
    kind: KIND_TO_PROTO[violation.kind],
    status:
      violation.status === 'raised'
        ? ViolationStatus.VIOLATION_STATUS_RAISED
        : ViolationStatus.VIOLATION_STATUS_WITHDRAWN,
    severity: SEVERITY_TO_PROTO[violation.severity],
    roundId: violation.roundId ?? '',
    routeId: violation.routeId ?? '',
    guardId: violation.guardId ?? '',
    checkpointId: violation.checkpointId ?? '',
    expectedSequence: violation.expectedSequence,
    actualSequence: violation.actualSequence,
    expectedAt: ts(violation.expectedAt),
    actualAt: ts(violation.actualAt),
    deviationSeconds: violation.deviationSeconds,
    checkInEventIds: [...violation.checkInEventIds],
    detail: violation.detail,
    raisedAt: ts(violation.raisedAt),
    updatedAt: ts(violation.updatedAt),
  };
}

function reportRowProto(row: ReportRow): anfang.patrol.v1.ReportRow.$Properties {
  return { ...row };
}

function pageTokenRefused(error: unknown): never {
  if (error instanceof InvalidPageTokenError)
    throw new InvalidArgumentError(error.message, [{ field: 'page.page_token', description: error.message }]);
  throw error;
}

export interface PatrolServiceDeps {
  readonly verifier: CallerVerifier;
  readonly planning: PlanningStore;
  readonly rounds: RoundStore;
  readonly reports: ReportStore;
}

export function patrolGrpcService(deps: PatrolServiceDeps): GrpcService<typeof PatrolService.definition> {
  const { verifier, planning, rounds, reports } = deps;

  async function authorise(ctx: CallContext, roles: readonly Role[], compoundId?: string): Promise<Caller> {
    const caller = await verifier.verify(ctx.metadata);
    requireRole(caller, ...roles);
    if (compoundId !== undefined) requireCompound(caller, compoundId);
    return caller;
  }

  /** Authenticates, then validates a compound-scoped read (`compound_id` required). */
  async function compoundRead(ctx: CallContext, compoundId: string | null | undefined): Promise<string> {
    const caller = await authorise(ctx, READERS);
    const id = validated((v) => v.compound('compound_id', compoundId));
    requireCompound(caller, id);
    return id;
  }

  async function report(
    request: anfang.patrol.v1.IGetReportRequest | anfang.patrol.v1.IExportReportRequest,
    ctx: CallContext,
  ) {
    const caller = await authorise(ctx, READERS);
    const query = validated((v) => ({
      compoundId: v.compound('compound_id', request.compoundId),
      ...reportPeriod(v, request.from, request.to),
      groupBy: groupingOf(v, request.groupBy),
    }));
    requireCompound(caller, query.compoundId);
    return reports.report(query);
  }

  return grpcService(PatrolService.definition, {
    async createCheckpoint(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const input = validated((v) => {
        const checkpoint = request.checkpoint ?? {};
        const deviceId = v.uuid('checkpoint.device_id', checkpoint.deviceId, false);
        const tagId = v.tag('checkpoint.tag_id', checkpoint.tagId);
        if (Boolean(deviceId) === Boolean(tagId))
          v.add('checkpoint.device_id', 'exactly one of device_id (a fixed reader) and tag_id (a tag)');
        return {
          compoundId: v.compound('checkpoint.compound_id', checkpoint.compoundId),
          name: v.text('checkpoint.name', checkpoint.name, { required: true }),
          zoneId: v.text('checkpoint.zone_id', checkpoint.zoneId, { required: false, max: 64 }),
          deviceId: deviceId || undefined,
          tagId: tagId || undefined,
        };
      });
      requireCompound(caller, input.compoundId);
      return { checkpoint: checkpointProto(await planning.createCheckpoint(input)) };
    },

    async listCheckpoints(request, ctx) {
      const compoundId = await compoundRead(ctx, request.compoundId);
      return { checkpoints: (await planning.listCheckpoints(compoundId)).map(checkpointProto) };
    },

    async createGuard(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const input = validated((v) => {
        const guard = request.guard ?? {};
        const tagId = v.tag('guard.tag_id', guard.tagId);
        const userId = v.tag('guard.user_id', guard.userId);
        if (!tagId && !userId) v.add('guard.tag_id', 'a tag/card or a user id to check in with');
        return {
          compoundId: v.compound('guard.compound_id', guard.compoundId),
          name: v.text('guard.name', guard.name, { required: true }),
          tagId: tagId || undefined,
          userId: userId || undefined,
        };
      });
      requireCompound(caller, input.compoundId);
      return { guard: guardProto(await planning.createGuard(input)) };
    },

    async listGuards(request, ctx) {
      const compoundId = await compoundRead(ctx, request.compoundId);
      return { guards: (await planning.listGuards(compoundId)).map(guardProto) };
    },

    async createRoute(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const input = validated((v) => ({
        compoundId: v.compound('route.compound_id', request.route?.compoundId),
        name: v.text('route.name', request.route?.name, { required: true }),
        stops: routeStops(v, request.route?.stops),
      }));
      requireCompound(caller, input.compoundId);
      return { route: routeProto(await planning.createRoute(input)) };
    },

    async getRoute(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const routeId = validated((v) => v.uuid('route_id', request.routeId));
      const route = await planning.getRoute(routeId);
      requireCompound(caller, route.compoundId);
      return { route: routeProto(route) };
    },

    async listRoutes(request, ctx) {
      const compoundId = await compoundRead(ctx, request.compoundId);
      return { routes: (await planning.listRoutes(compoundId)).map(routeProto) };
    },

    async createSchedule(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const input = validated((v) => scheduleInput(v, request.schedule));
      // The compound is the route's: check scope against it before anything is written.
      const route = await planning.getRoute(input.routeId);
      requireCompound(caller, route.compoundId);
      return { schedule: scheduleProto(await planning.createSchedule(input)) };
    },

    async endSchedule(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const input = validated((v) => {
        const scheduleId = v.uuid('schedule_id', request.scheduleId);
        const validUntil = (request.validUntil ?? '').trim();
        if (!isLocalDate(validUntil)) v.add('valid_until', 'a date "YYYY-MM-DD"');
        return { scheduleId, validUntil };
      });
      const existing = await planning.getSchedule(input.scheduleId);
      requireCompound(caller, existing.compoundId);
      const { schedule, roundsRemoved } = await rounds.endSchedule(input.scheduleId, input.validUntil);
      return { schedule: scheduleProto(schedule), roundsRemoved };
    },

    async listSchedules(request, ctx) {
      const compoundId = await compoundRead(ctx, request.compoundId);
      return { schedules: (await planning.listSchedules(compoundId)).map(scheduleProto) };
    },

    async getRound(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const roundId = validated((v) => v.uuid('round_id', request.roundId));
      const round = await rounds.getRound(roundId);
      if (!round) throw new NotFoundError(`round ${roundId} not found`);
      requireCompound(caller, round.compoundId);
      return { round: roundProto(round) };
    },

    async listRounds(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const filter = validated((v) => ({
        compoundId: v.compound('compound_id', request.compoundId),
        from: v.time('from', request.from, false),
        to: v.time('to', request.to, false),
        guardId: v.uuid('guard_id', request.guardId, false) || undefined,
        routeId: v.uuid('route_id', request.routeId, false) || undefined,
        pageSize: pageSizeOf(v, request.page),
        pageToken: request.page?.pageToken ?? '',
      }));
      requireCompound(caller, filter.compoundId);
      const page = await rounds.listRounds(filter).catch(pageTokenRefused);
      return {
        rounds: page.items.map(roundProto),
        page: { nextPageToken: page.nextPageToken, totalSize: -1 },
      };
    },

    async listViolations(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const filter = validated((v) => ({
        compoundId: v.compound('compound_id', request.compoundId),
        roundId: v.uuid('round_id', request.roundId, false) || undefined,
        includeWithdrawn: request.includeWithdrawn ?? false,
        pageSize: pageSizeOf(v, request.page),
        pageToken: request.page?.pageToken ?? '',
      }));
      requireCompound(caller, filter.compoundId);
      const page = await rounds.listViolations(filter).catch(pageTokenRefused);
      return {
        violations: page.items.map(violationProto),
        page: { nextPageToken: page.nextPageToken, totalSize: -1 },
      };
    },

    async getReport(request, ctx) {
      const result = await report(request, ctx);
      return { rows: result.rows.map(reportRowProto), unknownCheckIns: result.unknownCheckIns };
    },

    async *exportReport(request, ctx) {
      const result = await report(request, ctx);
      let chunk = csvHeader();
      for (const [index, row] of result.rows.entries()) {
        chunk += csvRecord(row);
        if ((index + 1) % CSV_ROWS_PER_CHUNK === 0) {
          yield { data: Buffer.from(chunk, 'utf8') };
          chunk = '';
        }
      }
      if (chunk) yield { data: Buffer.from(chunk, 'utf8') };
    },
  });
}
