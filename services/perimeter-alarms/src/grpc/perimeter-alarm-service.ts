/**
 * anfang.alarm.v1.PerimeterAlarmService: authenticate the caller, check role and compound
 * scope, validate the request, delegate to the stores, map records to protos.
 */
import { anfang, PerimeterAlarmService, timestampFromDate, timestampToDate } from '@anfang/contracts';
import {
  scopeProblems,
  requireCompound,
  requireRole,
  type Caller,
  type CallerVerifier,
  type Role,
} from '@anfang/platform/auth';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  grpcService,
  importResponse,
  importRows,
  parseCsvUpload,
  type CallContext,
  type GrpcService,
} from '@anfang/platform/grpc';
import type { Arming } from '../domain/flood.ts';
import { LifecycleError, type Action, type AlarmState, type Resolution } from '../domain/lifecycle.ts';
import { PRIORITY_TO_PROTO, SOURCE_TO_PROTO } from '../domain/sources.ts';
import {
  AlarmNotFoundError,
  RESOLUTION_TO_PROTO,
  STATE_TO_PROTO,
  TRANSITION_TO_PROTO,
  videoLinks,
  type AlarmRecord,
  type AlarmStore,
  type AlarmStoreOptions,
} from '../store/alarms.ts';
import { ZoneNameTakenError, type Zone, type ZoneKind, type ZoneStore } from '../store/zones.ts';
import { parseZoneCsv } from '../domain/zone-csv.ts';
import { checked, type RequestCheck } from './validate.ts';

const { ZoneKind: ProtoZoneKind, ArmingState, AlarmResolution, AlarmState: ProtoState } = anfang.alarm.v1;

/** Who sets up zones, arming and duty rules. */
const PLANNERS: readonly Role[] = ['district_admin', 'community_manager', 'property_staff'];
/** Who handles alarms. */
const OPERATORS: readonly Role[] = [...PLANNERS, 'guard', 'police'];
/** Who reads zones and alarms (a town/street office its area's). */
const READERS: readonly Role[] = [...OPERATORS, 'street_officer', 'auditor', 'service'];

