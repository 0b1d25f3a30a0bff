/**
 * The facts a barrier decision needs, in one query for a batch of reads beside the start of the
 * batch's transaction: the lane (with its compound's policy), the watchlist entry — the hit is published
 * before anything is written — the registration, the visitor authorisation and presence. Inside
 * the transaction, presence is read again under its row lock only when the decision depends on it
 * (`presenceDecides`), so entries without anti-passback — most reads — take no extra round trip.
 * Every read of every barrier comes through here.
 */
import type { ClientBase, Pool } from '@anfang/platform/pg';
import {
  DEFAULT_POLICY,
  type CompoundPolicy,
  type Direction,
  type UnknownVehicleAction,
  type WatchlistAction,
} from '../domain/decision.ts';
import type { LaneRecord, WatchlistRecord } from './registry.ts';

export interface LaneContext {
  readonly lane: LaneRecord | null;
  readonly policy: CompoundPolicy;
  readonly watchlistEntry: WatchlistRecord | null;
  /** Of the plate in the lane's compound and car park (none without a lane or a plate). */
  readonly facts: PlateFacts;
}

export interface PlateFacts {
  readonly vehicle: {
    readonly vehicleId: string;
    readonly ownerPersonId: string;
    readonly validFrom: Date | null;
    readonly validUntil: Date | null;
  } | null;
  readonly visitor: { readonly authorisationId: string; readonly start: Date; readonly end: Date } | null;
  readonly inside: boolean;
}

interface LaneJson {
  device_id: string;
  car_park_id: string;
  compound_id: string;
  direction: 'in' | 'out' | 'both';
  name: string;
  unknown_vehicle: UnknownVehicleAction | null;
  anti_passback: boolean | null;
  min_confidence: number | null;
}

interface EntryJson {
  entry_id: string;
  plate_number: string;
  plate_color: number;
  reason: string;
  priority: number;
  valid_from: string | null;
  valid_until: string | null;
  action: number;
  disposition_id: string | null;
  device_ids: string[];
  created_by: string;
  updated_at: string;
}

const dateOrNull = (value: string | null): Date | null => (value ? new Date(value) : null);

interface VehicleJson {
  vehicle_id: string;
  owner_person_id: string | null;
  valid_from: string | null;
  valid_until: string | null;
}

interface VisitorJson {
  authorisation_id: string;
  window_start: string;
  window_end: string;
}

export const NO_PLATE_FACTS: PlateFacts = { vehicle: null, visitor: null, inside: false };

export interface LaneQuery {
  readonly deviceId: string;
  /** '' without a readable plate. */
  readonly plateKey: string;
  readonly at: Date;
}

/** The facts of several reads in one query (a partition's batch), in the order asked. */
export async function laneContexts(pool: Pool, queries: readonly LaneQuery[]): Promise<LaneContext[]> {
  if (queries.length === 0) return [];
  const { rows } = await pool.query<{
    lane: LaneJson | null;
    entry: EntryJson | null;
    vehicle: VehicleJson | null;
    visitor: VisitorJson | null;
    inside: boolean;
  }>(
    `SELECT
       CASE WHEN lane.device_id IS NULL THEN NULL ELSE row_to_json(lane) END AS lane,
       (SELECT row_to_json(w) FROM watchlist_entries w
        WHERE x.plate_key <> '' AND w.plate_key = x.plate_key AND (w.valid_from IS NULL OR w.valid_from <= x.at)
          AND (w.valid_until IS NULL OR x.at < w.valid_until)
          AND (cardinality(w.device_ids) = 0 OR x.device_id = ANY (w.device_ids))
        ORDER BY w.priority DESC, w.updated_at DESC LIMIT 1) AS entry,
       (SELECT json_build_object('vehicle_id', v.vehicle_id, 'owner_person_id', v.owner_person_id,
           'valid_from', v.valid_from, 'valid_until', v.valid_until)
        FROM vehicles v WHERE v.compound_id = lane.compound_id AND v.plate_key = x.plate_key AND x.plate_key <> '')
        AS vehicle,
       (SELECT json_build_object('authorisation_id', a.authorisation_id, 'window_start', a.window_start,
           'window_end', a.window_end)
        FROM visitor_authorisations a
        WHERE a.compound_id = lane.compound_id AND a.plate_key = x.plate_key AND x.plate_key <> ''
          AND a.revoked_at IS NULL
        ORDER BY (a.window_start <= x.at AND x.at < a.window_end) DESC, a.window_end DESC LIMIT 1) AS visitor,
       EXISTS (SELECT 1 FROM presence r
               WHERE r.car_park_id = lane.car_park_id AND r.plate_key = x.plate_key AND x.plate_key <> '') AS inside
     FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS x(device_id, plate_key, at, n)
     LEFT JOIN LATERAL (
       SELECT l.device_id, l.car_park_id, c.compound_id, l.direction, l.name, p.unknown_vehicle, p.anti_passback,
              p.min_confidence
       FROM lanes l JOIN car_parks c USING (car_park_id) LEFT JOIN compound_policies p ON p.compound_id = c.compound_id
       WHERE l.device_id = x.device_id) lane ON true
     ORDER BY x.n`,
    [queries.map((q) => q.deviceId), queries.map((q) => q.plateKey), queries.map((q) => q.at)],
  );
  return rows.map(contextOf);
}

