/**
 * The access decision: door + what was presented + the holders it resolves to + time → allow or
 * deny with the reason. Pure: the caller loads (or takes from cache) everything it needs.
 */

export type Reason =
  | 'granted'
  | 'visitor_pass'
  | 'no_grant'
  | 'expired'
  | 'wrong_door'
  | 'revoked'
  | 'spoof'
  | 'unknown_credential'
  | 'outside_schedule'
  | 'unknown_door'
  | 'anti_passback';

export type GrantRole = 'resident' | 'property_staff' | 'community_manager' | 'police';
export type DecisionRole = GrantRole | 'visitor';

export interface Schedule {
  /** ISO weekdays 1..7; empty = every day. */
  readonly weekdays: readonly number[];
  readonly startMinute: number;
  readonly endMinute: number;
}

export type DoorDirection = 'in' | 'out' | 'both';

export interface DoorView {
  readonly doorId: string;
  readonly compoundId: string;
  /** Door groups containing the door. */
  readonly doorGroupIds: readonly string[];
  /** Which way its readers let people pass; anti-passback concerns only IN and OUT doors. */
  readonly direction: DoorDirection;
  /** Of doorGroupIds, the groups with anti-passback. */
  readonly antiPassbackGroupIds: readonly string[];
}

/** Key of a person's presence in an anti-passback group. */
export const presenceKey = (personId: string, doorGroupId: string) => `${personId}/${doorGroupId}`;

export interface GrantView {
  readonly grantId: string;
  readonly doorGroupId: string;
  readonly role: GrantRole;
  readonly validFrom: number;
  readonly validTo: number | null;
  readonly revokedAt: number | null;
  readonly schedule: Schedule | null;
}

export interface CredentialView {
  readonly credentialId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
  readonly revokedAt: number | null;
}

export type Holder =
  | {
      readonly kind: 'person';
      readonly personId: string;
      readonly removed: boolean;
      readonly grants: readonly GrantView[];
    }
  | {
      readonly kind: 'pass';
      readonly passId: string;
      readonly doorIds: readonly string[];
      readonly validFrom: number;
      readonly validTo: number;
      readonly checkedOutAt: number | null;
    };

/** One credential matching what was presented, with its holder. */
export interface Candidate {
  readonly credential: CredentialView;
  readonly holder: Holder;
}

export interface DecisionInput {
  readonly door: DoorView | undefined;
  readonly candidates: readonly Candidate[];
  /** A failed liveness check (photo, replay, mask): never a pass. */
  readonly spoof: boolean;
  readonly at: number;
  /** Local time is UTC plus this offset for schedules (China: 480, no daylight saving). */
  readonly utcOffsetMinutes: number;
  /**
   * Whether each person is inside each anti-passback group (presenceKey), as last recorded and
   * not older than the reset window; absent: unknown, which never refuses.
   */
  readonly presence?: ReadonlyMap<string, boolean>;
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: Reason;
  readonly credentialId?: string;
  readonly personId?: string;
  readonly role?: DecisionRole;
  readonly passId?: string;
}

/**
 * When every candidate is refused, the refusal that says most about what to fix wins: a live
 * grant or pass at the wrong time or for other doors beats one that has ended, which beats no
 * grant at all.
 */
const REFUSAL_RANK: readonly Reason[] = [
  'anti_passback',
  'outside_schedule',
  'wrong_door',
  'expired',
  'revoked',
  'no_grant',
];

export function inSchedule(schedule: Schedule, at: number, utcOffsetMinutes: number): boolean {
  const local = new Date(at + utcOffsetMinutes * 60_000);
  const weekday = ((local.getUTCDay() + 6) % 7) + 1;
  if (schedule.weekdays.length > 0 && !schedule.weekdays.includes(weekday)) return false;
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  return minute >= schedule.startMinute && minute < schedule.endMinute;
}

const within = (at: number, from: number | null, to: number | null): boolean =>
  (from === null || at >= from) && (to === null || at < to);

