/**
 * anfang.identity.v1.IdentityService: verify the caller, check role and compound scope,
 * validate the request, delegate to the registry store or the authorizer, and map the result
 * back, masking personal data unless the caller's role needs it (then the read is audited).
 */
import { anfang, IdentityService, timestampFromDate, timestampToDate } from '@anfang/contracts';
import {
  hasCompound,
  requireCompound,
  requireRole,
  type Caller,
  type CallerVerifier,
  type Role,
} from '@anfang/platform/auth';
import { maskIdNumber, maskName, maskPhone } from '@anfang/platform/crypto';
import {
  DomainError,
  InvalidArgumentError,
  PermissionDeniedError,
  grpcService,
  pageOf,
  pageSize,
  parseCsvUpload,
  timeKeyset,
  type CallContext,
  type GrpcService,
} from '@anfang/platform/grpc';
import type { Logger } from '@anfang/platform/log';
import type { Authorizer } from '../access/authorizer.ts';
import {
  CredentialFormatError,
  isValidIdNumber,
  normaliseIdNumber,
  normalisePhone,
  parsePin,
  type QrSigner,
} from '../domain/credentials.ts';
import type { Schedule } from '../domain/decision.ts';
import {
  credentialKinds,
  doorDirections,
  doorKinds,
  grantRoles,
  houseUses,
  isSpoof,
  personKinds,
  reasons,
  roles,
  visitChannels,
} from '../domain/enums.ts';
import { parseRegistryCsv } from '../domain/import-csv.ts';
import { MAX_VISIT_MS } from '../domain/visit.ts';
import type { AccessRecordStore, StoredAccessRecord } from '../store/access-records.ts';
import type { AccessRecorder } from '../store/records.ts';
import type {
  AuditContext,
  CredentialRecord,
  GrantRecord,
  PassRecord,
  PersonChanges,
  PersonRecord,
  RegistryStore,
  WatchlistEntryRecord,
} from '../store/registry.ts';

const { AccessDecision } = anfang.identity.v1;
const { Priority } = anfang.common.v1;

/** Who changes the registry of a compound: town/street offices keep their area's (SPEC §1). */
const REGISTRARS: readonly Role[] = [
  'district_admin',
  'street_officer',
  'community_manager',
  'property_staff',
];
/** Who sets up doors, credentials and grants. */
const ACCESS_ADMINS: readonly Role[] = ['district_admin', 'property_staff'];
/** Who may read the registry (masked). */
const READERS: readonly Role[] = [...REGISTRARS, 'police', 'guard', 'auditor'];
/** Who registers visits: guards at the gate, kiosks (as a service), residents for their guests. */
const VISIT_REGISTRARS: readonly Role[] = ['guard', 'property_staff', 'service', 'resident'];
/** Who asks for access decisions: devices through device-ingest, guards at the gate. */
const AUTHORIZERS: readonly Role[] = ['service', 'guard', 'property_staff'];
const PROGRESS_EVERY_ROWS = 100;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface IdentityServiceDeps {
  readonly registry: RegistryStore;
  readonly authorizer: Authorizer;
  readonly recorder: AccessRecorder;
  readonly accessRecords: AccessRecordStore;
  readonly verifier: CallerVerifier;
  readonly qr: QrSigner;
  readonly permitReminderDays: number;
  readonly logger: Logger;
}

function invalid(field: string, description: string): never {
  throw new InvalidArgumentError(`${field}: ${description}`, [{ field, description }]);
}

function uuidField(field: string, value: string | null | undefined): string {
  const id = (value ?? '').trim();
  if (!UUID.test(id)) invalid(field, id ? 'not a lowercase UUID' : 'required');
  return id;
}

function textField(field: string, value: string | null | undefined, max = 200): string {
  const text = (value ?? '').trim();
  if (!text) invalid(field, 'required');
  if (text.length > max) invalid(field, `at most ${max} characters`);
  return text;
}

function codeField(field: string, value: string | null | undefined): string {
  const code = (value ?? '').trim();
  if (!/^\d{6,32}$/.test(code)) invalid(field, code ? 'an address code is 6 to 32 digits' : 'required');
  return code;
}

function enumField<T>(field: string, value: T | undefined): T {
  if (value === undefined) invalid(field, 'required (a known, non-zero value)');
  return value;
}

