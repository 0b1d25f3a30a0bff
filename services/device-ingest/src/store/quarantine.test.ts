import { describe, expect, it } from 'vitest';
import { meta, pgText } from './quarantine.ts';

// Found by the e2e bad-input campaign: a reason quoting a NUL from the payload failed the row
// insert, and a reason cut to 200 characters ending in a blank failed the object's metadata, so
// the refused payload was not kept.
describe('quarantine values', () => {
  it('keeps no NUL in a text column', () => {
    expect(pgText('FaceID "\u0000" is not 48 digits')).toBe('FaceID "\\0" is not 48 digits');
  });

  it('gives the object store printable ASCII with no blank at either end', () => {
    expect(meta(`${'x'.repeat(199)} tail`)).toBe('x'.repeat(199));
    expect(meta(' 日期 ')).toBe('??');
    expect(meta('   ')).toBe('-');
  });
});
