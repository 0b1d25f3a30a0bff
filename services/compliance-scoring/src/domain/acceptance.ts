/**
 * The acceptance report (验收报告) of a compound: every row of its table with the requirement at
 * each level, whether the compound satisfies it now and what was found, in Chinese and English.
 * What counts as satisfied is `rowLacks` — the scoring rule — so the report and the level can
 * never disagree; this module only adds the description of what is there.
 */
import { anfang } from '@anfang/contracts';
import { csvText } from '@anfang/platform/grpc';
import type { Compound } from './compound.ts';
import {
  MIN_FRONTEND_STORAGE_DAYS,
  rowLacks,
  type CompoundEvidence,
  type DeviceEvidence,
  type MissingRequirement,
  type PatrolEvidence,
  type Score,
  type StorageEvidence,
} from './scoring.ts';
import type { Level, LevelOrNone, ModuleCode, Requirement, TableRow } from './tables.ts';

export type Language = 'zh' | 'en';

export function languageOf(value: string | null | undefined): Language | undefined {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'zh' || v.startsWith('zh-')) return 'zh';
  if (v === 'en' || v.startsWith('en-')) return 'en';
  return undefined;
}

export interface Finding {
  readonly zh: string;
  readonly en: string;
}

export interface AcceptanceRow {
  readonly row: TableRow;
  readonly satisfied: boolean;
  /** What was found; one per building for rows checked per building. */
  readonly findings: readonly Finding[];
  readonly missing: readonly MissingRequirement[];
}

export interface AcceptanceReport {
  readonly compound: Compound;
  readonly score: Score;
  readonly rows: readonly AcceptanceRow[];
  readonly generatedAt: Date;
}

const M = anfang.common.v1.Module;

/** Module names as the policy's tables write them. */
export const MODULE_NAMES: Readonly<Partial<Record<ModuleCode, Finding>>> = {
  [M.MODULE_PERIMETER_PROTECTION]: { zh: '周界防护', en: 'Perimeter protection' },
  [M.MODULE_PEDESTRIAN_ACCESS]: { zh: '人员出入', en: 'Pedestrian access' },
  [M.MODULE_VEHICLE_ACCESS]: { zh: '车辆出入', en: 'Vehicle access' },
  [M.MODULE_VEHICLE_RECOGNITION]: { zh: '车辆识别', en: 'Vehicle recognition' },
  [M.MODULE_FACE_RECOGNITION_GATES]: { zh: '人脸识别（出入口）', en: 'Face recognition (gates)' },
  [M.MODULE_FACE_RECOGNITION_INSIDE]: { zh: '人脸识别（内部）', en: 'Face recognition (inside)' },
  [M.MODULE_FACE_RECOGNITION_CAR_PARK_PASSAGE]: {
    zh: '人脸识别（地下停车场通道）',
    en: 'Face recognition (car-park passage)',
  },
  [M.MODULE_VIDEO_PUBLIC_AREAS]: { zh: '视频监控（公共区域）', en: 'Video (public areas)' },
  [M.MODULE_VIDEO_BUILDINGS]: { zh: '视频监控（楼栋）', en: 'Video (buildings)' },
  [M.MODULE_VIDEO_KEY_ROOMS]: { zh: '视频监控（重点部位）', en: 'Video (key rooms)' },
  [M.MODULE_VIDEO_PANORAMA]: { zh: '视频监控（全景）', en: 'Video (panorama)' },
  [M.MODULE_VIDEO_THROWING]: { zh: '视频监控（高空抛物）', en: 'Video (high-altitude throwing)' },
  [M.MODULE_ELECTRONIC_PATROL]: { zh: '电子巡查', en: 'Electronic patrol' },
  [M.MODULE_IOT_SENSING]: { zh: '物联感知', en: 'IoT sensing' },
  [M.MODULE_UNIT_FACE_ACCESS]: { zh: '单元人脸门禁', en: 'Unit face access' },
  [M.MODULE_MANAGEMENT_VISUAL_PLATFORM]: { zh: '可视化平台', en: 'Visual platform' },
  [M.MODULE_MANAGEMENT_REAL_TIME_UPLOAD]: { zh: '数据实时上传', en: 'Real-time upload' },
};

