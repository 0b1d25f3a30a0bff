import { describe, expect, it } from 'vitest';
import {
  acknowledgeDeadline,
  applyAction,
  escalate,
  LifecycleError,
  type EscalationPolicy,
  type LifecycleState,
} from './lifecycle.ts';

const T0 = new Date('2026-11-28T02:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const policy: EscalationPolicy = {
  limits: { low: 600_000, medium: 300_000, high: 120_000, critical: 60_000 },
  maxLevel: 2,
};
const raised: LifecycleState = {
  state: 'new',
  assigneeUserId: '',
  assigneeTeamId: 'night-shift',
  acknowledgeDeadline: acknowledgeDeadline('high', T0, policy.limits),
  escalationLevel: 0,
  resolution: undefined,
};

describe('applyAction', () => {
  it('walks new → acknowledged → in progress → resolved with one history entry per step', () => {
    const ack = applyAction(raised, { kind: 'acknowledge', comment: '收到' }, 'op-1', at(30));
    expect(ack.next.state).toBe('acknowledged');
    expect(ack.next.acknowledgeDeadline).toBeUndefined();
    expect(ack.entry).toMatchObject({
      transition: 'acknowledged',
      actor: 'op-1',
      at: at(30),
      comment: '收到',
    });
    const assigned = applyAction(
      ack.next,
      { kind: 'assign', userId: 'guard-7', teamId: '', comment: '' },
      'op-1',
      at(40),
    );
    expect(assigned.next).toMatchObject({ assigneeUserId: 'guard-7', assigneeTeamId: 'night-shift' });
    const started = applyAction(assigned.next, { kind: 'start', comment: '' }, 'guard-7', at(60));
    expect(started.entry).toMatchObject({ transition: 'started', state: 'in_progress', actor: 'guard-7' });
    const resolved = applyAction(
      started.next,
      { kind: 'resolve', resolution: 'real', comment: '翻墙' },
      'guard-7',
      at(600),
    );
    expect(resolved.entry).toMatchObject({ transition: 'resolved', state: 'resolved', resolution: 'real' });
  });

  it('refuses to start an alarm nobody acknowledged, and anything after resolution', () => {
    expect(() => applyAction(raised, { kind: 'start', comment: '' }, 'op', at(1))).toThrow(LifecycleError);
    const closed = applyAction(
      raised,
      { kind: 'resolve', resolution: 'test', comment: '' },
      'op',
      at(1),
    ).next;
    expect(() => applyAction(closed, { kind: 'comment', comment: 'late' }, 'op', at(2))).toThrow(/resolved/);
    const ack = applyAction(raised, { kind: 'acknowledge', comment: '' }, 'op', at(1)).next;
    expect(() => applyAction(ack, { kind: 'acknowledge', comment: '' }, 'op', at(2))).toThrow(
      /only a new alarm/,
    );
  });

  it('keeps the state on a comment but records it', () => {
    const { next, entry } = applyAction(raised, { kind: 'comment', comment: '正在调看录像' }, 'op', at(5));
    expect(next).toEqual(raised);
    expect(entry).toMatchObject({ transition: 'commented', state: 'new', comment: '正在调看录像' });
  });
});

describe('escalate', () => {
  it('does nothing before the deadline', () => {
    expect(escalate(raised, 'high', ['duty-manager'], at(119), policy)).toBeUndefined();
  });

  it('moves one level up the chain at the deadline with a fresh deadline, and stops at the last level', () => {
    const first = escalate(raised, 'high', ['duty-manager', 'police-liaison'], at(120), policy)!;
    expect(first).toMatchObject({
      escalationLevel: 1,
      assigneeTeamId: 'duty-manager',
      acknowledgeDeadline: at(240),
    });
    const second = escalate(first, 'high', ['duty-manager', 'police-liaison'], at(240), policy)!;
    expect(second).toMatchObject({
      escalationLevel: 2,
      assigneeTeamId: 'police-liaison',
      acknowledgeDeadline: undefined,
    });
    expect(escalate(second, 'high', [], at(10_000), policy)).toBeUndefined();
  });

  it('keeps the current team when the chain is shorter, and never escalates an acknowledged alarm', () => {
    expect(escalate(raised, 'high', [], at(120), policy)?.assigneeTeamId).toBe('night-shift');
    const ack = applyAction(raised, { kind: 'acknowledge', comment: '' }, 'op', at(119)).next;
    expect(escalate(ack, 'high', ['x'], at(10_000), policy)).toBeUndefined();
  });

  it('gives a critical alarm less time than a low one', () => {
    expect(acknowledgeDeadline('critical', T0, policy.limits)).toEqual(at(60));
    expect(acknowledgeDeadline('low', T0, policy.limits)).toEqual(at(600));
  });
});
