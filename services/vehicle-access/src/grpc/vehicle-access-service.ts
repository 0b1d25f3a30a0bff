/**
 * anfang.vehicle.v1.VehicleAccessService: check the caller, decode and validate, delegate to the
 * stores. Plates are normalised here, so every invalid plate is refused with its reason as an
 * INVALID_ARGUMENT field violation; personal data leaves only masked.
 */
import { anfang, isUuid, timestampFromDate, timestampToDate, VehicleAccessService } from '@anfang/contracts';
import { maskPhone } from '@anfang/platform/crypto';
import { toWindow, vehicleToProto } from '../domain/vehicle-proto.ts';
import {
  InvalidArgumentError,
  NotFoundError,
  decodeToken,
  importResponse,
  importRows,
  parseCsvUpload,
  PermissionDeniedError,
  grpcService,
  pageOf,
  pageSize,
  timeKeyset,
  type CallContext,
  type FieldViolation,
  type GrpcService,
} from '@anfang/platform/grpc';
import type { Logger } from '@anfang/platform/log';
import { withTransaction, type Pool } from '@anfang/platform/pg';
import { hasCompound, scopeProblems, type Role } from '@anfang/platform/auth';
import { parseVehicleCsv } from '../domain/csv.ts';
import { DEFAULT_POLICY, type CompoundPolicy, type Decision } from '../domain/decision.ts';
import {
  decisionFromProto,
  DIRECTION_TO_PROTO,
  directionFromProto,
  UNKNOWN_ACTION_TO_PROTO,
  unknownActionFromProto,
  WATCHLIST_ACTION_TO_PROTO,
  watchlistActionFromProto,
} from '../domain/enums.ts';
import {
  compoundProblem,
  isProblem,
  plateOrProblem,
  validateVehicle,
  type FieldProblem,
} from '../domain/vehicle-input.ts';
import type { PassageStore } from '../store/passages.ts';
import type {
  CarParkRecord,
  LaneRecord,
  SiteStore,
  VehicleStore,
  VisitorRecord,
  VisitorStore,
  WatchlistRecord,
  WatchlistStore,
} from '../store/registry.ts';
import { ROLES, type Access } from './access.ts';

type TimeWindow = anfang.common.v1.TimeWindow.$Properties | null | undefined;

/** Progress messages every this many rows. */
/** Longest visitor authorisation: a visitor who stays longer is a resident and gets registered. */
const MAX_VISIT_MS = 31 * 24 * 3600 * 1000;
const MAX_TEXT = 500;

export interface VehicleAccessServiceDeps {
  readonly pool: Pool;
  readonly access: Access;
  readonly vehicles: VehicleStore;
  readonly visitors: VisitorStore;
  readonly watchlist: WatchlistStore;
  readonly sites: SiteStore;
  readonly passages: PassageStore;
  readonly logger: Logger;
  readonly now?: () => Date;
}

function invalid(message: string, violations: readonly FieldProblem[]): InvalidArgumentError {
  return new InvalidArgumentError(message, violations as FieldViolation[]);
}

function requireCompoundId(value: string | null | undefined, field = 'compound_id'): string {
  const id = (value ?? '').trim();
  const problem = compoundProblem(id, field);
  if (problem) throw invalid(`invalid ${field}`, [problem]);
  return id;
}

function requireUuid(value: string | null | undefined, field: string): string {
  const id = (value ?? '').trim();
  if (!isUuid(id))
    throw invalid(`invalid ${field}`, [{ field, description: id ? 'not a lowercase UUID' : 'required' }]);
  return id;
}

function requireText(value: string | null | undefined, field: string, required: boolean): string {
  const text = (value ?? '').trim();
  if (required && !text) throw invalid(`${field} is required`, [{ field, description: 'required' }]);
  if (text.length > MAX_TEXT)
    throw invalid(`${field} too long`, [{ field, description: `at most ${MAX_TEXT} characters` }]);
  return text;
}

/** An optional plate filter: normalised, or refused with its reason. */
function plateFilter(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const plate = plateOrProblem(value);
  if (isProblem(plate)) throw invalid('invalid plate_number', [plate]);
  return plate.key;
}

