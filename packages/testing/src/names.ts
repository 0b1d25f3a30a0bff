import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `label-<random>`: lowercase [a-z0-9-], at most 51 characters, starting and ending with a
 * letter or digit, so it is valid as a Kafka topic, an S3 bucket (3..63) and a Postgres
 * database name (< 64 bytes).
 */
export function uniqueName(label: string): string {
  let base = label
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  // S3 reserves these prefixes.
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(base)) base = `t-${base}`;
  base = base.slice(0, 40).replace(/-+$/, '') || 't';
  const bytes = randomBytes(10);
  let suffix = '';
  for (const b of bytes) suffix += alphabet[b % alphabet.length];
  return `${base}-${suffix}`;
}

export interface WaitForOptions {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Default 100 ms. */
  intervalMs?: number;
  /** What the error says when time runs out. */
  message?: string;
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned). A predicate that
 * throws counts as not yet; the last error is quoted when time runs out.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left));
  }
  const last =
    lastError === undefined
      ? ''
      : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`${options.message ?? 'condition not met'} (waited ${timeoutMs} ms${last})`, {
    cause: lastError,
  });
}
