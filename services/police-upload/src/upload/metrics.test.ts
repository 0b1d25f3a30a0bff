import { describe, expect, it } from 'vitest';
import { bucketPercentile, LATENCY_BUCKETS_MS, latencyBucket } from './metrics.ts';

describe('latency buckets', () => {
  it('puts a latency in the first bucket whose bound is not below it', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(1)).toBe(0);
    const i = latencyBucket(1000);
    expect(LATENCY_BUCKETS_MS[i]).toBeGreaterThanOrEqual(1000);
    expect(LATENCY_BUCKETS_MS[i - 1]).toBeLessThan(1000);
    expect(latencyBucket(10 * 3_600_000)).toBe(LATENCY_BUCKETS_MS.length);
  });

  it('reads a percentile within 10 % above the true one, from counts summed over replicas', () => {
    const counts = (values: number[]) => {
      const c = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
      for (const v of values) c[latencyBucket(v)]! += 1;
      return c;
    };
    const a = counts(Array.from({ length: 990 }, () => 100));
    const b = counts(Array.from({ length: 10 }, () => 5_000));
    const sum = a.map((n, i) => n + b[i]!);
    expect(bucketPercentile(sum, 0.99)).toBeGreaterThanOrEqual(100);
    expect(bucketPercentile(sum, 0.99)).toBeLessThanOrEqual(110);
    expect(bucketPercentile(sum, 0.995)).toBeGreaterThanOrEqual(5_000);
    expect(bucketPercentile(sum, 0.995)).toBeLessThanOrEqual(5_500);
    expect(bucketPercentile([], 0.99)).toBe(0);
  });
});
