/**
 * The tables as data against SPEC §4's text: the markdown below is copied verbatim from SPEC §4,
 * parsed, and every row compared with the data module (module, where, ● / 〇 per level).
 */
import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { LEVELS, TABLE_VERSIONS, ZHANGDIAN_2020, requiredRows, type TableId } from './tables.ts';

const M = anfang.common.v1.Module;

const SPEC_SECTION_4 = `
Table A — closed compounds (全封闭小区)

| module | where | 示范 | 优质 | 达标 |
| --- | --- | --- | --- | --- |
| perimeter protection | walls, fences, water edges, pipes | ● | ● | 〇 |
| pedestrian access | compound gates, both directions | ● | ● | ● |
| vehicle access | compound gates, car-park entrances | ● | ● | ● |
| face recognition | internal main roads, activity areas | 〇 | 〇 | 〇 |
| video: public areas | activity areas, playgrounds, water, main passages, parking | ● | ● | ● |
| video: buildings | unit entrances, lift halls, lift cars, perimeter | ● | ● | ● |
| video: key rooms | control centre, gas, pumps, power, fire lanes | ● | ● | ● |
| video: panorama | plaza or high point | ● | 〇 | 〇 |
| video: throwing | below high-rise buildings | ● | ● | ● |
| electronic patrol | perimeter, around buildings, parking, plant rooms | ● | 〇 | 〇 |
| IoT sensing | compound gates | 〇 | 〇 | 〇 |
| unit face access | unit doors | ● | 〇 | 〇 |
| management: visual platform | 2D/3D | ● | ● | 〇 |
| management: real-time upload | to the upper platform | ● | ● | ● |

Table B — open compounds and villages (开放式小区)

| module | where | 示范 | 优质 | 达标 |
| --- | --- | --- | --- | --- |
| face recognition: gates | pedestrian roads in and out | ● | ● | ● |
| face recognition: inside | internal main roads, activity areas | ● | ● | 〇 |
| vehicle recognition | vehicle roads in and out | ● | ● | ● |
| vehicle access | car-park entrances | ● | ● | 〇 |
| video: public areas | as table A | ● | ● | ● |
| video: buildings | as table A | ● | ● | ● |
| video: key rooms | as table A | ● | ● | ● |
| video: panorama | plaza or high point | ● | 〇 | 〇 |
| video: throwing | below high-rise buildings | ● | ● | ● |
| electronic patrol | as table A | 〇 | 〇 | 〇 |
| IoT sensing | main gates | 〇 | 〇 | 〇 |
| unit face access | unit doors | ● | 〇 | 〇 |
| management: visual platform | 2D/3D | ● | ● | 〇 |
| management: real-time upload | to the upper platform | ● | ● | ● |

Table C — single apartment / office buildings (单体公寓楼)

| module | where | 示范 | 优质 | 达标 |
| --- | --- | --- | --- | --- |
| pedestrian access | building entrances, both directions | ● | ● | ● |
| face recognition | underground car park ↔ building passage | ● | ● | 〇 |
| vehicle access | underground car-park entrances | ● | ● | ● |
| video: building | lobby, unit entrances, lift halls, lift cars | ● | ● | ● |
| video: key rooms | control centre, pumps, power, fire lanes | ● | ● | ● |
| electronic patrol | stairs, lift halls, parking, plant rooms | 〇 | 〇 | 〇 |
| IoT sensing | main entrances | 〇 | 〇 | 〇 |
| management: visual platform | 2D/3D | ● | 〇 | 〇 |
| management: real-time upload | to the upper platform | ● | ● | ● |
`;

