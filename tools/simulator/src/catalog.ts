/**
 * The simulated world: compounds (the 37 old compounds of the district's list, then generated
 * ones) and, for each, a realistic device set with stable identities. Pure and deterministic:
 * the same compound list and seed always give the same devices, ids and addresses.
 */
import { readFileSync } from 'node:fs';
import { anfang } from '@anfang/contracts';
import {
  compoundCode,
  gat1400Id,
  GAT_TYPE,
  loopbackAddress,
  macAddress,
  serialNumber,
  uuidV5,
  type GatType,
} from './ids.ts';
import { hashString, seededRandom, type Random } from './random.ts';
import type { AnalyticsKind } from './events.ts';

const { DeviceType, Module, Direction } = anfang.common.v1;

export type DeviceKind =
  | 'faceGate'
  | 'unitDoor'
  | 'plateCamera'
  | 'captureCamera'
  | 'perimeter'
  | 'patrol'
  | 'iot'
  | 'analyticsCamera'
  | 'visitorKiosk';
export type ProtocolName = 'generic' | 'gat1400' | 'isapi' | 'itsapi';
export type PerimeterKind =
  | 'fielddetection'
  | 'linedetection'
  | 'regionEntrance'
  | 'infrared'
  | 'microwave'
  | 'vibration'
  | 'electricFence';
export type IotKind = 'smoke' | 'waterLeak' | 'manholeCover' | 'doorMagnet' | 'temperatureHumidity' | 'gas';

export interface Compound {
  /** 1-based; 1..37 are the district list's rows. */
  readonly seq: number;
  readonly code: string;
  readonly name: string;
  readonly town: string;
  readonly townIndex: number;
  readonly committee: string;
  readonly committeeIndex: number;
  /** False for the district's list, true for compounds the simulator made up. */
  readonly generated: boolean;
  readonly buildings: number;
  readonly unitsPerBuilding: number;
  /** Registered residents (derived by index, never materialised). */
  readonly residents: number;
  /** Registered resident vehicles. */
  readonly vehicles: number;
}

export interface SimDevice {
  readonly deviceId: string;
  /** `<compound seq>/<local name>`, e.g. `7/gate1-in`. */
  readonly key: string;
  readonly name: string;
  readonly kind: DeviceKind;
  readonly protocol: ProtocolName;
  readonly deviceType: number;
  readonly module: number;
  readonly direction: number;
  readonly vendor: string;
  readonly model: string;
  readonly serialNumber: string;
  /** Empty for patrol readers and IoT sensors, which have no GA/T identity. */
  readonly gat1400Id: string;
  readonly ipAddress: string;
  readonly macAddress: string;
  readonly compound: Compound;
  readonly zoneId: string;
  /** Building and unit for unit doors. */
  readonly building?: number;
  readonly unit?: number;
  readonly perimeterKind?: PerimeterKind;
  readonly iotKind?: IotKind;
  /** Position on the compound's patrol route (patrol readers), 0-based. */
  readonly routeIndex?: number;
  /** What an analytics camera detects. */
  readonly analytics?: readonly AnalyticsKind[];
}

/** Towns/streets of Zhangdian with a stable two-digit index (the GA/T region's last digits). */
export const TOWNS = [
  '车站',
  '公园',
  '和平',
  '科苑',
  '体育场',
  '湖田',
  '马尚',
  '四宝山',
  '房镇',
  '中埠',
  '南定',
  '沣水',
] as const;

const GENERATED_PREFIXES = [
  '金茂',
  '阳光',
  '丽景',
  '华府',
  '御景',
  '翡翠',
  '锦绣',
  '东方',
  '盛世',
  '颐和',
  '富源',
  '鑫苑',
];
const GENERATED_SUFFIXES = ['花园', '家园', '新村', '小区', '苑', '雅居', '名都', '公馆'];

