/**
 * Every alarming event of the platform, read as one Trigger: where it came from, its category
 * and title for operators, its priority, the device and zone, its snapshots and video. Events
 * that alarm nobody (a sensor clearing, a device coming back online, a clock back in sync)
 * read as undefined.
 */
import { anfang } from '@anfang/contracts';
import type { Priority } from './lifecycle.ts';

const { TriggerState, Priority: ProtoPriority } = anfang.common.v1;
const {
  PerimeterSensorKind,
  AnalyticsKind,
  IotSensorKind,
  DeviceAlarmKind,
  DeviceStatus,
  ClockDriftSeverity,
} = anfang.device.v1;
const { AccessAlarmKind } = anfang.identity.v1;
const { ViolationKind, ViolationStatus } = anfang.patrol.v1;
const { AlarmSource } = anfang.alarm.v1;

export type SourceKind =
  | 'perimeter'
  | 'video_analytics'
  | 'iot'
  | 'access'
  | 'person_watchlist'
  | 'vehicle_watchlist'
  | 'device'
  | 'spoof'
  | 'patrol';

export const SOURCE_TO_PROTO: Readonly<Record<SourceKind, anfang.alarm.v1.AlarmSource>> = {
  perimeter: AlarmSource.ALARM_SOURCE_PERIMETER,
  video_analytics: AlarmSource.ALARM_SOURCE_VIDEO_ANALYTICS,
  iot: AlarmSource.ALARM_SOURCE_IOT,
  access: AlarmSource.ALARM_SOURCE_ACCESS,
  person_watchlist: AlarmSource.ALARM_SOURCE_PERSON_WATCHLIST,
  vehicle_watchlist: AlarmSource.ALARM_SOURCE_VEHICLE_WATCHLIST,
  device: AlarmSource.ALARM_SOURCE_DEVICE,
  spoof: AlarmSource.ALARM_SOURCE_SPOOF,
  patrol: AlarmSource.ALARM_SOURCE_PATROL,
};

export interface TriggerImage {
  readonly objectKey: string;
  readonly contentType: string;
  readonly kind: number;
}

export interface Trigger {
  readonly source: SourceKind;
  /** Dotted lower case, e.g. "perimeter.infrared": what operators filter and count by. */
  readonly category: string;
  /**
   * What tells two incidents of one category at one place apart, when that is not the time: the
   * watchlist entry (two listed people at one gate are two alarms), the patrol round. Part of the
   * flood key, not of the category.
   */
  readonly episode?: string;
  readonly title: string;
  readonly priority: Priority;
  readonly deviceId: string;
  /** The zone the event names (its device's zone in the registry), if any. */
  readonly zoneId: string;
  readonly images: readonly TriggerImage[];
  /** Cameras the event itself links (watchlist hits); the zone's cameras are added later. */
  readonly cameraIds: readonly string[];
  /**
   * Device-health triggers alarm only for required devices: those a zone lists as its sensors
   * or cameras. Other triggers alarm wherever they come from.
   */
  readonly onlyForZoneDevices: boolean;
}

type Device = anfang.common.v1.IDeviceRef | null | undefined;
type Images = readonly anfang.common.v1.IImageRef[] | null | undefined;

function images(list: Images): TriggerImage[] {
  return (list ?? [])
    .filter((image) => Boolean(image.objectKey))
    .map((image) => ({
      objectKey: image.objectKey!,
      contentType: image.contentType ?? '',
      kind: image.kind ?? 0,
    }));
}

/** "PERIMETER_SENSOR_KIND_VIDEO_LINE_CROSSING" → "video_line_crossing". */
function suffix(
  enumObject: Readonly<Record<string, number | string>>,
  value: number | null | undefined,
  prefix: string,
): string {
  const name = Object.entries(enumObject).find(([, v]) => v === (value ?? 0))?.[0];
  if (!name || name.endsWith('_UNSPECIFIED')) return 'unspecified';
  return name.slice(prefix.length).toLowerCase();
}

function where(device: Device): string {
  return device?.name || device?.deviceId || '';
}

