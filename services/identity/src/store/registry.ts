/**
 * The registry in Postgres: standard addresses, houses, persons, organisations, rentals, doors
 * and door groups, credentials, grants, visits and watchlist entries. ID and phone numbers (and
 * names of people) are encrypted with the platform cipher, found by blind index, and decrypted
 * only here; reading them unmasked writes an audit row in the same transaction. Every change
 * that can alter an access decision goes through `changeAccess`, which invalidates the access
 * caches before the change commits and again before it returns. Every change of a person or a
 * house is published (PersonChanged, HouseChanged) through the outbox in its transaction; the
 * name and ID number leave only as the row's own ciphertext and masked.
 */
import { randomUUID } from 'node:crypto';
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import type { Caller } from '@anfang/platform/auth';
import { maskIdNumber, maskName, type BlindIndex, type FieldCipher } from '@anfang/platform/crypto';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '@anfang/platform/grpc';
import {
  outboxEventPublisher,
  sqlState,
  withTransaction,
  type ClientBase,
  type Pool,
} from '@anfang/platform/pg';
import {
  ID_NUMBER_SCOPE,
  PHONE_SCOPE,
  hashPin,
  lookupScope,
  lookupValue,
  maskedCredential,
  parsePin,
  type CredentialKind,
} from '../domain/credentials.ts';
import type { DoorDirection, GrantRole, Schedule } from '../domain/decision.ts';
import { houseUses, personKinds, type DoorKindName, type VisitChannelName } from '../domain/enums.ts';
import type { HouseUse, ImportRow, PersonKind } from '../domain/import-csv.ts';
import { pathReachesDestination, visitPath } from '../domain/visit.ts';
import type { Generation } from './generation.ts';

export interface AddressRecord {
  readonly code: string;
  readonly level: number;
  readonly name: string;
  readonly parentCode: string | null;
  readonly compoundId: string | null;
  readonly fullName: string;
}

export interface HouseRecord {
  readonly houseId: string;
  readonly roomCode: string;
  readonly compoundId: string;
  readonly use: HouseUse;
  readonly fullAddress: string;
}

export interface PersonRecord {
  readonly personId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly idNumber: string;
  readonly phone: string | null;
  readonly kind: PersonKind;
  readonly houseId: string | null;
  readonly permitValidFrom: Date | null;
  readonly permitValidTo: Date | null;
  readonly enrolmentImageKey: string | null;
}

export interface NewPerson {
  readonly compoundId: string;
  readonly name: string;
  readonly idNumber: string;
  readonly phone: string | undefined;
  readonly kind: PersonKind;
  readonly roomCode: string | undefined;
  readonly permitValidFrom: Date | undefined;
  readonly permitValidTo: Date | undefined;
  readonly enrolmentImageKey: string | undefined;
}

/** What UpdatePerson replaces; the compound and ID number stay. */
export type PersonChanges = Omit<NewPerson, 'compoundId' | 'idNumber'>;

export interface PersonPageQuery {
  readonly compoundId: string;
  readonly kind?: PersonKind;
  readonly roomCode?: string;
  /** Persons with ids after this one. */
  readonly after?: string;
  readonly limit: number;
}

export interface OrganisationRecord {
  readonly organisationId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly kind: 'organisation' | 'shop';
  readonly addressCode: string;
  readonly creditCode: string | null;
  readonly contactPersonId: string | null;
}

export interface RentalRecord {
  readonly rentalId: string;
  readonly houseId: string;
  readonly landlordPersonId: string;
  readonly tenantPersonId: string;
  readonly validFrom: Date;
  readonly validTo: Date;
}

export interface DoorRecord {
  readonly doorId: string;
  readonly compoundId: string;
  readonly addressCode: string;
  readonly kind: DoorKindName;
  readonly name: string;
  readonly deviceIds: readonly string[];
  readonly direction: DoorDirection;
}

export interface DoorGroupRecord {
  readonly doorGroupId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly doorIds: readonly string[];
  readonly antiPassback: boolean;
}

export interface CredentialRecord {
  readonly credentialId: string;
  readonly personId: string | null;
  readonly compoundId: string;
  readonly kind: CredentialKind;
  readonly masked: string;
  readonly faceTemplateId: string | null;
  readonly faceImageKey: string | null;
  readonly validFrom: Date | null;
  readonly validTo: Date | null;
  readonly revokedAt: Date | null;
}

export interface GrantRecord {
  readonly grantId: string;
  readonly personId: string;
  readonly compoundId: string;
  readonly doorGroupId: string;
  readonly role: GrantRole;
  readonly validFrom: Date;
  readonly validTo: Date | null;
  readonly schedule: Schedule | null;
  readonly revokedAt: Date | null;
}

export interface PassRecord {
  readonly passId: string;
  readonly visitorId: string;
  readonly compoundId: string;
  readonly destinationCode: string;
  readonly hostPersonId: string | null;
  readonly channel: VisitChannelName;
  readonly validFrom: Date;
  readonly validTo: Date;
  readonly doorIds: readonly string[];
  readonly checkedOutAt: Date | null;
  readonly visitorName: string;
  readonly visitorIdNumber: string | null;
  readonly previousVisits: number;
  readonly credentialIds: readonly string[];
}

export interface WatchlistEntryRecord {
  readonly entryId: string;
  readonly watchlistId: string;
  readonly dispositionId: string | null;
  readonly idNumber: string | null;
  readonly faceTemplateId: string | null;
  readonly personId: string | null;
  readonly faceThreshold: number;
  readonly priority: number;
  readonly validTo: Date | null;
  readonly removedAt: Date | null;
}

/** What a police command did, for its result event. */
export type PoliceCommandOutcome =
  | { readonly applied: true; readonly entryId: string; readonly detail: string }
  | { readonly applied: false; readonly detail: string };

/** Who reads personal data unmasked and why: one audit row per read. */
export interface AuditContext {
  readonly caller: Caller;
  readonly purpose: string;
}

export type ImportOutcome = {
  readonly house: 'created' | 'changed' | 'unchanged';
  readonly person: 'created' | 'existing' | 'none';
};

export interface RegistryStoreOptions {
  readonly pool: Pool;
  readonly cipher: FieldCipher;
  readonly blindIndex: BlindIndex;
  readonly generation: Generation;
  /** The service name: the producer of the registry events. */
  readonly producer: string;
  /** Told after every committed access change (the offline allow-list sync wakes on it). */
  readonly afterAccessChange?: () => void;
}

