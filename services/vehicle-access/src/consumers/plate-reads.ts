/**
 * The barrier decision for every plate read (consumer group = the service name). A watchlist hit is
 * published straight to the bus before anything else is written — it is the most time-critical
 * event of the system and must not wait for the passage transaction or the outbox relay; its
 * event id derives from the read's, so a redelivered read republishes the same hit and consumers
 * dedupe it. Every fact is looked up beside the transaction's start; the passage, presence,
 * passage event and barrier command then commit together, once per read (markProcessed in the
 * same transaction).
 */
import type { anfang } from '@anfang/contracts';
import { deterministicEventId, timestampFromDate, timestampToDate, topics } from '@anfang/contracts';
import { PermanentError, type EventPublisher } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { markProcessed, withTransaction, type Pool } from '@anfang/platform/pg';
import {
  decide,
  DEFAULT_POLICY,
  isWatchlistHit,
  type DecisionFacts,
  type DecisionOutcome,
  type Direction,
} from '../domain/decision.ts';
import {
  DECISION_TO_PROTO,
  directionFromProto,
  DIRECTION_TO_PROTO,
  isSpoofed,
  REASON_TO_PROTO,
  WATCHLIST_ACTION_TO_PROTO,
} from '../domain/enums.ts';
import { normalisePlate, type PlateResult } from '../domain/plate.ts';
import {
  laneContext,
  lockedInside,
  NO_PLATE_FACTS,
  presenceDecides,
  type LaneContext,
} from '../store/decision-facts.ts';
import { passageIdFor, recordPassage, type PresenceKind } from '../store/passages.ts';
import type { LaneRecord, WatchlistRecord } from '../store/registry.ts';

type PlateRead = anfang.device.v1.PlateRead;
type PassageEvent = anfang.vehicle.v1.VehiclePassageRecorded.$Properties;

/** Replaces the decision (the benchmark's no-op baseline); the default is the real one. */
export type Decider = (facts: DecisionFacts) => DecisionOutcome;

export interface DecisionPipelineDeps {
  readonly pool: Pool;
  /** Direct publisher (watchlist hits). */
  readonly events: EventPublisher;
  /** The service name: event producer and consumer group. */
  readonly producer: string;
  /** Playback window on each side of the read, for the alarm pop-up's video links. */
  readonly playbackMarginMs: number;
  readonly logger: Logger;
  readonly decider?: Decider;
  /** Looks nothing up: the benchmark's baseline measures the pipeline around the decision. */
  readonly skipLookups?: boolean;
}

export interface DecidedRead {
  readonly passage: PassageEvent;
  readonly outcome: DecisionOutcome;
  readonly hit: WatchlistRecord | null;
}

function videoLinks(deviceId: string, at: Date, marginMs: number): anfang.common.v1.VideoLink.$Properties[] {
  return [
    {
      cameraDeviceId: deviceId,
      playback: {
        startTime: timestampFromDate(new Date(at.getTime() - marginMs)),
        endTime: timestampFromDate(new Date(at.getTime() + marginMs)),
      },
    },
  ];
}

function presenceKind(outcome: DecisionOutcome): PresenceKind {
  if (outcome.reason === 'registered') return 'registered';
  if (outcome.reason === 'visitor-authorised') return 'visitor';
  return 'other';
}

