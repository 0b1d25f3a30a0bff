import { describe, expect, it } from 'vitest';
import { decide, DEFAULT_POLICY, isWatchlistHit, withinWindow, type DecisionFacts } from './decision.ts';
import { normalisePlate } from './plate.ts';

const at = new Date('2026-06-01T08:00:00Z');
const past = new Date('2026-05-01T00:00:00Z');
const future = new Date('2026-07-01T00:00:00Z');

function facts(overrides: Partial<DecisionFacts> = {}): DecisionFacts {
  return {
    at,
    knownLane: true,
    hasPlate: true,
    plate: normalisePlate('鲁C12345'),
    confidence: 0.95,
    spoofed: false,
    direction: 'in',
    policy: DEFAULT_POLICY,
    registration: null,
    visitor: null,
    watchlist: null,
    inside: false,
    ...overrides,
  };
}

const registration = { vehicleId: 'v-1', validity: { start: past, end: future } };
const visitor = { authorisationId: 'a-1', window: { start: past, end: future } };

describe('decide', () => {
  it('opens for a registered vehicle within its validity', () => {
    expect(decide(facts({ registration }))).toMatchObject({
      decision: 'open',
      reason: 'registered',
      vehicleId: 'v-1',
    });
  });

  it('opens for an authorised visitor within the window', () => {
    expect(decide(facts({ visitor }))).toMatchObject({
      decision: 'open',
      reason: 'visitor-authorised',
      visitorAuthorisationId: 'a-1',
    });
  });

  it('holds an unknown vehicle, or opens it when the compound says so', () => {
    expect(decide(facts())).toMatchObject({ decision: 'hold', reason: 'unknown-vehicle' });
    expect(decide(facts({ policy: { ...DEFAULT_POLICY, unknownVehicle: 'open' } }))).toMatchObject({
      decision: 'open',
      reason: 'unknown-vehicle',
    });
  });

  it('holds expired registrations and authorisations', () => {
    const expired = { start: past, end: new Date('2026-05-02T00:00:00Z') };
    expect(decide(facts({ registration: { vehicleId: 'v-1', validity: expired } }))).toMatchObject({
      decision: 'hold',
      reason: 'expired',
      vehicleId: 'v-1',
    });
    expect(
      decide(facts({ visitor: { authorisationId: 'a-1', window: { start: future, end: null } } })),
    ).toMatchObject({ decision: 'hold', reason: 'expired' });
  });

  it('never opens a spoofed capture, even for a registered vehicle or an open policy', () => {
    const spoof = facts({
      spoofed: true,
      registration,
      policy: { ...DEFAULT_POLICY, unknownVehicle: 'open' },
    });
    expect(decide(spoof)).toMatchObject({ decision: 'deny', reason: 'spoof' });
  });

  it('never opens for unknown devices, unreadable plates or low confidence', () => {
    const open = { ...DEFAULT_POLICY, unknownVehicle: 'open' as const };
    expect(decide(facts({ knownLane: false, registration, policy: open }))).toMatchObject({
      decision: 'deny',
      reason: 'unknown-device',
    });
    expect(decide(facts({ hasPlate: false, plate: null, policy: open }))).toMatchObject({
      decision: 'hold',
      reason: 'unreadable-plate',
    });
    expect(decide(facts({ plate: normalisePlate('XX'), policy: open }))).toMatchObject({
      decision: 'hold',
      reason: 'unreadable-plate',
      detail: 'plate XX does not start with a province abbreviation',
    });
    expect(decide(facts({ confidence: 0.42, registration, policy: open }))).toMatchObject({
      decision: 'hold',
      reason: 'low-confidence',
      detail: 'confidence 0.42 below 0.70',
    });
  });

  it('applies the watchlist action: hold overrides a registration, silent keeps the usual decision', () => {
    expect(
      decide(facts({ registration, watchlist: { entryId: 'w-1', action: 'alarm-and-hold' } })),
    ).toMatchObject({ decision: 'hold', reason: 'watchlist' });
    expect(
      decide(facts({ registration, watchlist: { entryId: 'w-1', action: 'alarm-silently' } })),
    ).toMatchObject({ decision: 'open', reason: 'registered' });
  });

  it('anti-passback holds a second entry and an exit without entry, only when on', () => {
    const on = { ...DEFAULT_POLICY, antiPassback: true };
    expect(decide(facts({ registration, inside: true, policy: on }))).toMatchObject({
      decision: 'hold',
      reason: 'anti-passback',
    });
    expect(decide(facts({ registration, direction: 'out', inside: false, policy: on }))).toMatchObject({
      decision: 'hold',
      reason: 'anti-passback',
    });
    expect(decide(facts({ registration, inside: true }))).toMatchObject({
      decision: 'open',
      reason: 'registered',
    });
  });

  it('lets out a vehicle that entered, even when its visitor window has ended', () => {
    const ended = { authorisationId: 'a-1', window: { start: past, end: new Date('2026-05-02T00:00:00Z') } };
    expect(decide(facts({ direction: 'out', inside: true, visitor: ended }))).toMatchObject({
      decision: 'open',
      reason: 'visitor-authorised',
    });
    expect(decide(facts({ direction: 'out', inside: true }))).toMatchObject({
      decision: 'open',
      reason: 'unknown-vehicle',
    });
    expect(decide(facts({ direction: 'out', inside: false }))).toMatchObject({
      decision: 'hold',
      reason: 'unknown-vehicle',
    });
  });
});

describe('isWatchlistHit', () => {
  it('is a hit for a valid listed plate, also when spoofed or held for confidence', () => {
    const watchlist = { entryId: 'w-1', action: 'alarm-silently' as const };
    expect(isWatchlistHit(facts({ watchlist, spoofed: true }))).toBe(true);
    expect(isWatchlistHit(facts({ watchlist: null }))).toBe(false);
    expect(isWatchlistHit(facts({ watchlist, plate: normalisePlate('bad') }))).toBe(false);
  });
});

describe('withinWindow', () => {
  it('is half-open with open bounds', () => {
    expect(withinWindow({ start: null, end: null }, at)).toBe(true);
    expect(withinWindow({ start: at, end: null }, at)).toBe(true);
    expect(withinWindow({ start: null, end: at }, at)).toBe(false);
  });
});
