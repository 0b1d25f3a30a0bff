/**
 * Scoring against SPEC §4, with the required items of every level of tables A, B and C written
 * out here by hand from the SPEC text (not read from the data module), so a wrong row in the
 * data shows up as a wrong level.
 */
import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import {
  scoreCompound,
  type CompoundEvidence,
  type DeviceEvidence,
  type PatrolEvidence,
  type StorageEvidence,
} from './scoring.ts';
import { ZHANGDIAN_2020, type Level, type LevelOrNone, type TableId } from './tables.ts';

const M = anfang.common.v1.Module;
type Item = anfang.common.v1.Module;

const UPLOAD = M.MODULE_MANAGEMENT_REAL_TIME_UPLOAD;
const PLATFORM = M.MODULE_MANAGEMENT_VISUAL_PLATFORM;

/** Required (●) items per level, from SPEC §4 tables A, B, C. */
const REQUIRED: Record<TableId, Record<Level, Item[]>> = {
  A: {
    compliant: [
      M.MODULE_PEDESTRIAN_ACCESS,
      M.MODULE_VEHICLE_ACCESS,
      M.MODULE_VIDEO_PUBLIC_AREAS,
      M.MODULE_VIDEO_BUILDINGS,
      M.MODULE_VIDEO_KEY_ROOMS,
      M.MODULE_VIDEO_THROWING,
      UPLOAD,
    ],
    quality: [] as Item[],
    demonstration: [] as Item[],
  },
  B: {
    compliant: [
      M.MODULE_FACE_RECOGNITION_GATES,
      M.MODULE_VEHICLE_RECOGNITION,
      M.MODULE_VIDEO_PUBLIC_AREAS,
      M.MODULE_VIDEO_BUILDINGS,
      M.MODULE_VIDEO_KEY_ROOMS,
      M.MODULE_VIDEO_THROWING,
      UPLOAD,
    ],
    quality: [],
    demonstration: [],
  },
  C: {
    compliant: [
      M.MODULE_PEDESTRIAN_ACCESS,
      M.MODULE_VEHICLE_ACCESS,
      M.MODULE_VIDEO_BUILDINGS,
      M.MODULE_VIDEO_KEY_ROOMS,
      UPLOAD,
    ],
    quality: [],
    demonstration: [],
  },
};
REQUIRED.A.quality = [...REQUIRED.A.compliant, M.MODULE_PERIMETER_PROTECTION, PLATFORM];
REQUIRED.A.demonstration = [
  ...REQUIRED.A.quality,
  M.MODULE_VIDEO_PANORAMA,
  M.MODULE_ELECTRONIC_PATROL,
  M.MODULE_UNIT_FACE_ACCESS,
];
REQUIRED.B.quality = [
  ...REQUIRED.B.compliant,
  M.MODULE_FACE_RECOGNITION_INSIDE,
  M.MODULE_VEHICLE_ACCESS,
  PLATFORM,
];
REQUIRED.B.demonstration = [...REQUIRED.B.quality, M.MODULE_VIDEO_PANORAMA, M.MODULE_UNIT_FACE_ACCESS];
REQUIRED.C.quality = [...REQUIRED.C.compliant, M.MODULE_FACE_RECOGNITION_CAR_PARK_PASSAGE];
REQUIRED.C.demonstration = [...REQUIRED.C.quality, PLATFORM];

/** Recommended-only (〇 at every level) items, from SPEC §4. */
const ALWAYS_RECOMMENDED: Record<TableId, Item[]> = {
  A: [M.MODULE_FACE_RECOGNITION_INSIDE, M.MODULE_IOT_SENSING],
  B: [M.MODULE_ELECTRONIC_PATROL, M.MODULE_IOT_SENSING],
  C: [M.MODULE_ELECTRONIC_PATROL, M.MODULE_IOT_SENSING],
};

const ORDER: Level[] = ['compliant', 'quality', 'demonstration'];

let serial = 0;
function device(module: Item, overrides: Partial<DeviceEvidence> = {}): DeviceEvidence {
  return { deviceId: `d-${++serial}`, module, buildingCode: '', active: true, online: true, ...overrides };
}

const VIDEO: readonly Item[] = [
  M.MODULE_VIDEO_PUBLIC_AREAS,
  M.MODULE_VIDEO_BUILDINGS,
  M.MODULE_VIDEO_KEY_ROOMS,
  M.MODULE_VIDEO_PANORAMA,
  M.MODULE_VIDEO_THROWING,
];
const PATROL = M.MODULE_ELECTRONIC_PATROL;

