/**
 * The device registry's rules, without I/O: what a valid registry entry is, how input (gRPC or
 * a CSV row) is normalised, which fields an update may touch and what changed. Field paths in
 * violations are the proto field names under `device.` so that clients can point at the input.
 */
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { anfang, isGat1400Id, UUID_PATTERN } from '@anfang/contracts';
import type { FieldViolation } from '@anfang/platform/grpc';

const { DeviceType, Module, Direction, AddressLevel } = anfang.common.v1;
const { DeviceProtocol } = anfang.device.v1;

export interface AddressPartFields {
  readonly code: string;
  readonly name: string;
}

/** The standard address as stored (camelCase, like the proto's JSON). */
export interface AddressFields {
  readonly code: string;
  readonly level: number;
  readonly district?: AddressPartFields;
  readonly town?: AddressPartFields;
  readonly committee?: AddressPartFields;
  readonly compound?: AddressPartFields;
  readonly building?: AddressPartFields;
  readonly unit?: AddressPartFields;
  readonly room?: AddressPartFields;
  readonly fullName: string;
}

/** What a registration sets and an update may change. */
export interface DeviceFields {
  readonly gat1400Id: string;
  readonly name: string;
  readonly deviceType: number;
  readonly module: number;
  readonly compoundId: string;
  readonly address: AddressFields;
  readonly zoneId: string;
  readonly direction: number;
  readonly vendor: string;
  readonly model: string;
  readonly serialNumber: string;
  readonly protocol: number;
  readonly ipAddress: string;
}

export type Lifecycle = 'active' | 'decommissioned';

/** A registry entry (without its secret). */
export interface DeviceRecord extends DeviceFields {
  readonly deviceId: string;
  readonly lifecycle: Lifecycle;
  readonly registeredAt: Date;
  readonly updatedAt: Date;
  readonly decommissionedAt: Date | null;
  readonly revision: number;
}

/** Proto field name → DeviceFields key, for update masks and changed_fields. */
export const MUTABLE_FIELDS = {
  gat1400_id: 'gat1400Id',
  name: 'name',
  device_type: 'deviceType',
  module: 'module',
  compound_id: 'compoundId',
  address: 'address',
  zone_id: 'zoneId',
  direction: 'direction',
  vendor: 'vendor',
  model: 'model',
  serial_number: 'serialNumber',
  protocol: 'protocol',
  ip_address: 'ipAddress',
} as const satisfies Record<string, keyof DeviceFields>;
export type MutableField = keyof typeof MUTABLE_FIELDS;
export const IMMUTABLE_FIELDS = [
  'device_id',
  'lifecycle',
  'registered_at',
  'decommissioned_at',
  'updated_at',
  'revision',
] as const;

const PART_LEVELS = [
  ['district', AddressLevel.ADDRESS_LEVEL_DISTRICT],
  ['town', AddressLevel.ADDRESS_LEVEL_TOWN],
  ['committee', AddressLevel.ADDRESS_LEVEL_COMMITTEE],
  ['compound', AddressLevel.ADDRESS_LEVEL_COMPOUND],
  ['building', AddressLevel.ADDRESS_LEVEL_BUILDING],
  ['unit', AddressLevel.ADDRESS_LEVEL_UNIT],
  ['room', AddressLevel.ADDRESS_LEVEL_ROOM],
] as const;
type PartName = (typeof PART_LEVELS)[number][0];

const CODE = /^[0-9]{2,32}$/;
const COMPOUND_CODE = /^[0-9]{6,24}$/;
const SECRET = /^[\x21-\x7e]{16,128}$/;
const LIMITS = {
  name: 200,
  zoneId: 64,
  vendor: 64,
  model: 64,
  serialNumber: 64,
  partName: 100,
  fullName: 300,
};

export const SECRET_RULE = '16 to 128 printable ASCII characters without spaces';

/** A new device secret: 32 random bytes, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function secretViolation(secret: string, field = 'secret'): FieldViolation | undefined {
  return SECRET.test(secret) ? undefined : { field, description: `must be ${SECRET_RULE}` };
}

export function isDeviceId(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** Input shapes as protobufjs decodes them (every field optional). */
export interface AddressPartInput {
  code?: string | null;
  name?: string | null;
}
export interface AddressInput {
  code?: string | null;
  level?: number | null;
  district?: AddressPartInput | null;
  town?: AddressPartInput | null;
  committee?: AddressPartInput | null;
  compound?: AddressPartInput | null;
  building?: AddressPartInput | null;
  unit?: AddressPartInput | null;
  room?: AddressPartInput | null;
  fullName?: string | null;
}
export interface DeviceInput {
  gat1400Id?: string | null;
  name?: string | null;
  deviceType?: number | null;
  module?: number | null;
  compoundId?: string | null;
  address?: AddressInput | null;
  zoneId?: string | null;
  direction?: number | null;
  vendor?: string | null;
  model?: string | null;
  serialNumber?: string | null;
  protocol?: number | null;
  ipAddress?: string | null;
}

