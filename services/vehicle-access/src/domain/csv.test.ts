import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { CsvFileError } from '@anfang/platform/grpc';
import { parseVehicleCsv } from './csv.ts';

const csv = (text: string) => new TextEncoder().encode(text);
const owner = '0190a0b2-7c3e-7d5a-9b1e-3f2a1c4d5e6f';

describe('parseVehicleCsv', () => {
  it('parses rows with enum names, Chinese plate colours, numbers and dates', () => {
    const rows = parseVehicleCsv(
      csv(
        '\uFEFFplate_number,compound_id,plate_color,vehicle_type,vehicle_color,owner_person_id,parking_space,valid_from,valid_until\n' +
          `鲁C·12345,370303001001001,蓝,SUV,2,${owner},B1-023,2026-01-01,2027-01-01T00:00:00Z\n` +
          '鲁CD12345,370303001001001,PLATE_COLOR_GREEN,,,,,,\n',
      ),
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]!.problems).toEqual([]);
    expect(rows[0]!.fields).toMatchObject({
      compoundId: '370303001001001',
      plate: { plate: '鲁C12345', kind: 'ordinary' },
      plateColor: anfang.common.v1.PlateColor.PLATE_COLOR_BLUE,
      vehicleType: anfang.common.v1.VehicleType.VEHICLE_TYPE_SUV,
      vehicleColor: anfang.common.v1.VehicleColor.VEHICLE_COLOR_WHITE,
      ownerPersonId: owner,
      parkingSpace: 'B1-023',
      validFrom: new Date('2026-01-01'),
    });
    expect(rows[1]!.fields?.plate.kind).toBe('new-energy');
    expect(rows[1]!.line).toBe(3);
  });

  it('reports every problem of a row by column, and keeps the other rows', () => {
    const rows = parseVehicleCsv(
      csv(
        'compound_id,plate_number,plate_color,owner_person_id,valid_from,valid_until\n' +
          ',台A12345,PINK,someone,yesterday,\n' +
          '370303001001001,鲁C12345,,,2027-01-01,2026-01-01\n' +
          '370303001001001,京A88888,,,,\n',
      ),
    );
    expect(rows[0]!.fields).toBeUndefined();
    expect(rows[0]!.problems.map((p) => p.field).sort()).toEqual(
      ['compound_id', 'owner_person_id', 'plate_color', 'plate_number', 'valid_from'].sort(),
    );
    expect(rows[0]!.problems).toContainEqual({
      field: 'plate_number',
      description: 'unknown province abbreviation 台',
    });
    expect(rows[1]!.problems).toEqual([{ field: 'validity', description: 'must end after it starts' }]);
    expect(rows[2]!.fields?.plate.plate).toBe('京A88888');
  });

  it('refuses a plate repeated in the file (also spelt differently) on its later lines', () => {
    const rows = parseVehicleCsv(
      csv(
        'compound_id,plate_number\n370303001001001,鲁C1O215\n370303001001001,鲁C10215\n370303001001002,鲁C10215\n',
      ),
    );
    expect(rows.map((r) => r.problems)).toEqual([
      [],
      [{ field: 'plate_number', description: 'the same plate is on line 2' }],
      [],
    ]);
  });

  it('refuses files without the required columns, with unknown columns, or empty', () => {
    expect(() => parseVehicleCsv(csv('plate_number\n鲁C12345\n'))).toThrow(
      /missing required column\(s\) compound_id/,
    );
    expect(() => parseVehicleCsv(csv('compound_id,plate_number,colour\n'))).toThrow(
      /unknown column\(s\) colour/,
    );
    expect(() => parseVehicleCsv(csv(''))).toThrow(CsvFileError);
    expect(() => parseVehicleCsv(csv('compound_id,plate_number\n"unterminated\n'))).toThrow(/not valid CSV/);
  });
});
