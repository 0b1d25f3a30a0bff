/**
 * The facts a barrier decision needs, in as few round trips as the decision's order allows: the
 * lane (with its compound's policy) and the watchlist entry in one query before the transaction —
 * the hit is published before anything is written — and the registration, visitor authorisation
 * and presence in one query inside it. Every read of every barrier comes through here.
 */
import type { ClientBase, Pool } from '@anfang/platform/pg';
import {
  DEFAULT_POLICY,
  type CompoundPolicy,
  type UnknownVehicleAction,
  type WatchlistAction,
} from '../domain/decision.ts';
import type { LaneRecord, WatchlistRecord } from './registry.ts';

export interface LaneContext {
  readonly lane: LaneRecord | null;
  readonly policy: CompoundPolicy;
  readonly watchlistEntry: WatchlistRecord | null;
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

export async function laneContext(
  pool: Pool,
  deviceId: string,
  plateKey: string,
  at: Date,
): Promise<LaneContext> {
  const { rows } = await pool.query<{ lane: LaneJson | null; entry: EntryJson | null }>(
    `SELECT
       (SELECT json_build_object('device_id', l.device_id, 'car_park_id', l.car_park_id, 'compound_id', c.compound_id,
           'direction', l.direction, 'name', l.name, 'unknown_vehicle', p.unknown_vehicle,
           'anti_passback', p.anti_passback, 'min_confidence', p.min_confidence)
        FROM lanes l JOIN car_parks c USING (car_park_id) LEFT JOIN compound_policies p ON p.compound_id = c.compound_id
        WHERE l.device_id = $1) AS lane,
       (SELECT row_to_json(w) FROM watchlist_entries w
        WHERE $2 <> '' AND w.plate_key = $2 AND (w.valid_from IS NULL OR w.valid_from <= $3)
          AND (w.valid_until IS NULL OR $3 < w.valid_until)
          AND (cardinality(w.device_ids) = 0 OR $1 = ANY (w.device_ids))
        ORDER BY w.priority DESC, w.updated_at DESC LIMIT 1) AS entry`,
    [deviceId, plateKey, at],
  );
  const { lane, entry } = rows[0]!;
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
  };
}

/**
 * The plate's registration, its best visitor authorisation (valid now, else the latest one) and
 * whether it is inside the car park — the presence row is locked, so concurrent reads of the
 * same plate in the same car park decide one after the other.
 */
export async function plateFacts(
  tx: ClientBase,
  compoundId: string,
  carParkId: string,
  plateKey: string,
  at: Date,
): Promise<PlateFacts> {
  const { rows } = await tx.query<{
    vehicle_id: string | null;
    owner_person_id: string | null;
    valid_from: Date | null;
    valid_until: Date | null;
    authorisation_id: string | null;
    window_start: Date | null;
    window_end: Date | null;
    inside: boolean;
  }>(
    `WITH here AS (SELECT 1 AS one FROM presence WHERE car_park_id = $3 AND plate_key = $2 FOR UPDATE)
     SELECT v.vehicle_id, v.owner_person_id, v.valid_from, v.valid_until,
            a.authorisation_id, a.window_start, a.window_end, EXISTS (SELECT 1 FROM here) AS inside
     FROM (SELECT 1) AS one
     LEFT JOIN vehicles v ON v.compound_id = $1 AND v.plate_key = $2
     LEFT JOIN LATERAL (
       SELECT authorisation_id, window_start, window_end FROM visitor_authorisations
       WHERE compound_id = $1 AND plate_key = $2 AND revoked_at IS NULL
       ORDER BY (window_start <= $4 AND $4 < window_end) DESC, window_end DESC LIMIT 1
     ) a ON true`,
    [compoundId, plateKey, carParkId, at],
  );
  const row = rows[0]!;
  return {
    vehicle: row.vehicle_id
      ? {
          vehicleId: row.vehicle_id,
          ownerPersonId: row.owner_person_id ?? '',
          validFrom: row.valid_from,
          validUntil: row.valid_until,
        }
      : null,
    visitor:
      row.authorisation_id && row.window_start && row.window_end
        ? { authorisationId: row.authorisation_id, start: row.window_start, end: row.window_end }
        : null,
    inside: row.inside,
  };
}
