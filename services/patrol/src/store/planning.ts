/**
 * Planning data: checkpoints, guards, routes and schedules. Referential checks that span
 * compounds (a route's checkpoints, a schedule's guard) are made here, in the inserting
 * transaction, and refused as domain errors the gRPC edge passes on.
 */
import { uuidv7 } from '@anfang/platform/bus';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '@anfang/platform/grpc';
import { sqlState, withTransaction, type Pool } from '@anfang/platform/pg';
import type { ScheduleRule } from '../domain/schedule.ts';

export interface Checkpoint {
  readonly checkpointId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly zoneId: string;
  readonly deviceId: string | undefined;
  readonly tagId: string | undefined;
  readonly createdAt: Date;
}

export interface Guard {
  readonly guardId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly tagId: string | undefined;
  readonly userId: string | undefined;
  readonly createdAt: Date;
}

export interface RouteStopInput {
  readonly checkpointId: string;
  readonly minutesFromPrevious: number;
  readonly toleranceMinutes: number;
  readonly stayMinutes: number;
}

export interface Route {
  readonly routeId: string;
  readonly compoundId: string;
  readonly name: string;
  readonly stops: readonly RouteStopInput[];
  readonly createdAt: Date;
}

export interface Schedule extends ScheduleRule {
  readonly scheduleId: string;
  readonly compoundId: string;
  readonly routeId: string;
  readonly guardId: string;
  readonly shiftName: string;
  readonly createdAt: Date;
}

type Row = Record<string, unknown>;

const orUndefined = (value: unknown): string | undefined => (value === null ? undefined : (value as string));

const checkpointOf = (row: Row): Checkpoint => ({
  checkpointId: row.checkpoint_id as string,
  compoundId: row.compound_id as string,
  name: row.name as string,
  zoneId: row.zone_id as string,
  deviceId: orUndefined(row.device_id),
  tagId: orUndefined(row.tag_id),
  createdAt: row.created_at as Date,
});

const guardOf = (row: Row): Guard => ({
  guardId: row.guard_id as string,
  compoundId: row.compound_id as string,
  name: row.name as string,
  tagId: orUndefined(row.tag_id),
  userId: orUndefined(row.user_id),
  createdAt: row.created_at as Date,
});

const routeOf = (row: Row): Route => ({
  routeId: row.route_id as string,
  compoundId: row.compound_id as string,
  name: row.name as string,
  stops: row.stops as RouteStopInput[],
  createdAt: row.created_at as Date,
});

export const scheduleOf = (row: Row): Schedule => ({
  scheduleId: row.schedule_id as string,
  compoundId: row.compound_id as string,
  routeId: row.route_id as string,
  guardId: row.guard_id as string,
  shiftName: row.shift_name as string,
  weekdays: row.weekdays as number[],
  startMinute: row.start_minute as number,
  utcOffsetMinutes: row.utc_offset_minutes as number,
  validFrom: row.valid_from as string,
  validUntil: orUndefined(row.valid_until),
  createdAt: row.created_at as Date,
});

/** Columns of `schedules` with dates as text, so no time zone ever touches them. */
export const SCHEDULE_COLUMNS = `schedule_id, compound_id, route_id, guard_id, shift_name, weekdays, start_minute,
  utc_offset_minutes, valid_from::text AS valid_from, valid_until::text AS valid_until, created_at`;

function uniqueViolation(error: unknown, message: string): never {
  if (sqlState(error) === '23505') throw new AlreadyExistsError(message);
  throw error;
}

export interface PlanningStore {
  createCheckpoint(input: Omit<Checkpoint, 'checkpointId' | 'createdAt'>): Promise<Checkpoint>;
  listCheckpoints(compoundId: string): Promise<Checkpoint[]>;
  createGuard(input: Omit<Guard, 'guardId' | 'createdAt'>): Promise<Guard>;
  listGuards(compoundId: string): Promise<Guard[]>;
  createRoute(input: Omit<Route, 'routeId' | 'createdAt'>): Promise<Route>;
  getRoute(routeId: string): Promise<Route>;
  listRoutes(compoundId: string): Promise<Route[]>;
  /** The schedule takes its compound from the route. */
  createSchedule(input: Omit<Schedule, 'scheduleId' | 'createdAt' | 'compoundId'>): Promise<Schedule>;
  getSchedule(scheduleId: string): Promise<Schedule>;
  listSchedules(compoundId: string): Promise<Schedule[]>;
}