const date = (ts: Parameters<typeof timestampToDate>[0]) => timestampToDate(ts);
const ts = (d: Date | null | undefined) => (d ? timestampFromDate(d) : null);

function idNumberField(field: string, value: string | null | undefined): string {
  const id = normaliseIdNumber(value ?? '');
  if (!isValidIdNumber(id)) invalid(field, id ? 'not a valid 18-character ID number' : 'required');
  return id;
}

function phoneField(field: string, value: string | null | undefined): string | undefined {
  if (!value?.trim()) return undefined;
  return normalisePhone(value) ?? invalid(field, 'not a phone number');
}

/** The attributes of a person that CreatePerson sets and UpdatePerson replaces, validated. */
function personChanges(request: {
  name?: string | null;
  phone?: string | null;
  kind?: anfang.identity.v1.PersonKind | null;
  roomCode?: string | null;
  permitValidFrom?: Parameters<typeof timestampToDate>[0];
  permitValidTo?: Parameters<typeof timestampToDate>[0];
  enrolmentImageKey?: string | null;
}): PersonChanges {
  const kind = enumField('kind', personKinds.fromProto(request.kind ?? 0));
  const permitValidFrom = date(request.permitValidFrom);
  const permitValidTo = date(request.permitValidTo);
  if (kind === 'floating' && (!permitValidFrom || !permitValidTo))
    invalid('permit_valid_to', 'floating population needs residence-permit dates');
  if (permitValidFrom && permitValidTo && permitValidTo <= permitValidFrom)
    invalid('permit_valid_to', 'must be after permit_valid_from');
  const roomCode = request.roomCode?.trim() ? codeField('room_code', request.roomCode) : undefined;
  if (!roomCode && (kind === 'owner' || kind === 'family' || kind === 'tenant'))
    invalid('room_code', 'residents live in a house: required');
  return {
    name: textField('name', request.name, 64),
    phone: phoneField('phone', request.phone),
    kind,
    roomCode,
    permitValidFrom,
    permitValidTo,
    enrolmentImageKey: request.enrolmentImageKey?.trim() || undefined,
  };
}

function personToProto(person: PersonRecord, revealed: boolean): anfang.identity.v1.Person.$Properties {
  return {
    personId: person.personId,
    compoundId: person.compoundId,
    name: revealed ? person.name : maskName(person.name),
    idNumber: revealed ? person.idNumber : maskIdNumber(person.idNumber),
    phone: person.phone ? (revealed ? person.phone : maskPhone(person.phone)) : '',
    kind: personKinds.toProto(person.kind),
    houseId: person.houseId ?? '',
    permitValidFrom: ts(person.permitValidFrom),
    permitValidTo: ts(person.permitValidTo),
    revealed,
    enrolmentImageKey: person.enrolmentImageKey ?? '',
  };
}

function credentialToProto(c: CredentialRecord): anfang.identity.v1.Credential.$Properties {
  return {
    credentialId: c.credentialId,
    personId: c.personId ?? '',
    type: credentialKinds.toProto(c.kind),
    masked: c.masked,
    faceTemplateId: c.faceTemplateId ?? '',
    faceImageKey: c.faceImageKey ?? '',
    validFrom: ts(c.validFrom),
    validTo: ts(c.validTo),
    revokedAt: ts(c.revokedAt),
  };
}

function grantToProto(g: GrantRecord): anfang.identity.v1.Grant.$Properties {
  return {
    grantId: g.grantId,
    personId: g.personId,
    doorGroupId: g.doorGroupId,
    role: grantRoles.toProto(g.role),
    validFrom: ts(g.validFrom),
    validTo: ts(g.validTo),
    schedule: g.schedule
      ? {
          weekdays: [...g.schedule.weekdays],
          startMinute: g.schedule.startMinute,
          endMinute: g.schedule.endMinute,
        }
      : null,
    revokedAt: ts(g.revokedAt),
  };
}

function watchlistToProto(e: WatchlistEntryRecord): anfang.identity.v1.WatchlistEntry.$Properties {
  return {
    entryId: e.entryId,
    watchlistId: e.watchlistId,
    dispositionId: e.dispositionId ?? '',
    idNumber: e.idNumber ? maskIdNumber(e.idNumber) : '',
    faceTemplateId: e.faceTemplateId ?? '',
    personId: e.personId ?? '',
    faceThreshold: e.faceThreshold,
    priority: e.priority,
    removedAt: ts(e.removedAt),
    validTo: ts(e.validTo),
  };
}

