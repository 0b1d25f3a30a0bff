/**
 * Stable identities of simulated things: platform device ids (UUIDv5 in the simulator's own
 * namespace, so a restart or another machine derives the same ids), GA/T 1400 20-digit ids,
 * standard-address codes, loopback IP addresses, MAC addresses and serial numbers.
 */
import { createHash } from 'node:crypto';

/** Namespace of the simulator's device ids. Fixed: changing it would orphan registered devices. */
export const SIMULATOR_NAMESPACE = '3b8a4f0e-9c1d-5e2f-8a7b-6c5d4e3f2a19';

const namespaceBytes = Buffer.from(SIMULATOR_NAMESPACE.replaceAll('-', ''), 'hex');

/** UUIDv5 (RFC 9562) of `name` in the simulator namespace, lowercase. */
export function uuidV5(name: string): string {
  const b = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Zhangdian district, Zibo (GA/T 1400 notes: region of the policy's district). */
export const DISTRICT_CODE = '370303';

/** GA/T 1400 / GB/T 28181 type codes used by the simulator (../shared/protocols/GAT1400.md). */
export const GAT_TYPE = {
  collectionDevice: '119',
  collectionSystem: '120',
  videoTollgate: '121',
  parkingEntrance: '123',
  personnelEntrance: '124',
  camera: '132',
  alarmInput: '134',
  barrier: '141',
  smartDoor: '142',
} as const;

export type GatType = (typeof GAT_TYPE)[keyof typeof GAT_TYPE];

/**
 * 20 digits: region 8 (district 6 + town 2) + industry 2 (`00`) + type 3 + network 1 (`0`) +
 * serial 6 (compound 4 + index within compound and type 2). Unique while compounds ≤ 9999 and a
 * compound has ≤ 100 devices of one type code.
 */
export function gat1400Id(townIndex: number, type: GatType, compoundSeq: number, index: number): string {
  if (compoundSeq < 0 || compoundSeq > 9999)
    throw new RangeError(`compound seq out of range: ${compoundSeq}`);
  if (index < 0 || index > 99) throw new RangeError(`device index out of range: ${index}`);
  const region = `${DISTRICT_CODE}${pad(townIndex, 2)}`;
  return `${region}00${type}0${pad(compoundSeq, 4)}${pad(index, 2)}`;
}

/**
 * Standard-address code of a compound, 15 digits as address.proto lays them out: district 6 +
 * town 3 + committee 3 + compound 3 (the gateway scopes accounts by exactly these).
 */
export function compoundCode(townIndex: number, committeeIndex: number, compoundSeq: number): string {
  if (compoundSeq < 1 || compoundSeq > 999) throw new RangeError(`compound seq out of range: ${compoundSeq}`);
  return `${DISTRICT_CODE}${pad(townIndex, 3)}${pad(committeeIndex, 3)}${pad(compoundSeq, 3)}`;
}

/**
 * A distinct loopback address per device (127.0.0.0/8 is all loopback on Linux, so the
 * simulator can also send from it): 127.<compound high>.<compound low>.<device 1-250>.
 */
export function loopbackAddress(compoundSeq: number, deviceIndex: number): string {
  if (deviceIndex < 0 || deviceIndex > 249) throw new RangeError(`device index out of range: ${deviceIndex}`);
  const hi = 1 + Math.floor(compoundSeq / 256);
  if (hi > 254) throw new RangeError(`compound seq out of range: ${compoundSeq}`);
  return `127.${hi}.${compoundSeq % 256}.${deviceIndex + 1}`;
}

/** A locally administered MAC derived from the device id. */
export function macAddress(deviceId: string): string {
  const h = createHash('sha1').update(deviceId).digest();
  const bytes = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A vendor-looking serial number derived from the device id. */
export function serialNumber(prefix: string, deviceId: string): string {
  const h = createHash('sha1').update(`serial:${deviceId}`).digest('hex').toUpperCase();
  return `${prefix}${h.slice(0, 10)}`;
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
