/**
 * Reports over the real infrastructure: a compound's acceptance report (structured, CSV and the
 * printable page) from the evidence the consumer received, per building; the district summary
 * CSV within the caller's scope; the coverage trend from recorded daily standings.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { InvalidArgumentError, PermissionDeniedError } from '@anfang/platform/grpc';
import { createPool, type Pool } from '@anfang/platform/pg';
import { uniqueName, waitFor } from '@anfang/testing';
import { recordDailyStandings } from '../src/store/reports.ts';
import {
  announceDevice,
  reportStatus,
  reportStorage,
  reportUpload,
  startHarness,
  type Harness,
} from './harness.ts';

const { Module } = anfang.common.v1;
const { ComplianceLevel: L, CompoundCategory, ProgrammeGroup, ReportFormat } = anfang.compliance.v1;

let h: Harness;
let pool: Pool;
let compoundId: string;
const town = uniqueName('reports-town');
/** Imported names are hostile: a spreadsheet formula and markup. */
const NAME = '=HYPERLINK("x")<b>&测试';

beforeAll(async () => {
  h = await startHarness('compliance-reports');
  pool = createPool({ url: h.db.url, applicationName: 'compliance-reports-test' });
  compoundId = h.newCompoundId();
  await h.client.createCompound(
    {
      compound: {
        compoundId,
        name: NAME,
        townStreet: town,
        category: CompoundCategory.COMPOUND_CATEGORY_SINGLE_BUILDING,
        programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
        buildingCodes: ['B1', 'B2'],
      },
    },
    await h.as(),
  );
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await h?.close();
}, 60_000);

async function online(module: anfang.common.v1.Module, buildingCode?: string) {
  const device = { deviceId: randomUUID(), compoundId, module, ...(buildingCode ? { buildingCode } : {}) };
  await announceDevice(h, device);
  await reportStatus(h, device, true);
  return device;
}

async function level() {
  return (await h.client.getCompoundLevel({ compoundId }, await h.as())).level;
}

interface Chunked {
  readonly chunk?: { data?: Uint8Array | null; contentType?: string | null; fileName?: string | null } | null;
}

async function text(stream: AsyncIterable<Chunked>) {
  const parts: Uint8Array[] = [];
  let contentType = '';
  let fileName = '';
  for await (const { chunk } of stream) {
    parts.push(chunk?.data ?? new Uint8Array());
    contentType = chunk?.contentType ?? '';
    fileName = chunk?.fileName ?? '';
  }
  return { body: Buffer.concat(parts).toString('utf8'), contentType, fileName };
}

const manager = () => h.as({ role: 'community_manager', compounds: [compoundId] });

