/**
 * A compound's level from its evidence, against one table of one version (SPEC §4): it reaches
 * a level when every ● item of that level is built and working (an active device of the row's
 * module that is online; per building where buildings are registered; for video rows the images
 * kept as required, for electronic patrol a route with rounds walked; real-time upload; the
 * visual platform in service), otherwise 未达标. 〇 items never decide a level.
 */
import { anfang } from '@anfang/contracts';
import {
  LEVELS,
  requiredRows,
  type Level,
  type LevelOrNone,
  type ModuleCode,
  type TableId,
  type TableRow,
  type TableVersion,
} from './tables.ts';

export interface DeviceEvidence {
  readonly deviceId: string;
  readonly module: ModuleCode;
  /** Standard-address code of the device's building; '' when it is not in one. */
  readonly buildingCode: string;
  /** Decommissioned devices are kept for history and count for nothing. */
  readonly active: boolean;
  readonly online: boolean;
  /**
   * For devices of DATA_MODULES: whether the device produced data (an event, not just a
   * heartbeat) within the data window. Absent means not checked (other modules).
   */
  readonly producing?: boolean;
}

export interface UploadEvidence {
  readonly platformId: string;
  readonly realTime: boolean;
  /** The platform's last report is older than the health TTL (police-upload stopped reporting). */
  readonly expired?: boolean;
}

/**
 * Modules whose devices must not only be online but produce data within the window to count: a
 * gate or door terminal that answers heartbeats but records no passage for a day is not
 * working. Cameras (their video stays on the NVR), perimeter and IoT sensors (silent while
 * nothing happens) and patrol readers (used only on rounds) are judged by being online.
 */
export const DATA_MODULES: ReadonlySet<ModuleCode> = new Set([
  anfang.common.v1.Module.MODULE_PEDESTRIAN_ACCESS,
  anfang.common.v1.Module.MODULE_VEHICLE_ACCESS,
  anfang.common.v1.Module.MODULE_VEHICLE_RECOGNITION,
  anfang.common.v1.Module.MODULE_FACE_RECOGNITION_GATES,
  anfang.common.v1.Module.MODULE_FACE_RECOGNITION_INSIDE,
  anfang.common.v1.Module.MODULE_FACE_RECOGNITION_CAR_PARK_PASSAGE,
  anfang.common.v1.Module.MODULE_UNIT_FACE_ACCESS,
]);

/** A device that counts: active, online and, where checked, producing data. */
export function isWorking(device: DeviceEvidence): boolean {
  return device.active && device.online && device.producing !== false;
}

/** A platform's report that counts as real-time upload now. */
export function isRealTime(upload: UploadEvidence): boolean {
  return upload.realTime && upload.expired !== true;
}

/** Legal minimums of SPEC §3, judged here rather than taken from the producer's report. */
export const MIN_BACKEND_RETENTION_DAYS = 30;
export const MIN_FRONTEND_STORAGE_DAYS = 7;

export interface ZoneStorage {
  readonly module: ModuleCode;
  readonly cameras: number;
  readonly frontendCompliant: number;
  readonly shortestFrontendDays: number;
}

/** video-index's latest storage report of the compound. */
export interface StorageEvidence {
  readonly backendRetentionDays: number;
  readonly retentionEnforced: boolean;
  readonly zones: readonly ZoneStorage[];
  /** Older than the freshness limit (video-index stopped reporting). */
  readonly expired: boolean;
}

/** patrol's latest report of the compound. */
export interface PatrolEvidence {
  readonly routes: number;
  readonly checkpoints: number;
  readonly windowHours: number;
  readonly roundsDue: number;
  readonly roundsCompleted: number;
  /** Older than the freshness limit (patrol stopped reporting). */
  readonly expired: boolean;
}

export interface CompoundEvidence {
  readonly table: TableId;
  /** Registered buildings; per-building rows are checked compound-wide when there are none. */
  readonly buildingCodes: readonly string[];
  readonly visualPlatformEnabled: boolean;
  readonly devices: readonly DeviceEvidence[];
  /** The latest upload-health report of each upper platform. */
  readonly uploads: readonly UploadEvidence[];
  /** Absent until video-index reports the compound. */
  readonly storage?: StorageEvidence | undefined;
  /** Absent until patrol reports the compound. */
  readonly patrol?: PatrolEvidence | undefined;
}

export interface MissingRequirement {
  readonly module: ModuleCode;
  readonly location: string;
  /** The building lacking it, for per-building rows; '' otherwise. */
  readonly buildingCode: string;
  readonly evidenceLacking: string;
}

export interface LevelAssessment {
  readonly level: Level;
  readonly reached: boolean;
  readonly missing: readonly MissingRequirement[];
}

export interface PresentItem {
  readonly module: ModuleCode;
  readonly location: string;
}

export interface Score {
  readonly level: LevelOrNone;
  readonly table: TableId;
  readonly tableVersion: string;
  /** Highest first. */
  readonly levels: readonly LevelAssessment[];
  /** Required items missing for the level above the one reached (none at 示范). */
  readonly missingForNextLevel: readonly MissingRequirement[];
  /** Items recommended at the level reached (at 达标 when below it) that are satisfied. */
  readonly recommendedPresent: readonly PresentItem[];
  /** Active devices of the modules the table's device rows name. */
  readonly devicesRequired: number;
  readonly devicesOnline: number;
  /** devicesOnline / devicesRequired; 0 when there are none. */
  readonly deviceNetworkingRate: number;
  /** Every reporting upper platform receives the compound's data in real time (false when none report). */
  readonly uploadingRealTime: boolean;
}

export const LEVEL_RANK: Readonly<Record<LevelOrNone, number>> = {
  not_compliant: 0,
  compliant: 1,
  quality: 2,
  demonstration: 3,
};

