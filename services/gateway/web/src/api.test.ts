import { describe, expect, it } from 'vitest';
import { ApiError, mapLimit, withQuery } from './api.ts';
import { parseEnvelope } from './live.ts';
import { alarmFromChange } from './views/alarms.ts';
import { toLevel, levelClass, offset } from './format.ts';

describe('query strings', () => {
  it('repeat list keys, skip empty values and escape', () => {
    expect(
      withQuery('/v1/alarm/alarms', {
        compound_id: 'a b',
        states: ['X', 'Y'],
        limit: 5,
        empty: '',
        none: undefined,
      }),
    ).toBe('/v1/alarm/alarms?compound_id=a+b&states=X&states=Y&limit=5');
    expect(withQuery('/v1/compounds')).toBe('/v1/compounds');
  });
});

describe('mapLimit', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(peak).toBe(2);
  });
});

describe('ApiError', () => {
  it('reads an absent service or route as unavailable, a refusal not', () => {
    expect(new ApiError(503, 'Service Unavailable').unavailable).toBe(true);
    expect(new ApiError(404, 'Not Found', 'no_route').unavailable).toBe(true);
    expect(new ApiError(404, 'Not Found', 'ALARM_NOT_FOUND').unavailable).toBe(false);
    expect(new ApiError(403, 'Forbidden').unavailable).toBe(false);
  });
});

describe('live envelopes', () => {
  it('parse the gateway frame and drop malformed ones', () => {
    expect(
      parseEnvelope('alarm', '{"type":"alarm","compoundId":"c1","eventId":"e","payload":{"alarmId":"a"}}'),
    ).toEqual({
      type: 'alarm',
      compoundId: 'c1',
      eventId: 'e',
      payload: { alarmId: 'a' },
    });
    expect(parseEnvelope('alarm', 'not json')).toBeUndefined();
    expect(parseEnvelope('alarm', '{"payload":{}}')).toBeUndefined();
    expect(parseEnvelope('alarm', '{"compoundId":"c","payload":null}')).toBeUndefined();
  });

  it('turn an AlarmChanged into the alarm, keeping what the change does not carry', () => {
    const before = { alarmId: 'a1', compoundId: 'c1', title: '东墙', zoneId: 'z1', state: 'ALARM_STATE_NEW' };
    const after = alarmFromChange(
      'c1',
      { alarmId: 'a1', state: 'ALARM_STATE_ACKNOWLEDGED', images: [{ objectKey: 'k/1.jpg' }] },
      before,
    );
    expect(after).toEqual({ ...before, state: 'ALARM_STATE_ACKNOWLEDGED', snapshotKeys: ['k/1.jpg'] });
    expect(alarmFromChange('c1', { state: 'ALARM_STATE_NEW' })).toBeUndefined();
  });
});

describe('formatting', () => {
  it('accepts levels by name or number', () => {
    expect(toLevel('COMPLIANCE_LEVEL_QUALITY')).toBe('COMPLIANCE_LEVEL_QUALITY');
    expect(toLevel(4)).toBe('COMPLIANCE_LEVEL_DEMONSTRATION');
    expect(toLevel('bogus')).toBe('COMPLIANCE_LEVEL_UNSPECIFIED');
    expect(levelClass('COMPLIANCE_LEVEL_NOT_COMPLIANT')).toBe('lv-not-compliant');
  });

  it('sizes clock offsets', () => {
    expect(offset(0)).toBe('0 ms');
    expect(offset(-850)).toBe('−850 ms');
    expect(offset(4500)).toBe('+4.5 s');
    expect(offset(600_000)).toBe('+10.0 min');
  });
});
