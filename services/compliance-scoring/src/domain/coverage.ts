/**
 * District figures (SPEC §4): coverage rate (建设覆盖率) is the share of compounds at 达标 or
 * better; networking rate (联网率) the share uploading to the upper platform in real time. Each
 * is shown per district, town/street and programme group against the year's target.
 *
 * Targets: coverage 80% by end of 2020, 90% by 2021, 100% by 2022; networking 100% by 2022.
 * 2020 also: the 37 old compounds to be closed 100% (closed off with face access and barriers),
 * the other old compounds 100% (unobtrusive video), commercial compounds and villages 60%.
 * 2021: new-build 100%, commercial and villages 80%. From 2022 on every group is at 100%, and
 * a target once reached stays the target in later years.
 */
import { LEVEL_RANK } from './scoring.ts';
import { PROGRAMME_GROUPS, type ProgrammeGroup } from './compound.ts';
import type { LevelOrNone } from './tables.ts';

export interface YearTargets {
  readonly coverage?: number;
  readonly networking?: number;
  readonly groups: Partial<Record<ProgrammeGroup, number>>;
}

const POLICY_TARGETS: Readonly<Record<number, YearTargets>> = {
  2020: {
    coverage: 0.8,
    groups: { old_to_close: 1, old_unobtrusive_video: 1, commercial: 0.6, village: 0.6 },
  },
  2021: {
    coverage: 0.9,
    groups: { old_to_close: 1, old_unobtrusive_video: 1, commercial: 0.8, village: 0.8, new_build: 1 },
  },
  2022: {
    coverage: 1,
    networking: 1,
    groups: { old_to_close: 1, old_unobtrusive_video: 1, commercial: 1, village: 1, new_build: 1 },
  },
};
const FIRST_YEAR = 2020;
const LAST_POLICY_YEAR = 2022;

/** The targets that apply in `year`: none before the programme, the 2022 ones after it. */
export function targetsOf(year: number): YearTargets {
  if (year < FIRST_YEAR) return { groups: {} };
  return POLICY_TARGETS[Math.min(year, LAST_POLICY_YEAR)]!;
}

export interface CompoundStanding {
  readonly compoundId: string;
  readonly townStreet: string;
  readonly programmeGroup: ProgrammeGroup;
  /** Undefined until the compound has been scored. */
  readonly level: LevelOrNone | undefined;
  readonly uploadingRealTime: boolean;
}

export interface CoverageFigures {
  readonly scope: string;
  readonly compounds: number;
  readonly compliant: number;
  readonly networked: number;
  readonly coverageRate: number;
  readonly networkingRate: number;
  readonly coverageTarget: number | undefined;
  readonly networkingTarget: number | undefined;
  /** Count per level; `unscored` for compounds without a score yet. */
  readonly byLevel: Readonly<Record<LevelOrNone | 'unscored', number>>;
}

export interface Coverage {
  readonly year: number;
  readonly district: CoverageFigures;
  readonly towns: readonly CoverageFigures[];
  readonly programmeGroups: readonly CoverageFigures[];
}

function figures(
  scope: string,
  standings: readonly CompoundStanding[],
  coverageTarget: number | undefined,
  networkingTarget: number | undefined,
): CoverageFigures {
  const byLevel = { unscored: 0, not_compliant: 0, compliant: 0, quality: 0, demonstration: 0 };
  for (const s of standings) byLevel[s.level ?? 'unscored']++;
  const compliant = standings.filter(
    (s) => s.level !== undefined && LEVEL_RANK[s.level] >= LEVEL_RANK.compliant,
  ).length;
  const networked = standings.filter((s) => s.uploadingRealTime).length;
  const rate = (n: number) => (standings.length === 0 ? 0 : n / standings.length);
  return {
    scope,
    compounds: standings.length,
    compliant,
    networked,
    coverageRate: rate(compliant),
    networkingRate: rate(networked),
    coverageTarget,
    networkingTarget,
    byLevel,
  };
}

export function computeCoverage(year: number, standings: readonly CompoundStanding[]): Coverage {
  const targets = targetsOf(year);
  const towns = [...new Set(standings.map((s) => s.townStreet))].sort((a, b) => a.localeCompare(b, 'zh'));
  return {
    year,
    district: figures('district', standings, targets.coverage, targets.networking),
    towns: towns.map((town) =>
      figures(
        town,
        standings.filter((s) => s.townStreet === town),
        targets.coverage,
        targets.networking,
      ),
    ),
    programmeGroups: PROGRAMME_GROUPS.filter((g) => standings.some((s) => s.programmeGroup === g)).map(
      (group) =>
        figures(
          group,
          standings.filter((s) => s.programmeGroup === group),
          targets.groups[group],
          targets.networking,
        ),
    ),
  };
}
