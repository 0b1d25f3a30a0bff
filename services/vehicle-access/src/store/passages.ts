/**
 * Passages and presence. A passage is written in the transaction that decides it, together with
 * the presence change (a vehicle let in is inside until its exit pairs with the entry), the
 * VehiclePassageRecorded event and the barrier command in the outbox: occupancy is the count of
 * presence rows and can never disagree with the recorded passages.
 */
import { anfang, deterministicEventId, timestampFromDate, topics } from '@anfang/contracts';
import { FailedPreconditionError, NotFoundError } from '@anfang/platform/grpc';
import { outboxEventPublisher, type ClientBase, type Pool } from '@anfang/platform/pg';
import type { Decision, Direction, Reason } from '../domain/decision.ts';
import { DECISION_TO_PROTO, REASON_TO_PROTO } from '../domain/enums.ts';

type PassageEvent = anfang.vehicle.v1.VehiclePassageRecorded.$Properties;

/** How long a barrier command may wait for delivery: a vehicle does not wait at the barrier longer. */
const BARRIER_COMMAND_TTL_MS = 60_000;

export type PresenceKind = 'registered' | 'visitor' | 'other';

export interface PassageToRecord {
  readonly event: PassageEvent;
  readonly compoundId: string;
  readonly carParkId: string;
  readonly deviceId: string;
  readonly lane: number;
  readonly occurredAt: Date;
  readonly direction: Direction;
  readonly plateKey: string;
  readonly decision: Decision;
  readonly reason: Reason;
  readonly presenceKind: PresenceKind;
}

export function passageIdFor(plateReadEventId: string): string {
  return deterministicEventId('vehicle-passage', plateReadEventId);
}

/**
 * Moves presence for an opened passage: an entry makes the vehicle present (a second entry
 * without exit replaces the first, which stays unpaired), an exit removes it and pairs both
 * passages. Returns the passage paired with this one, if any.
 */
async function movePresence(
  tx: ClientBase,
  passage: {
    passageId: string;
    compoundId: string;
    carParkId: string;
    plateKey: string;
    plateNumber: string;
  },
  direction: Direction,
  occurredAt: Date,
  kind: PresenceKind,
  visitorAuthorisationId: string | null,
): Promise<string | null> {
  if (!passage.plateKey || !passage.carParkId) return null;
  if (direction === 'in') {
    // A camera that was offline uploads its backlog late, so an entry can arrive after its exit:
    // an unpaired exit at or after this entry's time is its exit, and the vehicle is not inside.
    // Otherwise the vehicle is inside — unless a later entry is already on record. One statement:
    // this runs for nearly every read.
    const { rows: later } = await tx.query<{ passage_id: string }>(
      `WITH later_exit AS (
         SELECT passage_id FROM passages
         WHERE compound_id = $3 AND plate_key = $2 AND car_park_id = $1 AND direction = 'out' AND decision = 'open'
           AND paired_passage_id IS NULL AND occurred_at >= $6
         ORDER BY occurred_at LIMIT 1 FOR UPDATE
       ), entered AS (
         INSERT INTO presence (car_park_id, plate_key, compound_id, in_passage_id, plate_number, entered_at, kind,
           visitor_authorisation_id)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM later_exit)
         ON CONFLICT (car_park_id, plate_key) DO UPDATE SET in_passage_id = $4, plate_number = $5, entered_at = $6,
           kind = $7, visitor_authorisation_id = $8
         WHERE presence.entered_at <= $6
       )
       SELECT passage_id FROM later_exit`,
      [
        passage.carParkId,
        passage.plateKey,
        passage.compoundId,
        passage.passageId,
        passage.plateNumber,
        occurredAt,
        kind,
        visitorAuthorisationId,
      ],
    );
    const exitId = later[0]?.passage_id ?? null;
    if (exitId) await pair(tx, passage.passageId, exitId);
    return exitId;
  }
  // An exit pairs with an entry before it only (a later entry is the next visit).
  const { rows } = await tx.query<{ in_passage_id: string }>(
    `DELETE FROM presence WHERE car_park_id = $1 AND plate_key = $2 AND entered_at <= $3
     RETURNING in_passage_id`,
    [passage.carParkId, passage.plateKey, occurredAt],
  );
  const inPassageId = rows[0]?.in_passage_id ?? null;
  if (inPassageId) await pair(tx, inPassageId, passage.passageId);
  return inPassageId;
}

