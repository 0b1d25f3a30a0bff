import { describe, expect, it } from 'vitest';
import type { Caller } from './caller.ts';
import { compoundScope, inCompoundScope, scopeCondition, scopeParams } from './scope.ts';

const officer: Caller = {
  subject: 'u-1',
  role: 'street_officer',
  compounds: ['370304001000001'],
  areas: ['370303001'],
};

describe('compound scope filters', () => {
  it('a caller with every compound needs no filter', () => {
    const scope = compoundScope({ subject: 'u-2', role: 'district_admin', compounds: 'all' });
    expect(scope).toBeUndefined();
    expect(scopeParams(scope)).toEqual([null, []]);
    expect(inCompoundScope(scope, '999')).toBe(true);
  });

  it('listed compounds and area prefixes are in scope, others are not', () => {
    const scope = compoundScope(officer);
    expect(inCompoundScope(scope, '370304001000001')).toBe(true);
    expect(inCompoundScope(scope, '370303001002003')).toBe(true);
    expect(inCompoundScope(scope, '370303002001001')).toBe(false);
    expect(scopeParams(scope)).toEqual([['370304001000001'], ['370303001%']]);
  });

  it('a caller without areas filters by its compounds only', () => {
    const scope = compoundScope({ subject: 'u-3', role: 'property_staff', compounds: ['1'] });
    expect(scopeParams(scope)).toEqual([['1'], []]);
  });

  it('names its two parameters', () => {
    expect(scopeCondition('c.compound_id', 4)).toBe(
      '($4::text[] IS NULL OR c.compound_id = ANY($4::text[]) OR c.compound_id LIKE ANY($5::text[]))',
    );
  });
});