const windowBounds = (window: TimeWindow) => ({
  start: timestampToDate(window?.startTime) ?? null,
  end: timestampToDate(window?.endTime) ?? null,
});

function visitorToProto(v: VisitorRecord): anfang.vehicle.v1.VisitorAuthorisation.$Properties {
  return {
    authorisationId: v.authorisationId,
    compoundId: v.compoundId,
    plateNumber: v.plateNumber,
    window: toWindow(v.windowStart, v.windowEnd),
    authorisedBy: v.authorisedBy,
    authorisedByRole: v.authorisedByRole,
    hostPersonId: v.hostPersonId,
    visitorPhone: v.visitorPhone ? maskPhone(v.visitorPhone) : '',
    note: v.note,
    createdAt: timestampFromDate(v.createdAt),
    ...(v.revokedAt ? { revokedAt: timestampFromDate(v.revokedAt) } : {}),
  };
}

function watchlistToProto(e: WatchlistRecord): anfang.vehicle.v1.WatchlistEntry.$Properties {
  return {
    entryId: e.entryId,
    plateNumber: e.plateNumber,
    plateColor: e.plateColor,
    reason: e.reason,
    priority: e.priority,
    validity: toWindow(e.validFrom, e.validUntil),
    action: WATCHLIST_ACTION_TO_PROTO[e.action],
    dispositionId: e.dispositionId ?? '',
    deviceIds: [...e.deviceIds],
    createdBy: e.createdBy,
    updatedAt: timestampFromDate(e.updatedAt),
  };
}

function policyToProto(
  compoundId: string,
  policy: CompoundPolicy,
): anfang.vehicle.v1.CompoundPolicy.$Properties {
  return {
    compoundId,
    unknownVehicleAction: UNKNOWN_ACTION_TO_PROTO[policy.unknownVehicle],
    antiPassback: policy.antiPassback,
    minConfidence: policy.minConfidence,
  };
}

const carParkToProto = (c: CarParkRecord): anfang.vehicle.v1.CarPark.$Properties => ({ ...c });

const laneToProto = (l: LaneRecord): anfang.vehicle.v1.Lane.$Properties => ({
  deviceId: l.deviceId,
  carParkId: l.carParkId,
  compoundId: l.compoundId,
  direction: DIRECTION_TO_PROTO[l.direction],
  name: l.name,
});

function vehicleFieldsFrom(vehicle: anfang.vehicle.v1.Vehicle.$Properties | null | undefined) {
  const validity = windowBounds(vehicle?.validity);
  const { fields, problems } = validateVehicle({
    compoundId: (vehicle?.compoundId ?? '').trim(),
    plateNumber: vehicle?.plateNumber ?? '',
    plateColor: vehicle?.plateColor ?? 0,
    vehicleType: vehicle?.vehicleType ?? 0,
    vehicleColor: vehicle?.vehicleColor ?? 0,
    ownerPersonId: (vehicle?.ownerPersonId ?? '').trim(),
    parkingSpace: (vehicle?.parkingSpace ?? '').trim(),
    validFrom: validity.start,
    validUntil: validity.end,
  });
  if (!fields)
    throw invalid(
      'invalid vehicle',
      problems.map((p) => ({ ...p, field: `vehicle.${p.field}` })),
    );
  return fields;
}