function base(device: Device, list: Images) {
  return {
    deviceId: device?.deviceId ?? '',
    zoneId: device?.zoneId ?? '',
    images: images(list),
    cameraIds: [] as string[],
    onlyForZoneDevices: false,
  };
}

const PRIORITY_FROM_PROTO: Readonly<Record<number, Priority>> = {
  [ProtoPriority.PRIORITY_LOW]: 'low',
  [ProtoPriority.PRIORITY_MEDIUM]: 'medium',
  [ProtoPriority.PRIORITY_HIGH]: 'high',
  [ProtoPriority.PRIORITY_CRITICAL]: 'critical',
};

export const PRIORITY_TO_PROTO: Readonly<Record<Priority, anfang.common.v1.Priority>> = {
  low: ProtoPriority.PRIORITY_LOW,
  medium: ProtoPriority.PRIORITY_MEDIUM,
  high: ProtoPriority.PRIORITY_HIGH,
  critical: ProtoPriority.PRIORITY_CRITICAL,
};

const active = (state: number | null | undefined) => state !== TriggerState.TRIGGER_STATE_INACTIVE;

export function perimeterTrigger(event: anfang.device.v1.IPerimeterTriggered): Trigger | undefined {
  if (!active(event.state)) return undefined;
  const kind = suffix(PerimeterSensorKind, event.sensorKind, 'PERIMETER_SENSOR_KIND_');
  return {
    ...base(event.device, event.images),
    source: 'perimeter',
    category: `perimeter.${kind}`,
    title: `周界报警 ${where(event.device)} (${kind})`,
    priority: 'high',
  };
}

const ANALYTICS_PRIORITY: Readonly<Record<string, Priority>> = {
  high_altitude_throwing: 'critical',
  fire_smoke: 'critical',
  intrusion: 'high',
  behaviour_anomaly: 'high',
  loitering: 'medium',
  crowd: 'medium',
};

export function analyticsTrigger(event: anfang.device.v1.IAnalyticsTriggered): Trigger | undefined {
  if (!active(event.state)) return undefined;
  const kind = suffix(AnalyticsKind, event.kind, 'ANALYTICS_KIND_');
  const deviceId = event.device?.deviceId ?? '';
  return {
    ...base(event.device, event.images),
    // The camera that saw it is the first camera to look at.
    cameraIds: deviceId ? [deviceId] : [],
    source: 'video_analytics',
    category: `analytics.${kind}`,
    title: `视频分析 ${where(event.device)} (${kind})`,
    priority: ANALYTICS_PRIORITY[kind] ?? 'low',
  };
}

const IOT_PRIORITY: Readonly<Record<string, Priority>> = {
  smoke: 'critical',
  gas: 'critical',
  water_leak: 'high',
  door_magnet: 'high',
  manhole_cover: 'medium',
  electrical: 'high',
};

export function iotTrigger(event: anfang.device.v1.IIotAlarm): Trigger | undefined {
  if (!active(event.state)) return undefined;
  const kind = suffix(IotSensorKind, event.sensorKind, 'IOT_SENSOR_KIND_');
  return {
    ...base(event.device, event.images),
    source: 'iot',
    category: `iot.${kind}`,
    title: `物联报警 ${where(event.device)} (${event.description || kind})`,
    priority: IOT_PRIORITY[kind] ?? 'medium',
  };
}

const DEVICE_ALARM_PRIORITY: Readonly<Record<string, Priority>> = {
  door_forced_open: 'high',
  duress: 'critical',
  tamper: 'high',
  door_held_open: 'medium',
};

export function deviceAlarmTrigger(event: anfang.device.v1.IDeviceAlarmReported): Trigger | undefined {
  if (!active(event.state)) return undefined;
  const kind = suffix(DeviceAlarmKind, event.kind, 'DEVICE_ALARM_KIND_');
  const door = kind === 'door_forced_open' || kind === 'door_held_open' || kind === 'duress';
  return {
    ...base(event.device, event.images),
    source: door ? 'access' : 'device',
    category: `${door ? 'access' : 'device'}.${kind}`,
    title: `设备报警 ${where(event.device)} (${event.description || kind})`,
    priority: DEVICE_ALARM_PRIORITY[kind] ?? 'low',
  };
}

