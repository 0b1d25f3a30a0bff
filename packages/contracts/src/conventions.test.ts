import { describe, expect, it } from 'vitest';
import { deterministicEventId, isGat1400Id, isUuid, parseGat1400Id, TOPIC_NAME_PATTERN } from './ids.ts';
import { timestampFromDate, timestampFromMillis, timestampToDate, timestampToMillis } from './time.ts';

describe('ids', () => {
  it('derives stable UUIDv5 event ids', () => {
    const a = deterministicEventId('face', 'dev-1', 'capture-42');
    expect(a).toBe(deterministicEventId('face', 'dev-1', 'capture-42'));
    expect(isUuid(a)).toBe(true);
    expect(a[14]).toBe('5');
    expect(['8', '9', 'a', 'b']).toContain(a[19]);
    expect(deterministicEventId('face', 'dev-1', 'capture-43')).not.toBe(a);
    // Parts are joined unambiguously.
    expect(deterministicEventId('ab', 'c')).not.toBe(deterministicEventId('a', 'bc'));
    expect(() => deterministicEventId()).toThrow();
  });

  it('recognises and splits GA/T 1400 ids', () => {
    expect(isGat1400Id('37030300001190000001')).toBe(true);
    expect(isGat1400Id('3703030000119000000')).toBe(false);
    expect(isGat1400Id('3703030000119000000x')).toBe(false);
    expect(parseGat1400Id('37030300001190000001')).toEqual({
      region: '37030300',
      industry: '00',
      type: '119',
      network: '0',
      serial: '000001',
    });
    expect(() => parseGat1400Id('123')).toThrow();
  });

  it('checks topic names', () => {
    expect(TOPIC_NAME_PATTERN.test('anfang.device.plate-read.v1')).toBe(true);
    expect(TOPIC_NAME_PATTERN.test('anfang.device.plate_read.v1')).toBe(false);
    expect(TOPIC_NAME_PATTERN.test('anfang.device.plate-read.v1.dlq')).toBe(false);
    expect(TOPIC_NAME_PATTERN.test('anfang.Device.plate-read.v1')).toBe(false);
  });
});

describe('timestamps', () => {
  it('converts milliseconds both ways, negative and fractional included', () => {
    for (const ms of [0, 1, 999, 1000, 1_769_847_330_123, -1, -1500, 1.5]) {
      const ts = timestampFromMillis(ms);
      expect(ts.nanos).toBeGreaterThanOrEqual(0);
      expect(ts.nanos).toBeLessThan(1e9);
      expect(timestampToMillis(ts)).toBeCloseTo(ms, 6);
    }
    expect(timestampFromMillis(-1500)).toEqual({ seconds: -2, nanos: 500_000_000 });
    expect(timestampToMillis(undefined)).toBeUndefined();
    const d = new Date('2026-01-31T08:15:30.123Z');
    expect(timestampToDate(timestampFromDate(d))?.toISOString()).toBe(d.toISOString());
    expect(() => timestampFromMillis(Number.NaN)).toThrow();
  });
});