const str = (v: string | null | undefined): string => (v ?? '').trim();
const known = (values: Record<string, unknown>, v: number): boolean =>
  Object.values(values).includes(v) && v !== 0;

/** Normalises the address: deepest part gives code and level; compound defaults to compound_id. */
function normaliseAddress(
  input: AddressInput | null | undefined,
  compoundId: string,
  problems: FieldViolation[],
  path: string,
): AddressFields {
  const parts: Partial<Record<PartName, AddressPartFields>> = {};
  let code = '';
  let level: number = AddressLevel.ADDRESS_LEVEL_UNSPECIFIED;
  let parent: { name: PartName; code: string } | undefined;
  for (const [name, partLevel] of PART_LEVELS) {
    let part = input?.[name];
    if (name === 'compound' && !str(part?.code) && compoundId)
      part = { code: compoundId, name: str(part?.name) };
    const partCode = str(part?.code);
    const partName = str(part?.name);
    if (!partCode) {
      if (partName)
        problems.push({ field: `${path}.${name}.code`, description: 'required when the name is given' });
      continue;
    }
    if (!CODE.test(partCode)) {
      problems.push({ field: `${path}.${name}.code`, description: 'must be 2 to 32 digits' });
      continue;
    }
    if (parent && !partCode.startsWith(parent.code))
      problems.push({
        field: `${path}.${name}.code`,
        description: `must start with the ${parent.name} code ${parent.code} (standard-address codes are hierarchical)`,
      });
    if (partName.length > LIMITS.partName)
      problems.push({ field: `${path}.${name}.name`, description: `at most ${LIMITS.partName} characters` });
    parts[name] = { code: partCode, name: partName };
    parent = { name, code: partCode };
    code = partCode;
    level = partLevel;
  }
  if (compoundId && parts.compound && parts.compound.code !== compoundId)
    problems.push({ field: `${path}.compound.code`, description: `must equal compound_id ${compoundId}` });
  const given = str(input?.code);
  if (given && given !== code)
    problems.push({
      field: `${path}.code`,
      description: `must be the code of the most specific part (${code || 'none'})`,
    });
  const fullName = str(input?.fullName);
  if (fullName.length > LIMITS.fullName)
    problems.push({ field: `${path}.full_name`, description: `at most ${LIMITS.fullName} characters` });
  return { code, level, ...parts, fullName };
}

/**
 * Validates and normalises a device's attributes. Returns the fields and every problem found
 * (all at once, so a client or an import report can show them together).
 */
export function normaliseDevice(
  input: DeviceInput,
  path = 'device',
): { fields: DeviceFields; violations: FieldViolation[] } {
  const problems: FieldViolation[] = [];
  const p = (field: string, description: string): void => {
    problems.push({ field: `${path}.${field}`, description });
  };
  const name = str(input.name);
  if (!name) p('name', 'required');
  else if (name.length > LIMITS.name) p('name', `at most ${LIMITS.name} characters`);

  const deviceType = input.deviceType ?? 0;
  if (!known(DeviceType, deviceType)) p('device_type', 'required: one of the DeviceType values');
  const module = input.module ?? 0;
  if (!known(Module, module))
    p('module', 'required: one of the Module values (the SPEC §4 module it serves)');
  const protocol = input.protocol ?? 0;
  if (!known(DeviceProtocol, protocol)) p('protocol', 'required: one of the DeviceProtocol values');
  const direction = input.direction ?? 0;
  if (direction !== 0 && !known(Direction, direction)) p('direction', 'must be one of the Direction values');

  const compoundId = str(input.compoundId) || str(input.address?.compound?.code);
  if (!compoundId) p('compound_id', 'required: the compound’s standard-address code');
  else if (!COMPOUND_CODE.test(compoundId))
    p('compound_id', 'must be 6 to 24 digits (standard-address code)');
  const address = normaliseAddress(input.address, compoundId, problems, `${path}.address`);

  const gat1400Id = str(input.gat1400Id);
  if (gat1400Id && !isGat1400Id(gat1400Id)) p('gat1400_id', 'must be 20 digits');
  if (!gat1400Id && protocol === DeviceProtocol.DEVICE_PROTOCOL_GAT1400)
    p('gat1400_id', 'required for devices speaking GA/T 1400');

  let ipAddress = str(input.ipAddress);
  if (ipAddress) {
    const canonical = canonicalIp(ipAddress);
    if (canonical === undefined) p('ip_address', 'must be an IPv4 or IPv6 address');
    else ipAddress = canonical;
  } else if (
    protocol === DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI ||
    protocol === DeviceProtocol.DEVICE_PROTOCOL_DAHUA_ITSAPI
  ) {
    p('ip_address', 'required for vendor push protocols (ISAPI, ITSAPI identify the device by its address)');
  }

  const text = (field: string, key: 'zoneId' | 'vendor' | 'model' | 'serialNumber'): string => {
    const value = str(input[key]);
    if (value.length > LIMITS[key]) p(field, `at most ${LIMITS[key]} characters`);
    return value;
  };
  const fields: DeviceFields = {
    gat1400Id,
    name,
    deviceType,
    module,
    compoundId,
    address,
    zoneId: text('zone_id', 'zoneId'),
    direction,
    vendor: text('vendor', 'vendor'),
    model: text('model', 'model'),
    serialNumber: text('serial_number', 'serialNumber'),
    protocol,
    ipAddress,
  };
  return { fields, violations: problems };
}

