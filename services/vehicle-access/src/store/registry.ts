/**
 * The registry tables: registered vehicles, visitor authorisations, watchlist entries, compound
 * policies, car parks and lanes. Plates arrive here already normalised (the edges refuse invalid
 * ones); lookups go by the confusion-tolerant key.
 */
import { randomUUID } from 'node:crypto';
import { anfang, topics } from '@anfang/contracts';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '@anfang/platform/grpc';
import type { FieldCipher } from '@anfang/platform/crypto';
import { outboxEventPublisher, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import {
  DEFAULT_POLICY,
  type CompoundPolicy,
  type UnknownVehicleAction,
  type WatchlistAction,
} from '../domain/decision.ts';
import type { NormalisedPlate } from '../domain/plate.ts';
import { vehicleToProto } from '../domain/vehicle-proto.ts';
import type { RawVehicleFields, VehicleFields } from '../domain/vehicle-input.ts';

type Queryable = Pool | ClientBase;

const { VehicleChange } = anfang.vehicle.v1;
type VehicleChangeKind = anfang.vehicle.v1.VehicleChange;

/** A registration as stored: the attributes with the canonical plate, and its bookkeeping. */
export interface VehicleRecord extends RawVehicleFields {
  readonly vehicleId: string;
  readonly plateConfusable: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface VehicleRow {
  vehicle_id: string;
  compound_id: string;
  plate_number: string;
  plate_confusable: boolean;
  plate_color: number;
  vehicle_type: number;
  vehicle_color: number;
  owner_person_id: string;
  parking_space: string;
  valid_from: Date | null;
  valid_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

const vehicleFromRow = (row: VehicleRow): VehicleRecord => ({
  vehicleId: row.vehicle_id,
  compoundId: row.compound_id,
  plateNumber: row.plate_number,
  plateConfusable: row.plate_confusable,
  plateColor: row.plate_color,
  vehicleType: row.vehicle_type,
  vehicleColor: row.vehicle_color,
  ownerPersonId: row.owner_person_id,
  parkingSpace: row.parking_space,
  validFrom: row.valid_from,
  validUntil: row.valid_until,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const vehicleParams = (v: VehicleFields) => [
  v.compoundId,
  v.plate.plate,
  v.plate.key,
  v.plate.confusions.length > 0,
  v.plateColor,
  v.vehicleType,
  v.vehicleColor,
  v.ownerPersonId,
  v.parkingSpace,
  v.validFrom,
  v.validUntil,
];

const sameVehicle = (a: VehicleRecord, b: VehicleFields): boolean =>
  a.plateNumber === b.plate.plate &&
  a.plateColor === b.plateColor &&
  a.vehicleType === b.vehicleType &&
  a.vehicleColor === b.vehicleColor &&
  a.ownerPersonId === b.ownerPersonId &&
  a.parkingSpace === b.parkingSpace &&
  a.validFrom?.getTime() === b.validFrom?.getTime() &&
  a.validUntil?.getTime() === b.validUntil?.getTime();

function uniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

export type ImportOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Every change of a registration is published (RegisteredVehicleChanged) through the outbox in
 * its transaction: police-upload's CarInfos are built from them.
 */
export function createVehicleStore(pool: Pool, producer: string) {
  async function find(
    compoundId: string,
    plateKey: string,
    db: Queryable = pool,
  ): Promise<VehicleRecord | null> {
    const { rows } = await db.query<VehicleRow>(
      'SELECT * FROM vehicles WHERE compound_id = $1 AND plate_key = $2',
      [compoundId, plateKey],
    );
    return rows[0] ? vehicleFromRow(rows[0]) : null;
  }

  const publish = (client: ClientBase, change: VehicleChangeKind, vehicle: VehicleRecord) =>
    outboxEventPublisher(client, producer).publish(
      topics.vehicleRegistry,
      { change, vehicle: vehicleToProto(vehicle) },
      { compoundId: vehicle.compoundId },
    );

  async function insert(client: ClientBase, input: VehicleFields): Promise<VehicleRecord | null> {
    const { rows } = await client.query<VehicleRow>(
      `INSERT INTO vehicles (vehicle_id, compound_id, plate_number, plate_key, plate_confusable, plate_color,
         vehicle_type, vehicle_color, owner_person_id, parking_space, valid_from, valid_until)
       VALUES ($12, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (compound_id, plate_key) DO NOTHING RETURNING *`,
      [...vehicleParams(input), randomUUID()],
    );
    if (!rows[0]) return null;
    const created = vehicleFromRow(rows[0]);
    await publish(client, VehicleChange.VEHICLE_CHANGE_ADDED, created);
    return created;
  }

  async function update(client: ClientBase, vehicleId: string, input: VehicleFields): Promise<VehicleRecord> {
    const { rows: found } = await client.query<VehicleRow>(
      'SELECT * FROM vehicles WHERE vehicle_id = $1 FOR UPDATE',
      [vehicleId],
    );
    if (!found[0]) throw new NotFoundError(`vehicle ${vehicleId} not found`, { reason: 'VEHICLE_NOT_FOUND' });
    if (found[0].compound_id !== input.compoundId)
      throw new FailedPreconditionError(
        'a vehicle cannot move to another compound: delete and register it there',
        {
          reason: 'COMPOUND_CHANGE',
        },
      );
    try {
      const { rows } = await client.query<VehicleRow>(
        `UPDATE vehicles SET plate_number = $2, plate_key = $3, plate_confusable = $4, plate_color = $5,
           vehicle_type = $6, vehicle_color = $7, owner_person_id = $8, parking_space = $9, valid_from = $10,
           valid_until = $11, updated_at = now()
         WHERE vehicle_id = $12 AND compound_id = $1 RETURNING *`,
        [...vehicleParams(input), vehicleId],
      );
      const updated = vehicleFromRow(rows[0]!);
      await publish(client, VehicleChange.VEHICLE_CHANGE_UPDATED, updated);
      return updated;
    } catch (error) {
      if (uniqueViolation(error))
        throw new AlreadyExistsError(`${input.plate.plate} is already registered in ${input.compoundId}`, {
          reason: 'VEHICLE_EXISTS',
        });
      throw error;
    }
  }

  return {
    find,

    async create(input: VehicleFields): Promise<VehicleRecord> {
      const created = await withTransaction(pool, (client) => insert(client, input));
      if (!created)
        throw new AlreadyExistsError(`${input.plate.plate} is already registered in ${input.compoundId}`, {
          reason: 'VEHICLE_EXISTS',
        });
      return created;
    },

    update: (vehicleId: string, input: VehicleFields): Promise<VehicleRecord> =>
      withTransaction(pool, (client) => update(client, vehicleId, input)),

    /**
     * Import: match by compound and plate key; create, change or leave alone. An unchanged row
     * (a repeated file) costs one read and no transaction.
     */
    async importRow(input: VehicleFields): Promise<ImportOutcome> {
      const known = await find(input.compoundId, input.plate.key);
      if (known && sameVehicle(known, input)) return 'unchanged';
      return withTransaction(pool, async (client) => {
        if (!known && (await insert(client, input))) return 'created';
        const existing = await find(input.compoundId, input.plate.key, client);
        if (!existing) throw new Error('vehicle vanished during import');
        if (sameVehicle(existing, input)) return 'unchanged';
        await update(client, existing.vehicleId, input);
        return 'updated';
      });
    },

    async get(vehicleId: string): Promise<VehicleRecord | null> {
      const { rows } = await pool.query<VehicleRow>('SELECT * FROM vehicles WHERE vehicle_id = $1', [
        vehicleId,
      ]);
      return rows[0] ? vehicleFromRow(rows[0]) : null;
    },

    async remove(vehicleId: string): Promise<void> {
      await withTransaction(pool, async (client) => {
        const { rows } = await client.query<VehicleRow>(
          'DELETE FROM vehicles WHERE vehicle_id = $1 RETURNING *',
          [vehicleId],
        );
        if (rows[0]) await publish(client, VehicleChange.VEHICLE_CHANGE_REMOVED, vehicleFromRow(rows[0]));
      });
    },

    /** Keyset page by plate key. */
    async list(
      compoundId: string,
      options: { plateKey?: string; after?: string; limit: number },
    ): Promise<VehicleRecord[]> {
      const { rows } = await pool.query<VehicleRow>(
        `SELECT * FROM vehicles WHERE compound_id = $1
           AND ($2::text IS NULL OR plate_key = $2) AND ($3::text IS NULL OR plate_key > $3)
         ORDER BY plate_key LIMIT $4`,
        [compoundId, options.plateKey ?? null, options.after ?? null, options.limit],
      );
      return rows.map(vehicleFromRow);
    },
  };
}

export type VehicleStore = ReturnType<typeof createVehicleStore>;

// ---- visitor authorisations ------------------------------------------------------------------

export interface VisitorInput {
  readonly compoundId: string;
  readonly plate: NormalisedPlate;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly authorisedBy: string;
  readonly authorisedByRole: string;
  readonly hostPersonId: string;
  readonly visitorPhone: string;
  readonly note: string;
}

export interface VisitorRecord {
  readonly authorisationId: string;
  readonly compoundId: string;
  readonly plateNumber: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly authorisedBy: string;
  readonly authorisedByRole: string;
  readonly hostPersonId: string;
  /** Decrypted; the edge masks it. */
  readonly visitorPhone: string;
  readonly note: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

interface VisitorRow {
  authorisation_id: string;
  compound_id: string;
  plate_number: string;
  window_start: Date;
  window_end: Date;
  authorised_by: string;
  authorised_by_role: string;
  host_person_id: string;
  visitor_phone_enc: string | null;
  note: string;
  created_at: Date;
  revoked_at: Date | null;
}

const phoneAad = (authorisationId: string) => `visitor_authorisation:${authorisationId}:visitor_phone`;

export function createVisitorStore(pool: Pool, cipher: FieldCipher) {
  const fromRow = (row: VisitorRow): VisitorRecord => ({
    authorisationId: row.authorisation_id,
    compoundId: row.compound_id,
    plateNumber: row.plate_number,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    authorisedBy: row.authorised_by,
    authorisedByRole: row.authorised_by_role,
    hostPersonId: row.host_person_id,
    visitorPhone: row.visitor_phone_enc
      ? cipher.decryptString(row.visitor_phone_enc, phoneAad(row.authorisation_id))
      : '',
    note: row.note,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  });

  return {
    async create(input: VisitorInput): Promise<VisitorRecord> {
      const id = randomUUID();
      const { rows } = await pool.query<VisitorRow>(
        `INSERT INTO visitor_authorisations (authorisation_id, compound_id, plate_number, plate_key, window_start,
           window_end, authorised_by, authorised_by_role, host_person_id, visitor_phone_enc, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [
          id,
          input.compoundId,
          input.plate.plate,
          input.plate.key,
          input.windowStart,
          input.windowEnd,
          input.authorisedBy,
          input.authorisedByRole,
          input.hostPersonId,
          input.visitorPhone ? cipher.encrypt(input.visitorPhone, phoneAad(id)) : null,
          input.note,
        ],
      );
      return fromRow(rows[0]!);
    },

    async get(authorisationId: string): Promise<VisitorRecord | null> {
      const { rows } = await pool.query<VisitorRow>(
        'SELECT * FROM visitor_authorisations WHERE authorisation_id = $1',
        [authorisationId],
      );
      return rows[0] ? fromRow(rows[0]) : null;
    },

    async revoke(authorisationId: string): Promise<VisitorRecord | null> {
      const { rows } = await pool.query<VisitorRow>(
        `UPDATE visitor_authorisations SET revoked_at = coalesce(revoked_at, now())
         WHERE authorisation_id = $1 RETURNING *`,
        [authorisationId],
      );
      return rows[0] ? fromRow(rows[0]) : null;
    },

    async list(
      compoundId: string,
      options: {
        activeAt?: Date;
        authorisedBy?: string;
        before?: { createdAt: Date; id: string };
        limit: number;
      },
    ): Promise<VisitorRecord[]> {
      const { rows } = await pool.query<VisitorRow>(
        `SELECT * FROM visitor_authorisations WHERE compound_id = $1
           AND ($2::timestamptz IS NULL OR (revoked_at IS NULL AND window_start <= $2 AND $2 < window_end))
           AND ($3::timestamptz IS NULL OR (created_at, authorisation_id) < ($3, $4::uuid))
           AND ($6::text IS NULL OR authorised_by = $6)
         ORDER BY created_at DESC, authorisation_id DESC LIMIT $5`,
        [
          compoundId,
          options.activeAt ?? null,
          options.before?.createdAt ?? null,
          options.before?.id ?? null,
          options.limit,
          options.authorisedBy ?? null,
        ],
      );
      return rows.map(fromRow);
    },
  };
}

export type VisitorStore = ReturnType<typeof createVisitorStore>;

// ---- watchlist -------------------------------------------------------------------------------

export interface WatchlistInput {
  readonly plate: NormalisedPlate;
  readonly plateColor: number;
  readonly reason: string;
  readonly priority: number;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
  readonly action: WatchlistAction;
  readonly deviceIds: readonly string[];
  readonly createdBy: string;
}

export interface WatchlistRecord {
  readonly entryId: string;
  readonly plateNumber: string;
  readonly plateColor: number;
  readonly reason: string;
  readonly priority: number;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
  readonly action: WatchlistAction;
  readonly dispositionId: string | null;
  readonly deviceIds: readonly string[];
  readonly createdBy: string;
  readonly updatedAt: Date;
}

interface WatchlistRow {
  entry_id: string;
  plate_number: string;
  plate_color: number;
  reason: string;
  priority: number;
  valid_from: Date | null;
  valid_until: Date | null;
  action: number;
  disposition_id: string | null;
  device_ids: string[];
  created_by: string;
  updated_at: Date;
}

// Stored as small numbers so the hot-path query returns the entry without joins or text parsing.
const ACTION_CODE: Readonly<Record<WatchlistAction, number>> = { 'alarm-and-hold': 1, 'alarm-silently': 2 };

const watchlistFromRow = (row: WatchlistRow): WatchlistRecord => ({
  entryId: row.entry_id,
  plateNumber: row.plate_number,
  plateColor: row.plate_color,
  reason: row.reason,
  priority: row.priority,
  validFrom: row.valid_from,
  validUntil: row.valid_until,
  action: row.action === ACTION_CODE['alarm-silently'] ? 'alarm-silently' : 'alarm-and-hold',
  dispositionId: row.disposition_id,
  deviceIds: row.device_ids,
  createdBy: row.created_by,
  updatedAt: row.updated_at,
});

const watchlistParams = (input: WatchlistInput) => [
  input.plate.plate,
  input.plate.key,
  input.plateColor,
  input.reason,
  input.priority,
  input.validFrom,
  input.validUntil,
  ACTION_CODE[input.action],
  input.deviceIds,
  input.createdBy,
];

export function createWatchlistStore(pool: Pool) {
  return {
    /** Creates (no entry id) or replaces an entry. */
    async set(entryId: string | null, input: WatchlistInput): Promise<WatchlistRecord> {
      const { rows } = await pool.query<WatchlistRow>(
        `INSERT INTO watchlist_entries (entry_id, plate_number, plate_key, plate_color, reason, priority, valid_from,
           valid_until, action, device_ids, created_by)
         VALUES ($11, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (entry_id) DO UPDATE SET plate_number = $1, plate_key = $2, plate_color = $3, reason = $4,
           priority = $5, valid_from = $6, valid_until = $7, action = $8, device_ids = $9, updated_at = date_trunc('milliseconds', now())
         RETURNING *`,
        [...watchlistParams(input), entryId ?? randomUUID()],
      );
      return watchlistFromRow(rows[0]!);
    },

    /** A police disposition: one entry per disposition id, replaced when it is set again. */
    async setFromDisposition(
      db: Queryable,
      dispositionId: string,
      input: WatchlistInput,
    ): Promise<WatchlistRecord> {
      const { rows } = await db.query<WatchlistRow>(
        `INSERT INTO watchlist_entries (entry_id, plate_number, plate_key, plate_color, reason, priority, valid_from,
           valid_until, action, device_ids, created_by, disposition_id)
         VALUES ($11, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12)
         ON CONFLICT (disposition_id) DO UPDATE SET plate_number = $1, plate_key = $2, plate_color = $3, reason = $4,
           priority = $5, valid_from = $6, valid_until = $7, action = $8, device_ids = $9, updated_at = date_trunc('milliseconds', now())
         RETURNING *`,
        [...watchlistParams(input), randomUUID(), dispositionId],
      );
      return watchlistFromRow(rows[0]!);
    },

    async removeByDisposition(db: Queryable, dispositionId: string): Promise<string | null> {
      const { rows } = await db.query<{ entry_id: string }>(
        'DELETE FROM watchlist_entries WHERE disposition_id = $1 RETURNING entry_id',
        [dispositionId],
      );
      return rows[0]?.entry_id ?? null;
    },

    async get(entryId: string): Promise<WatchlistRecord | null> {
      const { rows } = await pool.query<WatchlistRow>('SELECT * FROM watchlist_entries WHERE entry_id = $1', [
        entryId,
      ]);
      return rows[0] ? watchlistFromRow(rows[0]) : null;
    },

    async remove(entryId: string): Promise<void> {
      await pool.query('DELETE FROM watchlist_entries WHERE entry_id = $1', [entryId]);
    },

    async list(options: { plateKey?: string; before?: { updatedAt: Date; id: string }; limit: number }) {
      const { rows } = await pool.query<WatchlistRow>(
        `SELECT * FROM watchlist_entries WHERE ($1::text IS NULL OR plate_key = $1)
           AND ($2::timestamptz IS NULL OR (updated_at, entry_id) < ($2, $3::uuid))
         ORDER BY updated_at DESC, entry_id DESC LIMIT $4`,
        [
          options.plateKey ?? null,
          options.before?.updatedAt ?? null,
          options.before?.id ?? null,
          options.limit,
        ],
      );
      return rows.map(watchlistFromRow);
    },
  };
}

export type WatchlistStore = ReturnType<typeof createWatchlistStore>;

// ---- compound policies, car parks, lanes -----------------------------------------------------

export interface CarParkRecord {
  readonly carParkId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly capacity: number;
  readonly maxStayMinutes: number;
}

export interface LaneRecord {
  readonly deviceId: string;
  readonly carParkId: string;
  readonly compoundId: string;
  readonly direction: 'in' | 'out' | 'both';
  readonly name: string;
}

interface LaneRow {
  device_id: string;
  car_park_id: string;
  compound_id: string;
  direction: 'in' | 'out' | 'both';
  name: string;
}

const laneFromRow = (row: LaneRow): LaneRecord => ({
  deviceId: row.device_id,
  carParkId: row.car_park_id,
  compoundId: row.compound_id,
  direction: row.direction,
  name: row.name,
});

interface CarParkRow {
  car_park_id: string;
  compound_id: string;
  name: string;
  capacity: number;
  max_stay_minutes: number;
}

const carParkFromRow = (row: CarParkRow): CarParkRecord => ({
  carParkId: row.car_park_id,
  compoundId: row.compound_id,
  name: row.name,
  capacity: row.capacity,
  maxStayMinutes: row.max_stay_minutes,
});

export function createSiteStore(pool: Pool) {
  return {
    async policy(compoundId: string, db: Queryable = pool): Promise<CompoundPolicy> {
      const { rows } = await db.query<{
        unknown_vehicle: UnknownVehicleAction;
        anti_passback: boolean;
        min_confidence: number;
      }>(
        'SELECT unknown_vehicle, anti_passback, min_confidence FROM compound_policies WHERE compound_id = $1',
        [compoundId],
      );
      const row = rows[0];
      if (!row) return DEFAULT_POLICY;
      return {
        unknownVehicle: row.unknown_vehicle,
        antiPassback: row.anti_passback,
        minConfidence: row.min_confidence,
      };
    },

    async setPolicy(compoundId: string, policy: CompoundPolicy): Promise<CompoundPolicy> {
      await pool.query(
        `INSERT INTO compound_policies (compound_id, unknown_vehicle, anti_passback, min_confidence)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (compound_id) DO UPDATE SET unknown_vehicle = $2, anti_passback = $3, min_confidence = $4,
           updated_at = now()`,
        [compoundId, policy.unknownVehicle, policy.antiPassback, policy.minConfidence],
      );
      return this.policy(compoundId);
    },

    async setCarPark(carPark: CarParkRecord): Promise<CarParkRecord> {
      const { rows } = await pool.query<CarParkRow>(
        `INSERT INTO car_parks (car_park_id, compound_id, name, capacity, max_stay_minutes) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (car_park_id) DO UPDATE SET name = $3, capacity = $4, max_stay_minutes = $5
           WHERE car_parks.compound_id = $2
         RETURNING *`,
        [carPark.carParkId, carPark.compoundId, carPark.name, carPark.capacity, carPark.maxStayMinutes],
      );
      if (!rows[0])
        throw new FailedPreconditionError(`car park ${carPark.carParkId} belongs to another compound`, {
          reason: 'CAR_PARK_COMPOUND',
        });
      return carParkFromRow(rows[0]);
    },

    async carPark(carParkId: string): Promise<CarParkRecord | null> {
      const { rows } = await pool.query<CarParkRow>('SELECT * FROM car_parks WHERE car_park_id = $1', [
        carParkId,
      ]);
      return rows[0] ? carParkFromRow(rows[0]) : null;
    },

    async carParks(compoundId: string): Promise<CarParkRecord[]> {
      const { rows } = await pool.query<CarParkRow>(
        'SELECT * FROM car_parks WHERE compound_id = $1 ORDER BY car_park_id',
        [compoundId],
      );
      return rows.map(carParkFromRow);
    },

    async setLane(lane: Omit<LaneRecord, 'compoundId'>): Promise<LaneRecord> {
      await pool.query(
        `INSERT INTO lanes (device_id, car_park_id, direction, name) VALUES ($1, $2, $3, $4)
         ON CONFLICT (device_id) DO UPDATE SET car_park_id = $2, direction = $3, name = $4`,
        [lane.deviceId, lane.carParkId, lane.direction, lane.name],
      );
      const found = await this.lane(lane.deviceId);
      if (!found) throw new Error('lane vanished after upsert');
      return found;
    },

    async lane(deviceId: string, db: Queryable = pool): Promise<LaneRecord | null> {
      const { rows } = await db.query<LaneRow>(
        `SELECT l.device_id, l.car_park_id, c.compound_id, l.direction, l.name
         FROM lanes l JOIN car_parks c USING (car_park_id) WHERE l.device_id = $1`,
        [deviceId],
      );
      return rows[0] ? laneFromRow(rows[0]) : null;
    },

    async lanes(compoundId: string): Promise<LaneRecord[]> {
      const { rows } = await pool.query<LaneRow>(
        `SELECT l.device_id, l.car_park_id, c.compound_id, l.direction, l.name
         FROM lanes l JOIN car_parks c USING (car_park_id) WHERE c.compound_id = $1 ORDER BY l.device_id`,
        [compoundId],
      );
      return rows.map(laneFromRow);
    },
  };
}

export type SiteStore = ReturnType<typeof createSiteStore>;