const ADDRESS_LEVEL_COMPOUND = 4;
const ADDRESS_LEVEL_ROOM = 7;
/** Face similarity a police face disposition needs (the command carries none). */
const DEFAULT_FACE_THRESHOLD = 0.8;

const { RegistryChange } = anfang.identity.v1;
type RegistryChangeKind = anfang.identity.v1.RegistryChange;

function uniqueViolation(error: unknown, message: string): never {
  if (sqlState(error) === '23505') throw new AlreadyExistsError(message, { cause: error });
  throw error;
}

export function createRegistryStore(options: RegistryStoreOptions) {
  const { pool, cipher, blindIndex, generation, producer } = options;
  // The row's id is the AAD: a ciphertext copied onto another row does not decrypt.
  const seal = (value: string, rowId: string) => cipher.encrypt(value, rowId);
  const open = (value: string, rowId: string) => cipher.decryptString(value, rowId);

  async function publishHouse(client: ClientBase, change: RegistryChangeKind, house: HouseRecord) {
    await outboxEventPublisher(client, producer).publish(
      topics.identityHouseRegistry,
      {
        change,
        house: {
          houseId: house.houseId,
          roomCode: house.roomCode,
          compoundId: house.compoundId,
          use: houseUses.toProto(house.use),
          fullAddress: house.fullAddress,
        },
      },
      { compoundId: house.compoundId },
    );
  }

  /** The person as stored now (removed included), with their house's standard address. */
  async function publishPerson(client: ClientBase, change: RegistryChangeKind, personId: string) {
    const { rows } = await client.query(
      `SELECT p.*, h.room_code, a.full_name AS address FROM persons p
         LEFT JOIN houses h ON h.house_id = p.house_id LEFT JOIN addresses a ON a.code = h.room_code
       WHERE p.person_id = $1`,
      [personId],
    );
    const row = rows[0] as Record<string, unknown>;
    const person = personFromRow(row);
    const permit =
      person.permitValidFrom || person.permitValidTo
        ? {
            ...(person.permitValidFrom ? { startTime: timestampFromDate(person.permitValidFrom) } : {}),
            ...(person.permitValidTo ? { endTime: timestampFromDate(person.permitValidTo) } : {}),
          }
        : null;
    await outboxEventPublisher(client, producer).publish(
      topics.identityPersonRegistry,
      {
        change,
        person: {
          personId,
          compoundId: person.compoundId,
          nameSealed: row.name_enc as string,
          nameMasked: maskName(person.name),
          idNumberSealed: row.id_number_enc as string,
          idNumberMasked: maskIdNumber(person.idNumber),
          kind: personKinds.toProto(person.kind),
          houseId: person.houseId ?? '',
          roomCode: (row.room_code as string | null) ?? '',
          address: (row.address as string | null) ?? '',
          permit,
        },
      },
      { compoundId: person.compoundId },
    );
  }

  async function bumpAfterCommit(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await generation.bump();
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw new UnavailableError(
      'the change is saved but access caches could not be refreshed; repeat the call',
      {
        cause: lastError,
        reason: 'CACHE_INVALIDATION_FAILED',
      },
    );
  }

  /** A change that may alter access decisions (see the module comment). */
  async function changeAccess<T>(fn: (client: ClientBase) => Promise<T>): Promise<T> {
    const result = await withTransaction(pool, async (client) => {
      const value = await fn(client);
      await generation.bump();
      return value;
    });
    await bumpAfterCommit();
    options.afterAccessChange?.();
    return result;
  }

  async function audit(
    client: ClientBase,
    context: AuditContext,
    action: string,
    kind: string,
    id: string,
    fields: string[],
  ) {
    await client.query(
      `INSERT INTO audit_log (actor_subject, actor_role, purpose, action, subject_kind, subject_id, fields)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [context.caller.subject, context.caller.role, context.purpose, action, kind, id, fields],
    );
  }

  async function addressOf(client: ClientBase | Pool, code: string): Promise<AddressRecord | undefined> {
    const { rows } = await client.query(
      'SELECT code, level, name, parent_code, compound_id, full_name FROM addresses WHERE code = $1',
      [code],
    );
    const row = rows[0];
    return row
      ? {
          code: row.code,
          level: row.level,
          name: row.name,
          parentCode: row.parent_code,
          compoundId: row.compound_id,
          fullName: row.full_name,
        }
      : undefined;
  }

  async function roomInCompound(
    client: ClientBase,
    roomCode: string,
    compoundId: string,
  ): Promise<AddressRecord> {
    const room = await addressOf(client, roomCode);
    if (!room || room.level !== ADDRESS_LEVEL_ROOM || room.compoundId !== compoundId)
      throw new InvalidArgumentError(`room ${roomCode} is not a registered room of compound ${compoundId}`, [
        { field: 'room_code', description: 'not a room of this compound' },
      ]);
    return room;
  }

  async function upsertHouseIn(client: ClientBase, room: AddressRecord, use: HouseUse) {
    const { rows } = await client.query<{
      house_id: string;
      use: HouseUse;
      inserted: boolean;
      old_use: HouseUse | null;
    }>(
      `WITH old AS (SELECT use FROM houses WHERE room_code = $2)
       INSERT INTO houses (house_id, room_code, compound_id, use) VALUES ($1, $2, $3, $4)
       ON CONFLICT (room_code) DO UPDATE SET use = EXCLUDED.use, updated_at = now()
       RETURNING house_id, use, (xmax = 0) AS inserted, (SELECT use FROM old) AS old_use`,
      [randomUUID(), room.code, room.compoundId, use],
    );
    const row = rows[0]!;
    const house: HouseRecord = {
      houseId: row.house_id,
      roomCode: room.code,
      compoundId: room.compoundId!,
      use: row.use,
      fullAddress: room.fullName,
    };
    const change = row.inserted ? 'created' : row.old_use === use ? 'unchanged' : 'changed';
    if (change !== 'unchanged')
      await publishHouse(
        client,
        change === 'created'
          ? RegistryChange.REGISTRY_CHANGE_REGISTERED
          : RegistryChange.REGISTRY_CHANGE_UPDATED,
        house,
      );
    return { house, change } as const;
  }

  function personFromRow(row: Record<string, unknown>): PersonRecord {
    const id = row.person_id as string;
    return {
      personId: id,
      compoundId: row.compound_id as string,
      name: open(row.name_enc as string, id),
      idNumber: open(row.id_number_enc as string, id),
      phone: row.phone_enc ? open(row.phone_enc as string, id) : null,
      kind: row.kind as PersonKind,
      houseId: (row.house_id as string | null) ?? null,
      permitValidFrom: (row.permit_valid_from as Date | null) ?? null,
      permitValidTo: (row.permit_valid_to as Date | null) ?? null,
      enrolmentImageKey: (row.enrolment_image_key as string | null) ?? null,
    };
  }

  /** The house of a room in the compound, registered (owner-occupied) if it is not yet. */
  async function houseOfRoom(client: ClientBase, roomCode: string, compoundId: string): Promise<string> {
    const room = await roomInCompound(client, roomCode, compoundId);
    const { rows } = await client.query<{ house_id: string }>(
      'SELECT house_id FROM houses WHERE room_code = $1',
      [room.code],
    );
    return rows[0]?.house_id ?? (await upsertHouseIn(client, room, 'owner_occupied')).house.houseId;
  }

  async function insertPerson(client: ClientBase, person: NewPerson): Promise<PersonRecord> {
    const houseId = person.roomCode ? await houseOfRoom(client, person.roomCode, person.compoundId) : null;
    const personId = randomUUID();
    try {
      const { rows } = await client.query(
        `INSERT INTO persons (person_id, compound_id, name_enc, id_number_enc, id_number_idx, phone_enc, phone_idx,
                              kind, house_id, permit_valid_from, permit_valid_to, enrolment_image_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
        [
          personId,
          person.compoundId,
          seal(person.name, personId),
          seal(person.idNumber, personId),
          blindIndex(person.idNumber, ID_NUMBER_SCOPE),
          person.phone ? seal(person.phone, personId) : null,
          person.phone ? blindIndex(person.phone, PHONE_SCOPE) : null,
          person.kind,
          houseId,
          person.permitValidFrom ?? null,
          person.permitValidTo ?? null,
          person.enrolmentImageKey ?? null,
        ],
      );
      await publishPerson(client, RegistryChange.REGISTRY_CHANGE_REGISTERED, personId);
      return personFromRow(rows[0]);
    } catch (error) {
      return uniqueViolation(error, 'a person with this ID number is already registered in the compound');
    }
  }

  async function personRow(client: ClientBase | Pool, personId: string, { lock = false } = {}) {
    const { rows } = await client.query(
      `SELECT * FROM persons WHERE person_id = $1 AND removed_at IS NULL ${lock ? 'FOR UPDATE' : ''}`,
      [personId],
    );
    if (!rows[0]) throw new NotFoundError(`person ${personId} not found`, { reason: 'PERSON_NOT_FOUND' });
    return rows[0] as Record<string, unknown>;
  }

  async function insertWatchlistEntry(
    client: ClientBase,
    entry: Omit<WatchlistEntryRecord, 'entryId' | 'removedAt'>,
    createdBy: string,
    /** The devices it is limited to; empty: everywhere. */
    deviceIds: readonly string[] = [],
  ): Promise<WatchlistEntryRecord> {
    const entryId = randomUUID();
    try {
      await client.query(
        `INSERT INTO watchlist_entries (entry_id, watchlist_id, disposition_id, id_number_enc, id_number_idx,
                                        face_template_id, person_id, face_threshold, priority, valid_to, created_by,
                                        device_ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          entryId,
          entry.watchlistId,
          entry.dispositionId,
          entry.idNumber ? seal(entry.idNumber, entryId) : null,
          entry.idNumber ? blindIndex(entry.idNumber, ID_NUMBER_SCOPE) : null,
          entry.faceTemplateId,
          entry.personId,
          entry.faceThreshold,
          entry.priority,
          entry.validTo,
          createdBy,
          [...deviceIds],
        ],
      );
    } catch (error) {
      return uniqueViolation(error, 'an active entry already has this disposition id');
    }
    return { ...entry, entryId, removedAt: null };
  }

  function credentialFromRow(row: Record<string, unknown>, compoundId: string): CredentialRecord {
    return {
      credentialId: row.credential_id as string,
      personId: (row.person_id as string | null) ?? null,
      compoundId,
      kind: row.kind as CredentialKind,
      masked: row.masked as string,
      faceTemplateId: (row.face_template_id as string | null) ?? null,
      faceImageKey: (row.face_image_key as string | null) ?? null,
      validFrom: (row.valid_from as Date | null) ?? null,
      validTo: (row.valid_to as Date | null) ?? null,
      revokedAt: (row.revoked_at as Date | null) ?? null,
    };
  }

  function grantFromRow(row: Record<string, unknown>, compoundId: string): GrantRecord {
    return {
      grantId: row.grant_id as string,
      personId: row.person_id as string,
      compoundId,
      doorGroupId: row.door_group_id as string,
      role: row.role as GrantRole,
      validFrom: row.valid_from as Date,
      validTo: (row.valid_to as Date | null) ?? null,
      schedule: (row.schedule as Schedule | null) ?? null,
      revokedAt: (row.revoked_at as Date | null) ?? null,
    };
  }

  async function doorRecord(client: ClientBase | Pool, doorId: string): Promise<DoorRecord | undefined> {
    const { rows } = await client.query(
      `SELECT d.*, coalesce(array_agg(dd.device_id ORDER BY dd.device_id) FILTER (WHERE dd.device_id IS NOT NULL), '{}') AS device_ids
         FROM doors d LEFT JOIN door_devices dd ON dd.door_id = d.door_id
        WHERE d.door_id = $1 GROUP BY d.door_id`,
      [doorId],
    );
    const row = rows[0];
    return row
      ? {
          doorId: row.door_id,
          compoundId: row.compound_id,
          addressCode: row.address_code,
          kind: row.kind,
          name: row.name,
          deviceIds: row.device_ids,
          direction: row.direction,
        }
      : undefined;
  }

  async function passRecord(client: ClientBase | Pool, passId: string): Promise<PassRecord | undefined> {
    const { rows } = await client.query(
      `SELECT vp.*, v.name_enc, v.id_number_enc, v.visits,
              coalesce((SELECT array_agg(c.credential_id::text) FROM credentials c WHERE c.pass_id = vp.pass_id), '{}') AS credential_ids
         FROM visitor_passes vp JOIN visitors v ON v.visitor_id = vp.visitor_id
        WHERE vp.pass_id = $1`,
      [passId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      passId: row.pass_id,
      visitorId: row.visitor_id,
      compoundId: row.compound_id,
      destinationCode: row.destination_code,
      hostPersonId: row.host_person_id,
      channel: row.channel,
      validFrom: row.valid_from,
      validTo: row.valid_to,
      doorIds: row.door_ids,
      checkedOutAt: row.checked_out_at,
      visitorName: open(row.name_enc, row.visitor_id),
      visitorIdNumber: row.id_number_enc ? open(row.id_number_enc, row.visitor_id) : null,
      previousVisits: row.visits - 1,
      credentialIds: row.credential_ids,
    };
  }

  return {
    addressOf: (code: string) => addressOf(pool, code),

    async upsertAddress(input: {
      code: string;
      level: number;
      name: string;
      parentCode: string;
    }): Promise<AddressRecord> {
      return withTransaction(pool, async (client) => {
        const parent = input.parentCode ? await addressOf(client, input.parentCode) : undefined;
        if (input.parentCode && !parent)
          throw new InvalidArgumentError(`parent ${input.parentCode} is not registered`, [
            { field: 'parent_code', description: 'unknown address' },
          ]);
        if ((parent?.level ?? 0) + 1 !== input.level)
          throw new InvalidArgumentError('level must be one below the parent (a district has no parent)', [
            { field: 'level', description: 'does not follow the parent' },
          ]);
        if (parent && !input.code.startsWith(parent.code))
          throw new InvalidArgumentError("an address code starts with its parent's code", [
            { field: 'code', description: `must start with ${parent.code}` },
          ]);
        const compoundId =
          input.level === ADDRESS_LEVEL_COMPOUND
            ? input.code
            : input.level > ADDRESS_LEVEL_COMPOUND
              ? parent!.compoundId
              : null;
        const fullName = `${parent?.fullName ?? ''}${input.name}`;
        const existing = await addressOf(client, input.code);
        if (
          existing &&
          (existing.level !== input.level || existing.parentCode !== (input.parentCode || null))
        )
          throw new FailedPreconditionError(`address ${input.code} exists at another place in the tree`, {
            reason: 'ADDRESS_MOVED',
          });
        await client.query(
          `INSERT INTO addresses (code, level, name, parent_code, compound_id, full_name)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, full_name = EXCLUDED.full_name, updated_at = now()`,
          [input.code, input.level, input.name, input.parentCode || null, compoundId, fullName],
        );
        return (await addressOf(client, input.code))!;
      });
    },

    async listAddresses(parentCode: string): Promise<AddressRecord[]> {
      const { rows } = await pool.query(
        `SELECT code, level, name, parent_code, compound_id, full_name FROM addresses
          WHERE parent_code IS NOT DISTINCT FROM $1 ORDER BY code`,
        [parentCode || null],
      );
      return rows.map((row) => ({
        code: row.code,
        level: row.level,
        name: row.name,
        parentCode: row.parent_code,
        compoundId: row.compound_id,
        fullName: row.full_name,
      }));
    },

    async upsertHouse(roomCode: string, compoundId: string, use: HouseUse): Promise<HouseRecord> {
      return withTransaction(pool, async (client) => {
        const room = await roomInCompound(client, roomCode, compoundId);
        return (await upsertHouseIn(client, room, use)).house;
      });
    },

    createPerson: (person: NewPerson) => withTransaction(pool, (client) => insertPerson(client, person)),

    /** Decrypted: the edge masks it, or (with `audit`) records who saw it unmasked and why. */
    async getPerson(personId: string, auditContext?: AuditContext): Promise<PersonRecord> {
      return withTransaction(pool, async (client) => {
        const person = personFromRow(await personRow(client, personId));
        if (auditContext)
          await audit(client, auditContext, 'person.read', 'person', personId, [
            'name',
            'id_number',
            'phone',
          ]);
        return person;
      });
    },

    async findPersons(
      compoundId: string,
      by: { idNumber?: string; phone?: string },
    ): Promise<PersonRecord[]> {
      const [column, value] = by.idNumber
        ? ['id_number_idx', blindIndex(by.idNumber, ID_NUMBER_SCOPE)]
        : ['phone_idx', blindIndex(by.phone!, PHONE_SCOPE)];
      const { rows } = await pool.query(
        `SELECT * FROM persons WHERE compound_id = $1 AND ${column} = $2 AND removed_at IS NULL ORDER BY created_at`,
        [compoundId, value],
      );
      return rows.map(personFromRow);
    },

    async updatePerson(personId: string, changes: PersonChanges): Promise<PersonRecord> {
      return withTransaction(pool, async (client) => {
        const row = await personRow(client, personId, { lock: true });
        const compoundId = row.compound_id as string;
        const houseId = changes.roomCode ? await houseOfRoom(client, changes.roomCode, compoundId) : null;
        const { rows } = await client.query(
          `UPDATE persons SET name_enc = $2, phone_enc = $3, phone_idx = $4, kind = $5, house_id = $6,
             permit_valid_from = $7, permit_valid_to = $8, enrolment_image_key = $9
           WHERE person_id = $1 RETURNING *`,
          [
            personId,
            seal(changes.name, personId),
            changes.phone ? seal(changes.phone, personId) : null,
            changes.phone ? blindIndex(changes.phone, PHONE_SCOPE) : null,
            changes.kind,
            houseId,
            changes.permitValidFrom ?? null,
            changes.permitValidTo ?? null,
            changes.enrolmentImageKey ?? null,
          ],
        );
        await publishPerson(client, RegistryChange.REGISTRY_CHANGE_UPDATED, personId);
        return personFromRow(rows[0]);
      });
    },

    /**
     * Marks the person removed and revokes their credentials and grants in one access change:
     * from the moment this returns no door lets them through (caches included).
     */
    async removePerson(personId: string, reason: string): Promise<{ credentials: number; grants: number }> {
      return changeAccess(async (client) => {
        await personRow(client, personId, { lock: true });
        await client.query('UPDATE persons SET removed_at = now() WHERE person_id = $1', [personId]);
        await publishPerson(client, RegistryChange.REGISTRY_CHANGE_REMOVED, personId);
        const credentials = await client.query(
          `UPDATE credentials SET revoked_at = now(), revoked_reason = $2
           WHERE person_id = $1 AND revoked_at IS NULL`,
          [personId, reason],
        );
        const grants = await client.query(
          `UPDATE grants SET revoked_at = now(), revoked_reason = $2 WHERE person_id = $1 AND revoked_at IS NULL`,
          [personId, reason],
        );
        return { credentials: credentials.rowCount ?? 0, grants: grants.rowCount ?? 0 };
      });
    },

    async listPersons(query: PersonPageQuery): Promise<PersonRecord[]> {
      const { rows } = await pool.query(
        `SELECT p.* FROM persons p LEFT JOIN houses h ON h.house_id = p.house_id
         WHERE p.compound_id = $1 AND p.removed_at IS NULL
           AND ($2::text IS NULL OR p.kind = $2)
           AND ($3::text IS NULL OR h.room_code = $3)
           AND ($4::uuid IS NULL OR p.person_id > $4)
         ORDER BY p.person_id LIMIT $5`,
        [query.compoundId, query.kind ?? null, query.roomCode ?? null, query.after ?? null, query.limit],
      );
      return rows.map(personFromRow);
    },

    async listExpiringPermits(compoundId: string, before: Date): Promise<PersonRecord[]> {
      const { rows } = await pool.query(
        `SELECT * FROM persons WHERE compound_id = $1 AND kind = 'floating' AND removed_at IS NULL
            AND permit_valid_to < $2 ORDER BY permit_valid_to, person_id`,
        [compoundId, before],
      );
      return rows.map(personFromRow);
    },

    async createOrganisation(input: Omit<OrganisationRecord, 'organisationId'>): Promise<OrganisationRecord> {
      return withTransaction(pool, async (client) => {
        const address = await addressOf(client, input.addressCode);
        if (!address || address.compoundId !== input.compoundId)
          throw new InvalidArgumentError(
            `address ${input.addressCode} is not in compound ${input.compoundId}`,
            [{ field: 'address_code', description: 'not an address of this compound' }],
          );
        if (input.contactPersonId) await personRow(client, input.contactPersonId);
        const organisationId = randomUUID();
        await client.query(
          `INSERT INTO organisations (organisation_id, compound_id, name, kind, address_code, credit_code, contact_person_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            organisationId,
            input.compoundId,
            input.name,
            input.kind,
            input.addressCode,
            input.creditCode,
            input.contactPersonId,
          ],
        );
        return { ...input, organisationId };
      });
    },

    /** The tenant's house becomes the rented one and the house's use `rented`. */
    async registerRental(
      input: Omit<RentalRecord, 'rentalId'>,
    ): Promise<RentalRecord & { compoundId: string }> {
      return withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ compound_id: string; room_code: string; changed: boolean }>(
          `UPDATE houses h SET use = $2, updated_at = now() FROM houses old
           WHERE h.house_id = $1 AND old.house_id = h.house_id
           RETURNING h.compound_id, h.room_code, old.use <> h.use AS changed`,
          [input.houseId, 'rented'],
        );
        const compoundId = rows[0]?.compound_id;
        if (!compoundId)
          throw new NotFoundError(`house ${input.houseId} not found`, { reason: 'HOUSE_NOT_FOUND' });
        if (rows[0]!.changed)
          await publishHouse(client, RegistryChange.REGISTRY_CHANGE_UPDATED, {
            houseId: input.houseId,
            roomCode: rows[0]!.room_code,
            compoundId,
            use: 'rented',
            fullAddress: (await addressOf(client, rows[0]!.room_code))?.fullName ?? '',
          });
        for (const id of [input.landlordPersonId, input.tenantPersonId]) await personRow(client, id);
        const { rowCount } = await client.query(
          `UPDATE persons SET house_id = $2 WHERE person_id = $1 AND compound_id = $3 AND kind IN ('tenant', 'floating')`,
          [input.tenantPersonId, input.houseId, compoundId],
        );
        if (rowCount === 0)
          throw new FailedPreconditionError(
            'the tenant must be registered in the compound as tenant or floating population',
            {
              reason: 'NOT_A_TENANT',
            },
          );
        await publishPerson(client, RegistryChange.REGISTRY_CHANGE_UPDATED, input.tenantPersonId);
        const rentalId = randomUUID();
        await client.query(
          `INSERT INTO rentals (rental_id, house_id, landlord_person_id, tenant_person_id, valid_from, valid_to)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            rentalId,
            input.houseId,
            input.landlordPersonId,
            input.tenantPersonId,
            input.validFrom,
            input.validTo,
          ],
        );
        return { ...input, rentalId, compoundId };
      });
    },

    doorRecord: (doorId: string) => doorRecord(pool, doorId),

    async upsertDoor(door: DoorRecord): Promise<DoorRecord> {
      return changeAccess(async (client) => {
        const address = await addressOf(client, door.addressCode);
        if (!address || address.compoundId !== door.compoundId)
          throw new InvalidArgumentError(
            `address ${door.addressCode} is not in compound ${door.compoundId}`,
            [{ field: 'door.address_code', description: 'not an address of this compound' }],
          );
        const existing = await doorRecord(client, door.doorId);
        if (existing && existing.compoundId !== door.compoundId)
          throw new FailedPreconditionError('a door cannot move to another compound', {
            reason: 'DOOR_MOVED',
          });
        await client.query(
          `INSERT INTO doors (door_id, compound_id, address_code, kind, name, direction) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (door_id) DO UPDATE SET address_code = EXCLUDED.address_code, kind = EXCLUDED.kind,
                                               name = EXCLUDED.name, direction = EXCLUDED.direction,
                                               updated_at = now()`,
          [door.doorId, door.compoundId, door.addressCode, door.kind, door.name, door.direction],
        );
        await client.query('DELETE FROM door_devices WHERE door_id = $1 AND NOT (device_id = ANY($2))', [
          door.doorId,
          door.deviceIds,
        ]);
        const { rows } = await client.query<{ device_id: string }>(
          `INSERT INTO door_devices (device_id, door_id) SELECT unnest($2::text[]), $1
           ON CONFLICT (device_id) DO UPDATE SET door_id = EXCLUDED.door_id
           WHERE door_devices.door_id = EXCLUDED.door_id RETURNING device_id`,
          [door.doorId, door.deviceIds],
        );
        if (rows.length !== new Set(door.deviceIds).size)
          throw new FailedPreconditionError('a device is already mapped to another door', {
            reason: 'DEVICE_ON_OTHER_DOOR',
          });
        return (await doorRecord(client, door.doorId))!;
      });
    },

    async upsertDoorGroup(group: DoorGroupRecord): Promise<DoorGroupRecord> {
      return changeAccess(async (client) => {
        const { rows: doors } = await client.query<{ door_id: string }>(
          'SELECT door_id FROM doors WHERE door_id = ANY($1::uuid[]) AND compound_id = $2',
          [group.doorIds, group.compoundId],
        );
        if (doors.length !== new Set(group.doorIds).size)
          throw new InvalidArgumentError('every door of a group must be a door of its compound', [
            { field: 'door_group.door_ids', description: 'unknown door or door of another compound' },
          ]);
        const { rows } = await client.query<{ compound_id: string }>(
          `INSERT INTO door_groups (door_group_id, compound_id, name, anti_passback) VALUES ($1, $2, $3, $4)
           ON CONFLICT (door_group_id) DO UPDATE SET name = EXCLUDED.name, anti_passback = EXCLUDED.anti_passback
           RETURNING compound_id`,
          [group.doorGroupId, group.compoundId, group.name, group.antiPassback],
        );
        if (rows[0]!.compound_id !== group.compoundId)
          throw new FailedPreconditionError('a door group cannot move to another compound', {
            reason: 'GROUP_MOVED',
          });
        await client.query('DELETE FROM door_group_doors WHERE door_group_id = $1', [group.doorGroupId]);
        await client.query(
          'INSERT INTO door_group_doors (door_group_id, door_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING',
          [group.doorGroupId, group.doorIds],
        );
        return group;
      });
    },

    async personCompound(personId: string): Promise<string> {
      return (await personRow(pool, personId)).compound_id as string;
    },

    async issueCredential(input: {
      personId: string;
      kind: CredentialKind;
      value: string;
      faceImageKey: string | undefined;
      validFrom: Date | undefined;
      validTo: Date | undefined;
    }): Promise<CredentialRecord> {
      // scrypt is slow on purpose: hash before the transaction takes its locks.
      const pinHash = input.kind === 'pin' ? await hashPin(parsePin(input.value).digits) : null;
      return changeAccess(async (client) => {
        const person = await personRow(client, input.personId);
        const compoundId = person.compound_id as string;
        // Lock the person's credentials: the "never face alone" rule reads them.
        await client.query('SELECT 1 FROM persons WHERE person_id = $1 FOR UPDATE', [input.personId]);
        if (input.kind === 'face') {
          const { rows } = await client.query(
            `SELECT 1 FROM credentials WHERE person_id = $1 AND kind <> 'face' AND revoked_at IS NULL LIMIT 1`,
            [input.personId],
          );
          if (rows.length === 0)
            throw new FailedPreconditionError(
              'face is never the only way in: issue another credential first',
              {
                reason: 'FACE_NEEDS_ANOTHER_CREDENTIAL',
              },
            );
          if (!input.faceImageKey)
            throw new InvalidArgumentError('a face credential needs its enrolment image', [
              { field: 'face_image_key', description: 'required for face' },
            ]);
        }
        const lookupIdx =
          input.kind === 'qr'
            ? null
            : blindIndex(lookupValue(input.kind, input.value, compoundId), lookupScope(input.kind));
        const credentialId = randomUUID();
        try {
          const { rows } = await client.query(
            `INSERT INTO credentials (credential_id, person_id, kind, lookup_idx, masked, pin_hash, face_template_id,
                                      face_image_key, valid_from, valid_to, value_enc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
            [
              credentialId,
              input.personId,
              input.kind,
              lookupIdx,
              maskedCredential(input.kind, input.value),
              pinHash,
              input.kind === 'face' ? input.value.trim() : null,
              input.kind === 'face' ? input.faceImageKey : null,
              input.validFrom ?? null,
              input.validTo ?? null,
              // Sealed (not only indexed) so readers' offline allow lists can carry the number.
              input.kind === 'card' || input.kind === 'nfc'
                ? seal(lookupValue(input.kind, input.value, compoundId), credentialId)
                : null,
            ],
          );
          return credentialFromRow(rows[0], compoundId);
        } catch (error) {
          return uniqueViolation(error, 'this credential is already held by someone (revoke it there first)');
        }
      });
    },

    async credential(credentialId: string): Promise<CredentialRecord> {
      const { rows } = await pool.query(
        `SELECT c.*, coalesce(p.compound_id, vp.compound_id) AS compound_id FROM credentials c
           LEFT JOIN persons p ON p.person_id = c.person_id LEFT JOIN visitor_passes vp ON vp.pass_id = c.pass_id
          WHERE c.credential_id = $1`,
        [credentialId],
      );
      if (!rows[0])
        throw new NotFoundError(`credential ${credentialId} not found`, { reason: 'CREDENTIAL_NOT_FOUND' });
      return credentialFromRow(rows[0], rows[0].compound_id);
    },

    async revokeCredential(credentialId: string, reason: string): Promise<CredentialRecord> {
      return changeAccess(async (client) => {
        const { rows } = await client.query(
          `SELECT c.*, p.compound_id FROM credentials c JOIN persons p ON p.person_id = c.person_id
            WHERE c.credential_id = $1 FOR UPDATE OF c`,
          [credentialId],
        );
        const row = rows[0];
        if (!row)
          throw new NotFoundError(`credential ${credentialId} not found`, { reason: 'CREDENTIAL_NOT_FOUND' });
        if (row.revoked_at) return credentialFromRow(row, row.compound_id);
        if (row.kind !== 'face') {
          const { rows: others } = await client.query(
            `SELECT kind FROM credentials WHERE person_id = $1 AND credential_id <> $2 AND revoked_at IS NULL`,
            [row.person_id, credentialId],
          );
          if (others.some((o) => o.kind === 'face') && !others.some((o) => o.kind !== 'face'))
            throw new FailedPreconditionError(
              'face would become the only way in: revoke the face credential first',
              {
                reason: 'FACE_WOULD_BE_ALONE',
              },
            );
        }
        const { rows: updated } = await client.query(
          'UPDATE credentials SET revoked_at = now(), revoked_reason = $2 WHERE credential_id = $1 RETURNING *',
          [credentialId, reason],
        );
        return credentialFromRow(updated[0], row.compound_id);
      });
    },

    async doorGroupCompound(doorGroupId: string): Promise<string> {
      const { rows } = await pool.query<{ compound_id: string }>(
        'SELECT compound_id FROM door_groups WHERE door_group_id = $1',
        [doorGroupId],
      );
      if (!rows[0])
        throw new NotFoundError(`door group ${doorGroupId} not found`, { reason: 'DOOR_GROUP_NOT_FOUND' });
      return rows[0].compound_id;
    },

    async createGrant(
      input: Omit<GrantRecord, 'grantId' | 'revokedAt' | 'compoundId'>,
    ): Promise<GrantRecord> {
      return changeAccess(async (client) => {
        const person = await personRow(client, input.personId);
        const { rows: groups } = await client.query(
          'SELECT compound_id FROM door_groups WHERE door_group_id = $1',
          [input.doorGroupId],
        );
        if (!groups[0])
          throw new NotFoundError(`door group ${input.doorGroupId} not found`, {
            reason: 'DOOR_GROUP_NOT_FOUND',
          });
        if (groups[0].compound_id !== person.compound_id)
          throw new FailedPreconditionError('person and door group belong to different compounds', {
            reason: 'COMPOUND_MISMATCH',
          });
        const grantId = randomUUID();
        const { rows } = await client.query(
          `INSERT INTO grants (grant_id, person_id, door_group_id, role, valid_from, valid_to, schedule)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
          [
            grantId,
            input.personId,
            input.doorGroupId,
            input.role,
            input.validFrom,
            input.validTo,
            input.schedule,
          ],
        );
        return grantFromRow(rows[0], person.compound_id as string);
      });
    },

    async grantCompound(grantId: string): Promise<string> {
      const { rows } = await pool.query<{ compound_id: string }>(
        'SELECT p.compound_id FROM grants g JOIN persons p ON p.person_id = g.person_id WHERE g.grant_id = $1',
        [grantId],
      );
      if (!rows[0]) throw new NotFoundError(`grant ${grantId} not found`, { reason: 'GRANT_NOT_FOUND' });
      return rows[0].compound_id;
    },

    async revokeGrant(grantId: string, reason: string): Promise<GrantRecord> {
      return changeAccess(async (client) => {
        const { rows } = await client.query(
          `UPDATE grants g SET revoked_at = coalesce(g.revoked_at, now()), revoked_reason = coalesce(g.revoked_reason, $2)
             FROM persons p WHERE g.grant_id = $1 AND p.person_id = g.person_id RETURNING g.*, p.compound_id`,
          [grantId, reason],
        );
        if (!rows[0]) throw new NotFoundError(`grant ${grantId} not found`, { reason: 'GRANT_NOT_FOUND' });
        return grantFromRow(rows[0], rows[0].compound_id);
      });
    },

    async registerVisit(input: {
      compoundId: string;
      destinationCode: string;
      hostPersonId: string | undefined;
      channel: VisitChannelName;
      visitorName: string;
      visitorIdNumber: string | undefined;
      visitorPhone: string | undefined;
      validFrom: Date;
      validTo: Date;
      createdBy: string;
    }): Promise<PassRecord> {
      const passId = await changeAccess(async (client) => {
        const destination = await addressOf(client, input.destinationCode);
        if (
          !destination ||
          destination.compoundId !== input.compoundId ||
          destination.level <= ADDRESS_LEVEL_COMPOUND
        )
          throw new InvalidArgumentError('the destination must be a building, unit or room of the compound', [
            { field: 'destination_code', description: 'not inside this compound' },
          ]);
        if (input.hostPersonId) {
          const host = await personRow(client, input.hostPersonId);
          if (host.compound_id !== input.compoundId)
            throw new FailedPreconditionError('the host lives in another compound', {
              reason: 'COMPOUND_MISMATCH',
            });
        }
        const { rows: doors } = await client.query<{
          door_id: string;
          kind: DoorKindName;
          address_code: string;
        }>('SELECT door_id, kind, address_code FROM doors WHERE compound_id = $1', [input.compoundId]);
        const pathDoors = doors.map((d) => ({
          doorId: d.door_id,
          kind: d.kind,
          addressCode: d.address_code,
        }));
        const path = visitPath(pathDoors, input.destinationCode);
        if (!pathReachesDestination(pathDoors, path))
          throw new FailedPreconditionError(
            'no unit door leads to the destination: register its door first',
            {
              reason: 'NO_PATH_TO_DESTINATION',
            },
          );

        const idIdx = input.visitorIdNumber ? blindIndex(input.visitorIdNumber, ID_NUMBER_SCOPE) : null;
        // Repeat visitors: one row per ID number and compound, counted on every visit.
        let visitorId: string | undefined;
        if (idIdx) {
          const { rows } = await client.query<{ visitor_id: string }>(
            `UPDATE visitors SET visits = visits + 1, last_seen_at = now()
              WHERE compound_id = $1 AND id_number_idx = $2 RETURNING visitor_id`,
            [input.compoundId, idIdx],
          );
          visitorId = rows[0]?.visitor_id;
        }
        if (!visitorId) {
          visitorId = randomUUID();
          await client.query(
            `INSERT INTO visitors (visitor_id, compound_id, name_enc, id_number_enc, id_number_idx, phone_enc, visits)
             VALUES ($1, $2, $3, $4, $5, $6, 1)`,
            [
              visitorId,
              input.compoundId,
              seal(input.visitorName, visitorId),
              input.visitorIdNumber ? seal(input.visitorIdNumber, visitorId) : null,
              idIdx,
              input.visitorPhone ? seal(input.visitorPhone, visitorId) : null,
            ],
          );
        }
        const id = randomUUID();
        await client.query(
          `INSERT INTO visitor_passes (pass_id, visitor_id, compound_id, destination_code, host_person_id, channel,
                                       valid_from, valid_to, door_ids, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            id,
            visitorId,
            input.compoundId,
            input.destinationCode,
            input.hostPersonId ?? null,
            input.channel,
            input.validFrom,
            input.validTo,
            path,
            input.createdBy,
          ],
        );
        // The pass opens doors by its QR code, and by the visitor's ID card when one was shown.
        await client.query(
          `INSERT INTO credentials (credential_id, pass_id, kind, lookup_idx, masked, valid_from, valid_to)
           VALUES ($1, $2, 'qr', NULL, $3, $4, $5)`,
          [randomUUID(), id, maskedCredential('qr', ''), input.validFrom, input.validTo],
        );
        if (input.visitorIdNumber)
          await client.query(
            `INSERT INTO credentials (credential_id, pass_id, kind, lookup_idx, masked, valid_from, valid_to)
             VALUES ($1, $2, 'id_card', $3, $4, $5, $6)`,
            [
              randomUUID(),
              id,
              idIdx,
              maskedCredential('id_card', input.visitorIdNumber),
              input.validFrom,
              input.validTo,
            ],
          );
        return id;
      });
      return (await passRecord(pool, passId))!;
    },

    async pass(passId: string): Promise<PassRecord> {
      const pass = await passRecord(pool, passId);
      if (!pass) throw new NotFoundError(`visit ${passId} not found`, { reason: 'VISIT_NOT_FOUND' });
      return pass;
    },

    async checkOutVisit(passId: string): Promise<PassRecord> {
      await changeAccess(async (client) => {
        const { rowCount } = await client.query(
          'UPDATE visitor_passes SET checked_out_at = coalesce(checked_out_at, now()) WHERE pass_id = $1',
          [passId],
        );
        if (rowCount === 0)
          throw new NotFoundError(`visit ${passId} not found`, { reason: 'VISIT_NOT_FOUND' });
      });
      return (await passRecord(pool, passId))!;
    },

    async addWatchlistEntry(
      entry: Omit<WatchlistEntryRecord, 'entryId' | 'removedAt'>,
      createdBy: string,
    ): Promise<WatchlistEntryRecord> {
      return withTransaction(pool, async (client) => {
        if (entry.personId) await personRow(client, entry.personId);
        return insertWatchlistEntry(client, entry, createdBy);
      });
    },

    /**
     * A disposition from the police platform, in the caller's transaction: set adds (or, when
     * repeated, finds) the entry of its disposition id; withdrawn removes it.
     */
    async applyPoliceCommand(
      client: ClientBase,
      command: {
        readonly set?: {
          readonly dispositionId: string;
          readonly target: 'id_number' | 'face';
          readonly feature: string;
          readonly watchlistId: string;
          readonly priority: number;
          readonly validTo: Date | null;
          /** Platform device ids it is limited to; empty: everywhere. */
          readonly deviceIds: readonly string[];
        };
        readonly withdrawnId?: string;
      },
      createdBy: string,
    ): Promise<PoliceCommandOutcome> {
      if (command.set) {
        const set = command.set;
        const { rows } = await client.query<{ entry_id: string }>(
          'SELECT entry_id FROM watchlist_entries WHERE disposition_id = $1 AND removed_at IS NULL',
          [set.dispositionId],
        );
        if (rows[0]) return { applied: true, entryId: rows[0].entry_id, detail: 'already active' };
        const entry = await insertWatchlistEntry(
          client,
          {
            watchlistId: set.watchlistId,
            dispositionId: set.dispositionId,
            idNumber: set.target === 'id_number' ? set.feature : null,
            faceTemplateId: set.target === 'face' ? set.feature : null,
            personId: null,
            faceThreshold: DEFAULT_FACE_THRESHOLD,
            priority: set.priority,
            validTo: set.validTo,
          },
          createdBy,
          set.deviceIds,
        );
        return {
          applied: true,
          entryId: entry.entryId,
          detail:
            set.deviceIds.length > 0
              ? `watchlist entry added, limited to ${set.deviceIds.length} device(s)`
              : 'watchlist entry added',
        };
      }
      const { rows } = await client.query<{ entry_id: string }>(
        `UPDATE watchlist_entries SET removed_at = now()
          WHERE disposition_id = $1 AND removed_at IS NULL RETURNING entry_id`,
        [command.withdrawnId],
      );
      return rows[0]
        ? { applied: true, entryId: rows[0].entry_id, detail: 'watchlist entry removed' }
        : { applied: false, detail: 'no active person disposition with this id' };
    },

    async removeWatchlistEntry(entryId: string): Promise<WatchlistEntryRecord> {
      const { rows } = await pool.query(
        'UPDATE watchlist_entries SET removed_at = coalesce(removed_at, now()) WHERE entry_id = $1 RETURNING *',
        [entryId],
      );
      const row = rows[0];
      if (!row)
        throw new NotFoundError(`watchlist entry ${entryId} not found`, {
          reason: 'WATCHLIST_ENTRY_NOT_FOUND',
        });
      return {
        entryId: row.entry_id,
        watchlistId: row.watchlist_id,
        dispositionId: row.disposition_id,
        idNumber: row.id_number_enc ? open(row.id_number_enc, row.entry_id) : null,
        faceTemplateId: row.face_template_id,
        personId: row.person_id,
        faceThreshold: row.face_threshold,
        priority: row.priority,
        validTo: row.valid_to,
        removedAt: row.removed_at,
      };
    },

    /**
     * Deletes visitors' personal data kept longer than needed: passes (and their credentials)
     * that ended before `before`, then visitors left without a pass. A visitor seen again
     * later keeps their row; one not seen since is forgotten, repeat recognition included.
     */
    async purgeVisits(before: Date): Promise<{ passes: number; visitors: number }> {
      return changeAccess(async (client) => {
        const { rows: passes } = await client.query<{ pass_id: string }>(
          `SELECT pass_id FROM visitor_passes WHERE greatest(valid_to, coalesce(checked_out_at, valid_to)) < $1
            LIMIT 10000 FOR UPDATE SKIP LOCKED`,
          [before],
        );
        const ids = passes.map((p) => p.pass_id);
        if (ids.length === 0) return { passes: 0, visitors: 0 };
        await client.query('DELETE FROM credentials WHERE pass_id = ANY($1::uuid[])', [ids]);
        const { rows: visitors } = await client.query<{ visitor_id: string }>(
          'DELETE FROM visitor_passes WHERE pass_id = ANY($1::uuid[]) RETURNING visitor_id',
          [ids],
        );
        const { rowCount } = await client.query(
          `DELETE FROM visitors v WHERE v.visitor_id = ANY($1::uuid[])
              AND NOT EXISTS (SELECT 1 FROM visitor_passes p WHERE p.visitor_id = v.visitor_id)`,
          [[...new Set(visitors.map((v) => v.visitor_id))]],
        );
        return { passes: ids.length, visitors: rowCount ?? 0 };
      });
    },

    /** One CSV row: the house (created or its use changed) and, if given, its person. */
    async importRow(compoundId: string, row: ImportRow): Promise<ImportOutcome> {
      return withTransaction(pool, async (client) => {
        const room = await roomInCompound(client, row.roomCode, compoundId);
        const house = await upsertHouseIn(client, room, row.houseUse);
        if (!row.person) return { house: house.change, person: 'none' };
        const { rows } = await client.query(
          'SELECT 1 FROM persons WHERE compound_id = $1 AND id_number_idx = $2 AND removed_at IS NULL',
          [compoundId, blindIndex(row.person.idNumber, ID_NUMBER_SCOPE)],
        );
        if (rows.length > 0) return { house: house.change, person: 'existing' };
        await insertPerson(client, {
          compoundId,
          name: row.person.name,
          idNumber: row.person.idNumber,
          phone: row.person.phone,
          kind: row.person.kind,
          roomCode: row.roomCode,
          permitValidFrom: row.person.permitValidFrom,
          permitValidTo: row.person.permitValidTo,
          enrolmentImageKey: undefined,
        });
        return { house: house.change, person: 'created' };
      });
    },
  };
}

export type RegistryStore = ReturnType<typeof createRegistryStore>;
