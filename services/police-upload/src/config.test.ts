import { describe, expect, it } from 'vitest';
import { configSchema } from './config.ts';

const base = {
  OTEL_SERVICE_NAME: 'police-upload',
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  KAFKA_BROKERS: '127.0.0.1:9092',
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_ACCESS_KEY: 'a',
  S3_SECRET_KEY: 'b',
  S3_BUCKET: 'anfang',
  REDIS_URL: 'redis://127.0.0.1:6379',
  CALLER_TOKEN_KEY: 'k'.repeat(44),
  POLICE_UPLOAD_LOWER_ID: '37030300005040000001',
  DATA_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
};

describe('upload-health cadence', () => {
  it("reports every 30 s by default, well inside compliance scoring's 5-min expiry", () => {
    const parsed = configSchema.safeParse(base);
    expect(parsed.error).toBeUndefined();
    expect(parsed.data?.POLICE_UPLOAD_HEALTH_INTERVAL_MS).toBe(30_000);
  });
  it('refuses an interval above a minute', () => {
    expect(configSchema.safeParse({ ...base, POLICE_UPLOAD_HEALTH_INTERVAL_MS: '60000' }).success).toBe(true);
    const parsed = configSchema.safeParse({ ...base, POLICE_UPLOAD_HEALTH_INTERVAL_MS: '60001' });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('expires upload-health reports after 5 min');
  });
});

describe('shared cache', () => {
  it('is required: Digest nonces must be valid at every replica', () => {
    const { REDIS_URL: _, ...withoutRedis } = base;
    const parsed = configSchema.safeParse(withoutRedis);
    expect(JSON.stringify(parsed.error?.issues)).toContain('REDIS_URL');
  });
});
