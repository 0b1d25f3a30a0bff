/**
 * Compounds: their attributes, the rules they must satisfy, and which table their physical
 * category chooses (SPEC §4: new-build, closed and semi-closed compounds use table A; open
 * compounds and villages table B; single apartment and office buildings table C).
 */
import type { LevelOrNone, TableId } from './tables.ts';

export const CATEGORIES = [
  'new_build',
  'closed',
  'semi_closed_converted',
  'open_old',
  'village',
  'single_building',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const PROGRAMME_GROUPS = [
  'old_to_close',
  'old_unobtrusive_video',
  'commercial',
  'village',
  'new_build',
] as const;
export type ProgrammeGroup = (typeof PROGRAMME_GROUPS)[number];

export const CONSTRUCTION_STATUSES = ['planned', 'in_progress', 'built', 'accepted'] as const;
export type ConstructionStatus = (typeof CONSTRUCTION_STATUSES)[number];

export const TABLE_OF_CATEGORY: Readonly<Record<Category, TableId>> = {
  new_build: 'A',
  closed: 'A',
  semi_closed_converted: 'A',
  open_old: 'B',
  village: 'B',
  single_building: 'C',
};

/** ISO calendar date, `YYYY-MM-DD`. */
export type IsoDate = string;

export interface CompoundInput {
  readonly compoundId: string;
  readonly name: string;
  readonly townStreet: string;
  readonly neighbourhoodCommittee: string;
  readonly standardAddress: string;
  readonly category: Category;
  readonly programmeGroup: ProgrammeGroup;
  readonly buildingsCount: number;
  readonly unitsCount: number;
  readonly buildingCodes: readonly string[];
  readonly targetLevel: LevelOrNone;
  readonly constructionStatus: ConstructionStatus;
  readonly constructionStartedOn: IsoDate | undefined;
  readonly constructionCompletedOn: IsoDate | undefined;
  readonly visualPlatformEnabled: boolean;
}

/** A compound as a request states it: its coded fields may be missing or unknown. */
export type CompoundDraft = Omit<
  CompoundInput,
  'category' | 'programmeGroup' | 'targetLevel' | 'constructionStatus'
> & {
  readonly category: Category | undefined;
  readonly programmeGroup: ProgrammeGroup | undefined;
  readonly targetLevel: LevelOrNone | undefined;
  readonly constructionStatus: ConstructionStatus | undefined;
};

/** A draft whose coded fields are all known (the other rules are `compoundViolations`'). */
export function isComplete(draft: CompoundDraft): draft is CompoundInput {
  return (
    draft.category !== undefined &&
    draft.programmeGroup !== undefined &&
    draft.targetLevel !== undefined &&
    draft.constructionStatus !== undefined
  );
}

export interface Compound extends CompoundInput {
  readonly revision: number;
  readonly updatedAt: Date;
}

export interface Violation {
  readonly field: string;
  readonly description: string;
}

/** Standard-address codes and other ids: letters, digits, `-`, `_`, `.`; 1 to 64 characters. */
export const COMPOUND_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_TEXT = 200;
const MAX_BUILDINGS = 10_000;

export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** Every rule a compound breaks, one violation per field; empty when it is valid. */
export function compoundViolations(input: CompoundDraft): Violation[] {
  const violations: Violation[] = [];
  const add = (field: string, description: string) => violations.push({ field, description });
  if (!COMPOUND_ID_PATTERN.test(input.compoundId))
    add('compound_id', input.compoundId ? 'letters, digits, "-", "_", "." only, at most 64' : 'required');
  for (const [field, value, required] of [
    ['name', input.name, true],
    ['town_street', input.townStreet, true],
    ['neighbourhood_committee', input.neighbourhoodCommittee, false],
    ['standard_address', input.standardAddress, false],
  ] as const) {
    if (required && value.trim() === '') add(field, 'required');
    else if (value.length > MAX_TEXT) add(field, `at most ${MAX_TEXT} characters`);
  }
  if (!input.category || !CATEGORIES.includes(input.category))
    add('category', `one of ${CATEGORIES.join(', ')}`);
  if (!input.programmeGroup || !PROGRAMME_GROUPS.includes(input.programmeGroup))
    add('programme_group', `one of ${PROGRAMME_GROUPS.join(', ')}`);
  if (!input.constructionStatus || !CONSTRUCTION_STATUSES.includes(input.constructionStatus))
    add('construction_status', `one of ${CONSTRUCTION_STATUSES.join(', ')}`);
  for (const [field, value] of [
    ['buildings_count', input.buildingsCount],
    ['units_count', input.unitsCount],
  ] as const)
    if (!Number.isInteger(value) || value < 0 || value > 1_000_000) add(field, 'a whole number ≥ 0');
  if (input.buildingCodes.length > MAX_BUILDINGS) add('building_codes', `at most ${MAX_BUILDINGS}`);
  else if (input.buildingCodes.some((code) => !COMPOUND_ID_PATTERN.test(code)))
    add('building_codes', 'each a standard-address code (letters, digits, "-", "_", ".")');
  else if (new Set(input.buildingCodes).size !== input.buildingCodes.length)
    add('building_codes', 'listed twice');
  else if (input.buildingCodes.length > input.buildingsCount && input.buildingsCount > 0)
    add('building_codes', `more codes than buildings_count (${input.buildingsCount})`);
  if (input.targetLevel === undefined || input.targetLevel === 'not_compliant')
    add('target_level', 'must be a level (达标, 优质 or 示范)');
  const started = input.constructionStartedOn;
  const completed = input.constructionCompletedOn;
  if (started !== undefined && !isIsoDate(started)) add('construction_started_on', 'not a valid date');
  if (completed !== undefined && !isIsoDate(completed)) add('construction_completed_on', 'not a valid date');
  if (
    started !== undefined &&
    completed !== undefined &&
    isIsoDate(started) &&
    isIsoDate(completed) &&
    completed < started
  )
    add('construction_completed_on', 'before construction_started_on');
  if (
    (input.constructionStatus === 'built' || input.constructionStatus === 'accepted') &&
    completed === undefined
  )
    add('construction_completed_on', `required when construction is ${input.constructionStatus}`);
  if (input.constructionStatus === 'planned' && started !== undefined)
    add('construction_status', 'planned, yet construction_started_on is set');
  return violations;
}