function scheduleField(value: anfang.identity.v1.ITimeOfDaySchedule | null | undefined): Schedule | null {
  if (!value) return null;
  const weekdays = [...new Set(value.weekdays ?? [])];
  if (weekdays.some((d) => !Number.isInteger(d) || d < 1 || d > 7))
    invalid('grant.schedule.weekdays', 'ISO weekdays 1..7');
  const start = value.startMinute ?? 0;
  const end = value.endMinute ?? 0;
  if (start < 0 || start > 1439 || end < 1 || end > 1440 || end <= start)
    invalid('grant.schedule', 'start_minute in 0..1439, end_minute in 1..1440 and after the start');
  return { weekdays, startMinute: start, endMinute: end };
}

/** Unmasked reads: the police, or a community manager who says why; either way audited. */
function revealing(who: Caller): AuditContext {
  if (who.role === 'community_manager' && !who.purpose?.trim())
    throw new PermissionDeniedError('a community manager needs a purpose to see personal data unmasked');
  if (who.role !== 'police' && who.role !== 'community_manager')
    throw new PermissionDeniedError(`role ${who.role} may not see personal data unmasked`);
  return { caller: who, purpose: who.purpose?.trim() || 'police duty' };
}

function accessRecordToProto(
  r: StoredAccessRecord,
  revealed: boolean,
): anfang.identity.v1.AccessRecord.$Properties {
  return {
    recordId: r.recordId,
    occurredAt: ts(r.occurredAt),
    compoundId: r.compoundId,
    doorId: r.doorId ?? '',
    doorName: r.doorName ?? '',
    device: r.device,
    personId: r.personId ?? '',
    personName: r.personName ? (revealed ? r.personName : maskName(r.personName)) : '',
    role: r.role,
    credentialType: r.credentialType,
    credentialMasked: r.credentialMasked,
    decision: r.allowed ? AccessDecision.ACCESS_DECISION_ALLOWED : AccessDecision.ACCESS_DECISION_DENIED,
    reason: reasons.toProto(r.reason),
    direction: r.direction,
    snapshotKey: r.snapshotKey ?? '',
    path: r.path,
    visitorPassId: r.visitorPassId ?? '',
    revealed,
  };
}

