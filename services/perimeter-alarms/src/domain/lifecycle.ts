/**
 * The alarm lifecycle: new → acknowledged → in progress → resolved, with assignment and
 * comments allowed on any open alarm. Every accepted action yields one history entry (who,
 * when, what); a refused action says why, so the API answers FAILED_PRECONDITION with it.
 */

export type AlarmState = 'new' | 'acknowledged' | 'in_progress' | 'resolved';
export type Resolution = 'real' | 'false_alarm' | 'test';
export type Priority = 'low' | 'medium' | 'high' | 'critical';
export type Transition =
  'raised' | 'recurred' | 'acknowledged' | 'assigned' | 'started' | 'commented' | 'escalated' | 'resolved';

/** The part of an alarm the lifecycle decides over. */
export interface LifecycleState {
  readonly state: AlarmState;
  readonly assigneeUserId: string;
  readonly assigneeTeamId: string;
  readonly acknowledgeDeadline: Date | undefined;
  readonly escalationLevel: number;
  readonly resolution: Resolution | undefined;
}

export type Action =
  | { readonly kind: 'acknowledge'; readonly comment: string }
  | { readonly kind: 'assign'; readonly userId: string; readonly teamId: string; readonly comment: string }
  | { readonly kind: 'comment'; readonly comment: string }
  | { readonly kind: 'start'; readonly comment: string }
  | { readonly kind: 'resolve'; readonly resolution: Resolution; readonly comment: string };

export interface HistoryEntry {
  readonly transition: Transition;
  readonly state: AlarmState;
  readonly actor: string;
  readonly at: Date;
  readonly comment: string;
  readonly assigneeUserId: string;
  readonly assigneeTeamId: string;
  readonly escalationLevel: number;
  readonly resolution: Resolution | undefined;
}

export class LifecycleError extends Error {
  override readonly name = 'LifecycleError';
}

const TRANSITION_OF: Readonly<Record<Action['kind'], Transition>> = {
  acknowledge: 'acknowledged',
  assign: 'assigned',
  comment: 'commented',
  start: 'started',
  resolve: 'resolved',
};

function nextState(current: LifecycleState, action: Action): LifecycleState {
  if (current.state === 'resolved') throw new LifecycleError('the alarm is resolved');
  switch (action.kind) {
    case 'acknowledge':
      if (current.state !== 'new')
        throw new LifecycleError(`only a new alarm is acknowledged (it is ${current.state})`);
      // Acknowledged in time or late, the deadline no longer runs: escalation stops here.
      return { ...current, state: 'acknowledged', acknowledgeDeadline: undefined };
    case 'assign':
      return {
        ...current,
        assigneeUserId: action.userId || current.assigneeUserId,
        assigneeTeamId: action.teamId || current.assigneeTeamId,
      };
    case 'comment':
      return current;
    case 'start':
      if (current.state !== 'acknowledged')
        throw new LifecycleError(`handling starts on an acknowledged alarm (it is ${current.state})`);
      return { ...current, state: 'in_progress' };
    case 'resolve':
      // A false alarm or a test may be closed straight from NEW; the operator still answers for it.
      return { ...current, state: 'resolved', acknowledgeDeadline: undefined, resolution: action.resolution };
  }
}

/** Applies an operator's action; throws LifecycleError when the alarm's state forbids it. */
export function applyAction(
  current: LifecycleState,
  action: Action,
  actor: string,
  at: Date,
): { readonly next: LifecycleState; readonly entry: HistoryEntry } {
  const next = nextState(current, action);
  return { next, entry: historyEntry(next, TRANSITION_OF[action.kind], actor, at, action.comment) };
}

export function historyEntry(
  state: LifecycleState,
  transition: Transition,
  actor: string,
  at: Date,
  comment = '',
): HistoryEntry {
  return {
    transition,
    state: state.state,
    actor,
    at,
    comment,
    assigneeUserId: state.assigneeUserId,
    assigneeTeamId: state.assigneeTeamId,
    escalationLevel: state.escalationLevel,
    resolution: state.resolution,
  };
}

/** Time to acknowledge, per priority. */
export type AcknowledgeLimits = Readonly<Record<Priority, number>>;

export function acknowledgeDeadline(priority: Priority, from: Date, limits: AcknowledgeLimits): Date {
  return new Date(from.getTime() + limits[priority]);
}

export interface EscalationPolicy {
  readonly limits: AcknowledgeLimits;
  /** The last level; an alarm at it keeps waiting without a further deadline. */
  readonly maxLevel: number;
}

/**
 * The acknowledge deadline of a new alarm passed: one level up, handed to that level's team
 * (the chain of its duty rule; the current team when the chain is shorter), and a fresh
 * deadline unless the last level is reached. Undefined when nothing is due.
 */
export function escalate(
  current: LifecycleState,
  priority: Priority,
  chain: readonly string[],
  now: Date,
  policy: EscalationPolicy,
): LifecycleState | undefined {
  if (current.state !== 'new' || !current.acknowledgeDeadline) return undefined;
  if (current.acknowledgeDeadline.getTime() > now.getTime()) return undefined;
  if (current.escalationLevel >= policy.maxLevel) return undefined;
  const level = current.escalationLevel + 1;
  return {
    ...current,
    escalationLevel: level,
    assigneeTeamId: chain[level - 1] ?? current.assigneeTeamId,
    acknowledgeDeadline:
      level < policy.maxLevel ? acknowledgeDeadline(priority, now, policy.limits) : undefined,
  };
}