/** The level above, or undefined at the top. */
export function nextLevel(level: LevelOrNone): Level | undefined {
  if (level === 'not_compliant') return 'compliant';
  if (level === 'compliant') return 'quality';
  if (level === 'quality') return 'demonstration';
  return undefined;
}

export function isUploadingRealTime(uploads: readonly UploadEvidence[]): boolean {
  return uploads.length > 0 && uploads.every(isRealTime);
}

function deviceLacks(devices: readonly DeviceEvidence[]): string | undefined {
  if (devices.length === 0) return 'no device registered';
  if (!devices.some((d) => d.online))
    return devices.length === 1 ? '1 device, offline' : `${devices.length} devices, all offline`;
  if (!devices.some(isWorking)) {
    const online = devices.filter((d) => d.online).length;
    return `${online} online, no data within the window`;
  }
  return undefined;
}

function retentionLacks(storage: StorageEvidence | undefined, module: ModuleCode): string[] {
  if (!storage) return ['no storage report from video-index'];
  if (storage.expired) return ['no recent storage report from video-index'];
  const lacking: string[] = [];
  if (storage.backendRetentionDays < MIN_BACKEND_RETENTION_DAYS)
    lacking.push(
      `back-end retention ${storage.backendRetentionDays} days, under ${MIN_BACKEND_RETENTION_DAYS}`,
    );
  if (!storage.retentionEnforced) lacking.push('retention sweep failing in video-index');
  const zone = storage.zones.find((z) => z.module === module);
  if (!zone || zone.cameras === 0)
    lacking.push('no camera of the zone group in video-index (front-end storage unknown)');
  else if (zone.frontendCompliant < zone.cameras)
    lacking.push(
      `${zone.cameras - zone.frontendCompliant} of ${zone.cameras} cameras keep under ${MIN_FRONTEND_STORAGE_DAYS} days at the front end (shortest ${zone.shortestFrontendDays})`,
    );
  return lacking;
}

function roundsLacks(patrol: PatrolEvidence | undefined): string[] {
  if (!patrol) return ['no patrol report from patrol'];
  if (patrol.expired) return ['no recent patrol report from patrol'];
  if (patrol.routes === 0) return ['no patrol route with checkpoints'];
  if (patrol.roundsCompleted === 0)
    return [`no round completed in the last ${patrol.windowHours} h (${patrol.roundsDue} due)`];
  return [];
}

/** What a row's condition lacks, compound-wide; nothing for rows without one. */
export function conditionLacks(row: TableRow, evidence: CompoundEvidence): string[] {
  if (row.condition === 'retention') return retentionLacks(evidence.storage, row.module);
  if (row.condition === 'rounds') return roundsLacks(evidence.patrol);
  return [];
}

/** What the compound lacks for one row: nothing when the row is satisfied. */
export function rowLacks(row: TableRow, evidence: CompoundEvidence): MissingRequirement[] {
  const missing = (evidenceLacking: string, buildingCode = ''): MissingRequirement => ({
    module: row.module,
    location: row.location,
    buildingCode,
    evidenceLacking,
  });
  switch (row.evidence) {
    case 'upload': {
      if (evidence.uploads.length === 0) return [missing('no upload health report from police-upload')];
      const lacking = evidence.uploads.flatMap((u) =>
        u.expired
          ? [missing(`no recent upload health report from ${u.platformId}`)]
          : u.realTime
            ? []
            : [missing(`not uploading in real time to ${u.platformId}`)],
      );
      return lacking;
    }
    case 'platform':
      return evidence.visualPlatformEnabled ? [] : [missing('visual platform not in service')];
    case 'device': {
      const devices = evidence.devices.filter((d) => d.active && d.module === row.module);
      const condition = conditionLacks(row, evidence).map((lacking) => missing(lacking));
      if (row.perBuilding && evidence.buildingCodes.length > 0)
        return [
          ...evidence.buildingCodes.flatMap((building) => {
            const lacking = deviceLacks(devices.filter((d) => d.buildingCode === building));
            return lacking ? [missing(lacking, building)] : [];
          }),
          ...condition,
        ];
      const lacking = deviceLacks(devices);
      return [...(lacking ? [missing(lacking)] : []), ...condition];
    }
  }
}

export function scoreCompound(version: TableVersion, evidence: CompoundEvidence): Score {
  const rows = version.tables[evidence.table];
  const lacks = new Map(rows.map((row) => [row, rowLacks(row, evidence)]));
  const levels: LevelAssessment[] = LEVELS.map((level) => {
    const missing = requiredRows(rows, level).flatMap((row) => lacks.get(row)!);
    return { level, reached: missing.length === 0, missing };
  });
  const level: LevelOrNone = levels.find((l) => l.reached)?.level ?? 'not_compliant';
  const next = nextLevel(level);
  const recommendedAt: Level = level === 'not_compliant' ? 'compliant' : level;
  const recommendedPresent = rows
    .filter((row) => row.levels[recommendedAt] === 'recommended' && lacks.get(row)!.length === 0)
    .map((row) => ({ module: row.module, location: row.location }));

  const deviceModules = new Set(rows.filter((row) => row.evidence === 'device').map((row) => row.module));
  const counted = evidence.devices.filter((d) => d.active && deviceModules.has(d.module));
  const devicesOnline = counted.filter((d) => d.online).length;
  return {
    level,
    table: evidence.table,
    tableVersion: version.version,
    levels,
    missingForNextLevel: next ? levels.find((l) => l.level === next)!.missing : [],
    recommendedPresent,
    devicesRequired: counted.length,
    devicesOnline,
    deviceNetworkingRate: counted.length === 0 ? 0 : devicesOnline / counted.length,
    uploadingRealTime: isUploadingRealTime(evidence.uploads),
  };
}