/** video-index's report: 30 days back end, each listed zone group with one camera keeping 7 days. */
function storageOf(modules: readonly Item[]): StorageEvidence {
  return {
    backendRetentionDays: 30,
    retentionEnforced: true,
    expired: false,
    zones: modules.map((module) => ({ module, cameras: 1, frontendCompliant: 1, shortestFrontendDays: 7 })),
  };
}

const OPERATED_PATROL: PatrolEvidence = {
  routes: 1,
  checkpoints: 4,
  windowHours: 24,
  roundsDue: 2,
  roundsCompleted: 2,
  expired: false,
};

/**
 * Evidence that satisfies exactly `items` (devices online, their images kept and patrol rounds
 * walked, upload real-time, platform on).
 */
function evidenceOf(
  table: TableId,
  items: readonly Item[],
  extra: Partial<CompoundEvidence> = {},
): CompoundEvidence {
  return {
    table,
    buildingCodes: [],
    visualPlatformEnabled: items.includes(PLATFORM),
    devices: items.filter((i) => i !== PLATFORM && i !== UPLOAD).map((i) => device(i)),
    uploads: items.includes(UPLOAD) ? [{ platformId: '37030000005030000001', realTime: true }] : [],
    storage: storageOf(items.filter((i) => VIDEO.includes(i))),
    ...(items.includes(PATROL) ? { patrol: OPERATED_PATROL } : {}),
    ...extra,
  };
}

/** By hand: the highest level whose required set is within `items`. */
function expectedLevel(table: TableId, items: readonly Item[]): LevelOrNone {
  const reached = ORDER.filter((level) => REQUIRED[table][level].every((i) => items.includes(i)));
  return reached.at(-1) ?? 'not_compliant';
}

const levelOf = (e: CompoundEvidence) => scoreCompound(ZHANGDIAN_2020, e).level;

describe.each(['A', 'B', 'C'] as const)('table %s', (table) => {
  it('nothing at all is 未达标, with every 达标 item missing', () => {
    const score = scoreCompound(ZHANGDIAN_2020, evidenceOf(table, []));
    expect(score.level).toBe('not_compliant');
    expect([...new Set(score.missingForNextLevel.map((m) => m.module))].sort()).toEqual(
      [...REQUIRED[table].compliant].sort(),
    );
  });

  it.each(ORDER)('exactly the required items of %s reach it', (level) => {
    const score = scoreCompound(ZHANGDIAN_2020, evidenceOf(table, REQUIRED[table][level]));
    expect(score.level).toBe(level);
    expect(score.levels.find((l) => l.level === level)!.missing).toEqual([]);
  });

  it.each(ORDER)('removing any single required item of %s drops it to the right level', (level) => {
    for (const removed of REQUIRED[table][level]) {
      const items = REQUIRED[table][level].filter((i) => i !== removed);
      const expected = expectedLevel(table, items);
      expect(expected).not.toBe(level);
      const score = scoreCompound(ZHANGDIAN_2020, evidenceOf(table, items));
      expect(score.level, `${table} ${level} without module ${removed}`).toBe(expected);
      // The removed item is named among what the next level lacks.
      expect(score.missingForNextLevel.map((m) => m.module)).toContain(removed);
    }
  });

  it.each(ORDER)('an offline required device of %s counts as missing', (level) => {
    for (const offline of REQUIRED[table][level].filter((i) => i !== PLATFORM && i !== UPLOAD)) {
      const base = evidenceOf(table, REQUIRED[table][level]);
      const devices = base.devices.map((d) => (d.module === offline ? { ...d, online: false } : d));
      const score = scoreCompound(ZHANGDIAN_2020, { ...base, devices });
      expect(score.level, `${table} ${level} with module ${offline} offline`).toBe(
        expectedLevel(
          table,
          REQUIRED[table][level].filter((i) => i !== offline),
        ),
      );
      expect(score.missingForNextLevel.find((m) => m.module === offline)?.evidenceLacking).toBe(
        '1 device, offline',
      );
    }
  });

  it.each(ORDER)('recommended items never decide a level (%s)', (level) => {
    const recommended = ZHANGDIAN_2020.tables[table]
      .filter((row) => !REQUIRED[table][level].includes(row.module))
      .map((row) => row.module);
    // Everything recommended at this level present: still exactly this level, unless the items
    // complete a higher level's required set (which only happens at the top).
    const withAll = [...REQUIRED[table][level], ...ALWAYS_RECOMMENDED[table]];
    expect(levelOf(evidenceOf(table, withAll))).toBe(level);
    // Every row present except one required item: the recommended ones do not make up for it.
    for (const removed of REQUIRED[table][level]) {
      const items = [...REQUIRED[table][level].filter((i) => i !== removed), ...recommended];
      expect(levelOf(evidenceOf(table, items))).toBe(expectedLevel(table, items));
    }
  });

  it('a demonstration compound reports the always-recommended items it has', () => {
    const score = scoreCompound(
      ZHANGDIAN_2020,
      evidenceOf(table, [...REQUIRED[table].demonstration, ...ALWAYS_RECOMMENDED[table]]),
    );
    expect(score.level).toBe('demonstration');
    expect(score.missingForNextLevel).toEqual([]);
    expect(score.recommendedPresent.map((p) => p.module).sort()).toEqual(
      [...ALWAYS_RECOMMENDED[table]].sort(),
    );
  });
});