/** An import reports progress every this many rows. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const ZONE_KIND: Readonly<Record<number, ZoneKind>> = {
  [ProtoZoneKind.ZONE_KIND_WALL]: 'wall',
  [ProtoZoneKind.ZONE_KIND_FENCE]: 'fence',
  [ProtoZoneKind.ZONE_KIND_WATER_EDGE]: 'water_edge',
  [ProtoZoneKind.ZONE_KIND_PIPE]: 'pipe',
};
const ZONE_KIND_TO_PROTO = Object.fromEntries(
  Object.entries(ZONE_KIND).map(([proto, kind]) => [kind, Number(proto)]),
) as Record<ZoneKind, anfang.alarm.v1.ZoneKind>;

const ARMING: Readonly<Record<number, Arming>> = {
  [ArmingState.ARMING_STATE_ARMED]: 'armed',
  [ArmingState.ARMING_STATE_DISARMED]: 'disarmed',
  [ArmingState.ARMING_STATE_BYPASSED]: 'bypassed',
};
const ARMING_TO_PROTO = Object.fromEntries(
  Object.entries(ARMING).map(([proto, arming]) => [arming, Number(proto)]),
) as Record<Arming, anfang.alarm.v1.ArmingState>;

const RESOLUTION: Readonly<Record<number, Resolution>> = {
  [AlarmResolution.ALARM_RESOLUTION_REAL]: 'real',
  [AlarmResolution.ALARM_RESOLUTION_FALSE_ALARM]: 'false_alarm',
  [AlarmResolution.ALARM_RESOLUTION_TEST]: 'test',
};

const STATE: Readonly<Record<number, AlarmState>> = {
  [ProtoState.ALARM_STATE_NEW]: 'new',
  [ProtoState.ALARM_STATE_ACKNOWLEDGED]: 'acknowledged',
  [ProtoState.ALARM_STATE_IN_PROGRESS]: 'in_progress',
  [ProtoState.ALARM_STATE_RESOLVED]: 'resolved',
};

const ts = (date: Date | undefined) => (date ? timestampFromDate(date) : null);

function zoneProto(zone: Zone): anfang.alarm.v1.IZone {
  return {
    zoneId: zone.zoneId,
    compoundId: zone.compoundId,
    name: zone.name,
    kind: ZONE_KIND_TO_PROTO[zone.kind],
    sensorDeviceIds: [...zone.sensorDeviceIds],
    cameraDeviceIds: [...zone.cameraDeviceIds],
    arming: ARMING_TO_PROTO[zone.arming],
    armingChangedBy: zone.armingChangedBy,
    armingChangedAt: ts(zone.armingChangedAt),
    armingUntil: ts(zone.armingUntil),
    createdAt: ts(zone.createdAt),
  };
}

function zoneInput(c: RequestCheck, zone: anfang.alarm.v1.IZone) {
  return {
    name: c.text('zone.name', zone.name, true),
    kind: c.oneOf('zone.kind', zone.kind, ZONE_KIND),
    sensorDeviceIds: c.deviceIds('zone.sensor_device_ids', zone.sensorDeviceIds),
    cameraDeviceIds: c.deviceIds('zone.camera_device_ids', zone.cameraDeviceIds),
  };
}

export function perimeterAlarmGrpcService(deps: {
  readonly verifier: CallerVerifier;
  readonly zones: ZoneStore;
  readonly alarms: AlarmStore;
  readonly playback: AlarmStoreOptions['playback'];
}): GrpcService<typeof PerimeterAlarmService.definition> {
  const { verifier, zones, alarms, playback } = deps;

  async function authorise(ctx: CallContext, roles: readonly Role[]): Promise<Caller> {
    const caller = await verifier.verify(ctx.metadata);
    requireRole(caller, ...roles);
    return caller;
  }

  async function alarmProto(alarm: AlarmRecord, withHistory: boolean): Promise<anfang.alarm.v1.IAlarm> {
    const history = withHistory ? await alarms.history(alarm.alarmId) : [];
    return {
      alarmId: alarm.alarmId,
      compoundId: alarm.compoundId,
      state: STATE_TO_PROTO[alarm.state],
      source: SOURCE_TO_PROTO[alarm.source],
      category: alarm.category,
      episode: alarm.episode,
      title: alarm.title,
      priority: PRIORITY_TO_PROTO[alarm.priority],
      zoneId: alarm.zoneId,
      deviceIds: [...alarm.deviceIds],
      video: videoLinks(alarm, playback),
      snapshotKeys: alarm.images.map((image) => image.objectKey),
      occurrenceCount: alarm.occurrenceCount,
      firstOccurredAt: ts(alarm.firstOccurredAt),
      lastOccurredAt: ts(alarm.lastOccurredAt),
      assigneeUserId: alarm.assigneeUserId,
      assigneeTeamId: alarm.assigneeTeamId,
      acknowledgeDeadline: ts(alarm.acknowledgeDeadline),
      escalationLevel: alarm.escalationLevel,
      resolution: alarm.resolution ? RESOLUTION_TO_PROTO[alarm.resolution] : 0,
      history: history.map((entry) => ({
        transition: TRANSITION_TO_PROTO[entry.transition],
        state: STATE_TO_PROTO[entry.state],
        actor: entry.actor,
        at: ts(entry.at),
        comment: entry.comment,
        assigneeUserId: entry.assigneeUserId,
        assigneeTeamId: entry.assigneeTeamId,
        escalationLevel: entry.escalationLevel,
        resolution: entry.resolution ? RESOLUTION_TO_PROTO[entry.resolution] : 0,
      })),
    };
  }

  /** A zone the caller may see (NOT_FOUND for a zone of another compound: its id says nothing). */
  async function visibleZone(caller: Caller, zoneId: string): Promise<Zone> {
    const zone = await zones.get(zoneId);
    if (!zone) throw new NotFoundError(`zone ${zoneId} not found`);
    requireCompound(caller, zone.compoundId);
    return zone;
  }

  async function act(
    ctx: CallContext,
    alarmId: string | null | undefined,
    action: (c: RequestCheck) => Action,
  ) {
    const caller = await authorise(ctx, OPERATORS);
    const { id, parsed } = checked((c) => ({ id: c.uuid('alarm_id', alarmId), parsed: action(c) }));
    try {
      const alarm = await alarms.act(id, parsed, caller.subject, (a) =>
        requireCompound(caller, a.compoundId),
      );
      return { alarm: await alarmProto(alarm, true) };
    } catch (error) {
      if (error instanceof AlarmNotFoundError) throw new NotFoundError(error.message);
      if (error instanceof LifecycleError) throw new FailedPreconditionError(error.message);
      throw error;
    }
  }

  function nameTaken<T>(write: Promise<T>): Promise<T> {
    return write.catch((error: unknown) => {
      if (error instanceof ZoneNameTakenError) throw new AlreadyExistsError(error.message);
      throw error;
    });
  }

  async function* importZones(
    request: anfang.alarm.v1.ImportZonesRequest,
    ctx: CallContext,
  ): AsyncGenerator<anfang.alarm.v1.IImportZonesResponse> {
    const caller = await authorise(ctx, PLANNERS);
    for await (const step of importRows(parseCsvUpload(request.csv, parseZoneCsv), {
      outcomes: ['created', 'updated', 'unchanged'],
      signal: ctx.signal,
      check: (fields) => scopeProblems(caller, fields.compoundId),
      apply: (fields) => zones.importRow(fields),
    }))
      yield importResponse(step, (row) => ({ name: row.name }));
  }

  return grpcService(PerimeterAlarmService.definition, {
    importZones,

    async createZone(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const input = checked((c) => {
        const zone = request.zone ?? {};
        return { compoundId: c.compound('zone.compound_id', zone.compoundId), ...zoneInput(c, zone) };
      });
      requireCompound(caller, input.compoundId);
      return { zone: zoneProto(await nameTaken(zones.create(input))) };
    },

    async updateZone(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const zone = request.zone ?? {};
      const { zoneId, input } = checked((c) => ({
        zoneId: c.uuid('zone.zone_id', zone.zoneId),
        input: zoneInput(c, zone),
      }));
      await visibleZone(caller, zoneId);
      const updated = await nameTaken(zones.update(zoneId, input));
      if (!updated) throw new NotFoundError(`zone ${zoneId} not found`);
      return { zone: zoneProto(updated) };
    },

    async getZone(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const zoneId = checked((c) => c.uuid('zone_id', request.zoneId));
      return { zone: zoneProto(await visibleZone(caller, zoneId)) };
    },

    async listZones(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const compoundId = checked((c) => c.compound('compound_id', request.compoundId));
      requireCompound(caller, compoundId);
      return { zones: (await zones.list(compoundId)).map(zoneProto) };
    },

    async deleteZone(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const zoneId = checked((c) => c.uuid('zone_id', request.zoneId));
      await visibleZone(caller, zoneId);
      await zones.delete(zoneId);
      return {};
    },

    async setZoneArming(request, ctx) {
      const caller = await authorise(ctx, OPERATORS);
      const change = checked((c) => {
        const arming = c.oneOf('arming', request.arming, ARMING);
        const until = request.until ? timestampToDate(request.until) : undefined;
        if (until && arming === 'armed') c.fail('until', 'only for DISARMED or BYPASSED');
        if (until && until.getTime() <= Date.now()) c.fail('until', 'in the future');
        return {
          zoneId: c.uuid('zone_id', request.zoneId),
          arming,
          until,
          reason: c.comment('reason', request.reason),
        };
      });
      await visibleZone(caller, change.zoneId);
      const zone = await zones.setArming(change.zoneId, { ...change, changedBy: caller.subject });
      if (!zone) throw new NotFoundError(`zone ${change.zoneId} not found`);
      return { zone: zoneProto(zone) };
    },

    async setDutyRule(request, ctx) {
      const caller = await authorise(ctx, PLANNERS);
      const rule = checked((c) => {
        const r = request.rule ?? {};
        const zoneId = (r.zoneId ?? '').trim();
        if (zoneId) c.uuid('rule.zone_id', zoneId);
        return {
          compoundId: c.compound('rule.compound_id', r.compoundId),
          zoneId,
          teamId: c.text('rule.team_id', r.teamId, true),
          escalationTeamIds: (r.escalationTeamIds ?? []).map((team, i) =>
            c.text(`rule.escalation_team_ids[${i}]`, team, true),
          ),
        };
      });
      requireCompound(caller, rule.compoundId);
      if (rule.zoneId) {
        const zone = await visibleZone(caller, rule.zoneId);
        if (zone.compoundId !== rule.compoundId)
          throw new FailedPreconditionError(`zone ${rule.zoneId} is not in compound ${rule.compoundId}`);
      }
      const stored = await zones.setDutyRule(rule);
      return { rule: { ...stored, escalationTeamIds: [...stored.escalationTeamIds] } };
    },

    async listDutyRules(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const compoundId = checked((c) => c.compound('compound_id', request.compoundId));
      requireCompound(caller, compoundId);
      const rules = await zones.listDutyRules(compoundId);
      return { rules: rules.map((rule) => ({ ...rule, escalationTeamIds: [...rule.escalationTeamIds] })) };
    },

    async listAlarms(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const query = checked((c) => {
        const limit = request.limit || DEFAULT_LIMIT;
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
          c.fail('limit', `between 1 and ${MAX_LIMIT}`);
        return {
          compoundId: c.compound('compound_id', request.compoundId),
          states: (request.states ?? []).map((state, i) => c.oneOf(`states[${i}]`, state, STATE)),
          limit,
        };
      });
      requireCompound(caller, query.compoundId);
      const list = await alarms.list(query);
      return { alarms: await Promise.all(list.map((alarm) => alarmProto(alarm, false))) };
    },

    async getAlarm(request, ctx) {
      const caller = await authorise(ctx, READERS);
      const alarmId = checked((c) => c.uuid('alarm_id', request.alarmId));
      const alarm = await alarms.get(alarmId);
      if (!alarm) throw new NotFoundError(`alarm ${alarmId} not found`);
      requireCompound(caller, alarm.compoundId);
      return { alarm: await alarmProto(alarm, true) };
    },

    acknowledgeAlarm(request, ctx) {
      return act(ctx, request.alarmId, (c) => ({
        kind: 'acknowledge',
        comment: c.comment('comment', request.comment),
      }));
    },

    assignAlarm(request, ctx) {
      return act(ctx, request.alarmId, (c) => {
        const userId = c.text('assignee_user_id', request.assigneeUserId, false);
        const teamId = c.text('assignee_team_id', request.assigneeTeamId, false);
        if (!userId && !teamId) c.fail('assignee_user_id', 'a user or a team (or both)');
        return { kind: 'assign', userId, teamId, comment: c.comment('comment', request.comment) };
      });
    },

    commentAlarm(request, ctx) {
      return act(ctx, request.alarmId, (c) => ({
        kind: 'comment',
        comment: c.text('comment', request.comment, true, 2000),
      }));
    },

    startAlarm(request, ctx) {
      return act(ctx, request.alarmId, (c) => ({
        kind: 'start',
        comment: c.comment('comment', request.comment),
      }));
    },

    resolveAlarm(request, ctx) {
      return act(ctx, request.alarmId, (c) => ({
        kind: 'resolve',
        resolution: c.oneOf('resolution', request.resolution, RESOLUTION),
        comment: c.comment('comment', request.comment),
      }));
    },
  });
}