export function vehicleAccessGrpcService(
  deps: VehicleAccessServiceDeps,
): GrpcService<typeof VehicleAccessService.definition> {
  const { access, vehicles, visitors, watchlist, sites, passages } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: 'vehicle-access-grpc' });

  /** The vehicle, if the caller may see it: out-of-scope vehicles are as missing as absent ones. */
  async function vehicleInScope(ctx: CallContext, vehicleId: string, roles: readonly Role[]) {
    const caller = await access(ctx, roles);
    const vehicle = await vehicles.get(vehicleId);
    return { caller, vehicle: vehicle && hasCompound(caller, vehicle.compoundId) ? vehicle : null };
  }

  async function requireVehicle(ctx: CallContext, vehicleId: string, roles: readonly Role[]) {
    const { vehicle } = await vehicleInScope(ctx, vehicleId, roles);
    if (!vehicle) throw new NotFoundError(`vehicle ${vehicleId} not found`, { reason: 'VEHICLE_NOT_FOUND' });
    return vehicle;
  }

  async function* importVehicles(
    request: anfang.vehicle.v1.ImportVehiclesRequest,
    ctx: CallContext,
  ): AsyncGenerator<anfang.vehicle.v1.ImportVehiclesResponse.$Properties> {
    const caller = await access(ctx, ROLES.manageRegistry);
    for await (const step of importRows(parseCsvUpload(request.csv, parseVehicleCsv), {
      outcomes: ['created', 'updated', 'unchanged'],
      signal: ctx.signal,
      check: (fields) => scopeProblems(caller, fields.compoundId),
      apply: (fields) => vehicles.importRow(fields),
      refusal: (error, line) => {
        const domain = error instanceof Error && 'grpcCode' in error;
        if (!domain) log.error({ err: error, line }, 'vehicle import row failed');
        return [{ field: 'row', description: domain ? (error as Error).message : 'internal error' }];
      },
    })) {
      if (step.done)
        log.info({ ...step.outcomes, total: step.total, failed: step.failed }, 'vehicle import finished');
      yield importResponse(step, (row) => ({ plateNumber: row.plateNumber }));
    }
  }

  return grpcService(VehicleAccessService.definition, {
    async createVehicle(request, ctx) {
      const fields = vehicleFieldsFrom(request.vehicle);
      await access(ctx, ROLES.manageRegistry, fields.compoundId);
      return { vehicle: vehicleToProto(await vehicles.create(fields)) };
    },

    async updateVehicle(request, ctx) {
      const vehicleId = requireUuid(request.vehicle?.vehicleId, 'vehicle.vehicle_id');
      const fields = vehicleFieldsFrom(request.vehicle);
      await requireVehicle(ctx, vehicleId, ROLES.manageRegistry);
      return { vehicle: vehicleToProto(await vehicles.update(vehicleId, fields)) };
    },

    async deleteVehicle(request, ctx) {
      const vehicleId = requireUuid(request.vehicleId, 'vehicle_id');
      const { caller, vehicle } = await vehicleInScope(ctx, vehicleId, ROLES.manageRegistry);
      if (vehicle) {
        await vehicles.remove(vehicleId);
        log.info({ vehicleId, by: caller.subject }, 'vehicle deleted');
      }
      return {};
    },

    async getVehicle(request, ctx) {
      const vehicleId = requireUuid(request.vehicleId, 'vehicle_id');
      return { vehicle: vehicleToProto(await requireVehicle(ctx, vehicleId, ROLES.readRegistry)) };
    },

    async listVehicles(request, ctx) {
      const compoundId = requireCompoundId(request.compoundId);
      await access(ctx, ROLES.readRegistry, compoundId);
      const limit = pageSize(request.page?.pageSize);
      const after = decodeToken(request.page?.pageToken, 1)?.[0];
      const plateKey = plateFilter(request.plateNumber);
      const rows = await vehicles.list(compoundId, {
        ...(plateKey ? { plateKey } : {}),
        ...(after !== undefined ? { after: String(after) } : {}),
        limit: limit + 1,
      });
      const page = pageOf(rows, limit, (last) => [plateFilter(last.plateNumber)!]);
      return { vehicles: page.items.map(vehicleToProto), page: { nextPageToken: page.nextPageToken } };
    },

    importVehicles,

    async createVisitorAuthorisation(request, ctx) {
      const input = request.authorisation;
      const compoundId = requireCompoundId(input?.compoundId, 'authorisation.compound_id');
      const caller = await access(ctx, ROLES.authoriseVisitors, compoundId);
      const problems: FieldProblem[] = [];
      const plate = plateOrProblem(input?.plateNumber ?? '', 'authorisation.plate_number');
      if (isProblem(plate)) problems.push(plate);
      const { start, end } = windowBounds(input?.window);
      if (!start || !end)
        problems.push({ field: 'authorisation.window', description: 'start_time and end_time are required' });
      else if (start >= end)
        problems.push({ field: 'authorisation.window', description: 'must end after it starts' });
      else if (end.getTime() - start.getTime() > MAX_VISIT_MS)
        problems.push({
          field: 'authorisation.window',
          description: 'at most 31 days: register longer stays',
        });
      else if (end <= now()) problems.push({ field: 'authorisation.window', description: 'already over' });
      const phone = (input?.visitorPhone ?? '').replace(/[\s-]/g, '');
      if (phone && !/^\+?[0-9]{5,20}$/.test(phone))
        problems.push({
          field: 'authorisation.visitor_phone',
          description: 'digits only, optionally with +',
        });
      const host = (input?.hostPersonId ?? '').trim();
      if (host && !isUuid(host))
        problems.push({
          field: 'authorisation.host_person_id',
          description: 'must be a person id (lowercase UUID)',
        });
      if (problems.length > 0 || isProblem(plate) || !start || !end)
        throw invalid('invalid visitor authorisation', problems);
      const created = await visitors.create({
        compoundId,
        plate,
        windowStart: start,
        windowEnd: end,
        authorisedBy: caller.subject,
        authorisedByRole: caller.role,
        hostPersonId: host,
        visitorPhone: phone,
        note: requireText(input?.note, 'authorisation.note', false),
      });
      log.info(
        { authorisationId: created.authorisationId, compoundId, by: caller.subject },
        'visitor vehicle authorised',
      );
      return { authorisation: visitorToProto(created) };
    },

    async revokeVisitorAuthorisation(request, ctx) {
      const authorisationId = requireUuid(request.authorisationId, 'authorisation_id');
      const existing = await visitors.get(authorisationId);
      const caller = await access(ctx, ROLES.authoriseVisitors, ...(existing ? [existing.compoundId] : []));
      if (!existing)
        throw new NotFoundError(`visitor authorisation ${authorisationId} not found`, {
          reason: 'AUTHORISATION_NOT_FOUND',
        });
      if (caller.role === 'resident' && existing.authorisedBy !== caller.subject)
        throw new PermissionDeniedError('residents revoke only their own authorisations');
      const revoked = await visitors.revoke(authorisationId);
      return { authorisation: visitorToProto(revoked ?? existing) };
    },

    async listVisitorAuthorisations(request, ctx) {
      const compoundId = requireCompoundId(request.compoundId);
      const caller = await access(ctx, [...ROLES.authoriseVisitors, 'guard'], compoundId);
      const limit = pageSize(request.page?.pageSize);
      const before = timeKeyset(request.page?.pageToken);
      const rows = await visitors.list(compoundId, {
        ...(request.activeOnly ? { activeAt: now() } : {}),
        ...(before ? { before: { createdAt: before.at, id: before.id } } : {}),
        ...(caller.role === 'resident' ? { authorisedBy: caller.subject } : {}),
        limit: limit + 1,
      });
      const page = pageOf(rows, limit, (last) => [last.createdAt.getTime(), last.authorisationId]);
      return { authorisations: page.items.map(visitorToProto), page: { nextPageToken: page.nextPageToken } };
    },

    async releaseHeldVehicle(request, ctx) {
      const passageId = requireUuid(request.passageId, 'passage_id');
      const reason = requireText(request.reason, 'reason', true);
      const caller = await access(ctx, ROLES.releaseHeld);
      const passage = await withTransaction(deps.pool, (tx) =>
        passages.release(
          {
            passageId,
            operator: caller.subject,
            reason,
            authorise: (compoundId) => {
              if (!hasCompound(caller, compoundId))
                throw new NotFoundError(`passage ${passageId} not found`, { reason: 'PASSAGE_NOT_FOUND' });
            },
          },
          tx,
        ),
      );
      log.info({ passageId, by: caller.subject }, 'held vehicle released by the guard');
      return { passage };
    },

    async listPassages(request, ctx) {
      const compoundId = requireCompoundId(request.compoundId);
      await access(ctx, ROLES.readPassages, compoundId);
      const limit = pageSize(request.page?.pageSize);
      const before = timeKeyset(request.page?.pageToken);
      const { start, end } = windowBounds(request.window);
      const decisions = (request.decisions ?? []).map((d, i) => {
        const decision = decisionFromProto(d);
        if (!decision)
          throw invalid('invalid decisions', [
            { field: `decisions[${i}]`, description: `unknown value ${d}` },
          ]);
        return decision;
      }) satisfies Decision[];
      const plateKey = plateFilter(request.plateNumber);
      const rows = await passages.list({
        compoundId,
        ...(request.carParkId ? { carParkId: request.carParkId } : {}),
        ...(plateKey ? { plateKey } : {}),
        ...(start ? { from: start } : {}),
        ...(end ? { to: end } : {}),
        decisions,
        ...(before ? { before: { occurredAt: before.at, passageId: before.id } } : {}),
        limit: limit + 1,
      });
      const page = pageOf(rows, limit, (last) => [
        timestampToDate(last.meta?.occurredAt)?.getTime() ?? 0,
        last.passageId,
      ]);
      return { passages: page.items, page: { nextPageToken: page.nextPageToken } };
    },

    async getParkingOccupancy(request, ctx) {
      const compoundId = requireCompoundId(request.compoundId);
      await access(ctx, ROLES.readPassages, compoundId);
      return { carParks: await passages.occupancy(compoundId) };
    },

    async listOverstayingVehicles(request, ctx) {
      const compoundId = requireCompoundId(request.compoundId);
      await access(ctx, ROLES.readPassages, compoundId);
      const rows = await passages.overstays(compoundId, now());
      return {
        vehicles: rows.map((r) => ({
          carParkId: r.carParkId,
          plateNumber: r.plateNumber,
          inPassageId: r.inPassageId,
          enteredAt: timestampFromDate(r.enteredAt),
          allowedUntil: timestampFromDate(r.allowedUntil),
          visitorAuthorisationId: r.visitorAuthorisationId ?? '',
        })),
      };
    },

    async setWatchlistEntry(request, ctx) {
      const caller = await access(ctx, ROLES.watchlist);
      const entry = request.entry;
      const entryId = (entry?.entryId ?? '').trim();
      const problems: FieldProblem[] = [];
      if (entryId && !isUuid(entryId))
        problems.push({
          field: 'entry.entry_id',
          description: 'a lowercase UUID, or empty to create an entry',
        });
      const plate = plateOrProblem(entry?.plateNumber ?? '', 'entry.plate_number');
      if (isProblem(plate)) problems.push(plate);
      const reason = (entry?.reason ?? '').trim();
      if (!reason) problems.push({ field: 'entry.reason', description: 'required' });
      if (reason.length > MAX_TEXT)
        problems.push({ field: 'entry.reason', description: `at most ${MAX_TEXT} characters` });
      const { Priority } = anfang.common.v1;
      const priority = entry?.priority ?? 0;
      if (priority === Priority.PRIORITY_UNSPECIFIED || typeof Priority[priority] !== 'string')
        problems.push({ field: 'entry.priority', description: 'required: LOW, MEDIUM, HIGH or CRITICAL' });
      const { start, end } = windowBounds(entry?.validity);
      if (start && end && start >= end)
        problems.push({ field: 'entry.validity', description: 'must end after it starts' });
      const deviceIds = (entry?.deviceIds ?? []).map((d) => d.trim());
      if (deviceIds.some((d) => !d))
        problems.push({ field: 'entry.device_ids', description: 'no empty ids' });
      if (problems.length > 0 || isProblem(plate)) throw invalid('invalid watchlist entry', problems);
      if (entryId) {
        const existing = await watchlist.get(entryId);
        if (existing?.dispositionId)
          throw new PermissionDeniedError(
            'entries of police dispositions change only through the disposition',
          );
      }
      const saved = await watchlist.set(entryId || null, {
        plate,
        plateColor: entry?.plateColor ?? 0,
        reason,
        priority,
        validFrom: start,
        validUntil: end,
        action: watchlistActionFromProto(entry?.action),
        deviceIds,
        createdBy: caller.subject,
      });
      log.info({ entryId: saved.entryId, by: caller.subject }, 'vehicle watchlist entry set');
      return { entry: watchlistToProto(saved) };
    },

    async removeWatchlistEntry(request, ctx) {
      const caller = await access(ctx, ROLES.watchlist);
      const entryId = requireUuid(request.entryId, 'entry_id');
      await watchlist.remove(entryId);
      log.info({ entryId, by: caller.subject }, 'vehicle watchlist entry removed');
      return {};
    },

    async listWatchlistEntries(request, ctx) {
      await access(ctx, ROLES.watchlist);
      const limit = pageSize(request.page?.pageSize);
      const before = timeKeyset(request.page?.pageToken);
      const plateKey = plateFilter(request.plateNumber);
      const rows = await watchlist.list({
        ...(plateKey ? { plateKey } : {}),
        ...(before ? { before: { updatedAt: before.at, id: before.id } } : {}),
        limit: limit + 1,
      });
      const page = pageOf(rows, limit, (last) => [last.updatedAt.getTime(), last.entryId]);
      return { entries: page.items.map(watchlistToProto), page: { nextPageToken: page.nextPageToken } };
    },

    async setCompoundPolicy(request, ctx) {
      const compoundId = requireCompoundId(request.policy?.compoundId, 'policy.compound_id');
      await access(ctx, ROLES.manageRegistry, compoundId);
      const minConfidence = request.policy?.minConfidence || DEFAULT_POLICY.minConfidence;
      if (!(minConfidence > 0 && minConfidence <= 1))
        throw invalid('invalid policy', [
          { field: 'policy.min_confidence', description: 'between 0 (default) and 1' },
        ]);
      const policy = await sites.setPolicy(compoundId, {
        unknownVehicle: unknownActionFromProto(request.policy?.unknownVehicleAction),
        antiPassback: request.policy?.antiPassback ?? false,
        minConfidence,
      });
      return { policy: policyToProto(compoundId, policy) };
    },

    async getCompoundPolicy(request, ctx) {
      const compoundId = requireCompoundId(request.compoundId);
      await access(ctx, ROLES.readRegistry, compoundId);
      const policy = await sites.policy(compoundId);
      return { policy: policyToProto(compoundId, policy) };
    },

    async setCarPark(request, ctx) {
      const input = request.carPark;
      const compoundId = requireCompoundId(input?.compoundId, 'car_park.compound_id');
      await access(ctx, ROLES.manageRegistry, compoundId);
      const carParkId = (input?.carParkId ?? '').trim();
      const problems: FieldProblem[] = [];
      if (!/^[0-9A-Za-z_.-]{1,64}$/.test(carParkId))
        problems.push({
          field: 'car_park.car_park_id',
          description: 'letters, digits, _ . or -, at most 64',
        });
      if ((input?.capacity ?? 0) < 0)
        problems.push({ field: 'car_park.capacity', description: 'must not be negative' });
      if ((input?.maxStayMinutes ?? 0) < 0)
        problems.push({ field: 'car_park.max_stay_minutes', description: 'must not be negative' });
      if (problems.length > 0) throw invalid('invalid car park', problems);
      const saved = await sites.setCarPark({
        carParkId,
        compoundId,
        name: requireText(input?.name, 'car_park.name', true),
        capacity: input?.capacity ?? 0,
        maxStayMinutes: input?.maxStayMinutes ?? 0,
      });
      return { carPark: carParkToProto(saved) };
    },

    async setLane(request, ctx) {
      const input = request.lane;
      const deviceId = requireUuid(input?.deviceId, 'lane.device_id');
      const carParkId = (input?.carParkId ?? '').trim();
      const carPark = carParkId ? await sites.carPark(carParkId) : null;
      await access(ctx, ROLES.manageRegistry, ...(carPark ? [carPark.compoundId] : []));
      if (!carPark)
        throw invalid('invalid lane', [
          { field: 'lane.car_park_id', description: carParkId ? 'no such car park' : 'required' },
        ]);
      const direction = directionFromProto(input?.direction);
      if (!direction)
        throw invalid('invalid lane', [
          { field: 'lane.direction', description: 'required: IN, OUT or BOTH' },
        ]);
      const lane = await sites.setLane({
        deviceId,
        carParkId,
        direction,
        name: requireText(input?.name, 'lane.name', false),
      });
      return { lane: laneToProto(lane) };
    },

    async listCarParks(request, ctx) {
      const compoundId = requireCompoundId(request.compoundId);
      await access(ctx, ROLES.readRegistry, compoundId);
      const [carParks, lanes] = await Promise.all([sites.carParks(compoundId), sites.lanes(compoundId)]);
      return { carParks: carParks.map(carParkToProto), lanes: lanes.map(laneToProto) };
    },
  });
}