describe('evidence rules', () => {
  const compliantA = () => evidenceOf('A', REQUIRED.A.compliant);

  it('one online device among offline ones satisfies a compound-wide row', () => {
    const base = compliantA();
    const devices = [
      ...base.devices,
      device(M.MODULE_VIDEO_KEY_ROOMS, { online: false }),
      device(M.MODULE_VIDEO_KEY_ROOMS, { online: false }),
    ];
    expect(levelOf({ ...base, devices })).toBe('compliant');
  });

  it('all devices of a module offline: missing, with how many', () => {
    const base = compliantA();
    const devices = [
      ...base.devices.filter((d) => d.module !== M.MODULE_VIDEO_THROWING),
      device(M.MODULE_VIDEO_THROWING, { online: false }),
      device(M.MODULE_VIDEO_THROWING, { online: false }),
    ];
    const score = scoreCompound(ZHANGDIAN_2020, { ...base, devices });
    expect(score.level).toBe('not_compliant');
    expect(score.missingForNextLevel).toEqual([
      {
        module: M.MODULE_VIDEO_THROWING,
        location: 'below high-rise buildings',
        buildingCode: '',
        evidenceLacking: '2 devices, all offline',
      },
    ]);
  });

  it('a decommissioned device counts for nothing, even online', () => {
    const base = compliantA();
    const devices = base.devices.map((d) =>
      d.module === M.MODULE_PEDESTRIAN_ACCESS ? { ...d, active: false } : d,
    );
    const score = scoreCompound(ZHANGDIAN_2020, { ...base, devices });
    expect(score.level).toBe('not_compliant');
    expect(score.missingForNextLevel[0]!.evidenceLacking).toBe('no device registered');
  });

  it("a device of another table's module satisfies nothing (face gates are table B's)", () => {
    const base = compliantA();
    const devices = [
      ...base.devices.filter((d) => d.module !== M.MODULE_PEDESTRIAN_ACCESS),
      device(M.MODULE_FACE_RECOGNITION_GATES),
    ];
    expect(levelOf({ ...base, devices })).toBe('not_compliant');
  });

  it('per-building rows need a working device in every registered building', () => {
    const base = compliantA();
    const others = base.devices.filter((d) => d.module !== M.MODULE_VIDEO_BUILDINGS);
    const buildingCodes = ['b-1', 'b-2', 'b-3'];
    const covered = [
      device(M.MODULE_VIDEO_BUILDINGS, { buildingCode: 'b-1' }),
      device(M.MODULE_VIDEO_BUILDINGS, { buildingCode: 'b-2' }),
      device(M.MODULE_VIDEO_BUILDINGS, { buildingCode: 'b-3', online: false }),
      // In no registered building: does not stand in for b-3.
      device(M.MODULE_VIDEO_BUILDINGS, { buildingCode: 'b-9' }),
    ];
    const score = scoreCompound(ZHANGDIAN_2020, { ...base, buildingCodes, devices: [...others, ...covered] });
    expect(score.level).toBe('not_compliant');
    expect(score.missingForNextLevel).toEqual([
      {
        module: M.MODULE_VIDEO_BUILDINGS,
        location: 'unit entrances, lift halls, lift cars, perimeter',
        buildingCode: 'b-3',
        evidenceLacking: '1 device, offline',
      },
    ]);
    const fixed = [...others, ...covered, device(M.MODULE_VIDEO_BUILDINGS, { buildingCode: 'b-3' })];
    expect(levelOf({ ...base, buildingCodes, devices: fixed })).toBe('compliant');
  });

  it('per-building rows are checked compound-wide when no building is registered', () => {
    const base = compliantA();
    const devices = base.devices.map((d) =>
      d.module === M.MODULE_VIDEO_BUILDINGS ? { ...d, buildingCode: 'b-7' } : d,
    );
    expect(levelOf({ ...base, devices })).toBe('compliant');
  });

  it('per-building unit face access at 示范 lists each building lacking it', () => {
    const base = evidenceOf('A', REQUIRED.A.demonstration);
    const buildingCodes = ['b-1', 'b-2'];
    const devices = [
      ...base.devices.filter(
        (d) => d.module !== M.MODULE_UNIT_FACE_ACCESS && d.module !== M.MODULE_VIDEO_BUILDINGS,
      ),
      device(M.MODULE_VIDEO_BUILDINGS, { buildingCode: 'b-1' }),
      device(M.MODULE_VIDEO_BUILDINGS, { buildingCode: 'b-2' }),
      device(M.MODULE_UNIT_FACE_ACCESS, { buildingCode: 'b-2' }),
    ];
    const score = scoreCompound(ZHANGDIAN_2020, { ...base, buildingCodes, devices });
    expect(score.level).toBe('quality');
    expect(score.missingForNextLevel.map((m) => [m.module, m.buildingCode])).toEqual([
      [M.MODULE_UNIT_FACE_ACCESS, 'b-1'],
    ]);
  });

  it('upload: no report, or any platform behind, is not real-time', () => {
    const base = compliantA();
    const none = scoreCompound(ZHANGDIAN_2020, { ...base, uploads: [] });
    expect(none.level).toBe('not_compliant');
    expect(none.uploadingRealTime).toBe(false);
    expect(none.missingForNextLevel[0]!.evidenceLacking).toBe('no upload health report from police-upload');
    const behind = scoreCompound(ZHANGDIAN_2020, {
      ...base,
      uploads: [
        { platformId: 'p-city', realTime: true },
        { platformId: 'p-province', realTime: false },
      ],
    });
    expect(behind.level).toBe('not_compliant');
    expect(behind.missingForNextLevel[0]!.evidenceLacking).toBe('not uploading in real time to p-province');
  });

  it('visual platform: a configuration fact, not a device', () => {
    const base = evidenceOf('A', REQUIRED.A.quality);
    const score = scoreCompound(ZHANGDIAN_2020, { ...base, visualPlatformEnabled: false });
    expect(score.level).toBe('compliant');
    expect(score.missingForNextLevel.map((m) => m.evidenceLacking)).toEqual([
      'visual platform not in service',
    ]);
  });

  it("networking figures count active devices of the table's modules, online ones over all", () => {
    const base = compliantA();
    const devices = [
      ...base.devices, // 6 online
      device(M.MODULE_VIDEO_KEY_ROOMS, { online: false }),
      device(M.MODULE_IOT_SENSING, { online: false }),
      device(M.MODULE_FACE_RECOGNITION_GATES), // not a table A module
      device(M.MODULE_VIDEO_PANORAMA, { active: false }),
    ];
    const score = scoreCompound(ZHANGDIAN_2020, { ...base, devices });
    expect(score.devicesRequired).toBe(8);
    expect(score.devicesOnline).toBe(6);
    expect(score.deviceNetworkingRate).toBe(0.75);
    expect(scoreCompound(ZHANGDIAN_2020, evidenceOf('A', [])).deviceNetworkingRate).toBe(0);
  });

  it('scores name their table and version', () => {
    const score = scoreCompound(ZHANGDIAN_2020, evidenceOf('B', []));
    expect([score.table, score.tableVersion]).toEqual(['B', 'zhangdian-2020']);
    expect(score.levels.map((l) => l.level)).toEqual(['demonstration', 'quality', 'compliant']);
  });
});

