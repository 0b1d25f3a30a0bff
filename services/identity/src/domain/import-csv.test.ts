import { describe, expect, it } from 'vitest';
import { CsvFileError } from '@anfang/platform/grpc';
import { parseRegistryCsv } from './import-csv.ts';

const csv = (text: string) => new TextEncoder().encode(text);

describe('parseRegistryCsv', () => {
  it('reads houses with and without persons, with real line numbers', () => {
    const rows = parseRegistryCsv(
      csv(
        'room_code,house_use,name,id_number,phone,person_kind,permit_valid_from,permit_valid_to\n' +
          '370303001001007003020501,owner_occupied,张三,11010519491231002X,13812345678,owner,,\n' +
          '\n' +
          '370303001001007003020502,vacant,,,,,,\n' +
          '370303001001007003020503,rented,李四,11010519491231002X,,floating,2026-01-01,2027-01-01\n',
      ),
    );
    expect(rows.map((r) => r.line)).toEqual([2, 4, 5]);
    expect(rows[0]).toMatchObject({
      houseUse: 'owner_occupied',
      violations: [],
      person: { name: '张三', kind: 'owner', phone: '13812345678' },
    });
    expect(rows[1]).toMatchObject({ houseUse: 'vacant', person: undefined, violations: [] });
    expect(rows[2]!.person?.permitValidTo?.toISOString()).toBe('2026-12-31T16:00:00.000Z');
  });

  it('reports every problem of a row by field', () => {
    const [row] = parseRegistryCsv(
      csv('room_code,house_use,name,id_number,phone,person_kind\nabc,palace,王五,123,12,floating\n'),
    );
    expect(row!.violations.map((v) => v.field)).toEqual([
      'room_code',
      'house_use',
      'id_number',
      'phone',
      'permit_valid_to',
    ]);
  });

  it('refuses a file without the required columns or with unknown ones', () => {
    expect(() => parseRegistryCsv(csv('name,id_number\n'))).toThrow(CsvFileError);
    expect(() => parseRegistryCsv(csv('room_code,house_use,colour\n'))).toThrow(/unknown column\(s\) colour/);
  });
});