export function statusTrigger(event: anfang.device.v1.IDeviceStatusChanged): Trigger | undefined {
  if (event.status !== DeviceStatus.DEVICE_STATUS_OFFLINE) return undefined;
  return {
    ...base(event.device, []),
    onlyForZoneDevices: true,
    source: 'device',
    category: 'device.offline',
    title: `设备离线 ${where(event.device)}`,
    priority: 'medium',
  };
}

export function clockDriftTrigger(event: anfang.device.v1.IClockDriftChanged): Trigger | undefined {
  if (event.severity !== ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_ALARM) return undefined;
  return {
    ...base(event.device, []),
    source: 'device',
    category: 'device.clock_drift',
    title: `设备时钟偏差 ${where(event.device)} (${String(event.offsetMs ?? 0)} ms)`,
    priority: 'low',
  };
}

export function accessAlarmTrigger(event: anfang.identity.v1.IAccessAlarmRaised): Trigger | undefined {
  const spoof = event.kind === AccessAlarmKind.ACCESS_ALARM_KIND_SPOOF_ATTEMPT;
  const kind = suffix(AccessAlarmKind, event.kind, 'ACCESS_ALARM_KIND_');
  return {
    ...base(event.device, event.images),
    source: spoof ? 'spoof' : 'access',
    category: spoof ? 'spoof.attempt' : `access.${kind}`,
    title: spoof
      ? `伪造凭证 ${where(event.device)}`
      : `门禁异常 ${where(event.device)} (${String(event.failureCount ?? 0)} 次失败)`,
    priority: spoof ? 'high' : 'medium',
  };
}

function videoCameras(video: readonly anfang.common.v1.IVideoLink[] | null | undefined): string[] {
  return (video ?? []).map((link) => link.cameraDeviceId ?? '').filter(Boolean);
}

export function personWatchlistTrigger(event: anfang.identity.v1.IPersonWatchlistHit): Trigger {
  return {
    ...base(event.device, event.images),
    cameraIds: videoCameras(event.video),
    source: 'person_watchlist',
    category: 'watchlist.person',
    episode: event.entryId ?? '',
    title: `重点人员 ${where(event.device)}`,
    priority: PRIORITY_FROM_PROTO[event.priority ?? 0] ?? 'high',
  };
}

export function vehicleWatchlistTrigger(event: anfang.vehicle.v1.IVehicleWatchlistHit): Trigger {
  return {
    ...base(event.device, event.images),
    cameraIds: videoCameras(event.video),
    source: 'vehicle_watchlist',
    category: 'watchlist.vehicle',
    episode: event.entryId ?? '',
    // The plate is personal data: the title names the gate; the plate stays with vehicle-access.
    title: `布控车辆 ${where(event.device)}`,
    priority: PRIORITY_FROM_PROTO[event.priority ?? 0] ?? 'critical',
  };
}

/**
 * A raised patrol violation (missed checkpoint, round not started, …) is an alarm for whoever is
 * on duty; the violations of one round and kind merge into one alarm. A withdrawal (a late
 * check-in showed the round was walked) raises nothing: the open alarm stays for the operator to
 * resolve, with the history of what happened.
 */
export function patrolViolationTrigger(event: anfang.patrol.v1.IPatrolViolationChanged): Trigger | undefined {
  if (event.status !== ViolationStatus.VIOLATION_STATUS_RAISED) return undefined;
  const kind = suffix(ViolationKind, event.kind, 'VIOLATION_KIND_');
  return {
    ...base(undefined, []),
    source: 'patrol',
    category: `patrol.${kind}`,
    episode: event.roundId ?? '',
    title: `巡更异常 (${event.detail || kind})`,
    priority: PRIORITY_FROM_PROTO[event.severity ?? 0] ?? 'medium',
  };
}
