/**
 * The configuration tables (配置表) of SPEC §4 as versioned data. A district may publish new
 * tables; a score records the version it used, so history stays explainable after a change.
 *
 * Each row names the module whose devices satisfy it (every table has one row per module, so a
 * device's module picks its row), where it applies, the requirement per level, and the kind of
 * evidence that satisfies it.
 */
import { anfang } from '@anfang/contracts';

const M = anfang.common.v1.Module;
export type ModuleCode = anfang.common.v1.Module;

export type TableId = 'A' | 'B' | 'C';

/** Highest first, as the policy lists them; 未达标 is the absence of all three. */
export const LEVELS = ['demonstration', 'quality', 'compliant'] as const;
export type Level = (typeof LEVELS)[number];
export type LevelOrNone = Level | 'not_compliant';

/** ● required (必建), 〇 recommended (宜建). */
export type Requirement = 'required' | 'recommended';

/**
 * - `device`: at least one active, online device of the row's module in the compound (per
 *   building for per-building rows, where buildings are registered);
 * - `upload`: the compound's data reach the upper platform in real time (police-upload health);
 * - `platform`: the compound's 2D/3D visual platform is in service (compound configuration).
 */
export type EvidenceKind = 'device' | 'upload' | 'platform';

/**
 * What a device row needs besides working devices, compound-wide:
 * - `retention` (video rows): images kept as SPEC §3 requires — back-end retention of at least
 *   30 days enforced by video-index, and every camera of the row's zone group keeping at least 7
 *   days at the front end (video-index's storage evidence, while fresh);
 * - `rounds` (electronic patrol): the patrol is operated — a route over checkpoints is defined
 *   and at least one round was completed within patrol's window (patrol's evidence, while fresh).
 */
export type Condition = 'retention' | 'rounds';

export interface TableRow {
  readonly module: ModuleCode;
  /** Where, in SPEC §4's words. */
  readonly location: string;
  /** Where, in the policy's words (seed/zhangdian-smart-security-community-2020.txt). */
  readonly locationZh: string;
  readonly levels: Readonly<Record<Level, Requirement>>;
  readonly evidence: EvidenceKind;
  /** Checked per registered building (unit doors, building cameras). */
  readonly perBuilding: boolean;
  readonly condition?: Condition;
}

export interface TableVersion {
  readonly version: string;
  readonly source: string;
  readonly tables: Readonly<Record<TableId, readonly TableRow[]>>;
}

/** The condition follows the module: every video row is about images kept, every patrol row about rounds walked. */
const CONDITION_OF_MODULE: ReadonlyMap<ModuleCode, Condition> = new Map([
  [M.MODULE_VIDEO_PUBLIC_AREAS, 'retention'],
  [M.MODULE_VIDEO_BUILDINGS, 'retention'],
  [M.MODULE_VIDEO_KEY_ROOMS, 'retention'],
  [M.MODULE_VIDEO_PANORAMA, 'retention'],
  [M.MODULE_VIDEO_THROWING, 'retention'],
  [M.MODULE_ELECTRONIC_PATROL, 'rounds'],
]);

const R: Requirement = 'required';
const r: Requirement = 'recommended';

function row(
  module: ModuleCode,
  location: string,
  locationZh: string,
  [demonstration, quality, compliant]: readonly [Requirement, Requirement, Requirement],
  options: { evidence?: EvidenceKind; perBuilding?: boolean } = {},
): TableRow {
  const condition = CONDITION_OF_MODULE.get(module);
  return {
    module,
    location,
    locationZh,
    levels: { demonstration, quality, compliant },
    evidence: options.evidence ?? 'device',
    perBuilding: options.perBuilding ?? false,
    ...(condition ? { condition } : {}),
  };
}

const visualPlatform = (levels: readonly [Requirement, Requirement, Requirement]) =>
  row(M.MODULE_MANAGEMENT_VISUAL_PLATFORM, '2D/3D', '可视化（二维或三维）平台', levels, {
    evidence: 'platform',
  });
const realTimeUpload = row(
  M.MODULE_MANAGEMENT_REAL_TIME_UPLOAD,
  'to the upper platform',
  '数据实时上传至上级平台',
  [R, R, R],
  { evidence: 'upload' },
);

