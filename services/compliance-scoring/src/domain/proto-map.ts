/**
 * Between the domain's words and the protobuf enums of anfang.compliance.v1 (the API and the
 * level-changed event share them).
 */
import { anfang } from '@anfang/contracts';
import type { Category, ConstructionStatus, ProgrammeGroup } from './compound.ts';
import type { MissingRequirement } from './scoring.ts';
import type { LevelOrNone, Requirement, TableId } from './tables.ts';

const V = anfang.compliance.v1;

const LEVEL: Readonly<Record<LevelOrNone, anfang.compliance.v1.ComplianceLevel>> = {
  not_compliant: V.ComplianceLevel.COMPLIANCE_LEVEL_NOT_COMPLIANT,
  compliant: V.ComplianceLevel.COMPLIANCE_LEVEL_COMPLIANT,
  quality: V.ComplianceLevel.COMPLIANCE_LEVEL_QUALITY,
  demonstration: V.ComplianceLevel.COMPLIANCE_LEVEL_DEMONSTRATION,
};
const TABLE: Readonly<Record<TableId, anfang.compliance.v1.ConfigurationTable>> = {
  A: V.ConfigurationTable.CONFIGURATION_TABLE_A,
  B: V.ConfigurationTable.CONFIGURATION_TABLE_B,
  C: V.ConfigurationTable.CONFIGURATION_TABLE_C,
};
const CATEGORY: Readonly<Record<Category, anfang.compliance.v1.CompoundCategory>> = {
  new_build: V.CompoundCategory.COMPOUND_CATEGORY_NEW_BUILD,
  closed: V.CompoundCategory.COMPOUND_CATEGORY_CLOSED,
  semi_closed_converted: V.CompoundCategory.COMPOUND_CATEGORY_SEMI_CLOSED_CONVERTED,
  open_old: V.CompoundCategory.COMPOUND_CATEGORY_OPEN_OLD,
  village: V.CompoundCategory.COMPOUND_CATEGORY_VILLAGE,
  single_building: V.CompoundCategory.COMPOUND_CATEGORY_SINGLE_BUILDING,
};
const GROUP: Readonly<Record<ProgrammeGroup, anfang.compliance.v1.ProgrammeGroup>> = {
  old_to_close: V.ProgrammeGroup.PROGRAMME_GROUP_OLD_TO_CLOSE,
  old_unobtrusive_video: V.ProgrammeGroup.PROGRAMME_GROUP_OLD_UNOBTRUSIVE_VIDEO,
  commercial: V.ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
  village: V.ProgrammeGroup.PROGRAMME_GROUP_VILLAGE,
  new_build: V.ProgrammeGroup.PROGRAMME_GROUP_NEW_BUILD,
};
const CONSTRUCTION: Readonly<Record<ConstructionStatus, anfang.compliance.v1.ConstructionStatus>> = {
  planned: V.ConstructionStatus.CONSTRUCTION_STATUS_PLANNED,
  in_progress: V.ConstructionStatus.CONSTRUCTION_STATUS_IN_PROGRESS,
  built: V.ConstructionStatus.CONSTRUCTION_STATUS_BUILT,
  accepted: V.ConstructionStatus.CONSTRUCTION_STATUS_ACCEPTED,
};
const REQUIREMENT: Readonly<Record<Requirement, anfang.compliance.v1.Requirement>> = {
  required: V.Requirement.REQUIREMENT_REQUIRED,
  recommended: V.Requirement.REQUIREMENT_RECOMMENDED,
};

function invert<K extends string, P extends number>(
  map: Readonly<Record<K, P>>,
): (value: number | null | undefined) => K | undefined {
  const inverse = new Map<number, K>(Object.entries(map).map(([k, v]) => [v as number, k as K]));
  return (value) => (value == null ? undefined : inverse.get(value));
}

export const levelToProto = (level: LevelOrNone | undefined) =>
  level === undefined ? V.ComplianceLevel.COMPLIANCE_LEVEL_UNSPECIFIED : LEVEL[level];
export const levelFromProto = invert(LEVEL);
export const tableToProto = (table: TableId) => TABLE[table];
export const categoryToProto = (category: Category) => CATEGORY[category];
export const categoryFromProto = invert(CATEGORY);
export const groupToProto = (group: ProgrammeGroup) => GROUP[group];
export const groupFromProto = invert(GROUP);
export const constructionToProto = (status: ConstructionStatus) => CONSTRUCTION[status];
export const constructionFromProto = invert(CONSTRUCTION);
export const requirementToProto = (requirement: Requirement) => REQUIREMENT[requirement];

export function missingToProto(item: MissingRequirement): anfang.compliance.v1.MissingItem.$Properties {
  return {
    module: item.module,
    location: item.location,
    buildingCode: item.buildingCode,
    evidenceLacking: item.evidenceLacking,
  };
}