export function createDecisionPipeline(deps: DecisionPipelineDeps) {
  const decider = deps.decider ?? decide;
  const log = deps.logger.child({ component: 'plate-reads' });

  async function publishHit(
    read: PlateRead,
    eventId: string,
    entry: WatchlistRecord,
    plate: string,
    direction: Direction,
    passageId: string,
    compoundId: string,
    at: Date,
  ): Promise<void> {
    const hitId = deterministicEventId('vehicle-watchlist-hit', eventId, entry.entryId);
    await deps.events.publish(
      topics.vehicleWatchlistHit,
      {
        hitId,
        entryId: entry.entryId,
        dispositionId: entry.dispositionId ?? '',
        plateNumber: plate,
        plateColor: read.plateColor,
        priority: entry.priority,
        listingReason: entry.reason,
        action: WATCHLIST_ACTION_TO_PROTO[entry.action],
        device: read.device,
        direction: DIRECTION_TO_PROTO[direction],
        images: read.images,
        video: videoLinks(read.device?.deviceId ?? '', at, deps.playbackMarginMs),
        passageId,
        sourceEventId: eventId,
      },
      { eventId: hitId, compoundId, occurredAt: at, causationId: eventId },
    );
    log.warn({ hitId, entryId: entry.entryId, deviceId: read.device?.deviceId }, 'vehicle watchlist hit');
  }

  /** Decides and records one read; null when this read was already handled. */
  async function handle(read: PlateRead, eventId: string): Promise<DecidedRead | null> {
    const deviceId = read.device?.deviceId ?? '';
    // Without a device there is neither a barrier to decide for nor a key to record the read under.
    if (!deviceId) throw new PermanentError('plate read without a device id');
    const at = timestampToDate(read.meta?.occurredAt) ?? new Date();
    const passageId = passageIdFor(eventId);
    const plate: PlateResult | null =
      read.hasPlate && read.plateNumber ? normalisePlate(read.plateNumber) : null;
    const plateKey = plate?.ok ? plate.key : '';
    const compoundOf = (lane: LaneRecord | null) => lane?.compoundId ?? read.meta?.compoundId ?? '';
    const readDirection = directionFromProto(read.direction);
    const directionAt = (lane: LaneRecord | null): Direction =>
      lane && lane.direction !== 'both' ? lane.direction : readDirection === 'out' ? 'out' : 'in';
    // The lane and watchlist lookup and the hit's publication run beside the transaction's start:
    // the hit waits for nothing but its own lookup, and the decision for nothing extra.
    const lookup: Promise<LaneContext> = deps.skipLookups
      ? Promise.resolve({ lane: null, policy: DEFAULT_POLICY, watchlistEntry: null, facts: NO_PLATE_FACTS })
      : laneContext(deps.pool, deviceId, plateKey, at);
    const hit = lookup.then(async ({ lane, watchlistEntry: entry }) => {
      const watchlist = entry ? { entryId: entry.entryId, action: entry.action } : null;
      if (entry && plate?.ok && isWatchlistHit({ plate, watchlist }))
        await publishHit(
          read,
          eventId,
          entry,
          plate.plate,
          directionAt(lane),
          passageId,
          compoundOf(lane),
          at,
        );
    });

    const decision = withTransaction(deps.pool, async (tx) => {
      if (!(await markProcessed(tx, deps.producer, eventId))) return null;
      const { lane, policy, watchlistEntry: entry, facts: looked } = await lookup;
      const compoundId = compoundOf(lane);
      const direction = directionAt(lane);
      const watchlist = entry ? { entryId: entry.entryId, action: entry.action } : null;
      const facts =
        plate?.ok && lane && presenceDecides(policy, direction)
          ? { ...looked, inside: await lockedInside(tx, lane.carParkId, plateKey) }
          : looked;
      const registration = facts.vehicle;
      const outcome = decider({
        at,
        knownLane: lane !== null,
        hasPlate: read.hasPlate,
        plate,
        confidence: read.confidence,
        spoofed: isSpoofed(read.spoofCheck),
        direction,
        policy,
        registration: registration
          ? {
              vehicleId: registration.vehicleId,
              validity: { start: registration.validFrom, end: registration.validUntil },
            }
          : null,
        visitor: facts.visitor
          ? { authorisationId: facts.visitor.authorisationId, window: facts.visitor }
          : null,
        watchlist,
        inside: facts.inside,
      });
      const event: PassageEvent = {
        meta: {
          occurredAt: timestampFromDate(at),
          compoundId,
          causationId: eventId,
          producer: deps.producer,
        },
        passageId,
        device: read.device,
        carParkId: lane?.carParkId ?? '',
        plateNumber: plate?.ok ? plate.plate : '',
        plateNumberRaw: read.plateNumber && (!plate?.ok || plate.changed) ? read.plateNumber : '',
        plateColor: read.plateColor,
        vehicleColor: read.vehicleColor,
        vehicleType: read.vehicleType,
        direction: DIRECTION_TO_PROTO[direction],
        lane: read.lane,
        confidence: read.confidence,
        decision: DECISION_TO_PROTO[outcome.decision],
        reason: REASON_TO_PROTO[outcome.reason],
        reasonDetail: outcome.detail,
        vehicleId: outcome.vehicleId ?? '',
        ownerPersonId: outcome.vehicleId && registration ? registration.ownerPersonId : '',
        visitorAuthorisationId: outcome.visitorAuthorisationId ?? '',
        images: read.images,
        video: videoLinks(deviceId, at, deps.playbackMarginMs),
        spoofCheck: read.spoofCheck,
        sourceEventId: eventId,
        plateConfusable: plate?.ok === true && plate.confusions.length > 0,
        watchlistEntryId: entry?.entryId ?? '',
      };
      const passage = await recordPassage(
        tx,
        deps.producer,
        {
          event,
          compoundId,
          carParkId: lane?.carParkId ?? '',
          deviceId,
          lane: read.lane,
          occurredAt: at,
          direction,
          plateKey,
          decision: outcome.decision,
          reason: outcome.reason,
          presenceKind: presenceKind(outcome),
        },
        eventId,
      );
      return { passage, outcome, hit: entry };
    });
    // A failed hit fails the read, which is retried: the hit is published again with its id.
    const [decided] = await Promise.all([decision, hit]);
    return decided;
  }

  return { handle };
}

export type DecisionPipeline = ReturnType<typeof createDecisionPipeline>;