export function moduleName(module: ModuleCode, language: Language): string {
  return MODULE_NAMES[module]?.[language] ?? `module ${module}`;
}

export const LEVEL_NAMES: Readonly<Record<LevelOrNone, Finding>> = {
  demonstration: { zh: '示范', en: 'Demonstration' },
  quality: { zh: '优质', en: 'Quality' },
  compliant: { zh: '达标', en: 'Compliant' },
  not_compliant: { zh: '未达标', en: 'Not compliant' },
};

export const REQUIREMENT_MARKS: Readonly<Record<Requirement, string>> = { required: '●', recommended: '〇' };

function deviceFinding(devices: readonly DeviceEvidence[], building: string): Finding {
  const online = devices.filter((d) => d.online).length;
  const zhWhere = building ? `楼栋 ${building}：` : '';
  const enWhere = building ? `building ${building}: ` : '';
  if (devices.length === 0) return { zh: `${zhWhere}未登记设备`, en: `${enWhere}no device registered` };
  const checked = devices.filter((d) => d.producing !== undefined);
  const producing = devices.filter((d) => d.online && d.producing === true).length;
  return {
    zh:
      `${zhWhere}${devices.length} 台设备，${online} 台在线` +
      (checked.length > 0 ? `，${producing} 台时限内有数据` : ''),
    en:
      `${enWhere}${devices.length} device${devices.length === 1 ? '' : 's'}, ${online} online` +
      (checked.length > 0 ? `, ${producing} producing data` : ''),
  };
}

function storageFinding(storage: StorageEvidence | undefined, module: ModuleCode): Finding {
  if (!storage) return { zh: '无视频存储报告', en: 'no storage report from video-index' };
  if (storage.expired) return { zh: '视频存储报告已过期', en: 'no recent storage report from video-index' };
  const zone = storage.zones.find((z) => z.module === module);
  const cameras = zone?.cameras ?? 0;
  const compliant = zone?.frontendCompliant ?? 0;
  const sweep = storage.retentionEnforced ? '' : '，清理任务失败';
  return {
    zh: `后端存储 ${storage.backendRetentionDays} 天${sweep}；前端存储 ≥${MIN_FRONTEND_STORAGE_DAYS} 天的摄像机 ${compliant}/${cameras}`,
    en:
      `back-end retention ${storage.backendRetentionDays} days` +
      (storage.retentionEnforced ? '' : ', sweep failing') +
      `; ${compliant} of ${cameras} cameras keep ≥ ${MIN_FRONTEND_STORAGE_DAYS} days at the front end`,
  };
}

function patrolFinding(patrol: PatrolEvidence | undefined): Finding {
  if (!patrol) return { zh: '无巡查报告', en: 'no patrol report from patrol' };
  if (patrol.expired) return { zh: '巡查报告已过期', en: 'no recent patrol report from patrol' };
  return {
    zh: `巡查路线 ${patrol.routes} 条（巡查点 ${patrol.checkpoints} 个）；近 ${patrol.windowHours} 小时完成巡查 ${patrol.roundsCompleted}/${patrol.roundsDue} 次`,
    en: `${patrol.routes} route${patrol.routes === 1 ? '' : 's'} over ${patrol.checkpoints} checkpoints; ${patrol.roundsCompleted} of ${patrol.roundsDue} rounds completed in the last ${patrol.windowHours} h`,
  };
}

/** What the compound has for a row's condition, described; nothing for rows without one. */
function conditionFindings(row: TableRow, evidence: CompoundEvidence): Finding[] {
  if (row.condition === 'retention') return [storageFinding(evidence.storage, row.module)];
  if (row.condition === 'rounds') return [patrolFinding(evidence.patrol)];
  return [];
}