describe('working devices and fresh upload reports', () => {
  const compliantC = (overrides: { producing?: boolean; expired?: boolean }): CompoundEvidence => ({
    table: 'C',
    buildingCodes: [],
    visualPlatformEnabled: false,
    devices: [
      device(
        M.MODULE_PEDESTRIAN_ACCESS,
        overrides.producing === undefined ? {} : { producing: overrides.producing },
      ),
      device(M.MODULE_VEHICLE_ACCESS, { producing: true }),
      device(M.MODULE_VIDEO_BUILDINGS),
      device(M.MODULE_VIDEO_KEY_ROOMS),
    ],
    uploads: [{ platformId: 'P1', realTime: true, ...(overrides.expired ? { expired: true } : {}) }],
    storage: storageOf(VIDEO),
  });

  it('counts a data device only when it produced data within the window', () => {
    expect(scoreCompound(ZHANGDIAN_2020, compliantC({ producing: true })).level).toBe('compliant');
    const silent = scoreCompound(ZHANGDIAN_2020, compliantC({ producing: false }));
    expect(silent.level).toBe('not_compliant');
    expect(silent.missingForNextLevel).toEqual([
      expect.objectContaining({
        module: M.MODULE_PEDESTRIAN_ACCESS,
        evidenceLacking: '1 online, no data within the window',
      }),
    ]);
    // Online is still online: the networking figure does not change.
    expect(silent.devicesOnline).toBe(4);
  });

  it('does not count an expired upload report as real time', () => {
    const expired = scoreCompound(ZHANGDIAN_2020, compliantC({ producing: true, expired: true }));
    expect(expired.level).toBe('not_compliant');
    expect(expired.uploadingRealTime).toBe(false);
    expect(expired.missingForNextLevel.map((m) => m.evidenceLacking)).toEqual([
      'no recent upload health report from P1',
    ]);
  });
});

