/**
 * The camera import file: UTF-8 CSV (BOM allowed) with a header row. Columns, any order:
 * compound_id, name, zone_group (required; public_areas / buildings / key_rooms / panorama /
 * throwing, or 公共区域 / 楼栋 / 重点部位 / 全景 / 高空抛物); device_id, rtsp_url, gb28181_id,
 * position, frontend_storage_days. Each row is checked on its own, so one bad row never blocks
 * the others; a camera repeated in the file is refused on its later lines.
 */
import { parse } from 'csv-parse/sync';
import { CsvFileError } from '@anfang/platform/grpc';
import { checkCameraFields, ZONE_GROUP_NAMES, type CameraFields, type ZoneGroup } from './camera.ts';

const COLUMNS = [
  'compound_id',
  'name',
  'zone_group',
  'device_id',
  'rtsp_url',
  'gb28181_id',
  'position',
  'frontend_storage_days',
] as const;
const REQUIRED = ['compound_id', 'name', 'zone_group'] as const;
export const MAX_CAMERA_ROWS = 10_000;

const GROUPS: Readonly<Record<string, ZoneGroup>> = {
  ...Object.fromEntries(ZONE_GROUP_NAMES.map((g) => [g, g])),
  公共区域: 'public_areas',
  楼栋: 'buildings',
  重点部位: 'key_rooms',
  全景: 'panorama',
  高空抛物: 'throwing',
};

export interface RowProblem {
  readonly field: string;
  readonly description: string;
}

export interface CameraCsvRow {
  /** Line in the file (header = 1). */
  readonly line: number;
  readonly name: string;
  readonly fields?: CameraFields;
  readonly problems: readonly RowProblem[];
}

export function parseCameraCsv(bytes: Uint8Array): CameraCsvRow[] {
  let records: string[][];
  try {
    records = parse(Buffer.from(bytes), {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
    });
  } catch (error) {
    throw new CsvFileError(`not a readable CSV file: ${(error as Error).message}`);
  }
  const [header, ...rows] = records;
  if (!header) throw new CsvFileError('the file has no header row');
  const names = header.map((column) => column.trim().toLowerCase());
  const unknown = names.filter((column) => !(COLUMNS as readonly string[]).includes(column));
  if (unknown.length)
    throw new CsvFileError(`unknown columns ${unknown.join(', ')} (known: ${COLUMNS.join(', ')})`, 1);
  const missing = REQUIRED.filter((column) => !names.includes(column));
  if (missing.length) throw new CsvFileError(`missing columns ${missing.join(', ')}`, 1);
  if (rows.length > MAX_CAMERA_ROWS)
    throw new CsvFileError(`more than ${MAX_CAMERA_ROWS} rows: split the file`);

  const seen = new Map<string, number>();
  return rows.map((record, index) => {
    const line = index + 2;
    const cell = (column: (typeof COLUMNS)[number]) => record[names.indexOf(column)]?.trim() ?? '';
    const problems: RowProblem[] = [];
    const zoneGroup = GROUPS[cell('zone_group').toLowerCase()];
    if (!zoneGroup)
      problems.push({ field: 'zone_group', description: `one of ${Object.keys(GROUPS).join(', ')}` });
    const days = cell('frontend_storage_days');
    const frontendStorageDays = days === '' ? 0 : Number(days);
    const fields = checkCameraFields(
      {
        compoundId: cell('compound_id'),
        name: cell('name'),
        zoneGroup: zoneGroup ?? 'public_areas',
        deviceId: cell('device_id'),
        rtspUrl: cell('rtsp_url'),
        gb28181Id: cell('gb28181_id'),
        position: cell('position'),
        frontendStorageDays,
      },
      (field, description) => problems.push({ field, description }),
    );
    const key = `${fields.compoundId}\u0000${fields.name}`;
    const first = seen.get(key);
    if (first !== undefined)
      problems.push({ field: 'name', description: `the same camera as line ${first}` });
    else seen.set(key, line);
    return problems.length
      ? { line, name: fields.name, problems }
      : { line, name: fields.name, problems, fields };
  });
}