export function createPlanningStore(pool: Pool): PlanningStore {
  return {
    async createCheckpoint(input) {
      const { rows } = await pool
        .query(
          `INSERT INTO checkpoints (checkpoint_id, compound_id, name, zone_id, device_id, tag_id)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
          [uuidv7(), input.compoundId, input.name, input.zoneId, input.deviceId ?? null, input.tagId ?? null],
        )
        .catch((error: unknown) => uniqueViolation(error, 'another checkpoint has this reader or tag'));
      return checkpointOf(rows[0] as Row);
    },

    async listCheckpoints(compoundId) {
      const { rows } = await pool.query(
        'SELECT * FROM checkpoints WHERE compound_id = $1 ORDER BY name, checkpoint_id',
        [compoundId],
      );
      return rows.map(checkpointOf);
    },

    async createGuard(input) {
      const { rows } = await pool
        .query(
          `INSERT INTO guards (guard_id, compound_id, name, tag_id, user_id) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
          [uuidv7(), input.compoundId, input.name, input.tagId ?? null, input.userId ?? null],
        )
        .catch((error: unknown) =>
          uniqueViolation(error, 'another guard of the compound has this tag or user'),
        );
      return guardOf(rows[0] as Row);
    },

    async listGuards(compoundId) {
      const { rows } = await pool.query(
        'SELECT * FROM guards WHERE compound_id = $1 ORDER BY name, guard_id',
        [compoundId],
      );
      return rows.map(guardOf);
    },

    async createRoute(input) {
      return withTransaction(pool, async (tx) => {
        const ids = input.stops.map((stop) => stop.checkpointId);
        const { rows: found } = await tx.query(
          'SELECT checkpoint_id FROM checkpoints WHERE checkpoint_id = ANY($1::uuid[]) AND compound_id = $2',
          [ids, input.compoundId],
        );
        const known = new Set(found.map((row: Row) => row.checkpoint_id as string));
        const unknown = ids.filter((id) => !known.has(id));
        if (unknown.length > 0)
          throw new FailedPreconditionError(
            `checkpoints not found in compound ${input.compoundId}: ${unknown.join(', ')}`,
          );
        const { rows } = await tx.query(
          'INSERT INTO routes (route_id, compound_id, name, stops) VALUES ($1, $2, $3, $4) RETURNING *',
          [uuidv7(), input.compoundId, input.name, JSON.stringify(input.stops)],
        );
        return routeOf(rows[0] as Row);
      });
    },

    async getRoute(routeId) {
      const { rows } = await pool.query('SELECT * FROM routes WHERE route_id = $1', [routeId]);
      if (rows.length === 0) throw new NotFoundError(`route ${routeId} not found`);
      return routeOf(rows[0] as Row);
    },

    async listRoutes(compoundId) {
      const { rows } = await pool.query(
        'SELECT * FROM routes WHERE compound_id = $1 ORDER BY name, route_id',
        [compoundId],
      );
      return rows.map(routeOf);
    },

    async createSchedule(input) {
      return withTransaction(pool, async (tx) => {
        const { rows: routes } = await tx.query('SELECT compound_id FROM routes WHERE route_id = $1', [
          input.routeId,
        ]);
        if (routes.length === 0) throw new FailedPreconditionError(`route ${input.routeId} not found`);
        const compoundId = (routes[0] as Row).compound_id as string;
        const { rows: guards } = await tx.query(
          'SELECT 1 FROM guards WHERE guard_id = $1 AND compound_id = $2',
          [input.guardId, compoundId],
        );
        if (guards.length === 0)
          throw new FailedPreconditionError(`guard ${input.guardId} not found in compound ${compoundId}`);
        const { rows } = await tx.query(
          `INSERT INTO schedules (schedule_id, compound_id, route_id, guard_id, shift_name, weekdays, start_minute,
             utc_offset_minutes, valid_from, valid_until)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${SCHEDULE_COLUMNS}`,
          [
            uuidv7(),
            compoundId,
            input.routeId,
            input.guardId,
            input.shiftName,
            input.weekdays,
            input.startMinute,
            input.utcOffsetMinutes,
            input.validFrom,
            input.validUntil ?? null,
          ],
        );
        return scheduleOf(rows[0] as Row);
      });
    },

    async getSchedule(scheduleId) {
      const { rows } = await pool.query(`SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE schedule_id = $1`, [
        scheduleId,
      ]);
      if (rows.length === 0) throw new NotFoundError(`schedule ${scheduleId} not found`);
      return scheduleOf(rows[0] as Row);
    },

    async listSchedules(compoundId) {
      const { rows } = await pool.query(
        `SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE compound_id = $1 ORDER BY created_at, schedule_id`,
        [compoundId],
      );
      return rows.map(scheduleOf);
    },
  };
}
