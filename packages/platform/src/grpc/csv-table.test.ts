import { describe, expect, it } from 'vitest';
import { readCsvTable } from './csv-table.ts';
import { CsvFileError } from './csv-upload.ts';

const COLUMNS = ['code', 'name', 'note'] as const;
const read = (text: string, extra: Partial<Parameters<typeof readCsvTable>[1]> = {}) =>
  readCsvTable(Buffer.from(text), { columns: COLUMNS, required: ['code', 'name'], ...extra });

describe('readCsvTable', () => {
  it('reads columns in any order and case, after a BOM, trimmed, with the line of each row', () => {
    const table = read('\uFEFF Name ,CODE\n 小区 , 001 \n\n"two\nlines",002\nshort\n');
    expect(table.columns).toEqual(['name', 'code']);
    expect(table.rows.map((row) => [row.line, row.cell('code'), row.cell('name'), row.cell('note')])).toEqual(
      [
        [2, '001', '小区', ''],
        [5, '002', 'two\nlines', ''],
        [6, '', 'short', ''],
      ],
    );
    expect(table.rows.map((row) => row.fieldCount)).toEqual([2, 2, 1]);
  });

  it('resolves aliases and accepts ignored columns', () => {
    const table = read('编号,name,remark\n1,a,x\n', { aliases: { 编号: 'code' }, ignored: ['remark'] });
    expect(table.rows[0]!.cell('code')).toBe('1');
  });

  it('refuses the file as a whole, naming what is wrong', () => {
    const refusal = (text: string, extra = {}) => {
      try {
        read(text, extra);
      } catch (error) {
        expect(error).toBeInstanceOf(CsvFileError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal('')).toBe('empty file: expected a header row');
    expect(refusal('code,name,colour\n')).toBe('line 1: unknown column(s) colour; known: code, name, note');
    expect(refusal('code,name,Code\n')).toBe('line 1: column code appears twice');
    expect(refusal('name,note\n')).toBe('line 1: missing required column(s) code');
    expect(refusal('code,name\n1,a\n2,b\n', { maxRows: 1 })).toBe(
      'too many rows: at most 1 per import; split the file',
    );
    expect(refusal('code,name\n"1,a\n')).toMatch(/^not valid CSV: /);
    expect(refusal('code,name\n1,a,extra\n', { strictFieldCount: true })).toMatch(/^not valid CSV: /);
  });
});
