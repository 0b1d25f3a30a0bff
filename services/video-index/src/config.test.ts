import { describe, expect, it } from 'vitest';
import { configSchema } from './config.ts';

const base = {
  OTEL_SERVICE_NAME: 'video-index',
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  KAFKA_BROKERS: '127.0.0.1:9092',
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_ACCESS_KEY: 'a',
  S3_SECRET_KEY: 'b',
  S3_BUCKET: 'anfang',
  CALLER_TOKEN_KEY: 'k'.repeat(44),
};

describe('config', () => {
  it('defaults every class to 30 days', () => {
    const parsed = configSchema.safeParse(base);
    expect(parsed.error).toBeUndefined();
    expect(parsed.data?.VIDEO_RETENTION_FACES_DAYS).toBe(30);
  });
  it('refuses a retention below 30 days', () => {
    const parsed = configSchema.safeParse({ ...base, VIDEO_RETENTION_VEHICLES_DAYS: '29' });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('at least 30 days');
  });
});