/** Reads the district's list (`seq,compound_name,town_street,neighbourhood_committee`). */
export function readCompoundCsv(path: string): { name: string; town: string; committee: string }[] {
  const lines = readFileSync(path, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  return lines.slice(1).map((line) => {
    const [, name, town, committee] = line.split(',').map((c) => c.trim());
    if (!name || !town || !committee) throw new Error(`bad compound row: ${line}`);
    return { name, town, committee };
  });
}

/**
 * The first `count` compounds: the listed ones in order, then generated ones (names, towns and
 * committees drawn from the seed). Sizes are drawn per compound from its own seed.
 */
export function buildCompounds(
  listed: readonly { name: string; town: string; committee: string }[],
  count: number,
  seed = 'anfang',
): Compound[] {
  const committees = new Map<string, number>();
  const committeeIndex = (town: string, committee: string): number => {
    const key = `${town}/${committee}`;
    let index = committees.get(key);
    if (index === undefined) {
      index = committees.size + 1;
      committees.set(key, index);
    }
    return index;
  };
  const out: Compound[] = [];
  const names = new Set<string>();
  for (let seq = 1; seq <= count; seq += 1) {
    const random = seededRandom(`${seed}:compound:${seq}`);
    const row = listed[seq - 1];
    let name: string;
    let town: string;
    let committee: string;
    if (row) {
      ({ name, town, committee } = row);
    } else {
      town = random.pick(TOWNS);
      committee = `${town}第${random.int(1, 9)}社区居委会`;
      do {
        name = `${random.pick(GENERATED_PREFIXES)}${random.pick(GENERATED_SUFFIXES)}`;
        if (names.has(name)) name = `${name}${random.int(2, 99)}期`;
      } while (names.has(name));
    }
    names.add(name);
    const townIndex = townIndexOf(town);
    const cIndex = committeeIndex(town, committee);
    // Old compounds: 4–16 walk-up buildings of 2–3 units, ~12 households a unit.
    const buildings = row ? random.int(4, 16) : random.int(6, 24);
    const unitsPerBuilding = random.int(2, 3);
    const households = buildings * unitsPerBuilding * random.int(10, 14);
    out.push({
      seq,
      code: compoundCode(townIndex, cIndex, seq),
      name,
      town,
      townIndex,
      committee,
      committeeIndex: cIndex,
      generated: !row,
      buildings,
      unitsPerBuilding,
      residents: Math.round(households * 2.6),
      vehicles: Math.round(households * (row ? 0.45 : 0.8)),
    });
  }
  return out;
}

export function townIndexOf(town: string): number {
  const known = (TOWNS as readonly string[]).indexOf(town);
  return known >= 0 ? known + 1 : 50 + (hashString(town) % 49);
}

/** At most this many unit-door terminals per compound (large compounds get them in phases). */
const MAX_UNIT_DOORS = 36;

/** The device set of one compound. */
export function buildDevices(compound: Compound, seed = 'anfang'): SimDevice[] {
  const random = seededRandom(`${seed}:devices:${compound.seq}`);
  const devices: SimDevice[] = [];
  const gatIndex = new Map<GatType, number>();
  const nextGat = (type: GatType | undefined): string => {
    if (type === undefined) return '';
    const index = gatIndex.get(type) ?? 0;
    gatIndex.set(type, index + 1);
    return gat1400Id(compound.townIndex, type, compound.seq, index);
  };
  const add = (spec: {
    local: string;
    name: string;
    kind: DeviceKind;
    protocol: ProtocolName;
    deviceType: number;
    module: number;
    direction: number;
    gatType?: GatType;
    zoneId: string;
    extra?: Partial<SimDevice>;
  }): void => {
    const key = `${compound.seq}/${spec.local}`;
    const deviceId = uuidV5(`device:${compound.code}:${spec.local}`);
    const vendor = vendorOf(spec.protocol, spec.kind, random);
    devices.push({
      deviceId,
      key,
      name: `${compound.name}${spec.name}`,
      kind: spec.kind,
      protocol: spec.protocol,
      deviceType: spec.deviceType,
      module: spec.module,
      direction: spec.direction,
      vendor: vendor.vendor,
      model: vendor.model,
      serialNumber: serialNumber(vendor.serialPrefix, deviceId),
      gat1400Id: nextGat(spec.gatType),
      ipAddress: loopbackAddress(compound.seq, devices.length),
      macAddress: macAddress(deviceId),
      compound,
      zoneId: spec.zoneId,
      ...spec.extra,
    });
  };

  const gates = compound.buildings > 10 ? 2 : 1;
  for (let g = 1; g <= gates; g += 1) {
    const protocol: ProtocolName = random.chance(0.7) ? 'isapi' : 'generic';
    for (const [dir, label, direction] of [
      ['in', '进', Direction.DIRECTION_IN],
      ['out', '出', Direction.DIRECTION_OUT],
    ] as const) {
      add({
        local: `gate${g}-${dir}`,
        name: `${g}号门人脸闸机(${label})`,
        kind: 'faceGate',
        protocol,
        deviceType: DeviceType.DEVICE_TYPE_FACE_GATE,
        module: Module.MODULE_PEDESTRIAN_ACCESS,
        direction,
        gatType: GAT_TYPE.personnelEntrance,
        zoneId: `gate${g}`,
      });
    }
  }

  const carParks = compound.buildings > 12 ? 2 : 1;
  for (let c = 1; c <= carParks; c += 1) {
    // One draw, as before GA/T plate cameras existed: the other devices' draws stay the same.
    const roll = random.next();
    const protocol: ProtocolName = roll < 0.4 ? 'itsapi' : roll < 0.5 ? 'gat1400' : 'isapi';
    for (const [dir, label, direction] of [
      ['in', '入口', Direction.DIRECTION_IN],
      ['out', '出口', Direction.DIRECTION_OUT],
    ] as const) {
      add({
        local: `carpark${c}-${dir}`,
        name: `${c}号车行${label}车牌识别道闸`,
        kind: 'plateCamera',
        protocol,
        deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
        module: Module.MODULE_VEHICLE_ACCESS,
        direction,
        gatType: GAT_TYPE.parkingEntrance,
        zoneId: `carpark${c}`,
      });
    }
  }

  let unitDoors = 0;
  for (let b = 1; b <= compound.buildings && unitDoors < MAX_UNIT_DOORS; b += 1) {
    for (let u = 1; u <= compound.unitsPerBuilding && unitDoors < MAX_UNIT_DOORS; u += 1) {
      unitDoors += 1;
      add({
        local: `b${b}-u${u}-door`,
        name: `${b}号楼${u}单元人脸门禁`,
        kind: 'unitDoor',
        protocol: random.chance(0.6) ? 'isapi' : 'generic',
        deviceType: DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL,
        module: Module.MODULE_UNIT_FACE_ACCESS,
        direction: Direction.DIRECTION_IN,
        gatType: GAT_TYPE.smartDoor,
        zoneId: `building${b}`,
        extra: { building: b, unit: u },
      });
    }
  }

  const captureCameras = Math.min(6, 2 + Math.floor(compound.buildings / 5));
  for (let i = 1; i <= captureCameras; i += 1) {
    add({
      local: `capture${i}`,
      name: i <= gates ? `${i}号门人脸抓拍机` : `内部道路${i}人脸抓拍机`,
      kind: 'captureCamera',
      protocol: 'gat1400',
      deviceType: DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA,
      module: i <= gates ? Module.MODULE_FACE_RECOGNITION_GATES : Module.MODULE_FACE_RECOGNITION_INSIDE,
      direction: Direction.DIRECTION_BOTH,
      gatType: GAT_TYPE.collectionDevice,
      zoneId: i <= gates ? `gate${i}` : 'internal',
    });
  }

  const perimeterZones = Math.max(2, Math.ceil(compound.buildings / 3));
  for (let z = 1; z <= perimeterZones; z += 1) {
    for (let s = 1; s <= 2; s += 1) {
      const video = random.chance(0.5);
      const perimeterKind: PerimeterKind = video
        ? random.pick(['fielddetection', 'linedetection', 'regionEntrance'] as const)
        : random.pick(['infrared', 'microwave', 'vibration', 'electricFence'] as const);
      add({
        local: `perimeter-z${z}-s${s}`,
        name: `周界${z}区${video ? '视频' : ''}${PERIMETER_LABEL[perimeterKind]}${s}`,
        kind: 'perimeter',
        protocol: video ? 'isapi' : 'generic',
        deviceType: DeviceType.DEVICE_TYPE_PERIMETER_SENSOR,
        module: Module.MODULE_PERIMETER_PROTECTION,
        direction: Direction.DIRECTION_UNSPECIFIED,
        gatType: video ? GAT_TYPE.camera : GAT_TYPE.alarmInput,
        zoneId: `perimeter${z}`,
        extra: { perimeterKind },
      });
    }
  }

  const checkpoints = Math.min(12, 4 + Math.floor(compound.buildings / 3));
  for (let p = 0; p < checkpoints; p += 1) {
    add({
      local: `patrol${p + 1}`,
      name: `巡更点${p + 1}`,
      kind: 'patrol',
      protocol: 'generic',
      deviceType: DeviceType.DEVICE_TYPE_PATROL_READER,
      module: Module.MODULE_ELECTRONIC_PATROL,
      direction: Direction.DIRECTION_UNSPECIFIED,
      zoneId: 'patrol-route-1',
      extra: { routeIndex: p },
    });
  }

  const iotKinds: IotKind[] = ['smoke', 'waterLeak', 'manholeCover', 'doorMagnet', 'temperatureHumidity'];
  if (compound.buildings > 8) iotKinds.push('gas', 'smoke');
  for (const [i, iotKind] of iotKinds.entries()) {
    add({
      local: `iot${i + 1}-${iotKind}`,
      name: `${IOT_LABEL[iotKind]}传感器${i + 1}`,
      kind: 'iot',
      protocol: 'generic',
      deviceType: DeviceType.DEVICE_TYPE_IOT_SENSOR,
      module: Module.MODULE_IOT_SENSING,
      direction: Direction.DIRECTION_UNSPECIFIED,
      zoneId: 'iot',
      extra: { iotKind },
    });
  }
  // Added after every other kind, so the earlier devices' seeded draws are unchanged.
  const throwingCameras = Math.min(4, compound.buildings);
  for (let b = 1; b <= throwingCameras; b += 1) {
    add({
      local: `throwing-b${b}`,
      name: `${b}号楼高空抛物摄像机`,
      kind: 'analyticsCamera',
      protocol: 'generic',
      deviceType: DeviceType.DEVICE_TYPE_VIDEO_CAMERA,
      module: Module.MODULE_VIDEO_THROWING,
      direction: Direction.DIRECTION_UNSPECIFIED,
      gatType: GAT_TYPE.camera,
      zoneId: `building${b}`,
      extra: { building: b, analytics: ['high_altitude_throwing'] },
    });
  }
  const publicCameras = compound.buildings > 10 ? 2 : 1;
  for (let i = 1; i <= publicCameras; i += 1) {
    add({
      local: `analytics${i}`,
      name: `公共区域智能分析摄像机${i}`,
      kind: 'analyticsCamera',
      protocol: 'generic',
      deviceType: DeviceType.DEVICE_TYPE_VIDEO_CAMERA,
      module: Module.MODULE_VIDEO_PUBLIC_AREAS,
      direction: Direction.DIRECTION_UNSPECIFIED,
      gatType: GAT_TYPE.camera,
      zoneId: 'internal',
      extra: { analytics: ['loitering', 'intrusion'] },
    });
  }
  for (let g = 1; g <= gates; g += 1) {
    add({
      local: `kiosk${g}`,
      name: `${g}号门访客机`,
      kind: 'visitorKiosk',
      protocol: 'generic',
      deviceType: DeviceType.DEVICE_TYPE_VISITOR_KIOSK,
      module: Module.MODULE_PEDESTRIAN_ACCESS,
      direction: Direction.DIRECTION_IN,
      gatType: GAT_TYPE.personnelEntrance,
      zoneId: `gate${g}`,
    });
  }
  return devices;
}

const PERIMETER_LABEL: Record<PerimeterKind, string> = {
  fielddetection: '区域入侵',
  linedetection: '越界',
  regionEntrance: '进入区域',
  infrared: '红外对射',
  microwave: '微波',
  vibration: '振动光纤',
  electricFence: '电子围栏',
};

const IOT_LABEL: Record<IotKind, string> = {
  smoke: '烟感',
  waterLeak: '水浸',
  manholeCover: '井盖',
  doorMagnet: '门磁',
  temperatureHumidity: '温湿度',
  gas: '燃气',
};

function vendorOf(
  protocol: ProtocolName,
  kind: DeviceKind,
  random: Random,
): { vendor: string; model: string; serialPrefix: string } {
  switch (protocol) {
    case 'isapi':
      return {
        vendor: 'Hikvision',
        model:
          kind === 'plateCamera'
            ? 'iDS-TCM403-BI'
            : kind === 'perimeter'
              ? 'DS-2CD3T46WDV3-I3'
              : kind === 'unitDoor'
                ? 'DS-K1T671M'
                : 'DS-K5671-ZU',
        serialPrefix: 'DS',
      };
    case 'itsapi':
      return { vendor: 'Dahua', model: 'DHI-ITC237-PU1B-IR', serialPrefix: '6J0' };
    case 'gat1400':
      if (kind === 'plateCamera') return { vendor: 'Hikvision', model: 'iDS-TCM203-A/R', serialPrefix: 'DS' };
      return random.chance(0.5)
        ? { vendor: 'Hikvision', model: 'iDS-2CD7A46G0-IZHS', serialPrefix: 'DS' }
        : { vendor: 'Dahua', model: 'DH-IPC-HFW8449K-Z-LED', serialPrefix: '7B0' };
    default:
      return kind === 'patrol'
        ? { vendor: 'Landwell', model: 'GS-6000E', serialPrefix: 'LW' }
        : kind === 'iot'
          ? { vendor: 'Anfang-IoT', model: 'NB-IoT Sensor', serialPrefix: 'NB' }
          : { vendor: 'Anfang-Generic', model: 'FaceTerminal-G1', serialPrefix: 'AG' };
  }
}

/** The registry's view of a device: an anfang.device.v1.Device init object. */
export function registryDevice(device: SimDevice): Record<string, unknown> {
  const c = device.compound;
  const { AddressLevel } = anfang.common.v1;
  const building =
    device.building === undefined
      ? undefined
      : { code: `${c.code}${String(device.building).padStart(3, '0')}`, name: `${device.building}号楼` };
  const unit =
    device.unit === undefined || building === undefined
      ? undefined
      : { code: `${building.code}${String(device.unit).padStart(2, '0')}`, name: `${device.unit}单元` };
  const fullName = `山东省淄博市张店区${c.town}街道${c.committee.replace(/居委会$/, '')}${c.name}${building?.name ?? ''}${unit?.name ?? ''}`;
  return {
    deviceId: device.deviceId,
    gat1400Id: device.gat1400Id,
    name: device.name,
    deviceType: device.deviceType,
    module: device.module,
    compoundId: c.code,
    address: {
      code: unit?.code ?? building?.code ?? c.code,
      level: unit
        ? AddressLevel.ADDRESS_LEVEL_UNIT
        : building
          ? AddressLevel.ADDRESS_LEVEL_BUILDING
          : AddressLevel.ADDRESS_LEVEL_COMPOUND,
      district: { code: '370303', name: '张店区' },
      town: { code: c.code.slice(0, 9), name: `${c.town}街道` },
      committee: { code: c.code.slice(0, 12), name: c.committee },
      compound: { code: c.code, name: c.name },
      building,
      unit,
      fullName,
    },
    zoneId: `${c.code}-${device.zoneId}`,
    direction: device.direction,
    vendor: device.vendor,
    model: device.model,
    serialNumber: device.serialNumber,
    protocol: PROTOCOL_ENUM[device.protocol],
    ipAddress: device.ipAddress,
  };
}

const PROTOCOL_ENUM: Record<ProtocolName, number> = {
  generic: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_GENERIC_HTTP,
  gat1400: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_GAT1400,
  isapi: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI,
  itsapi: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_DAHUA_ITSAPI,
};

/** Zibo plates are 鲁C. Resident vehicles are derived from the compound and index. */
const PLATE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const PLATE_CHARS = `0123456789${PLATE_LETTERS}`;

export function residentPlate(compound: Compound, index: number): string {
  const h = hashString(`plate:${compound.code}:${index}`);
  return plateFrom('鲁C', h, index % 9 === 0);
}

/** A plate of any vehicle: mostly local, some from elsewhere, some new-energy. */
export function randomPlate(random: Random): string {
  const prefix = random.chance(0.75)
    ? '鲁C'
    : random.pick(['鲁A', '鲁B', '鲁E', '鲁H', '冀A', '京N', '苏C', '豫A']);
  return plateFrom(prefix, Math.floor(random.next() * 2 ** 32), random.chance(0.12));
}

/** Ordinary plates: prefix + 5 characters; new-energy plates: prefix + D/F + 5 characters. */
function plateFrom(prefix: string, h: number, newEnergy: boolean): string {
  let x = h >>> 0;
  let s = '';
  for (let i = 0; i < 5; i += 1) {
    const pool = i === 0 ? PLATE_LETTERS : PLATE_CHARS;
    s += pool[x % pool.length];
    x = Math.floor(x / pool.length);
  }
  return newEnergy ? `${prefix}${h % 2 === 0 ? 'D' : 'F'}${s}` : `${prefix}${s}`;
}

const SURNAMES = '王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰志红春梅海燕';

export interface Resident {
  readonly employeeNo: string;
  readonly cardNo: string;
  readonly name: string;
  /** Building and unit the resident lives in. */
  readonly building: number;
  readonly unit: number;
}

export function resident(compound: Compound, index: number): Resident {
  const h = hashString(`resident:${compound.code}:${index}`);
  const given = GIVEN[h % GIVEN.length]! + (h % 3 === 0 ? '' : GIVEN[(h >>> 8) % GIVEN.length]!);
  return {
    employeeNo: `${String(compound.seq).padStart(4, '0')}${String(index).padStart(5, '0')}`,
    cardNo: (h.toString(16) + hashString(`card:${h}`).toString(16))
      .toUpperCase()
      .padStart(16, '0')
      .slice(0, 10),
    name: SURNAMES[(h >>> 4) % SURNAMES.length]! + given,
    building: 1 + (index % compound.buildings),
    unit: 1 + (Math.floor(index / compound.buildings) % compound.unitsPerBuilding),
  };
}
