import { describe, expect, it } from 'vitest';
import { ClockFilter, classifyDrift, clockOffsetMs, driftChange, type OffsetSample } from './clock.ts';

describe('clock drift', () => {
  it('offset is device time minus receive time (positive: the device is ahead)', () => {
    expect(clockOffsetMs(new Date(10_000), new Date(8_000))).toBe(-2000);
    expect(clockOffsetMs(new Date(8_000), new Date(10_000))).toBe(2000);
  });

  it('classifies by absolute offset: ≤ 1 s ok, > 1 s warning, > 5 s alarm', () => {
    expect(classifyDrift(0)).toBe('ok');
    expect(classifyDrift(1000)).toBe('ok');
    expect(classifyDrift(1001)).toBe('warning');
    expect(classifyDrift(-2000)).toBe('warning');
    expect(classifyDrift(5000)).toBe('warning');
    expect(classifyDrift(5001)).toBe('alarm');
    expect(classifyDrift(-6000)).toBe('alarm');
  });

  it('returns to ok only below the hysteresis band', () => {
    expect(classifyDrift(900, 'warning')).toBe('warning');
    expect(classifyDrift(799, 'warning')).toBe('ok');
    expect(classifyDrift(900, 'ok')).toBe('ok');
  });

  it('drift changes: time sync when leaving ok, alarm raised above 5 s and cleared below', () => {
    expect(driftChange('ok', 500)).toBeUndefined();
    expect(driftChange('ok', 2000)).toEqual({ previous: 'ok', severity: 'warning', queueTimeSync: true });
    expect(driftChange('ok', 6000)).toEqual({
      previous: 'ok',
      severity: 'alarm',
      queueTimeSync: true,
      alarm: true,
    });
    expect(driftChange('warning', 6000)).toEqual({
      previous: 'warning',
      severity: 'alarm',
      queueTimeSync: false,
      alarm: true,
    });
    expect(driftChange('alarm', 2000)).toEqual({
      previous: 'alarm',
      severity: 'warning',
      queueTimeSync: false,
      alarm: false,
    });
    expect(driftChange('alarm', 10)).toEqual({
      previous: 'alarm',
      severity: 'ok',
      queueTimeSync: false,
      alarm: false,
    });
    expect(driftChange('warning', 3000)).toBeUndefined();
  });
});

describe('clock filter: the least-delayed sample of a window', () => {
  /** Samples of a device whose clock is `trueMs` off, each delayed by its `delayMs`. */
  const feed = (filter: ClockFilter, trueMs: number, samples: readonly [at: number, delayMs: number][]) =>
    samples.map(([at, delayMs]) => filter.add({ at, offsetMs: trueMs - delayMs }));

  it('a right clock behind a request queue is not drift: judged on the least-delayed sample', () => {
    const filter = new ClockFilter(30_000);
    // Prompt, then seconds of queueing (overload), then prompt again.
    const estimates = feed(filter, 0, [
      [0, 15],
      [2_000, 2_400],
      [4_000, 6_300],
      [6_000, 3_100],
      [8_000, 20],
    ]);
    expect(estimates.map((e) => e.offsetMs)).toEqual([-15, -15, -15, -15, -15]);
    let severity: 'ok' | 'warning' | 'alarm' = 'ok';
    for (const e of estimates) severity = driftChange(severity, e.offsetMs)?.severity ?? severity;
    expect(severity).toBe('ok');
    // Judged sample by sample, the same traffic raised an alarm.
    expect(driftChange('ok', -6_300)?.severity).toBe('alarm');
  });

  it('a clock really off is found in every window, whatever the delays', () => {
    const behind = new ClockFilter(30_000);
    expect(
      feed(behind, -2_000, [
        [0, 900],
        [1_000, 30],
        [2_000, 4_000],
      ]).map((e) => e.offsetMs),
    ).toEqual([-2_900, -2_030, -2_030]);
    const ahead = new ClockFilter(30_000);
    expect(
      feed(ahead, 6_000, [
        [0, 10],
        [500, 2_000],
      ]).at(-1),
    ).toEqual({ at: 0, offsetMs: 5_990 });
  });

  it('samples leave the window: a clock stepped back shows once its earlier samples are out', () => {
    const filter = new ClockFilter(1_000);
    expect(filter.add({ at: 0, offsetMs: -2_000 })).toEqual({ at: 0, offsetMs: -2_000 });
    expect(filter.add({ at: 600, offsetMs: -6_000 })).toEqual({ at: 0, offsetMs: -2_000 });
    // At 1 000 the sample of 0 is out; the one of 600 is the best left.
    expect(filter.add({ at: 1_000, offsetMs: -6_100 })).toEqual({ at: 600, offsetMs: -6_000 });
    // At 1 700 that one is out too, and the new sample beats the one of 1 000 anyway.
    expect(filter.add({ at: 1_700, offsetMs: -6_050 })).toEqual({
      at: 1_700,
      offsetMs: -6_050,
    } satisfies OffsetSample);
  });

  it('a better sample replaces every earlier one at once (a clock corrected forward shows at once)', () => {
    const filter = new ClockFilter(60_000);
    feed(filter, -6_000, [
      [0, 5],
      [1_000, 50],
      [2_000, 500],
    ]);
    expect(filter.add({ at: 3_000, offsetMs: -40 })).toEqual({ at: 3_000, offsetMs: -40 });
    expect(filter.add({ at: 4_000, offsetMs: -3_000 })).toEqual({ at: 3_000, offsetMs: -40 });
  });
});
