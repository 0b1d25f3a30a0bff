import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.ts';
import { decodeToken, encodeToken, MAX_PAGE_SIZE, pageSize } from './paging.ts';

describe('page tokens', () => {
  it('round-trip a keyset position', () => {
    const token = encodeToken([1_780_000_000_123, '0190a0b2-7c3e-7d5a-9b1e-3f2a1c4d5e6f']);
    expect(decodeToken(token, 2)).toEqual([1_780_000_000_123, '0190a0b2-7c3e-7d5a-9b1e-3f2a1c4d5e6f']);
    expect(decodeToken('', 2)).toBeUndefined();
  });

  it('refuse tokens this service did not make', () => {
    expect(() => decodeToken('not-base64-json', 2)).toThrow(InvalidArgumentError);
    expect(() => decodeToken(encodeToken(['only one']), 2)).toThrow(/invalid page token/);
  });

  it('default, cap and refuse page sizes', () => {
    expect(pageSize(undefined)).toBe(100);
    expect(pageSize(5)).toBe(5);
    expect(pageSize(1_000_000)).toBe(MAX_PAGE_SIZE);
    expect(() => pageSize(-1)).toThrow(/invalid page size/);
  });
});
