/**
 * The barrier decision for one plate read, from what the store found about the plate, the lane
 * and the compound. Pure: the consumer gathers the facts in one transaction and records what
 * this returns. Order matters: a spoofed capture never opens, whatever else matches; a read the
 * platform cannot trust (unknown device, unreadable, low confidence) never opens by default; a
 * watchlist entry with the hold action overrides a registration; only then registration, visitor
 * authorisation and the compound's policy for unknown vehicles.
 */
import type { PlateResult } from './plate.ts';

export type Decision = 'open' | 'hold' | 'deny';
export type Reason =
  | 'registered'
  | 'visitor-authorised'
  | 'guard-opened'
  | 'unknown-vehicle'
  | 'spoof'
  | 'watchlist'
  | 'low-confidence'
  | 'unreadable-plate'
  | 'expired'
  | 'anti-passback'
  | 'unknown-device';
export type Direction = 'in' | 'out';
export type WatchlistAction = 'alarm-and-hold' | 'alarm-silently';
export type UnknownVehicleAction = 'hold' | 'open';

export interface Window {
  readonly start: Date | null;
  readonly end: Date | null;
}

export function withinWindow(window: Window, at: Date): boolean {
  return (!window.start || window.start <= at) && (!window.end || at < window.end);
}

export interface CompoundPolicy {
  readonly unknownVehicle: UnknownVehicleAction;
  readonly antiPassback: boolean;
  /** Reads below this confidence (0–1) are held. */
  readonly minConfidence: number;
}

export const DEFAULT_POLICY: CompoundPolicy = {
  unknownVehicle: 'hold',
  antiPassback: false,
  minConfidence: 0.7,
};

export interface DecisionFacts {
  readonly at: Date;
  /** False when the device is not a lane vehicle-access knows. */
  readonly knownLane: boolean;
  readonly hasPlate: boolean;
  readonly plate: PlateResult | null;
  readonly confidence: number;
  readonly spoofed: boolean;
  readonly direction: Direction;
  readonly policy: CompoundPolicy;
  readonly registration: { readonly vehicleId: string; readonly validity: Window } | null;
  readonly visitor: { readonly authorisationId: string; readonly window: Window } | null;
  readonly watchlist: { readonly entryId: string; readonly action: WatchlistAction } | null;
  /** The plate has an unpaired entry in this car park. */
  readonly inside: boolean;
}

export interface DecisionOutcome {
  readonly decision: Decision;
  readonly reason: Reason;
  /** Human-readable detail for the guard's console and the record. */
  readonly detail: string;
  readonly vehicleId?: string;
  readonly visitorAuthorisationId?: string;
}

const hold = (reason: Reason, detail: string): DecisionOutcome => ({ decision: 'hold', reason, detail });

export function decide(facts: DecisionFacts): DecisionOutcome {
  if (facts.spoofed)
    return { decision: 'deny', reason: 'spoof', detail: 'capture flagged as a photo or replay' };
  if (!facts.knownLane)
    return { decision: 'deny', reason: 'unknown-device', detail: 'the device is not a configured lane' };
  if (!facts.hasPlate || !facts.plate) return hold('unreadable-plate', 'no readable plate');
  if (!facts.plate.ok) return hold('unreadable-plate', facts.plate.reason);
  if (facts.confidence < facts.policy.minConfidence)
    return hold(
      'low-confidence',
      `confidence ${facts.confidence.toFixed(2)} below ${facts.policy.minConfidence.toFixed(2)}`,
    );
  if (facts.watchlist?.action === 'alarm-and-hold')
    return hold('watchlist', 'watchlisted vehicle: held for the guard and the police');
  return decideKnownPlate(facts);
}

function decideKnownPlate(facts: DecisionFacts): DecisionOutcome {
  const { registration, visitor, at } = facts;
  const registered = registration && withinWindow(registration.validity, at) ? registration : null;
  const authorised = visitor && withinWindow(visitor.window, at) ? visitor : null;
  const ids = {
    ...(registration ? { vehicleId: registration.vehicleId } : {}),
    ...(authorised ? { visitorAuthorisationId: authorised.authorisationId } : {}),
  };

  if (facts.policy.antiPassback) {
    if (facts.direction === 'in' && facts.inside)
      return { ...hold('anti-passback', 'already inside: no exit was recorded'), ...ids };
    if (facts.direction === 'out' && !facts.inside && registered)
      return { ...hold('anti-passback', 'no entry was recorded'), ...ids };
  }

  // Leaving: whoever was let in is let out; a registration or visitor window that ran out
  // while inside does not lock the vehicle in.
  if (facts.direction === 'out' && facts.inside)
    return {
      decision: 'open',
      reason: registration ? 'registered' : visitor ? 'visitor-authorised' : 'unknown-vehicle',
      detail: 'leaving after a recorded entry',
      ...ids,
    };

  if (registered) return { decision: 'open', reason: 'registered', detail: 'registered vehicle', ...ids };
  if (authorised)
    return { decision: 'open', reason: 'visitor-authorised', detail: 'authorised visitor vehicle', ...ids };
  if (registration || visitor)
    return {
      ...hold('expired', registration ? 'registration not valid now' : 'visitor authorisation not valid now'),
      ...ids,
    };
  if (facts.policy.unknownVehicle === 'open')
    return { decision: 'open', reason: 'unknown-vehicle', detail: 'unknown vehicle: compound policy opens' };
  return hold('unknown-vehicle', 'unknown vehicle: held for the guard');
}

/**
 * A watchlist hit is raised for every trustworthy plate match, whatever the barrier does: the
 * hit is for the police, the decision for the barrier. Spoofed captures of a listed plate are
 * hits too (someone is showing that plate).
 */
export function isWatchlistHit(facts: Pick<DecisionFacts, 'plate' | 'watchlist'>): boolean {
  return facts.watchlist !== null && facts.plate !== null && facts.plate.ok;
}
