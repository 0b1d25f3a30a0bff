/**
 * The registry import file: one row per house, optionally with one person living in it.
 * Columns (header row, any order): room_code, house_use, name, id_number, phone, person_kind,
 * permit_valid_from, permit_valid_to. Rows are validated here; what needs the database (the
 * room exists in the compound) is checked when the row is imported.
 */
import { readCsvTable } from '@anfang/platform/grpc';
import { isValidIdNumber, normaliseIdNumber, normalisePhone } from './credentials.ts';

export type HouseUse = 'owner_occupied' | 'rented' | 'vacant' | 'commercial';
export type PersonKind = 'owner' | 'family' | 'tenant' | 'floating' | 'staff';

export const HOUSE_USES: readonly HouseUse[] = ['owner_occupied', 'rented', 'vacant', 'commercial'];
export const PERSON_KINDS: readonly PersonKind[] = ['owner', 'family', 'tenant', 'floating', 'staff'];
export const CSV_COLUMNS = [
  'room_code',
  'house_use',
  'name',
  'id_number',
  'phone',
  'person_kind',
  'permit_valid_from',
  'permit_valid_to',
] as const;

export interface RowViolation {
  readonly field: string;
  readonly description: string;
}

export interface ImportPerson {
  readonly name: string;
  readonly idNumber: string;
  readonly phone: string | undefined;
  readonly kind: PersonKind;
  readonly permitValidFrom: Date | undefined;
  readonly permitValidTo: Date | undefined;
}

export interface ImportRow {
  /** 1-based line in the file (header = 1). */
  readonly line: number;
  readonly roomCode: string;
  readonly houseUse: HouseUse;
  readonly person: ImportPerson | undefined;
  readonly violations: readonly RowViolation[];
}

function parseDate(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00+08:00`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function parseRegistryCsv(bytes: Uint8Array): ImportRow[] {
  const { rows } = readCsvTable(bytes, { columns: CSV_COLUMNS, required: ['room_code', 'house_use'] });
  return rows.map(({ line, cell }) => {
    const violations: RowViolation[] = [];
    const roomCode = cell('room_code');
    if (!/^\d{6,32}$/.test(roomCode))
      violations.push({ field: 'room_code', description: 'must be an address code (digits)' });
    const houseUse = cell('house_use').toLowerCase() as HouseUse;
    if (!HOUSE_USES.includes(houseUse))
      violations.push({ field: 'house_use', description: `must be one of ${HOUSE_USES.join(', ')}` });

    let person: ImportPerson | undefined;
    const name = cell('name');
    if (name) {
      const idNumber = normaliseIdNumber(cell('id_number'));
      if (!isValidIdNumber(idNumber))
        violations.push({ field: 'id_number', description: 'not a valid ID number' });
      const rawPhone = cell('phone');
      const phone = rawPhone ? normalisePhone(rawPhone) : undefined;
      if (rawPhone && !phone) violations.push({ field: 'phone', description: 'not a phone number' });
      const kind = (cell('person_kind').toLowerCase() || 'owner') as PersonKind;
      if (!PERSON_KINDS.includes(kind))
        violations.push({ field: 'person_kind', description: `must be one of ${PERSON_KINDS.join(', ')}` });
      const from = cell('permit_valid_from');
      const to = cell('permit_valid_to');
      const permitValidFrom = from ? parseDate(from) : undefined;
      const permitValidTo = to ? parseDate(to) : undefined;
      if (from && !permitValidFrom)
        violations.push({ field: 'permit_valid_from', description: 'must be YYYY-MM-DD' });
      if (to && !permitValidTo)
        violations.push({ field: 'permit_valid_to', description: 'must be YYYY-MM-DD' });
      if (kind === 'floating' && (!from || !to))
        violations.push({ field: 'permit_valid_to', description: 'floating population needs permit dates' });
      if (permitValidFrom && permitValidTo && permitValidTo <= permitValidFrom)
        violations.push({ field: 'permit_valid_to', description: 'must be after permit_valid_from' });
      person = { name, idNumber, phone, kind, permitValidFrom, permitValidTo };
    } else if (cell('id_number')) {
      violations.push({ field: 'name', description: 'required when a person is given' });
    }
    return { line, roomCode, houseUse, person, violations };
  });
}
