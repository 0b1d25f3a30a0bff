/**
 * The district summary (one CSV for the district office: aggregate rows and a row per compound,
 * in the same columns so a spreadsheet can filter and sort them together) and the coverage trend
 * (the standing recorded at the end of each day, against that day's year targets).
 */
import { csvText } from '@anfang/platform/grpc';
import { LEVEL_NAMES, moduleName, type Language } from './acceptance.ts';
import type { ProgrammeGroup } from './compound.ts';
import { targetsOf, type Coverage, type CoverageFigures } from './coverage.ts';
import type { MissingRequirement } from './scoring.ts';
import type { LevelOrNone } from './tables.ts';

export interface CompoundSummary {
  readonly compoundId: string;
  readonly name: string;
  readonly townStreet: string;
  readonly programmeGroup: ProgrammeGroup;
  readonly targetLevel: LevelOrNone;
  /** Undefined until scored. */
  readonly level: LevelOrNone | undefined;
  readonly uploadingRealTime: boolean;
  readonly missingForNextLevel: readonly MissingRequirement[];
}

const HEADER: Readonly<Record<Language, readonly string[]>> = {
  zh: [
    '类别',
    '范围',
    '小区编号',
    '镇（街道）',
    '项目分组',
    '小区数',
    '当前等级',
    '目标等级',
    '达标及以上',
    '建设覆盖率',
    '覆盖率目标',
    '实时联网',
    '联网率',
    '联网率目标',
    '距上一等级缺少',
  ],
  en: [
    'kind',
    'scope',
    'compound_id',
    'town_street',
    'programme_group',
    'compounds',
    'level',
    'target_level',
    'compliant_or_better',
    'coverage_rate',
    'coverage_target',
    'networked',
    'networking_rate',
    'networking_target',
    'missing_for_next_level',
  ],
};

const KIND_NAMES = {
  district: { zh: '全区', en: 'district' },
  town: { zh: '镇（街道）', en: 'town_street' },
  group: { zh: '项目分组', en: 'programme_group' },
  compound: { zh: '小区', en: 'compound' },
} as const;

/** A rate as a fixed four-decimal fraction: exact enough, and the same text every run. */
const rate = (value: number | undefined) => (value === undefined ? '' : value.toFixed(4));

export function districtSummaryCsv(
  coverage: Coverage,
  compounds: readonly CompoundSummary[],
  language: Language,
): string {
  const aggregate = (kind: keyof typeof KIND_NAMES, f: CoverageFigures, town = '', group = '') => [
    KIND_NAMES[kind][language],
    kind === 'district' ? (language === 'zh' ? '全区' : 'district') : f.scope,
    '',
    town,
    group,
    f.compounds,
    '',
    '',
    f.compliant,
    rate(f.coverageRate),
    rate(f.coverageTarget),
    f.networked,
    rate(f.networkingRate),
    rate(f.networkingTarget),
    '',
  ];
  const targets = targetsOf(coverage.year);
  const sorted = [...compounds].sort(
    (a, b) => a.townStreet.localeCompare(b.townStreet, 'zh') || a.compoundId.localeCompare(b.compoundId),
  );
  return csvText([
    HEADER[language],
    aggregate('district', coverage.district),
    ...coverage.towns.map((f) => aggregate('town', f, f.scope)),
    ...coverage.programmeGroups.map((f) => aggregate('group', f, '', f.scope)),
    ...sorted.map((c) => {
      const compliant = c.level !== undefined && c.level !== 'not_compliant';
      return [
        KIND_NAMES.compound[language],
        c.name,
        c.compoundId,
        c.townStreet,
        c.programmeGroup,
        1,
        c.level === undefined ? '' : LEVEL_NAMES[c.level][language],
        LEVEL_NAMES[c.targetLevel][language],
        compliant ? 1 : 0,
        rate(compliant ? 1 : 0),
        rate(targets.groups[c.programmeGroup] ?? targets.coverage),
        c.uploadingRealTime ? 1 : 0,
        rate(c.uploadingRealTime ? 1 : 0),
        rate(targets.networking),
        c.missingForNextLevel
          .map(
            (m) =>
              `${moduleName(m.module, language)}${m.buildingCode ? ` ${m.buildingCode}` : ''}: ${m.evidenceLacking}`,
          )
          .join('; '),
      ];
    }),
  ]);
}

/** One day's recorded standing of a set of compounds. */
export interface DayStanding {
  /** `YYYY-MM-DD`. */
  readonly day: string;
  readonly compounds: number;
  readonly compliant: number;
  readonly networked: number;
}

export interface TrendPoint extends DayStanding {
  readonly coverageRate: number;
  readonly networkingRate: number;
  readonly coverageTarget: number | undefined;
  readonly networkingTarget: number | undefined;
}

/** Points oldest first, each against its own year's targets (a programme group's when given). */
export function trendPoints(days: readonly DayStanding[], group: ProgrammeGroup | undefined): TrendPoint[] {
  return [...days]
    .sort((a, b) => a.day.localeCompare(b.day))
    .map((d) => {
      const targets = targetsOf(Number(d.day.slice(0, 4)));
      const share = (n: number) => (d.compounds === 0 ? 0 : n / d.compounds);
      return {
        ...d,
        coverageRate: share(d.compliant),
        networkingRate: share(d.networked),
        coverageTarget: group ? targets.groups[group] : targets.coverage,
        networkingTarget: targets.networking,
      };
    });
}

/** The calendar day (`YYYY-MM-DD`) of `at` in `timeZone`. */
export function dayIn(timeZone: string, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/** `YYYY-MM-DD` plus `days` (negative: before). */
export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
