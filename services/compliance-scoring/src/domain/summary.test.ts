import { describe, expect, it } from 'vitest';
import { computeCoverage } from './coverage.ts';
import { addDays, dayIn, districtSummaryCsv, trendPoints } from './summary.ts';

describe('district summary CSV', () => {
  it('puts the district, towns, groups, then compounds in the same columns (figures by hand)', () => {
    const standings = [
      {
        compoundId: 'a',
        townStreet: '车站',
        programmeGroup: 'village' as const,
        level: 'quality' as const,
        uploadingRealTime: true,
      },
      {
        compoundId: 'b',
        townStreet: '车站',
        programmeGroup: 'village' as const,
        level: 'not_compliant' as const,
        uploadingRealTime: false,
      },
      {
        compoundId: 'c',
        townStreet: '公园',
        programmeGroup: 'commercial' as const,
        level: undefined,
        uploadingRealTime: false,
      },
    ];
    const csv = districtSummaryCsv(
      computeCoverage(2020, standings),
      standings.map((s) => ({
        ...s,
        name: `小区${s.compoundId}`,
        targetLevel: 'compliant' as const,
        missingForNextLevel: [],
      })),
      'zh',
    );
    const lines = csv.replace('\uFEFF', '').split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(1 + 1 + 2 + 2 + 3);
    expect(lines[1]).toBe('全区,全区,,,,3,,,1,0.3333,0.8000,1,0.3333,,');
    // Towns in pinyin order: 车站 (chē) before 公园 (gōng).
    expect(lines[2]).toBe('镇（街道）,车站,,车站,,2,,,1,0.5000,0.8000,1,0.5000,,');
    expect(lines[3]).toBe('镇（街道）,公园,,公园,,1,,,0,0.0000,0.8000,0,0.0000,,');
    expect(lines.slice(6)).toEqual([
      '小区,小区a,a,车站,village,1,优质,达标,1,1.0000,0.6000,1,1.0000,,',
      '小区,小区b,b,车站,village,1,未达标,达标,0,0.0000,0.6000,0,0.0000,,',
      '小区,小区c,c,公园,commercial,1,,达标,0,0.0000,0.6000,0,0.0000,,',
    ]);
  });
});

describe('trend', () => {
  it('orders days and sets each against its own year’s targets', () => {
    const points = trendPoints(
      [
        { day: '2022-01-01', compounds: 4, compliant: 4, networked: 2 },
        { day: '2021-12-31', compounds: 4, compliant: 3, networked: 1 },
      ],
      undefined,
    );
    expect(
      points.map((p) => [p.day, p.coverageRate, p.networkingRate, p.coverageTarget, p.networkingTarget]),
    ).toEqual([
      ['2021-12-31', 0.75, 0.25, 0.9, undefined],
      ['2022-01-01', 1, 0.5, 1, 1],
    ]);
    expect(
      trendPoints([{ day: '2020-05-01', compounds: 0, compliant: 0, networked: 0 }], 'village')[0],
    ).toMatchObject({
      coverageRate: 0,
      coverageTarget: 0.6,
    });
  });

  it('counts days in the district time zone', () => {
    const lateUtc = new Date('2026-11-28T17:30:00Z');
    expect(dayIn('Asia/Shanghai', lateUtc)).toBe('2026-11-29');
    expect(dayIn('UTC', lateUtc)).toBe('2026-11-28');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addDays('2021-12-31', 1)).toBe('2022-01-01');
  });
});
