/**
 * The ComplianceService over the real infrastructure: the seeded district list, compound CRUD
 * with validation and revisions, CSV import with progress and per-row errors, caller roles and
 * compound scopes, coverage and networking rates per town against the year's targets (figures
 * computed by hand here), and the configuration tables.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import {
  AbortedError,
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@anfang/platform/grpc';
import { createPool } from '@anfang/platform/pg';
import { uniqueName, waitFor } from '@anfang/testing';
import { ZHANGDIAN_2020 } from '../src/domain/tables.ts';
import { createScorer } from '../src/store/scores.ts';
import {
  announceDevice,
  reportStatus,
  reportStorage,
  reportUpload,
  startHarness,
  type Harness,
} from './harness.ts';

const { Module } = anfang.common.v1;
const { ComplianceLevel: L, CompoundCategory, ProgrammeGroup, ConfigurationTable } = anfang.compliance.v1;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('compliance-api');
}, 120_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

function compound(overrides: Partial<anfang.compliance.v1.Compound.$Properties> = {}) {
  return {
    name: '测试小区',
    townStreet: '车站',
    category: CompoundCategory.COMPOUND_CATEGORY_OPEN_OLD,
    programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_OLD_UNOBTRUSIVE_VIDEO,
    ...overrides,
    compoundId: overrides.compoundId || h.newCompoundId(),
  };
}

describe('the seeded district list', () => {
  it('holds the 37 old compounds to be closed, scored against table A, none yet at 达标', async () => {
    const { compounds } = await h.client.listCompounds(
      { programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_OLD_TO_CLOSE, page: { pageSize: 100 } },
      await h.as(),
    );
    expect(compounds).toHaveLength(37);
    expect(compounds[0]).toMatchObject({
      compoundId: 'zd-old-001',
      name: '天晓小区',
      townStreet: '车站',
      neighbourhoodCommittee: '安乐街社区居委会',
      table: ConfigurationTable.CONFIGURATION_TABLE_A,
    });
    const level = await h.client.getCompoundLevel({ compoundId: 'zd-old-001' }, await h.as());
    expect(level.level).toBe(L.COMPLIANCE_LEVEL_NOT_COMPLIANT);
    // Seven rows of table A's 达标; the video rows lack both devices and video-index's storage report.
    expect(new Set(level.missingForNextLevel.map((m) => m.module)).size).toBe(7);
    expect(level.missingForNextLevel).toHaveLength(11);

    const coverage = await h.client.getCoverage({}, await h.as());
    expect(coverage.year).toBe(2020);
    const oldToClose = coverage.programmeGroups.find((g) => g.scope === 'old_to_close')!;
    expect([
      oldToClose.compounds,
      oldToClose.compliant,
      oldToClose.coverageRate,
      oldToClose.coverageTarget,
    ]).toEqual([37, 0, 0, 1]);
    const station = coverage.towns.find((t) => t.scope === '车站')!;
    expect(station.compounds).toBeGreaterThanOrEqual(9);
  });
});

describe('compound registry', () => {
  it('creates, reads, replaces with a revision check, and deletes', async () => {
    const c = compound({ buildingsCount: 2, buildingCodes: ['b-1', 'b-2'] });
    const created = (await h.client.createCompound({ compound: c }, await h.as())).compound!;
    expect(created).toMatchObject({
      compoundId: c.compoundId,
      revision: 1,
      table: ConfigurationTable.CONFIGURATION_TABLE_B,
    });
    await expect(h.client.createCompound({ compound: c }, await h.as())).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );

    const replaced = (
      await h.client.updateCompound(
        {
          compound: {
            ...c,
            category: CompoundCategory.COMPOUND_CATEGORY_SINGLE_BUILDING,
            constructionStatus: 3,
            constructionCompletedOn: { year: 2020, month: 11, day: 30 },
          },
          expectedRevision: 1,
        },
        await h.as(),
      )
    ).compound!;
    expect(replaced).toMatchObject({ revision: 2, table: ConfigurationTable.CONFIGURATION_TABLE_C });
    expect(replaced.constructionCompletedOn).toMatchObject({ year: 2020, month: 11, day: 30 });
    await expect(
      h.client.updateCompound({ compound: c, expectedRevision: 1 }, await h.as()),
    ).rejects.toBeInstanceOf(AbortedError);
    expect((await h.client.getCompoundLevel({ compoundId: c.compoundId }, await h.as())).table).toBe(
      ConfigurationTable.CONFIGURATION_TABLE_C,
    );

    await h.client.deleteCompound({ compoundId: c.compoundId }, await h.as());
    await expect(h.client.getCompound({ compoundId: c.compoundId }, await h.as())).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(h.client.deleteCompound({ compoundId: c.compoundId }, await h.as())).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('refuses a bad compound with every reason', async () => {
    const error = await h.client
      .createCompound(
        {
          compound: {
            compoundId: 'bad id',
            townStreet: '',
            programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
            constructionStartedOn: { year: 2021, month: 2, day: 30 },
          },
        },
        await h.as(),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    const fields = (error as InvalidArgumentError).violations.map((v) => v.field).sort();
    expect(fields).toEqual(
      [
        'compound.category',
        'compound.compound_id',
        'compound.construction_started_on',
        'compound.construction_status',
        'compound.name',
        'compound.town_street',
      ].sort(),
    );
    await expect(h.client.getCompound({ compoundId: '' }, await h.as())).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(h.client.listCompounds({ page: { pageSize: 5000 } }, await h.as())).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('pages through compounds in id order', async () => {
    const town = uniqueName('paged-town');
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const c = compound({ townStreet: town });
      ids.push(c.compoundId);
      await h.client.createCompound({ compound: c }, await h.as());
    }
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listCompounds(
        { townStreet: town, page: { pageSize: 2, pageToken } },
        await h.as(),
      );
      seen.push(...page.compounds.map((c) => c.compoundId ?? ''));
      pageToken = page.page?.nextPageToken ?? '';
    } while (pageToken);
    expect(seen).toEqual([...ids].sort());
  });
});

describe('CSV import', () => {
  it('imports valid rows, reports refused ones by line; re-imports change only what differs', async () => {
    const town = uniqueName('import-town');
    const file = (buildings: number) =>
      new TextEncoder().encode(
        'name,town_street,neighbourhood_committee,category,programme_group,buildings_count,target_level\n' +
          `甲小区,${town},甲社区,village,village,${buildings},达标\n` +
          `乙小区,${town},乙社区,castle,village,x,优质\n` +
          `丙小区,${town},丙社区,新建,new_build,12,示范\n`,
      );
    let csv = file(4);
    const run = async () => {
      const messages = [];
      for await (const m of h.client.importCompounds({ csv }, await h.as())) messages.push(m);
      return messages;
    };
    const first = await run();
    const last = first.at(-1)!;
    expect(first[0]).toMatchObject({ processed: 0, total: 3 });
    expect(last).toMatchObject({
      done: true,
      processed: 3,
      total: 3,
      created: 2,
      updated: 0,
      unchanged: 0,
      failed: 1,
    });
    expect(last.errors).toHaveLength(1);
    expect(last.errors[0]).toMatchObject({ line: 3, compoundName: '乙小区' });
    expect((last.errors?.[0]?.violations ?? []).map((v) => v.field).sort()).toEqual([
      'buildings_count',
      'category',
    ]);

    const again = (await run()).at(-1)!;
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2, failed: 1 });
    const listed = await h.client.listCompounds({ townStreet: town }, await h.as());
    expect(listed.compounds.map((c) => [c.name, c.table, c.revision]).sort()).toEqual([
      ['丙小区', ConfigurationTable.CONFIGURATION_TABLE_A, 1],
      ['甲小区', ConfigurationTable.CONFIGURATION_TABLE_B, 1],
    ]);

    csv = file(5);
    expect((await run()).at(-1)).toMatchObject({ created: 0, updated: 1, unchanged: 1, failed: 1 });
    const changed = await h.client.listCompounds({ townStreet: town }, await h.as());
    expect(changed.compounds.map((c) => [c.name, c.buildingsCount, c.revision]).sort()).toEqual([
      ['丙小区', 12, 1],
      ['甲小区', 5, 2],
    ]);
  });

  it('refuses an unreadable file as a whole', async () => {
    const bad = async (text: string) => {
      const stream = h.client.importCompounds({ csv: new TextEncoder().encode(text) }, await h.as());
      for await (const _ of stream) {
        /* drain */
      }
    };
    await expect(bad('')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(bad('name,colour\nx,y\n')).rejects.toThrow(/colour/);
  });
});