/** Canonical text of an IP address (IPv4 dotted, IPv6 compressed lower case, v4-mapped → v4). */
export function canonicalIp(value: string): string | undefined {
  const v = value.trim();
  const kind = isIP(v);
  if (kind === 4)
    return v
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  if (kind === 6) {
    const url = new URL(`http://[${v}]/`);
    const host = url.hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (mapped) {
      const hi = parseInt(mapped[1]!, 16);
      const lo = parseInt(mapped[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return host;
  }
  return undefined;
}

/** Validates an update mask's paths. */
export function parseMask(paths: readonly string[]): { mask: MutableField[]; violations: FieldViolation[] } {
  const violations: FieldViolation[] = [];
  const mask = new Set<MutableField>();
  if (paths.length === 0)
    violations.push({ field: 'update_mask', description: 'required: the fields to change' });
  for (const raw of paths) {
    // `address.building` and friends change the address as a whole.
    const path = raw.trim().split('.')[0]!;
    if (path in MUTABLE_FIELDS) mask.add(path as MutableField);
    else if ((IMMUTABLE_FIELDS as readonly string[]).includes(path))
      violations.push({ field: 'update_mask', description: `${path} cannot be changed` });
    else violations.push({ field: 'update_mask', description: `unknown field ${raw}` });
  }
  return { mask: [...mask], violations };
}

/** Proto names of the fields that differ. */
export function changedFields(before: DeviceFields, after: DeviceFields): MutableField[] {
  const changed: MutableField[] = [];
  for (const [field, key] of Object.entries(MUTABLE_FIELDS) as [MutableField, keyof DeviceFields][]) {
    if (!sameValue(before[key], after[key])) changed.push(field);
  }
  return changed;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b;
  return stableJson(a) === stableJson(b);
}

function stableJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([x], [y]) => x.localeCompare(y));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

/** Name of an enum value without its prefix, lower case: DEVICE_TYPE_FACE_GATE → face_gate. */
export function enumLabel(values: Record<string, number>, prefix: string, value: number): string {
  const entry = Object.entries(values).find(([, v]) => v === value);
  return entry ? entry[0].slice(prefix.length).toLowerCase() : String(value);
}

/**
 * Parses an enum value as people write it in a spreadsheet: the full name (DEVICE_TYPE_FACE_GATE),
 * the name without prefix in any case, with dashes, spaces or underscores (face-gate, Face Gate),
 * or the number. Empty → 0. Unknown → undefined.
 */
export function parseEnum(values: Record<string, number>, prefix: string, text: string): number | undefined {
  const t = text.trim();
  if (t === '') return 0;
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return Object.values(values).includes(n) ? n : undefined;
  }
  const key = t.toUpperCase().replace(/[\s-]+/g, '_');
  const full = key.startsWith(prefix) ? key : `${prefix}${key}`;
  const v = values[full];
  return typeof v === 'number' ? v : undefined;
}

export const ENUMS = {
  deviceType: { values: DeviceType as unknown as Record<string, number>, prefix: 'DEVICE_TYPE_' },
  module: { values: Module as unknown as Record<string, number>, prefix: 'MODULE_' },
  direction: { values: Direction as unknown as Record<string, number>, prefix: 'DIRECTION_' },
  protocol: { values: DeviceProtocol as unknown as Record<string, number>, prefix: 'DEVICE_PROTOCOL_' },
} as const;

/** Text searched by the list filter (lower case). */
export function searchText(fields: DeviceFields): string {
  return [
    fields.name,
    fields.vendor,
    fields.model,
    fields.serialNumber,
    fields.gat1400Id,
    fields.ipAddress,
    fields.address.fullName,
  ]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}