/** Links two passages both ways (a row not inserted yet gets its link on insert). */
async function pair(tx: ClientBase, a: string, b: string): Promise<void> {
  await tx.query('UPDATE passages SET paired_passage_id = $2 WHERE passage_id = $1', [a, b]);
  await tx.query('UPDATE passages SET paired_passage_id = $2 WHERE passage_id = $1', [b, a]);
}

async function enqueueBarrierOpen(
  tx: ClientBase,
  producer: string,
  passageId: string,
  deviceId: string,
  lane: number,
  requestedBy: string,
  reason: string,
  compoundId: string,
): Promise<void> {
  const commandId = deterministicEventId('vehicle-barrier-open', passageId, requestedBy);
  await outboxEventPublisher(tx, producer).publish(
    topics.deviceCommand,
    {
      commandId,
      deviceId,
      openBarrier: { lane },
      requestedBy,
      reason,
      expiresAt: timestampFromDate(new Date(Date.now() + BARRIER_COMMAND_TTL_MS)),
    },
    { compoundId, eventId: commandId },
  );
}

/** Records a decided passage, its presence change, its event and (when open) the barrier command. */
export async function recordPassage(
  tx: ClientBase,
  producer: string,
  passage: PassageToRecord,
  causationId: string,
): Promise<PassageEvent> {
  const event = passage.event;
  const passageId = event.passageId!;
  const pairedWith =
    passage.decision === 'open'
      ? await movePresence(
          tx,
          {
            passageId,
            compoundId: passage.compoundId,
            carParkId: passage.carParkId,
            plateKey: passage.plateKey,
            plateNumber: event.plateNumber ?? '',
          },
          passage.direction,
          passage.occurredAt,
          passage.presenceKind,
          event.visitorAuthorisationId || null,
        )
      : null;
  const recorded: PassageEvent = { ...event, pairedPassageId: pairedWith ?? '' };
  await tx.query(
    `INSERT INTO passages (passage_id, source_event_id, compound_id, car_park_id, device_id, occurred_at, direction,
       plate_number, plate_number_raw, plate_key, decision, reason, vehicle_id, visitor_authorisation_id,
       watchlist_entry_id, paired_passage_id, record)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
    [
      passageId,
      event.sourceEventId,
      passage.compoundId,
      passage.carParkId,
      passage.deviceId,
      passage.occurredAt,
      passage.direction,
      event.plateNumber ?? '',
      event.plateNumberRaw ?? '',
      passage.plateKey,
      passage.decision,
      passage.reason,
      event.vehicleId || null,
      event.visitorAuthorisationId || null,
      event.watchlistEntryId || null,
      pairedWith,
      anfang.vehicle.v1.VehiclePassageRecorded.encode(recorded).finish(),
    ],
  );
  await outboxEventPublisher(tx, producer).publish(topics.vehiclePassageRecorded, recorded, {
    compoundId: passage.compoundId,
    occurredAt: passage.occurredAt,
    causationId,
    eventId: deterministicEventId('vehicle-passage-recorded', passageId),
  });
  if (passage.decision === 'open')
    await enqueueBarrierOpen(
      tx,
      producer,
      passageId,
      passage.deviceId,
      passage.lane,
      producer,
      `vehicle ${passage.reason}`,
      passage.compoundId,
    );
  return recorded;
}

interface PassageRow {
  passage_id: string;
  compound_id: string;
  car_park_id: string;
  device_id: string;
  occurred_at: Date;
  direction: Direction;
  plate_key: string;
  decision: Decision;
  reason: Reason;
  paired_passage_id: string | null;
  released_by: string | null;
  release_reason: string | null;
  record: Buffer;
}

/** The stored record with the columns that change after recording (pairing, release) laid over it. */
function passageFromRow(row: PassageRow): anfang.vehicle.v1.VehiclePassageRecorded {
  const event = anfang.vehicle.v1.VehiclePassageRecorded.decode(row.record);
  event.decision = DECISION_TO_PROTO[row.decision];
  event.reason = REASON_TO_PROTO[row.reason];
  event.pairedPassageId = row.paired_passage_id ?? '';
  event.operatorUserId = row.released_by ?? '';
  event.operatorReason = row.release_reason ?? '';
  return event;
}

export interface ReleaseRequest {
  readonly passageId: string;
  readonly operator: string;
  readonly reason: string;
  /** The caller may act in this compound (checked by the edge with the passage's compound). */
  readonly authorise: (compoundId: string) => void;
}

export interface PassageQuery {
  readonly compoundId: string;
  readonly carParkId?: string;
  readonly plateKey?: string;
  readonly from?: Date;
  readonly to?: Date;
  readonly decisions?: readonly Decision[];
  readonly before?: { occurredAt: Date; passageId: string };
  readonly limit: number;
}

export interface Occupancy {
  readonly carParkId: string;
  readonly name: string;
  readonly capacity: number;
  readonly occupied: number;
  readonly registered: number;
  readonly visitors: number;
  readonly others: number;
}

export interface Overstay {
  readonly carParkId: string;
  readonly plateNumber: string;
  readonly inPassageId: string;
  readonly enteredAt: Date;
  readonly allowedUntil: Date;
  readonly visitorAuthorisationId: string | null;
}

export function createPassageStore(pool: Pool, producer: string) {
  return {
    async get(passageId: string): Promise<anfang.vehicle.v1.VehiclePassageRecorded | null> {
      const { rows } = await pool.query<PassageRow>('SELECT * FROM passages WHERE passage_id = $1', [
        passageId,
      ]);
      return rows[0] ? passageFromRow(rows[0]) : null;
    },

    /**
     * The guard lets a held vehicle through: the passage becomes open (guard-opened, with who and
     * why), presence moves as for any opened passage, the barrier opens and the passage is
     * published again with the same passage id.
     */
    async release(
      request: ReleaseRequest,
      tx: ClientBase,
    ): Promise<anfang.vehicle.v1.VehiclePassageRecorded> {
      const { rows } = await tx.query<PassageRow>('SELECT * FROM passages WHERE passage_id = $1 FOR UPDATE', [
        request.passageId,
      ]);
      const row = rows[0];
      if (!row)
        throw new NotFoundError(`passage ${request.passageId} not found`, { reason: 'PASSAGE_NOT_FOUND' });
      request.authorise(row.compound_id);
      if (row.decision !== 'hold')
        throw new FailedPreconditionError(
          row.reason === 'spoof'
            ? 'a spoofed capture never opens the barrier'
            : row.decision === 'deny'
              ? `a ${row.reason} passage has no barrier to open`
              : 'the passage is not held (already open)',
          { reason: 'PASSAGE_NOT_HELD' },
        );
      const event = anfang.vehicle.v1.VehiclePassageRecorded.decode(row.record);
      const pairedWith = await movePresence(
        tx,
        {
          passageId: row.passage_id,
          compoundId: row.compound_id,
          carParkId: row.car_park_id,
          plateKey: row.plate_key,
          plateNumber: event.plateNumber,
        },
        row.direction,
        row.occurred_at,
        event.visitorAuthorisationId ? 'visitor' : event.vehicleId ? 'registered' : 'other',
        event.visitorAuthorisationId || null,
      );
      await tx.query(
        `UPDATE passages SET decision = 'open', reason = 'guard-opened', released_by = $2, release_reason = $3,
           released_at = now(), paired_passage_id = coalesce($4, paired_passage_id)
         WHERE passage_id = $1`,
        [row.passage_id, request.operator, request.reason, pairedWith],
      );
      const released = passageFromRow({
        ...row,
        decision: 'open',
        reason: 'guard-opened',
        released_by: request.operator,
        release_reason: request.reason,
        paired_passage_id: pairedWith ?? row.paired_passage_id,
      });
      await outboxEventPublisher(tx, producer).publish(topics.vehiclePassageRecorded, released, {
        compoundId: row.compound_id,
        occurredAt: row.occurred_at,
        causationId: released.sourceEventId,
      });
      await enqueueBarrierOpen(
        tx,
        producer,
        row.passage_id,
        row.device_id,
        event.lane,
        request.operator,
        `guard release: ${request.reason}`,
        row.compound_id,
      );
      return released;
    },

    async list(query: PassageQuery): Promise<anfang.vehicle.v1.VehiclePassageRecorded[]> {
      const { rows } = await pool.query<PassageRow>(
        `SELECT * FROM passages WHERE compound_id = $1
           AND ($2::text IS NULL OR car_park_id = $2) AND ($3::text IS NULL OR plate_key = $3)
           AND ($4::timestamptz IS NULL OR occurred_at >= $4) AND ($5::timestamptz IS NULL OR occurred_at < $5)
           AND ($6::text[] IS NULL OR decision = ANY ($6))
           AND ($7::timestamptz IS NULL OR (occurred_at, passage_id) < ($7, $8::uuid))
         ORDER BY occurred_at DESC, passage_id DESC LIMIT $9`,
        [
          query.compoundId,
          query.carParkId ?? null,
          query.plateKey ?? null,
          query.from ?? null,
          query.to ?? null,
          query.decisions && query.decisions.length > 0 ? query.decisions : null,
          query.before?.occurredAt ?? null,
          query.before?.passageId ?? null,
          query.limit,
        ],
      );
      return rows.map(passageFromRow);
    },

    async occupancy(compoundId: string): Promise<Occupancy[]> {
      const { rows } = await pool.query<{
        car_park_id: string;
        name: string;
        capacity: number;
        occupied: string;
        registered: string;
        visitors: string;
        others: string;
      }>(
        `SELECT c.car_park_id, c.name, c.capacity, count(p.plate_key) AS occupied,
           count(*) FILTER (WHERE p.kind = 'registered') AS registered,
           count(*) FILTER (WHERE p.kind = 'visitor') AS visitors,
           count(*) FILTER (WHERE p.kind = 'other') AS others
         FROM car_parks c LEFT JOIN presence p USING (car_park_id)
         WHERE c.compound_id = $1 GROUP BY c.car_park_id ORDER BY c.car_park_id`,
        [compoundId],
      );
      return rows.map((r) => ({
        carParkId: r.car_park_id,
        name: r.name,
        capacity: r.capacity,
        occupied: Number(r.occupied),
        registered: Number(r.registered),
        visitors: Number(r.visitors),
        others: Number(r.others),
      }));
    },

    /** Visitors inside past their window; others past the car park's maximum stay. Registered vehicles live here. */
    async overstays(compoundId: string, now: Date): Promise<Overstay[]> {
      const { rows } = await pool.query<{
        car_park_id: string;
        plate_number: string;
        in_passage_id: string;
        entered_at: Date;
        allowed_until: Date;
        visitor_authorisation_id: string | null;
      }>(
        `SELECT * FROM (
           SELECT p.car_park_id, p.plate_number, p.in_passage_id, p.entered_at, p.visitor_authorisation_id,
             CASE WHEN p.kind = 'visitor' THEN v.window_end
                  WHEN c.max_stay_minutes > 0 THEN p.entered_at + make_interval(mins => c.max_stay_minutes)
             END AS allowed_until
           FROM presence p JOIN car_parks c USING (car_park_id)
           LEFT JOIN visitor_authorisations v ON v.authorisation_id = p.visitor_authorisation_id
           WHERE p.compound_id = $1 AND p.kind <> 'registered'
         ) s WHERE allowed_until < $2 ORDER BY allowed_until`,
        [compoundId, now],
      );
      return rows.map((r) => ({
        carParkId: r.car_park_id,
        plateNumber: r.plate_number,
        inPassageId: r.in_passage_id,
        enteredAt: r.entered_at,
        allowedUntil: r.allowed_until,
        visitorAuthorisationId: r.visitor_authorisation_id,
      }));
    },
  };
}

export type PassageStore = ReturnType<typeof createPassageStore>;
