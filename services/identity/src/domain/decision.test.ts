import { describe, expect, it } from 'vitest';
import {
  decide,
  inSchedule,
  presenceKey,
  type Candidate,
  type DecisionInput,
  type DoorView,
  type GrantView,
} from './decision.ts';

const HOUR = 3_600_000;
// 2026-11-25 is a Wednesday; 10:00 in China (UTC+8) is 02:00 UTC.
const wednesday10 = Date.UTC(2026, 10, 25, 2, 0);
const door: DoorView = {
  doorId: 'gate',
  compoundId: 'c1',
  doorGroupIds: ['residents'],
  direction: 'both',
  antiPassbackGroupIds: [],
};

const grant = (extra: Partial<GrantView> = {}): GrantView => ({
  grantId: 'g1',
  doorGroupId: 'residents',
  role: 'resident',
  validFrom: wednesday10 - 24 * HOUR,
  validTo: null,
  revokedAt: null,
  schedule: null,
  ...extra,
});

const person = (grants: GrantView[], extra: Partial<Candidate['credential']> = {}): Candidate => ({
  credential: { credentialId: 'cred', validFrom: null, validTo: null, revokedAt: null, ...extra },
  holder: { kind: 'person', personId: 'p1', removed: false, grants },
});

const pass = (extra: Partial<Extract<Candidate['holder'], { kind: 'pass' }>> = {}): Candidate => ({
  credential: { credentialId: 'pass-cred', validFrom: null, validTo: null, revokedAt: null },
  holder: {
    kind: 'pass',
    passId: 'pass1',
    doorIds: ['gate', 'unit-3-2'],
    validFrom: wednesday10 - HOUR,
    validTo: wednesday10 + HOUR,
    checkedOutAt: null,
    ...extra,
  },
});

const input = (candidates: Candidate[], extra: Partial<DecisionInput> = {}): DecisionInput => ({
  door,
  candidates,
  spoof: false,
  at: wednesday10,
  utcOffsetMinutes: 480,
  ...extra,
});

describe('decide', () => {
  it('lets a resident with a live grant for the door through, naming person and role', () => {
    expect(decide(input([person([grant()])]))).toEqual({
      allowed: true,
      reason: 'granted',
      credentialId: 'cred',
      personId: 'p1',
      role: 'resident',
    });
  });

  it('refuses a spoof before anything else, even with a valid grant', () => {
    const decision = decide(input([person([grant()])], { spoof: true }));
    expect(decision).toMatchObject({ allowed: false, reason: 'spoof', personId: 'p1' });
  });

  it('refuses unknown doors and unknown credentials', () => {
    expect(decide(input([person([grant()])], { door: undefined })).reason).toBe('unknown_door');
    expect(decide(input([])).reason).toBe('unknown_credential');
  });

  it('refuses a revoked grant or credential as revoked, an expired one as expired', () => {
    expect(decide(input([person([grant({ revokedAt: wednesday10 - 1 })])])).reason).toBe('revoked');
    expect(decide(input([person([grant()], { revokedAt: wednesday10 - 1 })])).reason).toBe('revoked');
    expect(decide(input([person([grant({ validTo: wednesday10 })])])).reason).toBe('expired');
    expect(decide(input([person([grant()], { validTo: wednesday10 - 1 })])).reason).toBe('expired');
    expect(decide(input([person([grant({ validFrom: wednesday10 + 1 })])])).reason).toBe('expired');
  });

  it('tells a grant for other doors (wrong door) from no grant at all', () => {
    expect(decide(input([person([grant({ doorGroupId: 'staff' })])])).reason).toBe('wrong_door');
    expect(decide(input([person([])])).reason).toBe('no_grant');
    expect(decide(input([person([grant({ doorGroupId: 'staff', revokedAt: 1 })])])).reason).toBe('no_grant');
  });

  it('refuses a removed person whatever their grants', () => {
    const removed: Candidate = {
      ...person([grant()]),
      holder: { kind: 'person', personId: 'p1', removed: true, grants: [grant()] },
    };
    expect(decide(input([removed])).reason).toBe('revoked');
  });

  it('honours time-of-day schedules in local time', () => {
    const weekdaysNineToFive = { weekdays: [1, 2, 3, 4, 5], startMinute: 9 * 60, endMinute: 17 * 60 };
    expect(decide(input([person([grant({ schedule: weekdaysNineToFive })])])).allowed).toBe(true);
    const evening = { weekdays: [], startMinute: 18 * 60, endMinute: 22 * 60 };
    expect(decide(input([person([grant({ schedule: evening })])])).reason).toBe('outside_schedule');
    const weekend = { weekdays: [6, 7], startMinute: 0, endMinute: 1440 };
    expect(decide(input([person([grant({ schedule: weekend })])])).reason).toBe('outside_schedule');
  });

  it('allows when any of several grants for the door holds', () => {
    const decision = decide(
      input([person([grant({ grantId: 'old', revokedAt: 1 }), grant({ grantId: 'new', role: 'police' })])]),
    );
    expect(decision).toMatchObject({ allowed: true, role: 'police' });
  });

  it('lets a visitor pass only on its path and only in its window', () => {
    expect(decide(input([pass()]))).toMatchObject({
      allowed: true,
      reason: 'visitor_pass',
      passId: 'pass1',
      role: 'visitor',
    });
    expect(decide(input([pass()], { door: { ...door, doorId: 'unit-5-1' } })).reason).toBe('wrong_door');
    expect(decide(input([pass()], { at: wednesday10 + 2 * HOUR })).reason).toBe('expired');
    expect(decide(input([pass()], { at: wednesday10 - 2 * HOUR })).reason).toBe('expired');
    expect(decide(input([pass({ checkedOutAt: wednesday10 - 1 })])).reason).toBe('expired');
  });

  it('prefers an allowing candidate among several (a resident whose old visitor pass expired)', () => {
    const decision = decide(input([pass({ validTo: wednesday10 - 1 }), person([grant()])]));
    expect(decision).toMatchObject({ allowed: true, personId: 'p1' });
  });
});