export const ZHANGDIAN_2020: TableVersion = {
  version: 'zhangdian-2020',
  source: '淄博市张店区智慧安防小区建设 (2020), 安防设施配置表; SPEC §4',
  tables: {
    A: [
      row(
        M.MODULE_PERIMETER_PROTECTION,
        'walls, fences, water edges, pipes',
        '小区周界围墙、栅栏、与外界相通的水域、易攀爬管道等',
        [R, R, r],
      ),
      row(M.MODULE_PEDESTRIAN_ACCESS, 'compound gates, both directions', '小区出入口行人和非机动车通道', [
        R,
        R,
        R,
      ]),
      row(M.MODULE_VEHICLE_ACCESS, 'compound gates, car-park entrances', '小区出入口、停车库（场）出入口', [
        R,
        R,
        R,
      ]),
      row(
        M.MODULE_FACE_RECOGNITION_INSIDE,
        'internal main roads, activity areas',
        '内部主要公共通道、中心活动区域等部位',
        [r, r, r],
      ),
      row(
        M.MODULE_VIDEO_PUBLIC_AREAS,
        'activity areas, playgrounds, water, main passages, parking',
        '小区公共活动区域、儿童游乐和景观水系、重要出入通道、车辆集中停放区域等',
        [R, R, R],
      ),
      row(
        M.MODULE_VIDEO_BUILDINGS,
        'unit entrances, lift halls, lift cars, perimeter',
        '楼栋单元出入口、电梯厅、电梯轿厢、周界等',
        [R, R, R],
        { perBuilding: true },
      ),
      row(
        M.MODULE_VIDEO_KEY_ROOMS,
        'control centre, gas, pumps, power, fire lanes',
        '监控中心，燃气调压站、水泵房、配电机房门口、消防通道等重要区域',
        [R, R, R],
      ),
      row(M.MODULE_VIDEO_PANORAMA, 'plaza or high point', '广场或制高点等', [R, r, r]),
      row(M.MODULE_VIDEO_THROWING, 'below high-rise buildings', '高层建筑物下方', [R, R, R]),
      row(
        M.MODULE_ELECTRONIC_PATROL,
        'perimeter, around buildings, parking, plant rooms',
        '小区周界，住宅楼周围，车辆集中停放区，水泵房、配电间等重要区域',
        [R, r, r],
      ),
      row(M.MODULE_IOT_SENSING, 'compound gates', '小区出入口', [r, r, r]),
      row(M.MODULE_UNIT_FACE_ACCESS, 'unit doors', '楼栋单元门', [R, r, r], { perBuilding: true }),
      visualPlatform([R, R, r]),
      realTimeUpload,
    ],
    B: [
      row(M.MODULE_FACE_RECOGNITION_GATES, 'pedestrian roads in and out', '出入小区的人行道路', [R, R, R]),
      row(
        M.MODULE_FACE_RECOGNITION_INSIDE,
        'internal main roads, activity areas',
        '内部主要道路、中心活动区域等部位',
        [R, R, r],
      ),
      row(M.MODULE_VEHICLE_RECOGNITION, 'vehicle roads in and out', '出入小区的车行道路', [R, R, R]),
      row(M.MODULE_VEHICLE_ACCESS, 'car-park entrances', '小区停车库（场）出入口', [R, R, r]),
      row(
        M.MODULE_VIDEO_PUBLIC_AREAS,
        'as table A',
        '小区公共活动区域、儿童游乐和景观水系、重要出入通道、车辆集中停放区域等',
        [R, R, R],
      ),
      row(M.MODULE_VIDEO_BUILDINGS, 'as table A', '楼栋单元出入口、电梯厅、电梯轿厢、周界等', [R, R, R], {
        perBuilding: true,
      }),
      row(
        M.MODULE_VIDEO_KEY_ROOMS,
        'as table A',
        '监控中心，燃气调压站、水泵房、配电机房门口、消防通道等重要区域',
        [R, R, R],
      ),
      row(M.MODULE_VIDEO_PANORAMA, 'plaza or high point', '广场或制高点等', [R, r, r]),
      row(M.MODULE_VIDEO_THROWING, 'below high-rise buildings', '高层建筑物下方', [R, R, R]),
      row(
        M.MODULE_ELECTRONIC_PATROL,
        'as table A',
        '小区周界，住宅楼周围，车辆集中停放区，水泵房、配电间等重要区域',
        [r, r, r],
      ),
      row(M.MODULE_IOT_SENSING, 'main gates', '小区主要出入口', [r, r, r]),
      row(M.MODULE_UNIT_FACE_ACCESS, 'unit doors', '楼栋单元门', [R, r, r], { perBuilding: true }),
      visualPlatform([R, R, r]),
      realTimeUpload,
    ],
    C: [
      row(M.MODULE_PEDESTRIAN_ACCESS, 'building entrances, both directions', '楼栋出入口', [R, R, R]),
      row(
        M.MODULE_FACE_RECOGNITION_CAR_PARK_PASSAGE,
        'underground car park ↔ building passage',
        '地下停车场与公寓楼相通的人员出入口',
        [R, R, r],
      ),
      row(M.MODULE_VEHICLE_ACCESS, 'underground car-park entrances', '地下停车库（场）出入口', [R, R, R]),
      row(
        M.MODULE_VIDEO_BUILDINGS,
        'lobby, unit entrances, lift halls, lift cars',
        '首层大厅、楼栋单元出入口、电梯厅、电梯轿厢等',
        [R, R, R],
        { perBuilding: true },
      ),
      row(
        M.MODULE_VIDEO_KEY_ROOMS,
        'control centre, pumps, power, fire lanes',
        '监控中心，水泵房、配电机房门口、消防通道等重要区域',
        [R, R, R],
      ),
      row(
        M.MODULE_ELECTRONIC_PATROL,
        'stairs, lift halls, parking, plant rooms',
        '各层楼梯出入口、电梯厅，车辆集中停放区，水泵房、配电间等重要区域',
        [r, r, r],
      ),
      row(M.MODULE_IOT_SENSING, 'main entrances', '楼栋主要出入口', [r, r, r]),
      visualPlatform([R, r, r]),
      realTimeUpload,
    ],
  },
};

/** Every published version, oldest first. */
export const TABLE_VERSIONS: readonly TableVersion[] = [ZHANGDIAN_2020];

export function tableVersion(version: string): TableVersion | undefined {
  return TABLE_VERSIONS.find((v) => v.version === version);
}

/** The rows of `table` a level requires. */
export function requiredRows(rows: readonly TableRow[], level: Level): TableRow[] {
  return rows.filter((row) => row.levels[level] === 'required');
}
