import { describe, expect, it } from 'vitest';
import {
  formatGat1400Time,
  isAggregatingSender,
  isGat1400ObjectId,
  isGat1400SourceId,
  parseGat1400Time,
  parseQueryConditions,
  parseStatusCode,
  responseStatus,
} from './codec.ts';
import { GAT_IDS, imageId, objectId } from './fixtures.ts';

describe('GA/T 1400 time', () => {
  it('reads yyyyMMddHHmmss as Beijing local time (UTC+8, no zone in the text)', () => {
    expect(parseGat1400Time('20250314083015')?.toISOString()).toBe('2025-03-14T00:30:15.000Z');
  });

  it('crosses the date line back to the previous UTC day', () => {
    expect(parseGat1400Time('20250101050000')?.toISOString()).toBe('2024-12-31T21:00:00.000Z');
  });

  it('accepts a trailing millisecond part and a numeric value', () => {
    expect(parseGat1400Time('20250314083015123')?.toISOString()).toBe('2025-03-14T00:30:15.123Z');
    expect(parseGat1400Time(20250314083015)?.toISOString()).toBe('2025-03-14T00:30:15.000Z');
  });

  it('refuses other formats and impossible dates', () => {
    for (const bad of [
      '2025-03-14 08:30:15',
      '2025031408301',
      '20250230120000',
      '20251314083015',
      '20250314243015',
      '',
      null,
      undefined,
      1.5,
    ]) {
      expect(parseGat1400Time(bad), String(bad)).toBeUndefined();
    }
    expect(parseGat1400Time('20240229120000')).toBeDefined();
  });

  it('formats a Date as Beijing local time and round-trips', () => {
    const d = new Date('2025-12-31T16:00:01Z');
    expect(formatGat1400Time(d)).toBe('20260101000001');
    expect(parseGat1400Time(formatGat1400Time(d))?.getTime()).toBe(d.getTime());
  });
});

describe('GA/T 1400 ids', () => {
  it('checks 41-char source ids and 48-char object ids with their kind', () => {
    const src = imageId(GAT_IDS.faceCamera, '20250314083015', 1);
    expect(src).toHaveLength(41);
    expect(isGat1400SourceId(src)).toBe(true);
    const face = objectId(GAT_IDS.faceCamera, '20250314083015', '06', 1);
    expect(face).toHaveLength(48);
    expect(isGat1400ObjectId(face, '06')).toBe(true);
    expect(isGat1400ObjectId(face, '02')).toBe(false);
    expect(isGat1400ObjectId(face.slice(1))).toBe(false);
    expect(isGat1400ObjectId(`${face.slice(0, 20)}09${face.slice(22)}`)).toBe(false); // kind 09 is no picture kind
  });

  it('lets collection systems, tollgates and platforms push for other devices', () => {
    expect(isAggregatingSender(GAT_IDS.collectionSystem)).toBe(true);
    expect(isAggregatingSender(GAT_IDS.platform)).toBe(true);
    expect(isAggregatingSender(GAT_IDS.faceCamera)).toBe(false);
  });
});

describe('GA/T 1400 StatusCode', () => {
  it('arrives as a string or a number', () => {
    expect(parseStatusCode(0)).toBe(0);
    expect(parseStatusCode('0')).toBe(0);
    expect(parseStatusCode(' 8 ')).toBe(8);
    expect(parseStatusCode('OK')).toBeUndefined();
    expect(parseStatusCode(-1)).toBeUndefined();
    expect(parseStatusCode(null)).toBeUndefined();
  });

  it('answers with Id, RequestURL, StatusCode, StatusString and Beijing LocalTime', () => {
    expect(responseStatus('x', '/VIID/Faces', 0, 'OK', new Date('2025-03-14T00:30:15Z'))).toEqual({
      Id: 'x',
      RequestURL: '/VIID/Faces',
      StatusCode: 0,
      StatusString: 'OK',
      LocalTime: '20250314083015',
    });
  });
});

describe('GA/T 1400 query conditions', () => {
  it('reads the parenthesised, AND-joined and plain forms, dropping the object prefix', () => {
    const expected = new Map([
      ['DispositionID', '370303000000012026112900000100001'],
      ['DispositionStatus', '0'],
    ]);
    expect(
      parseQueryConditions(
        '?(DispositionObject.DispositionID=370303000000012026112900000100001)&(DispositionObject.DispositionStatus=0)',
      ),
    ).toEqual(expected);
    expect(
      parseQueryConditions(
        `?${encodeURIComponent('(Dispositions.DispositionID=370303000000012026112900000100001 AND Dispositions.DispositionStatus=0)')}`,
      ),
    ).toEqual(expected);
    expect(
      parseQueryConditions('?DispositionID=370303000000012026112900000100001&DispositionStatus=0'),
    ).toEqual(expected);
    expect(parseQueryConditions('')).toEqual(new Map());
  });

  it('refuses a part that is not field=value, and broken encoding', () => {
    expect(parseQueryConditions('?(DispositionID)')).toEqual({
      failure: 'condition "DispositionID" is not field=value',
    });
    expect(parseQueryConditions('?a=%E4')).toHaveProperty('failure');
  });
});
