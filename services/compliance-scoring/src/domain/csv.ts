/**
 * Compound CSV files (bulk import and the seed): header row, one compound per row. Columns may
 * come in any order; `compound_name` is accepted for `name` (the district's list uses it).
 * Values are the API's codes, or the policy's Chinese words for categories and levels.
 */
import { CsvFileError, readCsvTable } from '@anfang/platform/grpc';
import { createHash } from 'node:crypto';
import {
  CATEGORIES,
  CONSTRUCTION_STATUSES,
  PROGRAMME_GROUPS,
  compoundViolations,
  type Category,
  type CompoundInput,
  type ConstructionStatus,
  type ProgrammeGroup,
  type Violation,
} from './compound.ts';
import type { LevelOrNone } from './tables.ts';

export const CSV_COLUMNS = [
  'compound_id',
  'name',
  'town_street',
  'neighbourhood_committee',
  'standard_address',
  'category',
  'programme_group',
  'buildings_count',
  'units_count',
  'building_codes',
  'target_level',
  'construction_status',
  'construction_started_on',
  'construction_completed_on',
  'visual_platform_enabled',
] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];
const ALIASES: Readonly<Record<string, CsvColumn>> = { compound_name: 'name' };
/** Columns of the district's list that carry nothing for the registry. */
const IGNORED = ['seq'];
const REQUIRED = ['name', 'town_street', 'category', 'programme_group'] as const;

const CATEGORY_WORDS: Readonly<Record<string, Category>> = {
  新建: 'new_build',
  已建封闭式: 'closed',
  半封闭式改封闭: 'semi_closed_converted',
  开放式: 'open_old',
  半封闭式老旧: 'open_old',
  '开放式/半封闭式老旧': 'open_old',
  村居: 'village',
  单体公寓楼: 'single_building',
  商务办公楼: 'single_building',
};
const LEVEL_WORDS: Readonly<Record<string, LevelOrNone>> = {
  compliant: 'compliant',
  quality: 'quality',
  demonstration: 'demonstration',
  达标: 'compliant',
  优质: 'quality',
  示范: 'demonstration',
};

export { CsvFileError };

export interface CsvRow {
  /** Line in the file (the header is line 1). */
  readonly line: number;
  readonly input: CompoundInput;
  readonly violations: readonly Violation[];
}

/**
 * A stable id for a row without one, from its town/street and name, so importing the same file
 * twice replaces rather than duplicates.
 */
export function derivedCompoundId(townStreet: string, name: string): string {
  return `c-${createHash('sha256').update(`${townStreet.trim()}/${name.trim()}`).digest('hex').slice(0, 16)}`;
}

function oneOf<T extends string>(
  value: string,
  allowed: readonly T[],
  words: Readonly<Record<string, T>> = {},
) {
  const v = value.trim();
  return (allowed as readonly string[]).includes(v) ? (v as T) : words[v];
}

export function parseCompoundCsv(bytes: Uint8Array): CsvRow[] {
  const { rows } = readCsvTable(bytes, {
    columns: CSV_COLUMNS,
    required: REQUIRED,
    aliases: ALIASES,
    ignored: IGNORED,
    strictFieldCount: true,
  });
  return rows.map(({ line, cell }) => {
    const violations: Violation[] = [];
    const count = (column: CsvColumn) => {
      const raw = cell(column);
      if (raw === '') return 0;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0)
        violations.push({ field: column, description: `not a whole number: ${raw}` });
      return Number.isInteger(n) && n >= 0 ? n : 0;
    };
    const coded = <T extends string>(
      column: CsvColumn,
      allowed: readonly T[],
      words?: Record<string, T>,
      fallback?: T,
    ) => {
      const raw = cell(column);
      if (raw === '' && fallback !== undefined) return fallback;
      const value = oneOf(raw, allowed, words);
      if (value === undefined)
        violations.push({
          field: column,
          description: raw ? `unknown value ${raw}; one of ${allowed.join(', ')}` : 'required',
        });
      return value ?? allowed[0]!;
    };
    const visual = cell('visual_platform_enabled').toLowerCase();
    if (!['', 'true', 'false', 'yes', 'no', '1', '0'].includes(visual))
      violations.push({ field: 'visual_platform_enabled', description: 'true or false' });
    const name = cell('name');
    const townStreet = cell('town_street');
    const input: CompoundInput = {
      compoundId: cell('compound_id') || (name && townStreet ? derivedCompoundId(townStreet, name) : ''),
      name,
      townStreet,
      neighbourhoodCommittee: cell('neighbourhood_committee'),
      standardAddress: cell('standard_address'),
      category: coded<Category>('category', CATEGORIES, CATEGORY_WORDS),
      programmeGroup: coded<ProgrammeGroup>('programme_group', PROGRAMME_GROUPS),
      buildingsCount: count('buildings_count'),
      unitsCount: count('units_count'),
      buildingCodes: cell('building_codes')
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean),
      targetLevel: coded<LevelOrNone>(
        'target_level',
        ['compliant', 'quality', 'demonstration'],
        LEVEL_WORDS,
        'compliant',
      ),
      constructionStatus: coded<ConstructionStatus>(
        'construction_status',
        CONSTRUCTION_STATUSES,
        {},
        'planned',
      ),
      constructionStartedOn: cell('construction_started_on') || undefined,
      constructionCompletedOn: cell('construction_completed_on') || undefined,
      visualPlatformEnabled: ['true', 'yes', '1'].includes(visual),
    };
    const reported = new Set(violations.map((v) => v.field));
    for (const v of compoundViolations(input)) if (!reported.has(v.field)) violations.push(v);
    return { line, input, violations };
  });
}