/** SPEC's module labels, per table (the same label names different modules in different tables). */
const MODULE_OF: Record<TableId, Record<string, anfang.common.v1.Module>> = {
  A: {
    'perimeter protection': M.MODULE_PERIMETER_PROTECTION,
    'pedestrian access': M.MODULE_PEDESTRIAN_ACCESS,
    'vehicle access': M.MODULE_VEHICLE_ACCESS,
    'face recognition': M.MODULE_FACE_RECOGNITION_INSIDE,
    'video: public areas': M.MODULE_VIDEO_PUBLIC_AREAS,
    'video: buildings': M.MODULE_VIDEO_BUILDINGS,
    'video: key rooms': M.MODULE_VIDEO_KEY_ROOMS,
    'video: panorama': M.MODULE_VIDEO_PANORAMA,
    'video: throwing': M.MODULE_VIDEO_THROWING,
    'electronic patrol': M.MODULE_ELECTRONIC_PATROL,
    'IoT sensing': M.MODULE_IOT_SENSING,
    'unit face access': M.MODULE_UNIT_FACE_ACCESS,
    'management: visual platform': M.MODULE_MANAGEMENT_VISUAL_PLATFORM,
    'management: real-time upload': M.MODULE_MANAGEMENT_REAL_TIME_UPLOAD,
  },
  B: {
    'face recognition: gates': M.MODULE_FACE_RECOGNITION_GATES,
    'face recognition: inside': M.MODULE_FACE_RECOGNITION_INSIDE,
    'vehicle recognition': M.MODULE_VEHICLE_RECOGNITION,
    'vehicle access': M.MODULE_VEHICLE_ACCESS,
    'video: public areas': M.MODULE_VIDEO_PUBLIC_AREAS,
    'video: buildings': M.MODULE_VIDEO_BUILDINGS,
    'video: key rooms': M.MODULE_VIDEO_KEY_ROOMS,
    'video: panorama': M.MODULE_VIDEO_PANORAMA,
    'video: throwing': M.MODULE_VIDEO_THROWING,
    'electronic patrol': M.MODULE_ELECTRONIC_PATROL,
    'IoT sensing': M.MODULE_IOT_SENSING,
    'unit face access': M.MODULE_UNIT_FACE_ACCESS,
    'management: visual platform': M.MODULE_MANAGEMENT_VISUAL_PLATFORM,
    'management: real-time upload': M.MODULE_MANAGEMENT_REAL_TIME_UPLOAD,
  },
  C: {
    'pedestrian access': M.MODULE_PEDESTRIAN_ACCESS,
    'face recognition': M.MODULE_FACE_RECOGNITION_CAR_PARK_PASSAGE,
    'vehicle access': M.MODULE_VEHICLE_ACCESS,
    'video: building': M.MODULE_VIDEO_BUILDINGS,
    'video: key rooms': M.MODULE_VIDEO_KEY_ROOMS,
    'electronic patrol': M.MODULE_ELECTRONIC_PATROL,
    'IoT sensing': M.MODULE_IOT_SENSING,
    'management: visual platform': M.MODULE_MANAGEMENT_VISUAL_PLATFORM,
    'management: real-time upload': M.MODULE_MANAGEMENT_REAL_TIME_UPLOAD,
  },
};

interface SpecRow {
  module: string;
  where: string;
  marks: string[];
}

function parseSpecTables(text: string): Record<TableId, SpecRow[]> {
  const tables: Partial<Record<TableId, SpecRow[]>> = {};
  let current: SpecRow[] | undefined;
  for (const line of text.split('\n')) {
    const heading = /^Table ([ABC]) —/.exec(line);
    if (heading) {
      current = [];
      tables[heading[1] as TableId] = current;
      continue;
    }
    if (!current || !line.startsWith('|') || line.includes('---') || line.includes('| module |')) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    current.push({ module: cells[0]!, where: cells[1]!, marks: cells.slice(2) });
  }
  return tables as Record<TableId, SpecRow[]>;
}

const spec = parseSpecTables(SPEC_SECTION_4);
const markOf = (requirement: string) => (requirement === 'required' ? '●' : '〇');

describe('configuration tables (SPEC §4)', () => {
  it.each(['A', 'B', 'C'] as const)('table %s has every SPEC row, in order, with its marks', (id) => {
    const rows = ZHANGDIAN_2020.tables[id];
    expect(rows.map((r) => r.module)).toEqual(spec[id].map((s) => MODULE_OF[id][s.module]));
    for (const [i, specRow] of spec[id].entries()) {
      const row = rows[i]!;
      expect(row.location, `${id}/${specRow.module}`).toBe(specRow.where);
      expect(
        LEVELS.map((level) => markOf(row.levels[level])),
        `${id}/${specRow.module}`,
      ).toEqual(specRow.marks);
    }
  });

  it('the SPEC text parses into 14, 14 and 9 rows with three marks each', () => {
    expect([spec.A.length, spec.B.length, spec.C.length]).toEqual([14, 14, 9]);
    for (const rows of Object.values(spec)) for (const r of rows) expect(r.marks).toHaveLength(3);
  });

  it("each table names a module at most once (a device's module picks its row)", () => {
    for (const rows of Object.values(ZHANGDIAN_2020.tables))
      expect(new Set(rows.map((r) => r.module)).size).toBe(rows.length);
  });

  it('a higher level never requires less than a lower one', () => {
    for (const rows of Object.values(ZHANGDIAN_2020.tables)) {
      const ids = (level: (typeof LEVELS)[number]) => requiredRows(rows, level).map((r) => r.module);
      expect(ids('quality')).toEqual(expect.arrayContaining(ids('compliant')));
      expect(ids('demonstration')).toEqual(expect.arrayContaining(ids('quality')));
    }
  });

  it('upload and visual platform rows are satisfied by their own evidence, building rows per building', () => {
    for (const rows of Object.values(ZHANGDIAN_2020.tables))
      for (const row of rows) {
        const expected =
          row.module === M.MODULE_MANAGEMENT_REAL_TIME_UPLOAD
            ? 'upload'
            : row.module === M.MODULE_MANAGEMENT_VISUAL_PLATFORM
              ? 'platform'
              : 'device';
        expect(row.evidence).toBe(expected);
        expect(row.perBuilding).toBe(
          row.module === M.MODULE_UNIT_FACE_ACCESS || row.module === M.MODULE_VIDEO_BUILDINGS,
        );
      }
  });

  it('versions have unique ids', () => {
    expect(new Set(TABLE_VERSIONS.map((v) => v.version)).size).toBe(TABLE_VERSIONS.length);
  });
});
