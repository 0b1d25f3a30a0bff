import { describe, expect, it } from 'vitest';
import { uuidv7 } from './ids.ts';

describe('uuidv7', () => {
  it('has the v7 layout and the time in its first 48 bits', () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = uuidv7(now + 10_000_000);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now + 10_000_000);
  });

  it('is unique and sorts in creation order', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('uuidv7 random bits', () => {
  it('draws rand_b afresh for every id, across refills of the pool', () => {
    const now = Date.UTC(2030, 0, 1);
    const tails = new Set(Array.from({ length: 5_000 }, () => uuidv7(now).slice(19)));
    expect(tails.size).toBe(5_000);
  });
});
