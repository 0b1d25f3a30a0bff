/**
 * The domain's words and the contracts' enum numbers, in one place for both directions.
 */
import { anfang } from '@anfang/contracts';
import type { Decision, Direction, Reason, UnknownVehicleAction, WatchlistAction } from './decision.ts';

const {
  BarrierDecision,
  BarrierReason,
  WatchlistAction: ProtoWatchlistAction,
  UnknownVehicleAction: ProtoUnknown,
} = anfang.vehicle.v1;
const ProtoDirection = anfang.common.v1.Direction;

export const DECISION_TO_PROTO: Readonly<Record<Decision, anfang.vehicle.v1.BarrierDecision>> = {
  open: BarrierDecision.BARRIER_DECISION_OPEN,
  hold: BarrierDecision.BARRIER_DECISION_HOLD,
  deny: BarrierDecision.BARRIER_DECISION_DENY,
};

export function decisionFromProto(value: number): Decision | undefined {
  return (Object.keys(DECISION_TO_PROTO) as Decision[]).find((d) => DECISION_TO_PROTO[d] === value);
}

export const REASON_TO_PROTO: Readonly<Record<Reason, anfang.vehicle.v1.BarrierReason>> = {
  registered: BarrierReason.BARRIER_REASON_REGISTERED,
  'visitor-authorised': BarrierReason.BARRIER_REASON_VISITOR_AUTHORISED,
  'guard-opened': BarrierReason.BARRIER_REASON_GUARD_OPENED,
  'unknown-vehicle': BarrierReason.BARRIER_REASON_UNKNOWN_VEHICLE,
  spoof: BarrierReason.BARRIER_REASON_SPOOF,
  watchlist: BarrierReason.BARRIER_REASON_WATCHLIST,
  'low-confidence': BarrierReason.BARRIER_REASON_LOW_CONFIDENCE,
  'unreadable-plate': BarrierReason.BARRIER_REASON_UNREADABLE_PLATE,
  expired: BarrierReason.BARRIER_REASON_EXPIRED,
  'anti-passback': BarrierReason.BARRIER_REASON_ANTI_PASSBACK,
  'unknown-device': BarrierReason.BARRIER_REASON_UNKNOWN_DEVICE,
};

export const DIRECTION_TO_PROTO: Readonly<Record<Direction | 'both', anfang.common.v1.Direction>> = {
  in: ProtoDirection.DIRECTION_IN,
  out: ProtoDirection.DIRECTION_OUT,
  both: ProtoDirection.DIRECTION_BOTH,
};

export function directionFromProto(value: number | null | undefined): Direction | 'both' | undefined {
  if (value === ProtoDirection.DIRECTION_IN) return 'in';
  if (value === ProtoDirection.DIRECTION_OUT) return 'out';
  if (value === ProtoDirection.DIRECTION_BOTH) return 'both';
  return undefined;
}

export const WATCHLIST_ACTION_TO_PROTO: Readonly<Record<WatchlistAction, anfang.vehicle.v1.WatchlistAction>> =
  {
    'alarm-and-hold': ProtoWatchlistAction.WATCHLIST_ACTION_ALARM_AND_HOLD,
    'alarm-silently': ProtoWatchlistAction.WATCHLIST_ACTION_ALARM_SILENTLY,
  };

/** UNSPECIFIED is ALARM_AND_HOLD, as the contract says. */
export function watchlistActionFromProto(value: number | null | undefined): WatchlistAction {
  return value === ProtoWatchlistAction.WATCHLIST_ACTION_ALARM_SILENTLY ? 'alarm-silently' : 'alarm-and-hold';
}

export const UNKNOWN_ACTION_TO_PROTO: Readonly<
  Record<UnknownVehicleAction, anfang.vehicle.v1.UnknownVehicleAction>
> = {
  hold: ProtoUnknown.UNKNOWN_VEHICLE_ACTION_HOLD,
  open: ProtoUnknown.UNKNOWN_VEHICLE_ACTION_OPEN,
};

/** UNSPECIFIED is HOLD: an unset policy never opens for strangers. */
export function unknownActionFromProto(value: number | null | undefined): UnknownVehicleAction {
  return value === ProtoUnknown.UNKNOWN_VEHICLE_ACTION_OPEN ? 'open' : 'hold';
}

export function isSpoofed(result: number | null | undefined): boolean {
  const { SpoofCheckResult } = anfang.common.v1;
  return (
    result === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO ||
    result === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_REPLAY ||
    result === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_MASK ||
    result === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_OTHER
  );
}