function contextOf({
  lane,
  entry,
  vehicle,
  visitor,
  inside,
}: {
  lane: LaneJson | null;
  entry: EntryJson | null;
  vehicle: VehicleJson | null;
  visitor: VisitorJson | null;
  inside: boolean;
}): LaneContext {
  return {
    lane: lane
      ? {
          deviceId: lane.device_id,
          carParkId: lane.car_park_id,
          compoundId: lane.compound_id,
          direction: lane.direction,
          name: lane.name,
        }
      : null,
    policy:
      lane?.unknown_vehicle && lane.anti_passback !== null && lane.min_confidence !== null
        ? {
            unknownVehicle: lane.unknown_vehicle,
            antiPassback: lane.anti_passback,
            minConfidence: lane.min_confidence,
          }
        : DEFAULT_POLICY,
    watchlistEntry: entry
      ? {
          entryId: entry.entry_id,
          plateNumber: entry.plate_number,
          plateColor: entry.plate_color,
          reason: entry.reason,
          priority: entry.priority,
          validFrom: dateOrNull(entry.valid_from),
          validUntil: dateOrNull(entry.valid_until),
          action: (entry.action === 2 ? 'alarm-silently' : 'alarm-and-hold') satisfies WatchlistAction,
          dispositionId: entry.disposition_id,
          deviceIds: entry.device_ids,
          createdBy: entry.created_by,
          updatedAt: new Date(entry.updated_at),
        }
      : null,
    facts: {
      vehicle: vehicle
        ? {
            vehicleId: vehicle.vehicle_id,
            ownerPersonId: vehicle.owner_person_id ?? '',
            validFrom: dateOrNull(vehicle.valid_from),
            validUntil: dateOrNull(vehicle.valid_until),
          }
        : null,
      visitor: visitor
        ? {
            authorisationId: visitor.authorisation_id,
            start: new Date(visitor.window_start),
            end: new Date(visitor.window_end),
          }
        : null,
      inside,
    },
  };
}

/**
 * Presence decides when the compound enforces anti-passback or the vehicle is leaving (whoever
 * was let in is let out); an entry without anti-passback opens or holds whatever presence says.
 */
export function presenceDecides(policy: CompoundPolicy, direction: Direction): boolean {
  return policy.antiPassback || direction === 'out';
}

/**
 * Whether the plate is inside the car park, under the presence row's lock: concurrent reads of
 * the same plate in the same car park whose decision depends on it decide one after the other.
 */
export async function lockedInside(tx: ClientBase, carParkId: string, plateKey: string): Promise<boolean> {
  const { rows } = await tx.query(
    'SELECT 1 FROM presence WHERE car_park_id = $1 AND plate_key = $2 FOR UPDATE',
    [carParkId, plateKey],
  );
  return rows.length > 0;
}
