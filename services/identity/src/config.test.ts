import { describe, expect, it } from 'vitest';
import { identityEnv } from './config.ts';

describe('configuration', () => {
  it('keeps access records 180 days by default and never less than 30', () => {
    const days = identityEnv.shape.IDENTITY_ACCESS_RECORD_RETENTION_DAYS;
    expect(days.parse(undefined)).toBe(180);
    expect(days.safeParse('29').success).toBe(false);
    expect(days.parse('30')).toBe(30);
  });
});
