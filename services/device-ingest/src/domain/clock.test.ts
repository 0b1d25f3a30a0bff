import { describe, expect, it } from 'vitest';
import { classifyDrift, clockOffsetMs, driftChange } from './clock.ts';

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