describe('inSchedule', () => {
  it('uses the end as exclusive and the offset for the weekday', () => {
    const schedule = { weekdays: [3], startMinute: 600, endMinute: 601 };
    expect(inSchedule(schedule, wednesday10, 480)).toBe(true);
    expect(inSchedule(schedule, wednesday10 + 60_000, 480)).toBe(false);
    // At UTC the same instant is 02:00 Wednesday: outside.
    expect(inSchedule(schedule, wednesday10, 0)).toBe(false);
  });
});

describe('decide among refusals', () => {
  it('names the live pass for other doors rather than an ended one', () => {
    const ended = pass({ checkedOutAt: wednesday10 - 1 });
    const elsewhere: Candidate = {
      ...pass({ doorIds: ['unit-5-1'] }),
      credential: { ...pass().credential, credentialId: 'other' },
    };
    expect(decide(input([ended, elsewhere])).reason).toBe('wrong_door');
  });
});

describe('anti-passback', () => {
  const entry: DoorView = { ...door, direction: 'in', antiPassbackGroupIds: ['residents'] };
  const exit: DoorView = { ...entry, doorId: 'gate-out', direction: 'out' };
  const at = (d: DoorView, inside: boolean | undefined, grants = [grant()]) =>
    decide({
      door: d,
      candidates: [person(grants)],
      spoof: false,
      at: wednesday10,
      utcOffsetMinutes: 480,
      ...(inside === undefined ? {} : { presence: new Map([[presenceKey('p1', 'residents'), inside]]) }),
    });

  it('refuses a second entry (or exit) in a row, and allows when the last pass is unknown', () => {
    expect(at(entry, true)).toMatchObject({ allowed: false, reason: 'anti_passback', personId: 'p1' });
    expect(at(entry, false)).toMatchObject({ allowed: true, reason: 'granted' });
    expect(at(exit, false)).toMatchObject({ allowed: false, reason: 'anti_passback' });
    expect(at(exit, true)).toMatchObject({ allowed: true });
    expect(at(entry, undefined)).toMatchObject({ allowed: true });
  });

  it('concerns only IN/OUT doors of groups that enforce it, and never hides another refusal', () => {
    expect(at({ ...entry, direction: 'both' }, true).allowed).toBe(true);
    expect(at({ ...entry, antiPassbackGroupIds: [] }, true).allowed).toBe(true);
    expect(at(entry, true, [grant({ validTo: wednesday10 - HOUR })]).reason).toBe('expired');
    // Another group's grant at the same door, without anti-passback, lets the person through.
    const both = { ...entry, doorGroupIds: ['residents', 'staff'] };
    expect(at(both, true, [grant(), grant({ grantId: 'g2', doorGroupId: 'staff' })]).allowed).toBe(true);
  });
});
