import { describe, expect, it } from 'vitest';
import { computeCoverage, targetsOf, type CompoundStanding } from './coverage.ts';

let n = 0;
const standing = (
  townStreet: string,
  programmeGroup: CompoundStanding['programmeGroup'],
  level: CompoundStanding['level'],
  uploadingRealTime = false,
): CompoundStanding => ({ compoundId: `c-${++n}`, townStreet, programmeGroup, level, uploadingRealTime });

describe('targets of the year (SPEC §4)', () => {
  it('2020: coverage 80%, listed old 100%, unobtrusive video 100%, commercial and villages 60%', () => {
    expect(targetsOf(2020)).toEqual({
      coverage: 0.8,
      groups: { old_to_close: 1, old_unobtrusive_video: 1, commercial: 0.6, village: 0.6 },
    });
  });
  it('2021: coverage 90%, new-build 100%, commercial and villages 80%', () => {
    const t = targetsOf(2021);
    expect([t.coverage, t.networking, t.groups.new_build, t.groups.commercial, t.groups.village]).toEqual([
      0.9,
      undefined,
      1,
      0.8,
      0.8,
    ]);
  });
  it('2022 and after: everything 100%, networking 100%', () => {
    for (const year of [2022, 2026]) {
      const t = targetsOf(year);
      expect([t.coverage, t.networking]).toEqual([1, 1]);
      expect(Object.values(t.groups)).toEqual([1, 1, 1, 1, 1]);
    }
  });
  it('before the programme: no targets', () => {
    expect(targetsOf(2019)).toEqual({ groups: {} });
  });
});

describe('coverage and networking rates', () => {
  // A district computed by hand: 车站 has 4 compounds (2 at 达标 or better, 1 networked),
  // 公园 has 1 (demonstration, networked); one compound is not scored yet.
  const district = [
    standing('车站', 'old_to_close', 'compliant', true),
    standing('车站', 'old_to_close', 'not_compliant'),
    standing('车站', 'commercial', 'quality'),
    standing('车站', 'commercial', undefined),
    standing('公园', 'village', 'demonstration', true),
  ];

  it('district: 3 of 5 at 达标 or better, 2 of 5 networked, against the year', () => {
    const coverage = computeCoverage(2021, district);
    expect(coverage.district).toEqual({
      scope: 'district',
      compounds: 5,
      compliant: 3,
      networked: 2,
      coverageRate: 0.6,
      networkingRate: 0.4,
      coverageTarget: 0.9,
      networkingTarget: undefined,
      byLevel: { unscored: 1, not_compliant: 1, compliant: 1, quality: 1, demonstration: 1 },
    });
  });

  it('per town/street and per programme group', () => {
    const coverage = computeCoverage(2020, district);
    expect(
      coverage.towns.map((t) => [t.scope, t.compounds, t.compliant, t.networked, t.coverageRate]),
    ).toEqual([
      ['车站', 4, 2, 1, 0.5],
      ['公园', 1, 1, 1, 1],
    ]);
    expect(
      coverage.programmeGroups.map((g) => [g.scope, g.compounds, g.coverageRate, g.coverageTarget]),
    ).toEqual([
      ['old_to_close', 2, 0.5, 1],
      ['commercial', 2, 0.5, 0.6],
      ['village', 1, 1, 0.6],
    ]);
  });

  it('an empty district has rates of 0, not NaN', () => {
    const coverage = computeCoverage(2022, []);
    expect([coverage.district.coverageRate, coverage.district.networkingRate]).toEqual([0, 0]);
    expect(coverage.towns).toEqual([]);
  });
});