describe('callers', () => {
  it('needs a valid caller token', async () => {
    await expect(h.client.listConfigurationTables({})).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it("writes are the district office's; readers see only their compounds", async () => {
    const mine = compound();
    const other = compound();
    await h.client.createCompound({ compound: mine }, await h.as());
    await h.client.createCompound({ compound: other }, await h.as());
    const manager = await h.as({ role: 'community_manager', compounds: [mine.compoundId] });

    await expect(h.client.createCompound({ compound: compound() }, manager)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    await expect(h.client.getCompound({ compoundId: other.compoundId }, manager)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    expect((await h.client.getCompound({ compoundId: mine.compoundId }, manager)).compound?.compoundId).toBe(
      mine.compoundId,
    );
    const listed = await h.client.listCompounds({}, manager);
    expect(listed.compounds.map((c) => c.compoundId)).toEqual([mine.compoundId]);
    const coverage = await h.client.getCoverage({}, manager);
    expect(coverage.district?.compounds).toBe(1);

    await expect(
      h.client.getCompoundLevel(
        { compoundId: mine.compoundId },
        await h.as({ role: 'resident', compounds: [mine.compoundId] }),
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe('town/street officers, auditors and platform operators', () => {
  it('an area scope sees and keeps its own compounds only; auditors and operators never write', async () => {
    const area = `9${randomUUID().replace(/\D/g, '').padEnd(8, '0').slice(0, 8)}`;
    const mine = compound({ compoundId: `${area}001001` });
    const elsewhere = compound({ compoundId: `${area.slice(0, -1)}${(Number(area.at(-1)) + 1) % 10}001001` });
    await h.client.createCompound({ compound: elsewhere }, await h.as());
    const officer = await h.as({ role: 'street_officer', compounds: [], areas: [area] });

    await h.client.createCompound({ compound: mine }, officer);
    await expect(
      h.client.createCompound({ compound: compound({ compoundId: `${elsewhere.compoundId}9` }) }, officer),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const listed = await h.client.listCompounds({ page: { pageSize: 1000 } }, officer);
    expect(listed.compounds.map((c) => c.compoundId)).toEqual([mine.compoundId]);
    expect((await h.client.getCoverage({}, officer)).district?.compounds).toBe(1);
    await expect(h.client.getCompound({ compoundId: elsewhere.compoundId }, officer)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );

    for (const role of ['auditor', 'platform_operator'] as const) {
      const reader = await h.as({ role, compounds: 'all' });
      expect((await h.client.getCompound({ compoundId: mine.compoundId }, reader)).compound?.name).toBe(
        mine.name,
      );
      await expect(h.client.deleteCompound({ compoundId: mine.compoundId }, reader)).rejects.toBeInstanceOf(
        PermissionDeniedError,
      );
    }
    await h.client.deleteCompound({ compoundId: mine.compoundId }, officer);
  });
});

describe('coverage and networking rates per town', () => {
  it('match the figures computed by hand, against the 2021 targets', async () => {
    const town = uniqueName('rates-town');
    // Three compounds in the town: one at 达标 and networked, one networked but short of a
    // required device, one with nothing.
    const compliant = compound({
      townStreet: town,
      category: CompoundCategory.COMPOUND_CATEGORY_CLOSED,
      programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
    });
    const networkedOnly = compound({
      townStreet: town,
      category: CompoundCategory.COMPOUND_CATEGORY_CLOSED,
      programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
    });
    const bare = compound({
      townStreet: town,
      programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_VILLAGE,
      category: CompoundCategory.COMPOUND_CATEGORY_VILLAGE,
    });
    for (const c of [compliant, networkedOnly, bare])
      await h.client.createCompound({ compound: c }, await h.as());

    const modules = [
      Module.MODULE_PEDESTRIAN_ACCESS,
      Module.MODULE_VEHICLE_ACCESS,
      Module.MODULE_VIDEO_PUBLIC_AREAS,
      Module.MODULE_VIDEO_BUILDINGS,
      Module.MODULE_VIDEO_KEY_ROOMS,
      Module.MODULE_VIDEO_THROWING,
    ];
    for (const [c, present] of [
      [compliant, modules],
      [networkedOnly, modules.slice(1)],
    ] as const)
      for (const module of present) {
        const device = { deviceId: randomUUID(), compoundId: c.compoundId, module };
        await announceDevice(h, device);
        await reportStatus(h, device, true);
      }
    await reportUpload(h, compliant.compoundId, true);
    await reportStorage(h, compliant.compoundId);
    await reportStorage(h, networkedOnly.compoundId);
    await reportUpload(h, networkedOnly.compoundId, true);

    const figures = await waitFor(
      async () => {
        const coverage = await h.client.getCoverage({ year: 2021 }, await h.as());
        const row = coverage.towns.find((t) => t.scope === town);
        return row && row.compliant === 1 && row.networked === 2 ? row : undefined;
      },
      { timeoutMs: 30_000, message: 'town figures not reached' },
    );
    expect(figures).toMatchObject({
      compounds: 3,
      compliant: 1,
      networked: 2,
      coverageRate: 1 / 3,
      networkingRate: 2 / 3,
      coverageTarget: 0.9,
    });
    expect(figures.networkingTarget ?? undefined).toBeUndefined();
    expect(figures.byLevel).toEqual([0, 2, 1, 0, 0]);
    // Its devices' events are scored one by one: wait until the last of them has been.
    const missing = await waitFor(
      async () => {
        const level = await h.client.getCompoundLevel({ compoundId: networkedOnly.compoundId }, await h.as());
        const lacking = level.missingForNextLevel.map((m) => [m.module, m.evidenceLacking]);
        return lacking.length === 1 ? lacking : undefined;
      },
      { timeoutMs: 30_000, message: 'the networked compound still lacks more than pedestrian access' },
    );
    expect(missing).toEqual([[Module.MODULE_PEDESTRIAN_ACCESS, 'no device registered']]);
    const in2022 = await h.client.getCoverage({ year: 2022 }, await h.as());
    expect(in2022.towns.find((t) => t.scope === town)).toMatchObject({
      coverageTarget: 1,
      networkingTarget: 1,
    });
    await expect(h.client.getCoverage({ year: 1900 }, await h.as())).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  }, 90_000);
});

describe('configuration tables', () => {
  it('lists the active version with tables A, B and C', async () => {
    const { versions } = await h.client.listConfigurationTables(
      {},
      await h.as({ role: 'guard', compounds: [] }),
    );
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 'zhangdian-2020', active: true });
    expect((versions[0]!.tables ?? []).map((t) => [t.table, t.rows?.length])).toEqual([
      [ConfigurationTable.CONFIGURATION_TABLE_A, 14],
      [ConfigurationTable.CONFIGURATION_TABLE_B, 14],
      [ConfigurationTable.CONFIGURATION_TABLE_C, 9],
    ]);
  });
});

describe('scores of another table version', () => {
  it('are found and recomputed with the active version (as on start)', async () => {
    const pool = createPool({ url: h.db.url, applicationName: 'compliance-test' });
    try {
      const stale = compound();
      const unscored = compound();
      for (const c of [stale, unscored]) await h.client.createCompound({ compound: c }, await h.as());
      await pool.query(`UPDATE scores SET table_version = 'retired-2019' WHERE compound_id = $1`, [
        stale.compoundId,
      ]);
      await pool.query('DELETE FROM scores WHERE compound_id = $1', [unscored.compoundId]);

      const scorer = createScorer({ pool, version: ZHANGDIAN_2020, producer: 'compliance-scoring' });
      expect(await scorer.rescoreStale()).toBe(2);
      const { rows } = await pool.query<{ compound_id: string; table_version: string }>(
        'SELECT compound_id, table_version FROM scores WHERE compound_id = ANY($1) ORDER BY compound_id',
        [[stale.compoundId, unscored.compoundId]],
      );
      expect(rows.map((r) => r.table_version)).toEqual(['zhangdian-2020', 'zhangdian-2020']);
      expect(await scorer.rescoreStale()).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
