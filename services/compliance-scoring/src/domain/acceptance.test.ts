import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { acceptanceCsv, acceptanceHtml, acceptanceReport, languageOf } from './acceptance.ts';
import type { Compound } from './compound.ts';
import { rowLacks, scoreCompound, type CompoundEvidence } from './scoring.ts';
import { ZHANGDIAN_2020 } from './tables.ts';

const { Module } = anfang.common.v1;

const compound: Compound = {
  compoundId: 'c-1',
  name: '天晓小区',
  townStreet: '车站',
  neighbourhoodCommittee: '安乐街社区居委会',
  standardAddress: '',
  category: 'closed',
  programmeGroup: 'old_to_close',
  buildingsCount: 2,
  unitsCount: 4,
  buildingCodes: ['1', '2'],
  targetLevel: 'compliant',
  constructionStatus: 'built',
  constructionStartedOn: undefined,
  constructionCompletedOn: undefined,
  visualPlatformEnabled: true,
  revision: 1,
  updatedAt: new Date(0),
};

const evidence: CompoundEvidence = {
  table: 'A',
  buildingCodes: ['1', '2'],
  visualPlatformEnabled: true,
  devices: [
    { deviceId: 'd1', module: Module.MODULE_UNIT_FACE_ACCESS, buildingCode: '1', active: true, online: true },
    {
      deviceId: 'd2',
      module: Module.MODULE_UNIT_FACE_ACCESS,
      buildingCode: '2',
      active: true,
      online: false,
    },
    {
      deviceId: 'd3',
      module: Module.MODULE_UNIT_FACE_ACCESS,
      buildingCode: '2',
      active: false,
      online: true,
    },
    {
      deviceId: 'd4',
      module: Module.MODULE_PERIMETER_PROTECTION,
      buildingCode: '',
      active: true,
      online: true,
    },
  ],
  uploads: [
    { platformId: 'P1', realTime: true },
    { platformId: 'P2', realTime: false },
  ],
  storage: {
    backendRetentionDays: 30,
    retentionEnforced: true,
    expired: false,
    zones: [
      { module: Module.MODULE_VIDEO_KEY_ROOMS, cameras: 2, frontendCompliant: 1, shortestFrontendDays: 3 },
    ],
  },
  patrol: { routes: 1, checkpoints: 3, windowHours: 24, roundsDue: 2, roundsCompleted: 1, expired: false },
};

const report = () =>
  acceptanceReport(
    ZHANGDIAN_2020.tables.A,
    compound,
    evidence,
    scoreCompound(ZHANGDIAN_2020, evidence),
    new Date('2026-11-28T10:00:00Z'),
  );

describe('acceptance report', () => {
  it('says satisfied exactly when the scoring rule finds nothing lacking, for every row', () => {
    for (const r of report().rows) expect(r.satisfied).toBe(rowLacks(r.row, evidence).length === 0);
  });

  it('describes each row: per building, decommissioned devices ignored, each upper platform', () => {
    const rows = report().rows;
    const unit = rows.find((r) => r.row.module === Module.MODULE_UNIT_FACE_ACCESS)!;
    expect(unit.findings.map((f) => f.en)).toEqual([
      'building 1: 1 device, 1 online',
      'building 2: 1 device, 0 online',
    ]);
    expect(unit.findings.map((f) => f.zh)).toEqual([
      '楼栋 1：1 台设备，1 台在线',
      '楼栋 2：1 台设备，0 台在线',
    ]);
    expect(unit.satisfied).toBe(false);
    const upload = rows.find((r) => r.row.module === Module.MODULE_MANAGEMENT_REAL_TIME_UPLOAD)!;
    expect(upload.findings.map((f) => f.en)).toEqual([
      'uploading in real time to P1',
      'not uploading in real time to P2',
    ]);
    const panorama = rows.find((r) => r.row.module === Module.MODULE_VIDEO_PANORAMA)!;
    expect(panorama.findings.map((f) => f.zh)).toEqual([
      '未登记设备',
      '后端存储 30 天；前端存储 ≥7 天的摄像机 0/0',
    ]);
    const keyRooms = rows.find((r) => r.row.module === Module.MODULE_VIDEO_KEY_ROOMS)!;
    expect(keyRooms.findings.map((f) => f.en)).toEqual([
      'no device registered',
      'back-end retention 30 days; 1 of 2 cameras keep ≥ 7 days at the front end',
    ]);
    expect(keyRooms.missing.map((m) => m.evidenceLacking)).toEqual([
      'no device registered',
      '1 of 2 cameras keep under 7 days at the front end (shortest 3)',
    ]);
    const patrol = rows.find((r) => r.row.module === Module.MODULE_ELECTRONIC_PATROL)!;
    expect(patrol.findings.map((f) => f.en)).toEqual([
      'no device registered',
      '1 route over 3 checkpoints; 1 of 2 rounds completed in the last 24 h',
    ]);
    expect(patrol.findings[1]!.zh).toBe('巡查路线 1 条（巡查点 3 个）；近 24 小时完成巡查 1/2 次');
    expect(rows.find((r) => r.row.module === Module.MODULE_PERIMETER_PROTECTION)!.satisfied).toBe(true);
  });

  it('writes one CSV line per row with the ● / 〇 marks', () => {
    const lines = acceptanceCsv(report(), 'en').split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(1 + ZHANGDIAN_2020.tables.A.length);
    expect(lines[1]).toBe(
      'c-1,天晓小区,A,zhangdian-2020,Not compliant,Perimeter protection,"walls, fences, water edges, pipes",●,●,〇,no,yes,1 device; 1 online'.replace(
        '1 device; 1 online',
        '"1 device, 1 online"',
      ),
    );
  });

  it('prints every row and what each level lacks', () => {
    const page = acceptanceHtml(report(), 'zh');
    expect(page).toContain('<html lang="zh-CN">');
    expect((page.match(/<tr class=/g) ?? []).length).toBe(ZHANGDIAN_2020.tables.A.length);
    expect(page).toContain('距达标缺少');
    expect(page).toContain('楼栋 2：1 台设备，0 台在线');
  });
});

describe('languageOf', () => {
  it('takes zh (default) and en, and nothing else', () => {
    expect([languageOf(''), languageOf('zh-CN'), languageOf('EN'), languageOf('fr')]).toEqual([
      'zh',
      'zh',
      'en',
      undefined,
    ]);
  });
});
