/**
 * The barrier decision for every plate read (consumer group = the service name). A watchlist hit is
 * published straight to the bus before anything else is written — it is the most time-critical
 * event of the system and must not wait for the passage transaction or the outbox relay; its
 * event id derives from the read's, so a redelivered read republishes the same hit and consumers
 * dedupe it. A partition's batch of reads is decided in one transaction: every fact of every read
 * is looked up in one query beside the transaction's start; each read's passage, presence,
 * passage event and barrier command are then written in order and commit together, once per
 * read (markProcessedMany in the same transaction).
 */
import type { anfang } from '@anfang/contracts';
import { deterministicEventId, timestampFromDate, timestampToDate, topics } from '@anfang/contracts';
import { PermanentError, type EventPublisher } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { markProcessedMany, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
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
  laneContexts,
  lockedInside,
  NO_PLATE_FACTS,
  presenceDecides,
  type LaneContext,
} from '../store/decision-facts.ts';
import { passageIdFor, recordPassage, type PresenceKind } from '../store/passages.ts';
import type { LaneRecord, WatchlistRecord } from '../store/registry.ts';

type PlateRead = anfang.device.v1.PlateRead;
type PassageEvent = anfang.vehicle.v1.VehiclePassageRecorded.$Properties;

const NO_CONTEXT: LaneContext = {
  lane: null,
  policy: DEFAULT_POLICY,
  watchlistEntry: null,
  facts: NO_PLATE_FACTS,
};

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

  interface PreparedRead {
    readonly read: PlateRead;
    readonly eventId: string;
    readonly deviceId: string;
    readonly at: Date;
    readonly passageId: string;
    readonly plate: PlateResult | null;
    readonly plateKey: string;
  }

  function prepare(read: PlateRead, eventId: string): PreparedRead {
    const deviceId = read.device?.deviceId ?? '';
    // Without a device there is neither a barrier to decide for nor a key to record the read under.
    if (!deviceId) throw new PermanentError('plate read without a device id');
    const plate: PlateResult | null =
      read.hasPlate && read.plateNumber ? normalisePlate(read.plateNumber) : null;
    return {
      read,
      eventId,
      deviceId,
      at: timestampToDate(read.meta?.occurredAt) ?? new Date(),
      passageId: passageIdFor(eventId),
      plate,
      plateKey: plate?.ok ? plate.key : '',
    };
  }

  const compoundOf = (item: PreparedRead, lane: LaneRecord | null) =>
    lane?.compoundId ?? item.read.meta?.compoundId ?? '';
  const directionAt = (item: PreparedRead, lane: LaneRecord | null): Direction => {
    if (lane && lane.direction !== 'both') return lane.direction;
    return directionFromProto(item.read.direction) === 'out' ? 'out' : 'in';
  };

  async function publishHitOf(
    item: PreparedRead,
    { lane, watchlistEntry: entry }: LaneContext,
  ): Promise<void> {
    const { plate } = item;
    const watchlist = entry ? { entryId: entry.entryId, action: entry.action } : null;
    if (entry && plate?.ok && isWatchlistHit({ plate, watchlist }))
      await publishHit(
        item.read,
        item.eventId,
        entry,
        plate.plate,
        directionAt(item, lane),
        item.passageId,
        compoundOf(item, lane),
        item.at,
      );
  }

  async function decideAndRecord(
    tx: ClientBase,
    item: PreparedRead,
    { lane, policy, watchlistEntry: entry, facts: looked }: LaneContext,
  ): Promise<DecidedRead> {
    const { read, eventId, deviceId, at, passageId, plate, plateKey } = item;
    const compoundId = compoundOf(item, lane);
    const direction = directionAt(item, lane);
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
  }

  /**
   * Decides and records a partition's reads, in order, in one transaction (null for a read
   * already handled). The facts of all of them come from one query beside the transaction's
   * start, and watchlist hits are published as soon as it answers.
   */
  async function handleMany(
    reads: readonly { readonly read: PlateRead; readonly eventId: string }[],
  ): Promise<(DecidedRead | null)[]> {
    const items = reads.map(({ read, eventId }) => prepare(read, eventId));
    const lookup: Promise<LaneContext[]> = deps.skipLookups
      ? Promise.resolve(items.map(() => NO_CONTEXT))
      : laneContexts(deps.pool, items);
    const hits = lookup.then((contexts) =>
      Promise.all(items.map((item, n) => publishHitOf(item, contexts[n]!))),
    );
    const decisions = withTransaction(deps.pool, async (tx) => {
      const fresh = await markProcessedMany(
        tx,
        deps.producer,
        items.map((item) => item.eventId),
      );
      const contexts = await lookup;
      const decided: (DecidedRead | null)[] = [];
      for (const [n, item] of items.entries())
        decided.push(fresh.delete(item.eventId) ? await decideAndRecord(tx, item, contexts[n]!) : null);
      return decided;
    });
    // A failed hit fails the reads, which are retried: the hit is published again with its id.
    const [decided] = await Promise.all([decisions, hits]);
    return decided;
  }

  /** Decides and records one read; null when this read was already handled. */
  async function handle(read: PlateRead, eventId: string): Promise<DecidedRead | null> {
    return (await handleMany([{ read, eventId }]))[0]!;
  }

  return { handle, handleMany };
}

export type DecisionPipeline = ReturnType<typeof createDecisionPipeline>;
