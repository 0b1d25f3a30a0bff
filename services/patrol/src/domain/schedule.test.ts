import { describe, expect, it } from 'vitest';
import {
  formatStartTime,
  isLocalDate,
  occurrences,
  parseStartTime,
  scheduleEnd,
  type ScheduleRule,
} from './schedule.ts';

const nightly: ScheduleRule = {
  weekdays: [1, 2, 3, 4, 5, 6, 7],
  startMinute: 22 * 60,
  utcOffsetMinutes: 480,
  validFrom: '2026-11-01',
  validUntil: undefined,
};

describe('occurrences', () => {
  it('turns a local start time into UTC instants (22:00 +08:00 = 14:00Z)', () => {
    const starts = occurrences(nightly, new Date('2026-11-27T00:00:00Z'), new Date('2026-11-29T00:00:00Z'));
    expect(starts.map((d) => d.toISOString())).toEqual([
      '2026-11-27T14:00:00.000Z',
      '2026-11-28T14:00:00.000Z',
    ]);
  });

  it('keeps the local weekday across the UTC date line', () => {
    // 02:00 on Monday (23 and 30 November) in +08:00 is Sunday 18:00Z.
    const mondayNight = { ...nightly, weekdays: [1], startMinute: 2 * 60 };
    const starts = occurrences(
      mondayNight,
      new Date('2026-11-22T00:00:00Z'),
      new Date('2026-12-01T00:00:00Z'),
    );
    expect(starts.map((d) => d.toISOString())).toEqual([
      '2026-11-22T18:00:00.000Z',
      '2026-11-29T18:00:00.000Z',
    ]);
  });

  it('is half-open [from, to) and respects the validity dates inclusively', () => {
    const bounded = { ...nightly, validFrom: '2026-11-28', validUntil: '2026-11-29' };
    const starts = occurrences(bounded, new Date('2026-11-20T00:00:00Z'), new Date('2026-12-05T00:00:00Z'));
    expect(starts.map((d) => d.toISOString())).toEqual([
      '2026-11-28T14:00:00.000Z',
      '2026-11-29T14:00:00.000Z',
    ]);
    expect(occurrences(nightly, new Date('2026-11-28T14:00:00Z'), new Date('2026-11-28T14:00:00Z'))).toEqual(
      [],
    );
    expect(
      occurrences(nightly, new Date('2026-11-28T14:00:00Z'), new Date('2026-11-28T14:00:01Z')),
    ).toHaveLength(1);
  });

  it('works for negative offsets', () => {
    // 23:00 at -05:00 is 04:00Z the next day.
    const rule = { ...nightly, utcOffsetMinutes: -300, startMinute: 23 * 60 };
    const starts = occurrences(rule, new Date('2026-11-28T00:00:00Z'), new Date('2026-11-29T12:00:00Z'));
    expect(starts.map((d) => d.toISOString())).toEqual([
      '2026-11-28T04:00:00.000Z',
      '2026-11-29T04:00:00.000Z',
    ]);
  });
});

describe('times and dates', () => {
  it('parses and formats HH:MM', () => {
    expect(parseStartTime('07:05')).toBe(425);
    expect(parseStartTime('23:59')).toBe(1439);
    for (const bad of ['24:00', '7:05', '07:60', '', '07:05:00']) expect(parseStartTime(bad)).toBeUndefined();
    expect(formatStartTime(425)).toBe('07:05');
  });

  it('accepts only real calendar dates', () => {
    expect(isLocalDate('2028-02-29')).toBe(true);
    expect(isLocalDate('2026-02-29')).toBe(false);
    expect(isLocalDate('2026-1-01')).toBe(false);
  });

  it('ends a schedule at the local midnight after its last date', () => {
    expect(scheduleEnd('2026-11-28', 480).toISOString()).toBe('2026-11-28T16:00:00.000Z');
    const last = occurrences(
      { ...nightly, validUntil: '2026-11-28' },
      new Date('2026-11-27T00:00:00Z'),
      new Date('2026-12-01T00:00:00Z'),
    );
    expect(last.every((start) => start < scheduleEnd('2026-11-28', 480))).toBe(true);
    expect(last).toHaveLength(2);
  });
});
