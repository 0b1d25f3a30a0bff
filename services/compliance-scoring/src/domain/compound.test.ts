import { describe, expect, it } from 'vitest';
import { TABLE_OF_CATEGORY, compoundViolations, isIsoDate, type CompoundInput } from './compound.ts';

const valid: CompoundInput = {
  compoundId: '370303001001',
  name: '天晓小区',
  townStreet: '车站',
  neighbourhoodCommittee: '安乐街社区居委会',
  standardAddress: '',
  category: 'semi_closed_converted',
  programmeGroup: 'old_to_close',
  buildingsCount: 3,
  unitsCount: 9,
  buildingCodes: ['37030300100101', '37030300100102'],
  targetLevel: 'compliant',
  constructionStatus: 'in_progress',
  constructionStartedOn: '2020-04-01',
  constructionCompletedOn: undefined,
  visualPlatformEnabled: false,
};

const fields = (input: Partial<CompoundInput>) =>
  compoundViolations({ ...valid, ...input }).map((v) => v.field);

describe('compounds', () => {
  it('the category chooses the table (SPEC §4)', () => {
    expect(TABLE_OF_CATEGORY).toEqual({
      new_build: 'A',
      closed: 'A',
      semi_closed_converted: 'A',
      open_old: 'B',
      village: 'B',
      single_building: 'C',
    });
  });

  it('a valid compound has no violations', () => {
    expect(compoundViolations(valid)).toEqual([]);
  });

  it('names every broken rule by field', () => {
    expect(fields({ compoundId: '', name: ' ', townStreet: '' })).toEqual([
      'compound_id',
      'name',
      'town_street',
    ]);
    expect(fields({ buildingsCount: -1, unitsCount: 1.5 })).toEqual(['buildings_count', 'units_count']);
    expect(fields({ buildingCodes: ['a', 'a'] })).toEqual(['building_codes']);
    expect(fields({ buildingCodes: ['a', 'b', 'c', 'd'] })).toEqual(['building_codes']);
    expect(fields({ buildingCodes: ['bad code'] })).toEqual(['building_codes']);
    expect(fields({ targetLevel: 'not_compliant' })).toEqual(['target_level']);
  });

  it('construction dates: real dates, in order, and consistent with the status', () => {
    expect(fields({ constructionStartedOn: '2021-02-29' })).toEqual(['construction_started_on']);
    expect(fields({ constructionCompletedOn: '2020-03-01' })).toEqual(['construction_completed_on']);
    expect(fields({ constructionStatus: 'accepted' })).toEqual(['construction_completed_on']);
    expect(fields({ constructionStatus: 'planned' })).toEqual(['construction_status']);
    expect(fields({ constructionStatus: 'built', constructionCompletedOn: '2020-10-31' })).toEqual([]);
  });

  it('ISO dates only', () => {
    expect(['2020-01-31', '2024-02-29'].map(isIsoDate)).toEqual([true, true]);
    expect(['2020-1-31', '2023-02-29', '2020-13-01', ''].map(isIsoDate)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