describe('images kept (video rows) and patrol operated (electronic patrol)', () => {
  const compliantC = () => evidenceOf('C', REQUIRED.C.compliant);
  const lacking = (e: CompoundEvidence) =>
    scoreCompound(ZHANGDIAN_2020, e).missingForNextLevel.map((m) => [m.module, m.evidenceLacking]);

  it('counts no video row without a storage report from video-index, or with an old one', () => {
    expect(levelOf(compliantC())).toBe('compliant');
    for (const storage of [undefined, { ...storageOf(VIDEO), expired: true }]) {
      const e = { ...compliantC(), storage };
      expect(levelOf(e)).toBe('not_compliant');
      const reason = storage
        ? 'no recent storage report from video-index'
        : 'no storage report from video-index';
      expect(lacking(e)).toEqual([
        [M.MODULE_VIDEO_BUILDINGS, reason],
        [M.MODULE_VIDEO_KEY_ROOMS, reason],
      ]);
    }
  });

  it('counts no video row with back-end retention under 30 days or a failing sweep', () => {
    const short = { ...compliantC(), storage: { ...storageOf(VIDEO), backendRetentionDays: 29 } };
    expect(levelOf(short)).toBe('not_compliant');
    expect(lacking(short)[0]).toEqual([M.MODULE_VIDEO_BUILDINGS, 'back-end retention 29 days, under 30']);
    const failing = { ...compliantC(), storage: { ...storageOf(VIDEO), retentionEnforced: false } };
    expect(lacking(failing)[0]).toEqual([M.MODULE_VIDEO_BUILDINGS, 'retention sweep failing in video-index']);
  });

  it('counts a video row only when every camera of its zone group keeps 7 days at the front end', () => {
    const storage = storageOf(VIDEO);
    const zones = storage.zones.map((z) =>
      z.module === M.MODULE_VIDEO_KEY_ROOMS
        ? { ...z, cameras: 3, frontendCompliant: 2, shortestFrontendDays: 3 }
        : z,
    );
    const e = { ...compliantC(), storage: { ...storage, zones } };
    expect(levelOf(e)).toBe('not_compliant');
    expect(lacking(e)).toEqual([
      [M.MODULE_VIDEO_KEY_ROOMS, '1 of 3 cameras keep under 7 days at the front end (shortest 3)'],
    ]);
    const unknown = {
      ...compliantC(),
      storage: { ...storage, zones: zones.filter((z) => z.module !== M.MODULE_VIDEO_BUILDINGS) },
    };
    expect(lacking(unknown)).toContainEqual([
      M.MODULE_VIDEO_BUILDINGS,
      'no camera of the zone group in video-index (front-end storage unknown)',
    ]);
  });

  it('counts electronic patrol (● at 示范 of table A) only with a route and a round completed in the window', () => {
    const demonstration = evidenceOf('A', REQUIRED.A.demonstration);
    expect(levelOf(demonstration)).toBe('demonstration');
    const cases: [PatrolEvidence | undefined, string][] = [
      [undefined, 'no patrol report from patrol'],
      [{ ...OPERATED_PATROL, expired: true }, 'no recent patrol report from patrol'],
      [{ ...OPERATED_PATROL, routes: 0, roundsCompleted: 0 }, 'no patrol route with checkpoints'],
      [{ ...OPERATED_PATROL, roundsCompleted: 0 }, 'no round completed in the last 24 h (2 due)'],
    ];
    for (const [patrol, reason] of cases) {
      const e = { ...demonstration, patrol };
      expect(levelOf(e), reason).toBe('quality');
      expect(lacking(e)).toEqual([[PATROL, reason]]);
    }
    // Rounds walked do not make up for readers that are offline.
    const offline = {
      ...demonstration,
      devices: demonstration.devices.map((d) => (d.module === PATROL ? { ...d, online: false } : d)),
    };
    expect(lacking(offline)).toEqual([[PATROL, '1 device, offline']]);
  });
});
