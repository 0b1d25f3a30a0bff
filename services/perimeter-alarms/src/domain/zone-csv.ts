/**
 * The zone import file: UTF-8 CSV (BOM allowed) with a header row. Columns, any order:
 * compound_id, name, kind (required; wall / fence / water_edge / pipe, or 围墙 / 围栏 / 水岸 /
 * 管道); sensor_device_ids, camera_device_ids (device ids separated by ";"). Each row is checked
 * on its own, so one bad row never blocks the others; a zone repeated in the file is refused on
 * its later lines.
 */
import { readCsvTable } from '@anfang/platform/grpc';

export type ZoneKindName = 'wall' | 'fence' | 'water_edge' | 'pipe';

const COLUMNS = ['compound_id', 'name', 'kind', 'sensor_device_ids', 'camera_device_ids'] as const;
const REQUIRED = ['compound_id', 'name', 'kind'] as const;
export const MAX_ZONE_ROWS = 10_000;
const MAX_NAME = 200;
const MAX_DEVICES = 500;

const KINDS: Readonly<Record<string, ZoneKindName>> = {
  wall: 'wall',
  fence: 'fence',
  water_edge: 'water_edge',
  pipe: 'pipe',
  围墙: 'wall',
  围栏: 'fence',
  水岸: 'water_edge',
  管道: 'pipe',
};

export interface ZoneRowProblem {
  readonly field: string;
  readonly description: string;
}

export interface ZoneCsvRow {
  /** Line in the file (header = 1). */
  readonly line: number;
  readonly name: string;
  readonly fields?: {
    readonly compoundId: string;
    readonly name: string;
    readonly kind: ZoneKindName;
    readonly sensorDeviceIds: readonly string[];
    readonly cameraDeviceIds: readonly string[];
  };
  readonly problems: readonly ZoneRowProblem[];
}

function deviceList(text: string, field: string, problems: ZoneRowProblem[]): string[] {
  const ids = [
    ...new Set(
      text
        .split(';')
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  ];
  if (ids.length > MAX_DEVICES) problems.push({ field, description: `at most ${MAX_DEVICES} devices` });
  return ids;
}

export function parseZoneCsv(bytes: Uint8Array): ZoneCsvRow[] {
  const { rows } = readCsvTable(bytes, { columns: COLUMNS, required: REQUIRED, maxRows: MAX_ZONE_ROWS });
  const seen = new Map<string, number>();
  return rows.map(({ line, cell }) => {
    const problems: ZoneRowProblem[] = [];
    const compoundId = cell('compound_id');
    const name = cell('name');
    if (!/^[0-9A-Za-z]{1,64}$/.test(compoundId))
      problems.push({ field: 'compound_id', description: 'a standard-address code (letters and digits)' });
    if (!name) problems.push({ field: 'name', description: 'required' });
    else if (name.length > MAX_NAME)
      problems.push({ field: 'name', description: `at most ${MAX_NAME} characters` });
    const kind = KINDS[cell('kind').toLowerCase()];
    if (!kind) problems.push({ field: 'kind', description: `one of ${Object.keys(KINDS).join(', ')}` });
    const sensorDeviceIds = deviceList(cell('sensor_device_ids'), 'sensor_device_ids', problems);
    const cameraDeviceIds = deviceList(cell('camera_device_ids'), 'camera_device_ids', problems);
    const key = `${compoundId}\u0000${name}`;
    const first = seen.get(key);
    if (first !== undefined) problems.push({ field: 'name', description: `the same zone as line ${first}` });
    else seen.set(key, line);
    if (problems.length || !kind) return { line, name, problems };
    return { line, name, problems, fields: { compoundId, name, kind, sensorDeviceIds, cameraDeviceIds } };
  });
}
