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

  it('keeps every event id it ever derived (the dedupe identity of device events)', () => {
    // Computed by the first implementation (one hash.update per length and part); any change of
    // the derivation would make every resent device event look new.
    const pinned: [string[], string][] = [
      [
        ['face-captured', '0190f5d2-7a4b-7c3d-8e9f-0123456789ab', 'capture-42'],
        'cb3b3080-2c6c-5293-a247-49af53139eb5',
      ],
      [
        ['plate-read', '34020000001190000001', '京A·12345@2026-11-29T10:00:00Z'],
        'fe3cb024-bd28-59d0-a6b8-b791051e19c4',
      ],
      [['face', 'dev-1', ''], 'f26e0d71-3b25-57f6-a522-facee7d1c5b6'],
      [[''], '5010ea5d-8436-523a-a6b2-a7bfb9481b4f'],
      [['ab', 'c'], 'a98e9d55-938c-5ed3-b51a-b05d3f8f5dfc'],
      [['a', 'bc'], 'dc51ed57-ea7d-5852-8af7-5041c3502c79'],
      [['perimeter-triggered', 'x'.repeat(300), '🚗 emoji'], '7fca3090-9812-56bc-ace7-d90c17faf215'],
      // A lone surrogate is encoded as U+FFFD, as Buffer.from(part, 'utf8') did.
      [['face', '\ud83d', 'x'], '61c80ce8-577b-5cf3-b905-125ed20886d6'],
    ];
    for (const [parts, id] of pinned) expect(deterministicEventId(...parts)).toBe(id);
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