/** What the compound has for one row, described; one finding per building for per-building rows. */
export function rowFindings(row: TableRow, evidence: CompoundEvidence): Finding[] {
  switch (row.evidence) {
    case 'upload': {
      if (evidence.uploads.length === 0)
        return [{ zh: '无上级平台上传状态报告', en: 'no upload health report from police-upload' }];
      return evidence.uploads.map((u) =>
        u.expired
          ? {
              zh: `${u.platformId} 上传状态报告已过期`,
              en: `no recent upload health report from ${u.platformId}`,
            }
          : u.realTime
            ? { zh: `实时上传至 ${u.platformId}`, en: `uploading in real time to ${u.platformId}` }
            : { zh: `未实时上传至 ${u.platformId}`, en: `not uploading in real time to ${u.platformId}` },
      );
    }
    case 'platform':
      return [
        evidence.visualPlatformEnabled
          ? { zh: '可视化平台已投入使用', en: 'visual platform in service' }
          : { zh: '可视化平台未投入使用', en: 'visual platform not in service' },
      ];
    case 'device': {
      const devices = evidence.devices.filter((d) => d.active && d.module === row.module);
      const condition = conditionFindings(row, evidence);
      if (row.perBuilding && evidence.buildingCodes.length > 0)
        return [
          ...evidence.buildingCodes.map((building) =>
            deviceFinding(
              devices.filter((d) => d.buildingCode === building),
              building,
            ),
          ),
          ...condition,
        ];
      return [deviceFinding(devices, ''), ...condition];
    }
  }
}

export function acceptanceReport(
  rows: readonly TableRow[],
  compound: Compound,
  evidence: CompoundEvidence,
  score: Score,
  generatedAt: Date,
): AcceptanceReport {
  return {
    compound,
    score,
    generatedAt,
    rows: rows.map((row) => {
      const missing = rowLacks(row, evidence);
      return { row, satisfied: missing.length === 0, findings: rowFindings(row, evidence), missing };
    }),
  };
}

const LEVELS_SHOWN: readonly Level[] = ['demonstration', 'quality', 'compliant'];

const CSV_HEADER: Readonly<Record<Language, readonly string[]>> = {
  zh: [
    '小区编号',
    '小区名称',
    '配置表',
    '配置表版本',
    '当前等级',
    '建设模块',
    '建设部位',
    '示范',
    '优质',
    '达标',
    '按楼栋核查',
    '是否满足',
    '核查情况',
  ],
  en: [
    'compound_id',
    'compound_name',
    'table',
    'table_version',
    'level',
    'module',
    'location',
    'demonstration',
    'quality',
    'compliant',
    'per_building',
    'satisfied',
    'evidence',
  ],
};

export function acceptanceCsv(report: AcceptanceReport, language: Language): string {
  const yes = language === 'zh' ? '是' : 'yes';
  const no = language === 'zh' ? '否' : 'no';
  const { compound, score } = report;
  return csvText([
    CSV_HEADER[language],
    ...report.rows.map((r) => [
      compound.compoundId,
      compound.name,
      score.table,
      score.tableVersion,
      LEVEL_NAMES[score.level][language],
      moduleName(r.row.module, language),
      language === 'zh' ? r.row.locationZh : r.row.location,
      ...LEVELS_SHOWN.map((level) => REQUIREMENT_MARKS[r.row.levels[level]]),
      r.row.perBuilding ? yes : no,
      r.satisfied ? yes : no,
      r.findings.map((f) => f[language]).join('; '),
    ]),
  ]);
}

