import { describe, expect, it } from 'vitest';
import { csvField, csvLine, csvText } from './csv-text.ts';

describe('CSV for spreadsheets', () => {
  it('quotes separators, quotes and line breaks', () => {
    expect(csvField('天晓小区, 3号楼')).toBe('"天晓小区, 3号楼"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
  });

  it('defuses text that a spreadsheet would run as a formula, and only text', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    for (const lead of ['+', '-', '@', '\t']) expect(csvField(`${lead}1`)).toMatch(/^"?'/);
    expect(csvField(-5)).toBe('-5');
    expect(csvField(true)).toBe('true');
  });

  it('writes CRLF lines after a byte-order mark', () => {
    expect(csvLine(['a', 1])).toBe('a,1\r\n');
    expect(
      csvText([
        ['h1', 'h2'],
        ['x', 2],
      ]),
    ).toBe('\uFEFFh1,h2\r\nx,2\r\n');
  });
});
