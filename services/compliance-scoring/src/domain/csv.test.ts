import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CsvFileError, derivedCompoundId, parseCompoundCsv } from './csv.ts';

const csv = (text: string) => new TextEncoder().encode(text);

describe('compound CSV', () => {
  it('reads the seed: the 37 old compounds to be closed, with their towns', () => {
    const rows = parseCompoundCsv(readFileSync(new URL('../../data/seed-compounds.csv', import.meta.url)));
    expect(rows).toHaveLength(37);
    expect(rows.every((r) => r.violations.length === 0)).toBe(true);
    expect(rows[0]!.input).toMatchObject({
      compoundId: 'zd-old-001',
      name: '天晓小区',
      townStreet: '车站',
      neighbourhoodCommittee: '安乐街社区居委会',
      category: 'semi_closed_converted',
      programmeGroup: 'old_to_close',
      targetLevel: 'compliant',
      constructionStatus: 'planned',
    });
    expect(new Set(rows.map((r) => r.input.townStreet))).toEqual(
      new Set(['车站', '公园', '和平', '科苑', '体育场', '湖田', '马尚']),
    );
  });

  it("accepts the district list's columns and the policy's words, deriving a stable id", () => {
    const [row] = parseCompoundCsv(
      csv(
        '\uFEFFseq,compound_name,town_street,category,programme_group,target_level\n1,天晓小区,车站,村居,village,优质\n',
      ),
    );
    expect(row!.violations).toEqual([]);
    expect(row!.input).toMatchObject({
      compoundId: derivedCompoundId('车站', '天晓小区'),
      category: 'village',
      targetLevel: 'quality',
    });
    expect(derivedCompoundId('车站', '天晓小区')).toBe(derivedCompoundId(' 车站', '天晓小区 '));
  });

  it('reports every bad field of a row with its line, and keeps the good rows', () => {
    const rows = parseCompoundCsv(
      csv(
        'compound_id,name,town_street,category,programme_group,buildings_count,building_codes,construction_status,construction_completed_on\n' +
          'c1,Good,车站,closed,commercial,2,b1;b2,built,2021-05-01\n' +
          'c 2,,车站,castle,commercial,-1,,accepted,\n',
      ),
    );
    expect(rows[0]!.violations).toEqual([]);
    expect(rows[0]!.input.buildingCodes).toEqual(['b1', 'b2']);
    expect(rows[1]!.line).toBe(3);
    expect(rows[1]!.violations.map((v) => v.field).sort()).toEqual(
      ['buildings_count', 'category', 'compound_id', 'construction_completed_on', 'name'].sort(),
    );
  });

  it('refuses a file without the required columns or with unknown ones', () => {
    expect(() => parseCompoundCsv(csv('name,town_street\nA,B\n'))).toThrow(CsvFileError);
    expect(() => parseCompoundCsv(csv('name,town_street,category,programme_group,colour\n'))).toThrow(
      /colour/,
    );
    expect(() => parseCompoundCsv(csv(''))).toThrow(/empty/);
    expect(() => parseCompoundCsv(csv('name,town_street,category,programme_group\n"unterminated\n'))).toThrow(
      CsvFileError,
    );
  });
});