function decideCandidate(candidate: Candidate, door: DoorView, input: DecisionInput): Decision {
  const { credential, holder } = candidate;
  const base = { credentialId: credential.credentialId };
  if (credential.revokedAt !== null && credential.revokedAt <= input.at)
    return { ...base, allowed: false, reason: 'revoked', ...holderIds(holder) };
  if (!within(input.at, credential.validFrom, credential.validTo))
    return { ...base, allowed: false, reason: 'expired', ...holderIds(holder) };

  if (holder.kind === 'pass') {
    const ids = { passId: holder.passId, role: 'visitor' as const };
    if (holder.checkedOutAt !== null && holder.checkedOutAt <= input.at)
      return { ...base, ...ids, allowed: false, reason: 'expired' };
    if (!holder.doorIds.includes(door.doorId))
      return { ...base, ...ids, allowed: false, reason: 'wrong_door' };
    if (!within(input.at, holder.validFrom, holder.validTo))
      return { ...base, ...ids, allowed: false, reason: 'expired' };
    return { ...base, ...ids, allowed: true, reason: 'visitor_pass' };
  }

  const person = { personId: holder.personId };
  if (holder.removed) return { ...base, ...person, allowed: false, reason: 'revoked' };
  const atDoor = holder.grants.filter((g) => door.doorGroupIds.includes(g.doorGroupId));
  if (atDoor.length === 0) {
    const anyLive = holder.grants.some(
      (g) => g.revokedAt === null && within(input.at, g.validFrom, g.validTo),
    );
    return { ...base, ...person, allowed: false, reason: anyLive ? 'wrong_door' : 'no_grant' };
  }
  let best: Decision | undefined;
  for (const grant of atDoor) {
    const granted = grantOutcome(grant, input);
    const outcome: Decision = {
      ...base,
      ...person,
      role: grant.role,
      ...granted,
      ...(granted.allowed ? passback(holder.personId, grant, door, input) : {}),
    };
    if (outcome.allowed) return outcome;
    if (!best || REFUSAL_RANK.indexOf(outcome.reason) < REFUSAL_RANK.indexOf(best.reason)) best = outcome;
  }
  return best!;
}

function grantOutcome(grant: GrantView, input: DecisionInput): { allowed: boolean; reason: Reason } {
  if (grant.revokedAt !== null && grant.revokedAt <= input.at) return { allowed: false, reason: 'revoked' };
  if (!within(input.at, grant.validFrom, grant.validTo)) return { allowed: false, reason: 'expired' };
  if (grant.schedule && !inSchedule(grant.schedule, input.at, input.utcOffsetMinutes))
    return { allowed: false, reason: 'outside_schedule' };
  return { allowed: true, reason: 'granted' };
}

/**
 * Entering twice (or leaving twice) through the doors of an anti-passback group is refused: a
 * card passed back over the gate to a second person. Only when the last pass is known.
 */
function passback(
  personId: string,
  grant: GrantView,
  door: DoorView,
  input: DecisionInput,
): { allowed: false; reason: 'anti_passback' } | Record<string, never> {
  const direction = door.direction ?? 'both';
  if (direction === 'both' || !(door.antiPassbackGroupIds ?? []).includes(grant.doorGroupId)) return {};
  const inside = input.presence?.get(presenceKey(personId, grant.doorGroupId));
  if (inside === undefined || inside !== (direction === 'in')) return {};
  return { allowed: false, reason: 'anti_passback' };
}

function holderIds(holder: Holder): { personId?: string; passId?: string } {
  return holder.kind === 'person' ? { personId: holder.personId } : { passId: holder.passId };
}

export function decide(input: DecisionInput): Decision {
  const firstPerson = input.candidates.find((c) => c.holder.kind === 'person');
  // A spoof names the person the presented face resolves to, so operators see whom it imitated.
  if (input.spoof)
    return {
      allowed: false,
      reason: 'spoof',
      ...(firstPerson
        ? { ...holderIds(firstPerson.holder), credentialId: firstPerson.credential.credentialId }
        : {}),
    };
  if (!input.door) return { allowed: false, reason: 'unknown_door' };
  if (input.candidates.length === 0) return { allowed: false, reason: 'unknown_credential' };
  let best: Decision | undefined;
  for (const candidate of input.candidates) {
    const outcome = decideCandidate(candidate, input.door, input);
    if (outcome.allowed) return outcome;
    if (!best || REFUSAL_RANK.indexOf(outcome.reason) < REFUSAL_RANK.indexOf(best.reason)) best = outcome;
  }
  return best!;
}
