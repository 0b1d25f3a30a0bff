/** `svc` and `svc:` both mean the namespace `svc:`; an empty prefix is refused (keys must be namespaced). */
export function normalizePrefix(keyPrefix: string): string {
  const trimmed = keyPrefix.endsWith(':') ? keyPrefix.slice(0, -1) : keyPrefix;
  if (trimmed.length === 0) throw new Error('cache: keyPrefix must not be empty');
  return `${trimmed}:`;
}

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new Error('cache: key must be a non-empty string');
}

/** TTLs are whole milliseconds > 0. */
export function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`cache: ttlMs must be > 0, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

export function checkIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) throw new Error(`cache: increment must be a safe integer, got ${by}`);
}