describe('acceptance report', () => {
  it('lists every row of table C with what was found, per building, and agrees with the level', async () => {
    await online(Module.MODULE_PEDESTRIAN_ACCESS);
    const b1Camera = await online(Module.MODULE_VIDEO_BUILDINGS, 'B1');
    await waitFor(
      async () => {
        const report = await h.client.getAcceptanceReport({ compoundId }, await h.as());
        // Each device's events come on their own partition: wait for both, not only the last.
        const reported = (module: anfang.common.v1.Module) =>
          report.rows.find((r) => r.row!.module === module)!.evidence?.[0]?.includes('1 online');
        return reported(Module.MODULE_VIDEO_BUILDINGS) && reported(Module.MODULE_PEDESTRIAN_ACCESS);
      },
      { timeoutMs: 30_000, message: 'the gate and the building camera did not reach the evidence' },
    );
    const report = await h.client.getAcceptanceReport({ compoundId }, await manager());
    expect(report.compound!.name).toBe(NAME);
    expect(report.table).toBe(anfang.compliance.v1.ConfigurationTable.CONFIGURATION_TABLE_C);
    expect(report.rows).toHaveLength(9);
    const row = (module: anfang.common.v1.Module) => report.rows.find((r) => r.row!.module === module)!;
    expect(row(Module.MODULE_PEDESTRIAN_ACCESS)).toMatchObject({
      satisfied: true,
      // A gate must also produce data: new, it has a window to do so.
      evidence: ['1 device, 1 online, 1 producing data'],
      evidenceZh: ['1 台设备，1 台在线，1 台时限内有数据'],
    });
    expect(row(Module.MODULE_VIDEO_BUILDINGS)).toMatchObject({
      satisfied: false,
      evidence: [
        'building B1: 1 device, 1 online',
        'building B2: no device registered',
        'no storage report from video-index',
      ],
    });
    expect(row(Module.MODULE_VIDEO_BUILDINGS).missing).toEqual([
      expect.objectContaining({ buildingCode: 'B2', evidenceLacking: 'no device registered' }),
      expect.objectContaining({ buildingCode: '', evidenceLacking: 'no storage report from video-index' }),
    ]);
    expect(row(Module.MODULE_MANAGEMENT_REAL_TIME_UPLOAD)).toMatchObject({ satisfied: false });
    expect(report.level).toBe(L.COMPLIANCE_LEVEL_NOT_COMPLIANT);
    expect([report.devicesRequired, report.devicesOnline]).toEqual([2, 2]);

    // The camera goes offline: the report says so at once.
    await reportStatus(h, b1Camera, false);
    await waitFor(
      async () =>
        (await h.client.getAcceptanceReport({ compoundId }, await h.as())).rows
          .find((r) => r.row!.module === Module.MODULE_VIDEO_BUILDINGS)!
          .evidence?.includes('building B1: 1 device, 0 online'),
      { timeoutMs: 30_000, message: 'offline did not reach the report' },
    );
  });

  it('exports as CSV (safe for spreadsheets) and as a printable page (escaped), in either language', async () => {
    const csv = await text(
      h.client.exportAcceptanceReport(
        { compoundId, format: ReportFormat.REPORT_FORMAT_CSV },
        await manager(),
      ),
    );
    expect(csv.contentType).toBe('text/csv; charset=utf-8');
    expect(csv.fileName).toMatch(new RegExp(`^acceptance-${compoundId}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    const lines = csv.body.split('\r\n').filter(Boolean);
    expect(lines[0]!.startsWith('\uFEFF小区编号,小区名称,配置表')).toBe(true);
    expect(lines).toHaveLength(10);
    // The formula is neutralised and the quotes doubled.
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")<b>&测试"`);
    expect(lines.find((l) => l.includes('视频监控（楼栋）'))).toContain('楼栋 B2：未登记设备');

    const page = await text(
      h.client.exportAcceptanceReport(
        { compoundId, format: ReportFormat.REPORT_FORMAT_HTML, language: 'en' },
        await manager(),
      ),
    );
    expect(page.contentType).toBe('text/html; charset=utf-8');
    expect(page.body.startsWith('<!doctype html>')).toBe(true);
    expect(page.body).toContain('=HYPERLINK(&quot;x&quot;)&lt;b&gt;&amp;测试');
    expect(page.body).not.toContain('<b>&');
    expect(page.body).toContain('building B2: no device registered');
    expect(page.body).toContain('Missing for Compliant');
    expect(page.body).not.toMatch(/<script|https?:\/\//);
  });

  it('is refused outside the caller scope and for unknown formats or languages', async () => {
    await expect(
      h.client.getAcceptanceReport(
        { compoundId },
        await h.as({ role: 'community_manager', compounds: ['someone-else'] }),
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      text(h.client.exportAcceptanceReport({ compoundId, language: 'fr' }, await h.as())),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      text(
        h.client.exportAcceptanceReport(
          { compoundId, format: 9 as anfang.compliance.v1.ReportFormat },
          await h.as(),
        ),
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('district summary and trend', () => {
  it('exports the summary of the compounds the caller may see, aggregates then compounds', async () => {
    const summary = await text(
      h.client.exportDistrictSummary({ year: 2021, language: 'en' }, await manager()),
    );
    expect(summary.fileName).toMatch(/^district-summary-2021-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = summary.body.replace('\uFEFF', '').split('\r\n').filter(Boolean);
    expect(lines[0]).toBe(
      'kind,scope,compound_id,town_street,programme_group,compounds,level,target_level,compliant_or_better,coverage_rate,coverage_target,networked,networking_rate,networking_target,missing_for_next_level',
    );
    // district, its one town, its one programme group, the compound: nothing of other compounds.
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe('district,district,,,,1,,,0,0.0000,0.9000,0,0.0000,,');
    expect(lines[2]).toBe(`town_street,${town},,${town},,1,,,0,0.0000,0.9000,0,0.0000,,`);
    expect(lines[3]).toBe('programme_group,commercial,,,commercial,1,,,0,0.0000,0.8000,0,0.0000,,');
    expect(lines[4]).toContain(
      `,${compoundId},${town},commercial,1,Not compliant,Compliant,0,0.0000,0.8000,0,0.0000,,`,
    );
    expect(lines[4]).toContain('Video (buildings) B2: no device registered');
  });

  it('shows the recorded days against each year’s targets, within the caller scope', async () => {
    await recordDailyStandings(pool, '2021-12-31', new Date());
    // Everything 达标 of table C: vehicle access, both buildings' cameras, key rooms, upload.
    await online(Module.MODULE_VEHICLE_ACCESS);
    await online(Module.MODULE_VIDEO_BUILDINGS, 'B1');
    await online(Module.MODULE_VIDEO_BUILDINGS, 'B2');
    await online(Module.MODULE_VIDEO_KEY_ROOMS);
    await reportUpload(h, compoundId, true);
    await reportStorage(h, compoundId);
    await waitFor(async () => (await level()) === L.COMPLIANCE_LEVEL_COMPLIANT, {
      timeoutMs: 30_000,
      message: 'the compound did not reach 达标',
    });
    await recordDailyStandings(pool, '2022-01-01', new Date());

    const trend = await h.client.getCoverageTrend(
      { from: { year: 2021, month: 12, day: 1 }, to: { year: 2022, month: 1, day: 31 } },
      await manager(),
    );
    expect(trend.scope).toBe('district');
    expect(
      trend.points.map((p) => [
        p.date,
        p.compounds,
        p.compliant,
        p.networked,
        p.coverageRate,
        p.coverageTarget,
        p.networkingTarget ?? null,
      ]),
    ).toEqual([
      [{ year: 2021, month: 12, day: 31 }, 1, 0, 0, 0, 0.9, null],
      [{ year: 2022, month: 1, day: 1 }, 1, 1, 1, 1, 1, 1],
    ]);
    const byGroup = await h.client.getCoverageTrend(
      {
        from: { year: 2021, month: 12, day: 31 },
        to: { year: 2021, month: 12, day: 31 },
        programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
      },
      await manager(),
    );
    expect(byGroup.scope).toBe('commercial');
    expect(byGroup.points.map((p) => p.coverageTarget)).toEqual([0.8]);
    const otherTown = await h.client.getCoverageTrend(
      {
        from: { year: 2021, month: 12, day: 31 },
        to: { year: 2022, month: 1, day: 1 },
        townStreet: 'elsewhere',
      },
      await manager(),
    );
    expect(otherTown.points).toEqual([]);
    const outsider = await h.client.getCoverageTrend(
      { from: { year: 2021, month: 12, day: 31 }, to: { year: 2022, month: 1, day: 1 } },
      await h.as({ role: 'community_manager', compounds: ['someone-else'] }),
    );
    expect(outsider.points).toEqual([]);
  });

  it('refuses impossible ranges and dates', async () => {
    await expect(
      h.client.getCoverageTrend(
        { from: { year: 2022, month: 1, day: 2 }, to: { year: 2022, month: 1, day: 1 } },
        await h.as(),
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      h.client.getCoverageTrend({ to: { year: 2021, month: 2, day: 30 } }, await h.as()),
    ).rejects.toThrow(/to/);
    await expect(
      h.client.getCoverageTrend({}, await h.as({ role: 'property_staff', compounds: [compoundId] })),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});
