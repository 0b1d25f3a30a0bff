/**
 * The vehicle import file: UTF-8 CSV (BOM allowed) with a header row. Columns, any order:
 * compound_id, plate_number (required); plate_color, vehicle_type, vehicle_color (enum name
 * without prefix such as BLUE / SUV, the full name, the number, or for plate colours the Chinese
 * 蓝/黄/白/黑/绿/黄绿); owner_person_id; parking_space; valid_from, valid_until (ISO 8601).
 * Each row is validated on its own, so one bad row never blocks the others; a plate repeated in
 * the file is refused on its later lines.
 */
import { anfang } from '@anfang/contracts';
import { readCsvTable } from '@anfang/platform/grpc';
import { validateVehicle, type FieldProblem, type VehicleFields } from './vehicle-input.ts';

export const CSV_COLUMNS = [
  'compound_id',
  'plate_number',
  'plate_color',
  'vehicle_type',
  'vehicle_color',
  'owner_person_id',
  'parking_space',
  'valid_from',
  'valid_until',
] as const;
const REQUIRED = ['compound_id', 'plate_number'] as const;
export const MAX_ROWS = 50_000;

export interface CsvRow {
  /** Line in the file (header = 1). */
  readonly line: number;
  readonly plateNumber: string;
  readonly fields?: VehicleFields;
  readonly problems: readonly FieldProblem[];
}

const PLATE_COLOURS_ZH: Readonly<Record<string, number>> = {
  蓝: anfang.common.v1.PlateColor.PLATE_COLOR_BLUE,
  黄: anfang.common.v1.PlateColor.PLATE_COLOR_YELLOW,
  白: anfang.common.v1.PlateColor.PLATE_COLOR_WHITE,
  黑: anfang.common.v1.PlateColor.PLATE_COLOR_BLACK,
  绿: anfang.common.v1.PlateColor.PLATE_COLOR_GREEN,
  黄绿: anfang.common.v1.PlateColor.PLATE_COLOR_YELLOW_GREEN,
};

function enumValue(
  text: string,
  values: Readonly<Record<string, string | number>>,
  prefix: string,
  field: string,
  problems: FieldProblem[],
  extra: Readonly<Record<string, number>> = {},
): number {
  const value = text.trim();
  if (!value) return 0;
  if (/^[0-9]+$/.test(value)) return Number(value);
  const upper = value.toUpperCase();
  const named = (name: string) => (typeof values[name] === 'number' ? (values[name] as number) : undefined);
  const found = extra[value] ?? named(upper) ?? named(`${prefix}${upper}`);
  if (found === undefined) {
    problems.push({ field, description: `unknown value ${value}` });
    return 0;
  }
  return found;
}

function dateValue(text: string, field: string, problems: FieldProblem[]): Date | null {
  const value = text.trim();
  if (!value) return null;
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    problems.push({ field, description: 'must be an ISO 8601 date or time' });
    return null;
  }
  return date;
}

export function parseVehicleCsv(bytes: Uint8Array): CsvRow[] {
  const { rows } = readCsvTable(bytes, { columns: CSV_COLUMNS, required: REQUIRED, maxRows: MAX_ROWS });
  const { PlateColor, VehicleType, VehicleColor } = anfang.common.v1;
  // A plate twice in one file would make the import depend on row order: the later row is refused.
  const firstLine = new Map<string, number>();
  return rows.map(({ line, cell }) => {
    const problems: FieldProblem[] = [];
    const raw = {
      compoundId: cell('compound_id'),
      plateNumber: cell('plate_number'),
      plateColor: enumValue(
        cell('plate_color'),
        PlateColor,
        'PLATE_COLOR_',
        'plate_color',
        problems,
        PLATE_COLOURS_ZH,
      ),
      vehicleType: enumValue(cell('vehicle_type'), VehicleType, 'VEHICLE_TYPE_', 'vehicle_type', problems),
      vehicleColor: enumValue(
        cell('vehicle_color'),
        VehicleColor,
        'VEHICLE_COLOR_',
        'vehicle_color',
        problems,
      ),
      ownerPersonId: cell('owner_person_id').toLowerCase(),
      parkingSpace: cell('parking_space'),
      validFrom: dateValue(cell('valid_from'), 'valid_from', problems),
      validUntil: dateValue(cell('valid_until'), 'valid_until', problems),
    };
    const validated = validateVehicle(raw);
    const all = [...problems, ...validated.problems];
    if (validated.fields) {
      const key = `${validated.fields.compoundId}\u0000${validated.fields.plate.key}`;
      const seen = firstLine.get(key);
      if (seen === undefined) firstLine.set(key, line);
      else all.push({ field: 'plate_number', description: `the same plate is on line ${seen}` });
    }
    return {
      line,
      plateNumber: raw.plateNumber,
      ...(validated.fields && all.length === 0 ? { fields: validated.fields } : {}),
      problems: all,
    };
  });
}