export function identityGrpcService(
  deps: IdentityServiceDeps,
): GrpcService<typeof IdentityService.definition> {
  const { registry, authorizer, recorder, accessRecords, verifier, qr } = deps;
  const log = deps.logger.child({ component: 'identity-grpc' });
  const caller = (ctx: CallContext) => verifier.verify(ctx.metadata);

  async function scoped(ctx: CallContext, allowed: readonly Role[], compoundId: string): Promise<Caller> {
    const who = await caller(ctx);
    requireRole(who, ...allowed);
    requireCompound(who, compoundId);
    return who;
  }

  function passToProto(p: PassRecord): anfang.identity.v1.VisitorPass.$Properties {
    const qrCredential = p.credentialIds[0];
    const remainingS = Math.floor((p.validTo.getTime() - Date.now()) / 1000);
    return {
      passId: p.passId,
      visitorId: p.visitorId,
      compoundId: p.compoundId,
      destinationCode: p.destinationCode,
      hostPersonId: p.hostPersonId ?? '',
      channel: visitChannels.toProto(p.channel),
      validFrom: ts(p.validFrom),
      validTo: ts(p.validTo),
      doorIds: [...p.doorIds],
      checkedOutAt: ts(p.checkedOutAt),
      visitorName: maskName(p.visitorName),
      visitorIdNumber: p.visitorIdNumber ? maskIdNumber(p.visitorIdNumber) : '',
      previousVisits: p.previousVisits,
      // The pass's QR lives as long as the pass; a checked-out pass gets none.
      qrToken:
        qrCredential && !p.checkedOutAt && remainingS > 0
          ? qr.issue(qrCredential, Date.now(), remainingS).token
          : '',
    };
  }

  async function* importRegistry(
    request: anfang.identity.v1.ImportRegistryRequest,
    ctx: CallContext,
  ): AsyncGenerator<anfang.identity.v1.ImportRegistryResponse.$Properties> {
    const compoundId = codeField('compound_id', request.compoundId);
    await scoped(ctx, REGISTRARS, compoundId);
    const rows = parseCsvUpload(request.csv, parseRegistryCsv);
    const counts = { total: rows.length, processed: 0, houses: 0, persons: 0, unchanged: 0, failed: 0 };
    const errors: anfang.identity.v1.IImportRowError[] = [];
    yield { ...counts };
    for (const row of rows) {
      if (ctx.signal.aborted) return;
      if (row.violations.length > 0) {
        counts.failed++;
        for (const v of row.violations)
          errors.push({ line: row.line, field: v.field, description: v.description });
      } else {
        try {
          const outcome = await registry.importRow(compoundId, row);
          if (outcome.house !== 'unchanged') counts.houses++;
          if (outcome.person === 'created') counts.persons++;
          if (outcome.house === 'unchanged' && outcome.person !== 'created') counts.unchanged++;
        } catch (error) {
          // Refusals are the row's problem; anything else too, but it is logged as ours.
          const known = error instanceof DomainError;
          if (!known) log.error({ err: error, line: row.line }, 'import row failed');
          counts.failed++;
          const field = error instanceof InvalidArgumentError ? (error.violations[0]?.field ?? 'row') : 'row';
          errors.push({
            line: row.line,
            field,
            description: known ? error.message : 'internal error',
          });
        }
      }
      counts.processed++;
      if (counts.processed % PROGRESS_EVERY_ROWS === 0) yield { ...counts };
    }
    log.info({ ...counts }, 'registry import finished');
    yield { ...counts, done: true, errors };
  }

  return grpcService(IdentityService.definition, {
    async upsertAddress(request, ctx) {
      const code = codeField('code', request.code);
      const level = request.level ?? 0;
      if (level < 1 || level > 7) invalid('level', 'required');
      const who = await caller(ctx);
      // Above the compound level only the district office shapes the tree; compounds are also
      // registered by their community managers.
      if (level < 4) requireRole(who, 'district_admin');
      else if (level === 4) requireRole(who, 'district_admin', 'street_officer', 'community_manager');
      else requireRole(who, ...REGISTRARS);
      const parentCode = level === 1 ? '' : codeField('parent_code', request.parentCode);
      if (level > 4) {
        const parent = await registry.addressOf(parentCode);
        if (parent?.compoundId) requireCompound(who, parent.compoundId);
      } else if (level === 4) requireCompound(who, code);
      const address = await registry.upsertAddress({
        code,
        level,
        name: textField('name', request.name),
        parentCode,
      });
      return {
        address: { ...address, parentCode: address.parentCode ?? '', compoundId: address.compoundId ?? '' },
      };
    },

    async listAddresses(request, ctx) {
      const who = await caller(ctx);
      requireRole(who, ...READERS);
      const addresses = await registry.listAddresses((request.parentCode ?? '').trim());
      return {
        addresses: addresses
          .filter((a) => !a.compoundId || hasCompound(who, a.compoundId))
          .map((a) => ({ ...a, parentCode: a.parentCode ?? '', compoundId: a.compoundId ?? '' })),
      };
    },

    async upsertHouse(request, ctx) {
      const roomCode = codeField('room_code', request.roomCode);
      const use = enumField('use', houseUses.fromProto(request.use));
      const room = await registry.addressOf(roomCode);
      if (!room?.compoundId) invalid('room_code', 'not a registered room');
      await scoped(ctx, REGISTRARS, room.compoundId);
      const house = await registry.upsertHouse(roomCode, room.compoundId, use);
      return { house: { ...house, use: houseUses.toProto(house.use) } };
    },

    async createPerson(request, ctx) {
      const compoundId = codeField('compound_id', request.compoundId);
      await scoped(ctx, REGISTRARS, compoundId);
      const person = await registry.createPerson({
        compoundId,
        idNumber: idNumberField('id_number', request.idNumber),
        ...personChanges(request),
      });
      return { person: personToProto(person, false) };
    },

    async updatePerson(request, ctx) {
      const personId = uuidField('person_id', request.personId);
      await scoped(ctx, REGISTRARS, await registry.personCompound(personId));
      return { person: personToProto(await registry.updatePerson(personId, personChanges(request)), false) };
    },

    async removePerson(request, ctx) {
      const personId = uuidField('person_id', request.personId);
      await scoped(ctx, REGISTRARS, await registry.personCompound(personId));
      const removed = await registry.removePerson(personId, textField('reason', request.reason, 200));
      return { credentialsRevoked: removed.credentials, grantsRevoked: removed.grants };
    },

    async listPersons(request, ctx) {
      const compoundId = codeField('compound_id', request.compoundId);
      await scoped(ctx, READERS, compoundId);
      const size = request.page?.pageSize ?? 0;
      if (size < 0 || size > MAX_PAGE_SIZE) invalid('page.page_size', `0 (default 100) to ${MAX_PAGE_SIZE}`);
      const limit = size || DEFAULT_PAGE_SIZE;
      const token = request.page?.pageToken?.trim();
      if (token && !UUID.test(token)) invalid('page.page_token', 'not a token of this list');
      const kind = request.kind ? enumField('kind', personKinds.fromProto(request.kind)) : undefined;
      const roomCode = request.roomCode?.trim() ? codeField('room_code', request.roomCode) : undefined;
      const persons = await registry.listPersons({
        compoundId,
        limit: limit + 1,
        ...(kind ? { kind } : {}),
        ...(roomCode ? { roomCode } : {}),
        ...(token ? { after: token } : {}),
      });
      const shown = persons.slice(0, limit);
      return {
        persons: shown.map((p) => personToProto(p, false)),
        page: { nextPageToken: persons.length > limit ? shown.at(-1)!.personId : '' },
      };
    },

    async getPerson(request, ctx) {
      const personId = uuidField('person_id', request.personId);
      const who = await caller(ctx);
      requireRole(who, ...READERS);
      requireCompound(who, await registry.personCompound(personId));
      if (!request.reveal) return { person: personToProto(await registry.getPerson(personId), false) };
      return { person: personToProto(await registry.getPerson(personId, revealing(who)), true) };
    },

    async listAccessRecords(request, ctx) {
      const compoundId = codeField('compound_id', request.compoundId);
      const who = await scoped(ctx, READERS, compoundId);
      const audit = request.reveal ? revealing(who) : undefined;
      const limit = pageSize(request.page?.pageSize);
      const before = timeKeyset(request.page?.pageToken);
      if (before && (!UUID.test(before.id) || Number.isNaN(before.at.getTime())))
        invalid('page.page_token', 'not a token of this list');
      const from = date(request.window?.startTime);
      const to = date(request.window?.endTime);
      if (from && to && to <= from) invalid('window.end_time', 'must be after window.start_time');
      const decision = request.decision ?? 0;
      if (decision !== 0 && !Object.values(AccessDecision).includes(decision))
        invalid('decision', `unknown value ${decision}`);
      const rows = await accessRecords.list(
        {
          compoundId,
          limit: limit + 1,
          ...(request.doorId?.trim() ? { doorId: uuidField('door_id', request.doorId) } : {}),
          ...(request.personId?.trim() ? { personId: uuidField('person_id', request.personId) } : {}),
          ...(from ? { from } : {}),
          ...(to ? { to } : {}),
          ...(decision ? { allowed: decision === AccessDecision.ACCESS_DECISION_ALLOWED } : {}),
          ...(before ? { before: { at: before.at, recordId: before.id } } : {}),
        },
        audit,
      );
      const page = pageOf(rows, limit, (last) => [last.occurredAt.getTime(), last.recordId]);
      return {
        records: page.items.map((r) => accessRecordToProto(r, audit !== undefined)),
        page: { nextPageToken: page.nextPageToken },
      };
    },

    async findPersons(request, ctx) {
      const compoundId = codeField('compound_id', request.compoundId);
      await scoped(ctx, READERS, compoundId);
      const hasId = Boolean(request.idNumber?.trim());
      const hasPhone = Boolean(request.phone?.trim());
      if (hasId === hasPhone) invalid('id_number', 'give exactly one of id_number and phone');
      const persons = await registry.findPersons(
        compoundId,
        hasId
          ? { idNumber: idNumberField('id_number', request.idNumber) }
          : { phone: phoneField('phone', request.phone)! },
      );
      return { persons: persons.map((p) => personToProto(p, false)) };
    },

    async listExpiringPermits(request, ctx) {
      const compoundId = codeField('compound_id', request.compoundId);
      await scoped(ctx, READERS, compoundId);
      const days = request.withinDays || deps.permitReminderDays;
      if (days < 1 || days > 366) invalid('within_days', '1 to 366');
      const persons = await registry.listExpiringPermits(
        compoundId,
        new Date(Date.now() + days * 86_400_000),
      );
      return { persons: persons.map((p) => personToProto(p, false)) };
    },

    async createOrganisation(request, ctx) {
      const o = request.organisation ?? invalid('organisation', 'required');
      const compoundId = codeField('organisation.compound_id', o.compoundId);
      await scoped(ctx, REGISTRARS, compoundId);
      const kind =
        o.kind === 1 ? 'organisation' : o.kind === 2 ? 'shop' : invalid('organisation.kind', 'required');
      const creditCode = o.creditCode?.trim() || null;
      if (creditCode && !/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(creditCode))
        invalid('organisation.credit_code', 'a unified social credit code is 18 characters');
      const organisation = await registry.createOrganisation({
        compoundId,
        name: textField('organisation.name', o.name),
        kind,
        addressCode: codeField('organisation.address_code', o.addressCode),
        creditCode,
        contactPersonId: o.contactPersonId?.trim()
          ? uuidField('organisation.contact_person_id', o.contactPersonId)
          : null,
      });
      return {
        organisation: {
          ...organisation,
          kind: o.kind,
          creditCode: organisation.creditCode ?? '',
          contactPersonId: organisation.contactPersonId ?? '',
        },
      };
    },

    async registerRental(request, ctx) {
      const r = request.rental ?? invalid('rental', 'required');
      const houseId = uuidField('rental.house_id', r.houseId);
      const validFrom = date(r.validFrom) ?? invalid('rental.valid_from', 'required');
      const validTo = date(r.validTo) ?? invalid('rental.valid_to', 'required');
      if (validTo <= validFrom) invalid('rental.valid_to', 'must be after valid_from');
      const landlordPersonId = uuidField('rental.landlord_person_id', r.landlordPersonId);
      const tenantPersonId = uuidField('rental.tenant_person_id', r.tenantPersonId);
      await scoped(ctx, REGISTRARS, await registry.personCompound(tenantPersonId));
      const rental = await registry.registerRental({
        houseId,
        landlordPersonId,
        tenantPersonId,
        validFrom,
        validTo,
      });
      return { rental: { ...rental, validFrom: ts(rental.validFrom), validTo: ts(rental.validTo) } };
    },

    async upsertDoor(request, ctx) {
      const d = request.door ?? invalid('door', 'required');
      const compoundId = codeField('door.compound_id', d.compoundId);
      await scoped(ctx, ACCESS_ADMINS, compoundId);
      const deviceIds = [...new Set((d.deviceIds ?? []).map((id) => uuidField('door.device_ids', id)))];
      const door = await registry.upsertDoor({
        doorId: uuidField('door.door_id', d.doorId),
        compoundId,
        addressCode: codeField('door.address_code', d.addressCode),
        kind: enumField('door.kind', doorKinds.fromProto(d.kind)),
        name: textField('door.name', d.name),
        deviceIds,
        direction: d.direction ? enumField('door.direction', doorDirections.fromProto(d.direction)) : 'both',
      });
      return {
        door: {
          ...door,
          kind: doorKinds.toProto(door.kind),
          deviceIds: [...door.deviceIds],
          direction: doorDirections.toProto(door.direction),
        },
      };
    },

    async upsertDoorGroup(request, ctx) {
      const g = request.doorGroup ?? invalid('door_group', 'required');
      const compoundId = codeField('door_group.compound_id', g.compoundId);
      await scoped(ctx, ACCESS_ADMINS, compoundId);
      const group = await registry.upsertDoorGroup({
        doorGroupId: uuidField('door_group.door_group_id', g.doorGroupId),
        compoundId,
        name: textField('door_group.name', g.name),
        doorIds: [...new Set((g.doorIds ?? []).map((id) => uuidField('door_group.door_ids', id)))],
        antiPassback: g.antiPassback === true,
      });
      return { doorGroup: { ...group, doorIds: [...group.doorIds] } };
    },

    async issueCredential(request, ctx) {
      const personId = uuidField('person_id', request.personId);
      const kind = enumField('type', credentialKinds.fromProto(request.type));
      await scoped(ctx, ACCESS_ADMINS, await registry.personCompound(personId));
      const value = (request.value ?? '').trim();
      if (kind !== 'qr' && !value) invalid('value', `required for ${kind}`);
      if (kind === 'pin') {
        try {
          parsePin(value);
        } catch (error) {
          invalid('value', (error as Error).message);
        }
      }
      if (kind === 'id_card') idNumberField('value', value);
      const validFrom = date(request.validFrom);
      const validTo = date(request.validTo);
      if (validFrom && validTo && validTo <= validFrom) invalid('valid_to', 'must be after valid_from');
      try {
        const credential = await registry.issueCredential({
          personId,
          kind,
          value,
          faceImageKey: request.faceImageKey?.trim() || undefined,
          validFrom,
          validTo,
        });
        return { credential: credentialToProto(credential) };
      } catch (error) {
        if (error instanceof CredentialFormatError) invalid('value', error.message);
        throw error;
      }
    },

    async revokeCredential(request, ctx) {
      const credentialId = uuidField('credential_id', request.credentialId);
      const existing = await registry.credential(credentialId);
      await scoped(ctx, ACCESS_ADMINS, existing.compoundId);
      if (!existing.personId) invalid('credential_id', 'a visitor pass ends by check-out');
      const credential = await registry.revokeCredential(credentialId, request.reason?.trim() || 'revoked');
      return { credential: credentialToProto(credential) };
    },

    async issueMobileQr(request, ctx) {
      const credentialId = uuidField('credential_id', request.credentialId);
      const credential = await registry.credential(credentialId);
      const who = await caller(ctx);
      // A resident fetches their own codes (their token's subject is their person id).
      if (who.role === 'resident') {
        if (credential.personId !== who.subject)
          throw new PermissionDeniedError('residents fetch only their own QR codes');
      } else requireRole(who, ...ACCESS_ADMINS);
      requireCompound(who, credential.compoundId);
      if (credential.kind !== 'qr' || !credential.personId)
        invalid('credential_id', 'not a mobile QR credential');
      if (credential.revokedAt) invalid('credential_id', 'revoked');
      const { token, expiresAt } = qr.issue(credentialId, Date.now());
      return { token, expiresAt: ts(new Date(expiresAt)) };
    },

    async createGrant(request, ctx) {
      const g = request.grant ?? invalid('grant', 'required');
      const personId = uuidField('grant.person_id', g.personId);
      const doorGroupId = uuidField('grant.door_group_id', g.doorGroupId);
      await scoped(ctx, ACCESS_ADMINS, await registry.doorGroupCompound(doorGroupId));
      const validFrom = date(g.validFrom) ?? new Date();
      const validTo = date(g.validTo) ?? null;
      if (validTo && validTo <= validFrom) invalid('grant.valid_to', 'must be after valid_from');
      const grant = await registry.createGrant({
        personId,
        doorGroupId,
        role: enumField('grant.role', grantRoles.fromProto(g.role)),
        validFrom,
        validTo,
        schedule: scheduleField(g.schedule),
      });
      return { grant: grantToProto(grant) };
    },

    async revokeGrant(request, ctx) {
      const grantId = uuidField('grant_id', request.grantId);
      await scoped(ctx, ACCESS_ADMINS, await registry.grantCompound(grantId));
      return {
        grant: grantToProto(await registry.revokeGrant(grantId, request.reason?.trim() || 'revoked')),
      };
    },

    async registerVisit(request, ctx) {
      const compoundId = codeField('compound_id', request.compoundId);
      const who = await scoped(ctx, VISIT_REGISTRARS, compoundId);
      const channel = enumField('channel', visitChannels.fromProto(request.channel));
      let hostPersonId = request.hostPersonId?.trim()
        ? uuidField('host_person_id', request.hostPersonId)
        : undefined;
      if (who.role === 'resident') {
        if (channel !== 'resident_invite') invalid('channel', 'residents invite: RESIDENT_INVITE');
        if (hostPersonId && hostPersonId !== who.subject)
          throw new PermissionDeniedError('residents invite only as themselves');
        hostPersonId = who.subject;
      } else if (channel === 'resident_invite') invalid('channel', 'only a resident invites');
      const validFrom = date(request.validFrom) ?? new Date();
      const validTo = date(request.validTo) ?? invalid('valid_to', 'required');
      if (validTo <= validFrom) invalid('valid_to', 'must be after valid_from');
      if (validTo.getTime() - validFrom.getTime() > MAX_VISIT_MS)
        invalid('valid_to', 'a visit lasts at most 24 hours');
      const pass = await registry.registerVisit({
        compoundId,
        destinationCode: codeField('destination_code', request.destinationCode),
        hostPersonId,
        channel,
        visitorName: textField('visitor_name', request.visitorName, 64),
        visitorIdNumber: request.visitorIdNumber?.trim()
          ? idNumberField('visitor_id_number', request.visitorIdNumber)
          : undefined,
        visitorPhone: phoneField('visitor_phone', request.visitorPhone),
        validFrom,
        validTo,
        createdBy: who.subject,
      });
      return { pass: passToProto(pass) };
    },

    async checkOutVisit(request, ctx) {
      const passId = uuidField('pass_id', request.passId);
      const existing = await registry.pass(passId);
      await scoped(ctx, ['guard', 'property_staff', 'service'], existing.compoundId);
      return { pass: passToProto(await registry.checkOutVisit(passId)) };
    },

    async addWatchlistEntry(request, ctx) {
      requireRole(await caller(ctx), 'police');
      const e = request.entry ?? invalid('entry', 'required');
      const idNumber = e.idNumber?.trim() ? idNumberField('entry.id_number', e.idNumber) : null;
      const faceTemplateId = e.faceTemplateId?.trim() || null;
      const personId = e.personId?.trim() ? uuidField('entry.person_id', e.personId) : null;
      if (!idNumber && !faceTemplateId && !personId)
        invalid('entry', 'give at least one of id_number, face_template_id, person_id');
      const threshold = e.faceThreshold || 0.8;
      if (threshold <= 0 || threshold > 1) invalid('entry.face_threshold', 'in (0, 1]');
      const dispositionId = e.dispositionId?.trim() || null;
      if (dispositionId && dispositionId.length !== 33)
        invalid('entry.disposition_id', 'a GA/T 1400 DispositionID is 33 characters');
      const who = await caller(ctx);
      const entry = await registry.addWatchlistEntry(
        {
          watchlistId: textField('entry.watchlist_id', e.watchlistId, 64),
          dispositionId,
          idNumber,
          faceTemplateId,
          personId,
          faceThreshold: threshold,
          priority: e.priority || Priority.PRIORITY_HIGH,
          validTo: date(e.validTo) ?? null,
        },
        who.subject,
      );
      return { entry: watchlistToProto(entry) };
    },

    async removeWatchlistEntry(request, ctx) {
      requireRole(await caller(ctx), 'police');
      return {
        entry: watchlistToProto(await registry.removeWatchlistEntry(uuidField('entry_id', request.entryId))),
      };
    },

    async authorize(request, ctx) {
      const who = await caller(ctx);
      requireRole(who, ...AUTHORIZERS);
      const deviceId = uuidField('device_id', request.deviceId);
      const kind = enumField('credential_type', credentialKinds.fromProto(request.credentialType));
      const value = request.credentialValue ?? '';
      if (!value.trim()) invalid('credential_value', 'required');
      const at = date(request.at)?.getTime() ?? Date.now();
      const spoof = isSpoof(request.liveness);
      const { decision, door, masked, lookupIdx, presenceChange } = await authorizer.authorize({
        deviceId,
        kind,
        value,
        spoof,
        at,
      });
      // An unknown reader is no compound's business; a known one only its compound's callers'.
      if (door) requireCompound(who, door.compoundId);
      let recordId = '';
      if (request.record)
        recordId =
          (
            await recorder.record({
              device: { deviceId },
              doorId: door?.doorId ?? '',
              compoundId: door?.compoundId,
              credentialType: credentialKinds.toProto(kind),
              masked,
              decision,
              liveness: request.liveness ?? 0,
              path: 'online',
              at,
              watch: kind === 'id_card' && lookupIdx ? { idNumberIdx: lookupIdx } : {},
              ...(presenceChange ? { presence: presenceChange } : {}),
            })
          ).recordId ?? '';
      return {
        decision: decision.allowed
          ? AccessDecision.ACCESS_DECISION_ALLOWED
          : AccessDecision.ACCESS_DECISION_DENIED,
        reason: reasons.toProto(decision.reason),
        personId: decision.personId ?? '',
        role: decision.role ? roles.toProto(decision.role) : 0,
        credentialId: decision.credentialId ?? '',
        visitorPassId: decision.passId ?? '',
        doorId: door?.doorId ?? '',
        recordId,
      };
    },

    importRegistry,
  });
}
