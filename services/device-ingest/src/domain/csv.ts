/**
 * The device import file: UTF-8 CSV (a BOM is fine), comma-separated, a header row naming the
 * columns (any order, case-insensitive; unknown columns are refused so that a typo does not
 * silently drop data). Each data row becomes a registration input or a list of problems; the
 * import goes on with the other rows.
 */
import { CsvFileError, readCsvTable, type CsvTableRow, type FieldViolation } from '@anfang/platform/grpc';
import {
  ENUMS,
  isDeviceId,
  normaliseDevice,
  parseEnum,
  secretViolation,
  type AddressInput,
  type DeviceFields,
  type DeviceInput,
} from './registry.ts';

/** Every column the importer knows, in the order of the template. */
export const CSV_COLUMNS = [
  'device_id',
  'gat1400_id',
  'name',
  'device_type',
  'module',
  'compound_id',
  'compound_name',
  'district_code',
  'district_name',
  'town_code',
  'town_name',
  'committee_code',
  'committee_name',
  'building_code',
  'building_name',
  'unit_code',
  'unit_name',
  'room_code',
  'room_name',
  'address',
  'zone_id',
  'direction',
  'vendor',
  'model',
  'serial_number',
  'protocol',
  'ip_address',
  'secret',
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
export const REQUIRED_COLUMNS: readonly CsvColumn[] = [
  'name',
  'device_type',
  'module',
  'compound_id',
  'protocol',
];

/** Most rows one import takes (the registry is thousands, not millions, of devices). */
export const MAX_IMPORT_ROWS = 50_000;

export interface CsvRow {
  /** Line of the file where the row ends (header = 1). */
  readonly line: number;
  /** Given device id (empty: match by GA/T id or create). */
  readonly deviceId: string;
  readonly secret: string;
  readonly fields: DeviceFields;
  /** Empty when the row is valid. */
  readonly violations: FieldViolation[];
}

export { CsvFileError };

/** Parses the whole file; throws CsvFileError when the file as a whole is unusable. */
export function parseDeviceCsv(bytes: Uint8Array): CsvRow[] {
  const table = readCsvTable(bytes, {
    columns: CSV_COLUMNS,
    required: REQUIRED_COLUMNS,
    maxRows: MAX_IMPORT_ROWS,
  });
  return table.rows.map((row) => parseRow(table.columns.length, row));
}

function parseRow(headerFields: number, { line, fieldCount, cell: value }: CsvTableRow<CsvColumn>): CsvRow {
  const violations: FieldViolation[] = [];
  if (fieldCount !== headerFields)
    violations.push({
      field: 'row',
      description: `has ${fieldCount} fields, the header has ${headerFields}`,
    });

  const enumOf = (column: CsvColumn, spec: { values: Record<string, number>; prefix: string }): number => {
    const parsed = parseEnum(spec.values, spec.prefix, value(column));
    if (parsed === undefined) {
      violations.push({ field: column, description: `unknown value "${value(column)}"` });
      return 0;
    }
    return parsed;
  };
  const part = (code: CsvColumn, name: CsvColumn) =>
    value(code) || value(name) ? { code: value(code), name: value(name) } : undefined;
  const address: AddressInput = {
    district: part('district_code', 'district_name') ?? null,
    town: part('town_code', 'town_name') ?? null,
    committee: part('committee_code', 'committee_name') ?? null,
    compound: { code: value('compound_id'), name: value('compound_name') },
    building: part('building_code', 'building_name') ?? null,
    unit: part('unit_code', 'unit_name') ?? null,
    room: part('room_code', 'room_name') ?? null,
    fullName: value('address'),
  };
  const input: DeviceInput = {
    gat1400Id: value('gat1400_id'),
    name: value('name'),
    deviceType: enumOf('device_type', ENUMS.deviceType),
    module: enumOf('module', ENUMS.module),
    compoundId: value('compound_id'),
    address,
    zoneId: value('zone_id'),
    direction: enumOf('direction', ENUMS.direction),
    vendor: value('vendor'),
    model: value('model'),
    serialNumber: value('serial_number'),
    protocol: enumOf('protocol', ENUMS.protocol),
    ipAddress: value('ip_address'),
  };
  const { fields, violations: fieldViolations } = normaliseDevice(input, '');
  const enumColumns = new Set(violations.map((v) => v.field));
  for (const v of fieldViolations) {
    const column = toColumn(v.field);
    // An unknown enum value was reported already; its "required" echo would only repeat it.
    if (!enumColumns.has(column)) violations.push({ field: column, description: v.description });
  }
  const deviceId = value('device_id').toLowerCase();
  if (deviceId && !isDeviceId(deviceId))
    violations.push({ field: 'device_id', description: 'must be a lowercase UUID (or empty)' });
  const secret = value('secret');
  const secretProblem = secret ? secretViolation(secret) : undefined;
  if (secretProblem) violations.push(secretProblem);
  return { line, deviceId, secret, fields, violations };
}

/** `.address.town.code` (a normaliseDevice path under an empty prefix) → the CSV column. */
function toColumn(path: string): string {
  const p = path.replace(/^\./, '');
  const address = /^address\.(district|town|committee|compound|building|unit|room)\.(code|name)$/.exec(p);
  if (address)
    return address[1] === 'compound'
      ? address[2] === 'code'
        ? 'compound_id'
        : 'compound_name'
      : `${address[1]}_${address[2]}`;
  if (p === 'address.full_name' || p === 'address.code') return 'address';
  return p;
}