function html(text: string | number): string {
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const PAGE_TEXT = {
  zh: {
    title: '智慧安防小区建设验收报告',
    compound: '小区',
    town: '镇（街道）',
    committee: '社区（居委会）',
    address: '标准地址',
    table: '配置表',
    level: '当前等级',
    target: '目标等级',
    networking: '设备在线率',
    upload: '数据实时上传',
    generated: '生成时间',
    module: '建设模块',
    location: '建设部位',
    satisfied: '是否满足',
    evidence: '核查情况',
    yes: '满足',
    no: '不满足',
    legend: '● 必建　〇 宜建',
    missingFor: (level: string) => `距${level}缺少`,
    none: '无',
    signatures: ['建设单位（签章）', '验收单位（签章）', '日期'],
  },
  en: {
    title: 'Smart secure community — acceptance report',
    compound: 'Compound',
    town: 'Town/street',
    committee: 'Neighbourhood committee',
    address: 'Standard address',
    table: 'Table',
    level: 'Level reached',
    target: 'Target level',
    networking: 'Devices online',
    upload: 'Real-time upload',
    generated: 'Generated',
    module: 'Module',
    location: 'Where',
    satisfied: 'Satisfied',
    evidence: 'Evidence',
    yes: 'yes',
    no: 'no',
    legend: '● required   〇 recommended',
    missingFor: (level: string) => `Missing for ${level}`,
    none: 'none',
    signatures: ['Builder (seal)', 'Accepted by (seal)', 'Date'],
  },
} as const;

/** A self-contained page (no scripts, no external resources) laid out for A4 printing. */
export function acceptanceHtml(report: AcceptanceReport, language: Language): string {
  const t = PAGE_TEXT[language];
  const { compound, score } = report;
  const levelName = (level: LevelOrNone) => LEVEL_NAMES[level][language];
  const facts: [string, string][] = [
    [t.compound, `${compound.name} (${compound.compoundId})`],
    [t.town, compound.townStreet],
    [t.committee, compound.neighbourhoodCommittee],
    [t.address, compound.standardAddress],
    [t.table, `${score.table} · ${score.tableVersion}`],
    [t.level, levelName(score.level)],
    [t.target, levelName(compound.targetLevel)],
    [t.networking, `${score.devicesOnline} / ${score.devicesRequired}`],
    [t.upload, score.uploadingRealTime ? t.yes : t.no],
    [t.generated, report.generatedAt.toISOString().replace('T', ' ').slice(0, 19) + ' UTC'],
  ];
  const missingSections = score.levels
    .filter((l) => !l.reached)
    .map(
      (l) =>
        `<h2>${html(t.missingFor(levelName(l.level)))}</h2><ul>${
          l.missing
            .map(
              (m) =>
                `<li>${html(moduleName(m.module, language))} — ${html(m.location)}${
                  m.buildingCode ? ` (${html(m.buildingCode)})` : ''
                }: ${html(m.evidenceLacking)}</li>`,
            )
            .join('') || `<li>${t.none}</li>`
        }</ul>`,
    )
    .join('');
  const rows = report.rows
    .map(
      (r) =>
        `<tr class="${r.satisfied ? 'ok' : 'lack'}"><td>${html(moduleName(r.row.module, language))}</td><td>${html(
          language === 'zh' ? r.row.locationZh : r.row.location,
        )}</td>${LEVELS_SHOWN.map(
          (level) => `<td class="mark">${REQUIREMENT_MARKS[r.row.levels[level]]}</td>`,
        ).join(
          '',
        )}<td>${r.satisfied ? t.yes : t.no}</td><td>${r.findings.map((f) => html(f[language])).join('<br>')}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="${language === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<title>${html(t.title)} — ${html(compound.name)}</title>
<style>
@page { size: A4; margin: 15mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; font-size: 10.5pt; color: #000; }
h1 { font-size: 16pt; text-align: center; } h2 { font-size: 11pt; margin: 12pt 0 4pt; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #444; padding: 3pt 5pt; vertical-align: top; }
th { background: #eee; } td.mark { text-align: center; } tr.lack td { background: #fdecea; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2pt 12pt; } dt { font-weight: bold; }
.signatures { display: flex; justify-content: space-between; margin-top: 28pt; } .signatures span { width: 30%; border-top: 1px solid #000; padding-top: 3pt; }
tr { page-break-inside: avoid; }
</style></head><body>
<h1>${html(t.title)}</h1>
<dl>${facts.map(([k, v]) => `<dt>${html(k)}</dt><dd>${html(v)}</dd>`).join('')}</dl>
<table><thead><tr><th>${t.module}</th><th>${t.location}</th>${LEVELS_SHOWN.map(
    (l) => `<th>${html(levelName(l))}</th>`,
  ).join('')}<th>${t.satisfied}</th><th>${t.evidence}</th></tr></thead><tbody>${rows}</tbody></table>
<p>${t.legend}</p>
${missingSections}
<div class="signatures">${t.signatures.map((s) => `<span>${html(s)}</span>`).join('')}</div>
</body></html>
`;
}
