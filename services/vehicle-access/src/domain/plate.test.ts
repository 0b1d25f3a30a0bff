import { describe, expect, it } from 'vitest';
import { normalisePlate, PROVINCES, type NormalisedPlate } from './plate.ts';

function ok(input: string): NormalisedPlate {
  const result = normalisePlate(input);
  if (!result.ok) throw new Error(`expected ${input} to be valid, got: ${result.reason}`);
  return result;
}

function reason(input: string): string {
  const result = normalisePlate(input);
  if (result.ok) throw new Error(`expected ${input} to be rejected, got ${result.plate}`);
  return result.reason;
}

describe('normalisePlate', () => {
  it('accepts a 7-character ordinary plate unchanged', () => {
    expect(ok('鲁C12345')).toEqual({
      ok: true,
      plate: '鲁C12345',
      key: '鲁C12345',
      kind: 'ordinary',
      confusions: [],
      changed: false,
    });
  });

  it('accepts every province abbreviation', () => {
    for (const province of PROVINCES) expect(ok(`${province}A88888`).kind).toBe('ordinary');
    expect(PROVINCES).toHaveLength(31);
  });

  it('folds full-width letters and digits, lower case, spaces and dots', () => {
    const plate = ok('鲁ｃ·１２ ３4.5');
    expect(plate.plate).toBe('鲁C12345');
    expect(plate.changed).toBe(true);
    expect(ok(' 京 a-b1234 ').plate).toBe('京AB1234');
  });

  it('recognises small and large new-energy plates (8 characters)', () => {
    expect(ok('鲁CD12345').kind).toBe('new-energy');
    expect(ok('粤BFA1234').kind).toBe('new-energy');
    expect(ok('沪A12345D').kind).toBe('new-energy');
    expect(reason('鲁C123456')).toMatch(/new-energy plate 鲁C123456/);
    expect(reason('鲁CDXX234')).toMatch(/new-energy/);
  });

  it.each([
    ['鲁C1234挂', 'trailer'],
    ['鲁C1234学', 'learner'],
    ['鲁C1234警', 'police'],
    ['沪A1234领', 'consulate'],
    ['粤Z1234港', 'hong-kong'],
    ['粤ZA234澳', 'macau'],
  ] as const)('recognises %s as %s', (input, kind) => {
    expect(ok(input).kind).toBe(kind);
  });

  it('requires 4 characters before a suffix and 粤Z for Hong Kong and Macau plates', () => {
    expect(reason('鲁C12345挂')).toMatch(/4 letters or digits before 挂/);
    expect(reason('鲁C1234港')).toMatch(/must start with 粤Z/);
  });

  it('accepts embassy plates in both layouts', () => {
    expect(ok('使014578').kind).toBe('embassy');
    expect(ok('224001使').kind).toBe('embassy');
    expect(reason('使01457')).toMatch(/6 digits beside 使/);
    expect(reason('使01A578')).toMatch(/6 digits beside 使/);
  });

  it('flags O and I in the serial, keeps them in the plate and folds them in the key', () => {
    const plate = ok('鲁C1O2I5');
    expect(plate.plate).toBe('鲁C1O2I5');
    expect(plate.key).toBe('鲁C10215');
    expect(plate.confusions).toEqual([
      { index: 3, read: 'O', likely: '0' },
      { index: 5, read: 'I', likely: '1' },
    ]);
    expect(ok('鲁C10215').key).toBe(plate.key);
    expect(ok('使O14578').key).toBe('使014578');
  });

  it('does not flag the issuing authority letter', () => {
    expect(ok('京O12345').confusions).toEqual([]);
  });

  it('rejects unknown provinces, bad authority letters and wrong lengths with a reason', () => {
    expect(reason('')).toBe('empty plate');
    expect(reason(' · ')).toBe('empty plate');
    expect(reason('A12345')).toMatch(/does not start with a province abbreviation/);
    expect(reason('台A12345')).toBe('unknown province abbreviation 台');
    expect(reason('鲁112345')).toMatch(/issuing authority letter/);
    expect(reason('鲁C1234')).toMatch(/has 6 characters/);
    expect(reason('鲁C1234567')).toMatch(/has 9 characters/);
    expect(reason('鲁C12鲁45')).toMatch(/characters other than letters and digits/);
  });
});
