import { describe, expect, it } from 'vitest';
import { configSchema, upstreamEnv } from './config.ts';
import { addressEnvKey, UPSTREAMS } from './upstreams.ts';

describe('configuration', () => {
  it('has an address key for every routed service', () => {
    for (const name of Object.values(UPSTREAMS))
      expect(Object.keys(upstreamEnv.shape)).toContain(addressEnvKey(name));
  });

  it('never keeps the audit log less than 180 days', () => {
    const parse = (days: string) => configSchema.shape.AUDIT_RETENTION_DAYS.safeParse(days).success;
    expect(parse('179')).toBe(false);
    expect(parse('180')).toBe(true);
  });
});
