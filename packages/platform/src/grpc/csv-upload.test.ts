import { describe, expect, it } from 'vitest';
import { CsvFileError, MAX_CSV_BYTES, parseCsvUpload } from './csv-upload.ts';
import { InvalidArgumentError } from './errors.ts';

const parse = (bytes: Uint8Array): string[] => {
  const text = Buffer.from(bytes).toString('utf8');
  if (!text.startsWith('name')) throw new CsvFileError('header lacks name', 1);
  return text.split('\n').slice(1);
};

describe('parseCsvUpload', () => {
  it('parses a readable file', () => {
    expect(parseCsvUpload(Buffer.from('name\na\nb'), parse)).toEqual(['a', 'b']);
  });

  it('refuses an empty, oversized or unreadable file as INVALID_ARGUMENT on the field', () => {
    for (const [bytes, message] of [
      [undefined, 'csv is empty'],
      [new Uint8Array(), 'csv is empty'],
      [new Uint8Array(MAX_CSV_BYTES + 1), 'csv too large'],
      [Buffer.from('colour\nred'), 'line 1: header lacks name'],
    ] as const) {
      let error: unknown;
      try {
        parseCsvUpload(bytes, parse);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toBe(message);
    }
  });

  it('lets errors other than CsvFileError through', () => {
    expect(() =>
      parseCsvUpload(Buffer.from('x'), () => {
        throw new TypeError('bug');
      }),
    ).toThrow(TypeError);
  });
});
