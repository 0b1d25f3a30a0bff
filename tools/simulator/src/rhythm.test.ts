import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.ts';
import { ACTIVITIES, activityRates, outboundShare, simClock } from './rhythm.ts';

const total = (rate: number, hour: number): number =>
  Object.values(activityRates(rate, hour)).reduce((a, b) => a + b, 0);

describe('rhythm', () => {
  it('averages the configured rate over a day', () => {
    let sum = 0;
    const samples = 24 * 60;
    for (let i = 0; i < samples; i += 1) sum += total(5, (i / samples) * 24);
    expect(sum / samples).toBeCloseTo(5, 2);
  });

  it('peaks in the morning and evening and is quiet at night', () => {
    const morning = activityRates(10, 7.6);
    const night = activityRates(10, 3);
    const evening = activityRates(10, 18.2);
    expect(morning.resident).toBeGreaterThan(night.resident * 10);
    expect(evening.vehicle).toBeGreaterThan(night.vehicle * 10);
    expect(night.perimeter).toBeGreaterThan(activityRates(10, 14).perimeter);
    expect(activityRates(10, 3).visitor).toBeLessThan(activityRates(10, 10.5).visitor / 10);
    for (const a of ACTIVITIES) expect(activityRates(0, 12)[a]).toBe(0);
  });

  it('sends people out in the morning and brings them home in the evening', () => {
    expect(outboundShare(7.6)).toBeGreaterThan(0.7);
    expect(outboundShare(18.5)).toBeLessThan(0.3);
  });

  it('compresses simulated time around a Beijing hour of day', () => {
    // 2024-05-13T00:00:00Z is 08:00 in Beijing.
    const start = Date.parse('2024-05-13T00:00:00Z');
    const clock = simClock(start, 1440);
    expect(clock.hour(start)).toBeCloseTo(8, 5);
    expect(clock.hour(start + 30_000)).toBeCloseTo(20, 5); // half a day per 30 s
    expect(clock.hour(start + 60_000)).toBeCloseTo(8, 5);
  });
});

describe('random', () => {
  it('is reproducible and draws Poisson counts with the right mean', () => {
    const a = seededRandom('x');
    const b = seededRandom('x');
    expect([a.next(), a.next()]).toEqual([b.next(), b.next()]);
    const r = seededRandom(1);
    let sum = 0;
    for (let i = 0; i < 20_000; i += 1) sum += r.poisson(0.5);
    expect(sum / 20_000).toBeCloseTo(0.5, 1);
    expect(r.weighted([0, 0])).toBe(-1);
  });
});
