import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@anfang/platform/grpc';
import { pageSizeOf, reportPeriod, routeStops, scheduleInput, validated, Violations } from './validate.ts';

const CHECKPOINT = '0193a5f0-0000-7000-8000-000000000001';

function fieldsOf(check: (v: Violations) => unknown): string[] {
  const violations = new Violations();
  check(violations);
  return violations.list.map((v) => v.field);
}

describe('request validation', () => {
  it('throws one InvalidArgumentError naming every field', () => {
    let error: unknown;
    try {
      validated((v) => {
        v.compound('compound_id', '');
        v.uuid('route_id', 'R1');
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).violations).toEqual([
      { field: 'compound_id', description: 'required' },
      { field: 'route_id', description: 'a lowercase UUID' },
    ]);
    expect((error as Error).message).toBe('compound_id: required; route_id: a lowercase UUID');
  });

  it('returns the cleaned values when all is well', () => {
    expect(validated((v) => v.tag('tag_id', '  NFC-0042 '))).toBe('NFC-0042');
  });

  it('refuses tags with whitespace inside and compounds that are not codes', () => {
    expect(fieldsOf((v) => v.tag('tag_id', 'NFC 42'))).toEqual(['tag_id']);
    expect(fieldsOf((v) => v.compound('compound_id', '3703/03'))).toEqual(['compound_id']);
  });

  it('caps the page size and refuses a negative one', () => {
    const v = new Violations();
    expect(pageSizeOf(v, undefined)).toBe(100);
    expect(pageSizeOf(v, { pageSize: 5000 })).toBe(1000);
    expect(v.list).toEqual([]);
    pageSizeOf(v, { pageSize: -1 });
    expect(v.list.map((x) => x.field)).toEqual(['page.page_size']);
  });

  it('checks route stops: at least one, known shape, each checkpoint once, bounded minutes', () => {
    expect(fieldsOf((v) => routeStops(v, []))).toEqual(['route.stops']);
    expect(
      fieldsOf((v) =>
        routeStops(v, [
          { checkpointId: CHECKPOINT, minutesFromPrevious: -1 },
          { checkpointId: CHECKPOINT, stayMinutes: 721 },
        ]),
      ),
    ).toEqual([
      'route.stops[0].minutes_from_previous',
      'route.stops[1].checkpoint_id',
      'route.stops[1].stay_minutes',
    ]);
    const [stop] = validated((v) => routeStops(v, [{ checkpointId: CHECKPOINT }]));
    expect(stop).toEqual({
      checkpointId: CHECKPOINT,
      minutesFromPrevious: 0,
      toleranceMinutes: 0,
      stayMinutes: 0,
    });
  });

  it('normalises weekdays and parses the start time of a schedule', () => {
    const schedule = validated((v) =>
      scheduleInput(v, {
        routeId: CHECKPOINT,
        guardId: CHECKPOINT,
        weekdays: [7, 1, 1],
        startTime: '21:30',
        utcOffsetMinutes: 480,
        validFrom: '2026-12-01',
      }),
    );
    expect(schedule).toMatchObject({
      weekdays: [1, 7],
      startMinute: 1290,
      validUntil: undefined,
      shiftName: '',
    });
    expect(fieldsOf((v) => scheduleInput(v, {}))).toEqual([
      'schedule.weekdays',
      'schedule.start_time',
      'schedule.valid_from',
      'schedule.route_id',
      'schedule.guard_id',
    ]);
    expect(fieldsOf((v) => scheduleInput(v, { utcOffsetMinutes: 900 }))).toContain(
      'schedule.utc_offset_minutes',
    );
  });

  it('requires a report period that is forward and at most a year long', () => {
    const ts = (iso: string) => ({ seconds: Date.parse(iso) / 1000, nanos: 0 });
    expect(fieldsOf((v) => reportPeriod(v, null, null))).toEqual(['from', 'to']);
    expect(fieldsOf((v) => reportPeriod(v, ts('2026-11-02T00:00:00Z'), ts('2026-11-02T00:00:00Z')))).toEqual([
      'to',
    ]);
    expect(fieldsOf((v) => reportPeriod(v, ts('2025-11-01T00:00:00Z'), ts('2026-11-03T00:00:00Z')))).toEqual([
      'to',
    ]);
    expect(
      validated((v) =>
        reportPeriod(v, ts('2026-11-01T00:00:00Z'), ts('2026-12-01T00:00:00Z')),
      ).to.toISOString(),
    ).toBe('2026-12-01T00:00:00.000Z');
  });
});
