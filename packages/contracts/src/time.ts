/**
 * google.protobuf.Timestamp helpers. int64 fields (Timestamp.seconds included) are plain JS
 * numbers in Anfang's generated code (see README: "int64 as number").
 */

/** The properties of a google.protobuf.Timestamp. */
export interface TimestampLike {
  seconds?: number | null;
  nanos?: number | null;
}

/** A Timestamp for milliseconds since the epoch (may be negative or fractional). */
export function timestampFromMillis(ms: number): { seconds: number; nanos: number } {
  if (!Number.isFinite(ms)) throw new RangeError(`timestampFromMillis: not a finite number: ${ms}`);
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  // Rounding can reach a full second (e.g. 999.9999999 ms).
  return nanos >= 1e9 ? { seconds: seconds + 1, nanos: nanos - 1e9 } : { seconds, nanos };
}

/** A Timestamp for a Date. */
export function timestampFromDate(date: Date): { seconds: number; nanos: number } {
  return timestampFromMillis(date.getTime());
}

/** A Timestamp for now (wall clock). */
export function timestampNow(): { seconds: number; nanos: number } {
  return timestampFromMillis(Date.now());
}

/** Milliseconds since the epoch; `undefined` for an unset timestamp. Sub-millisecond precision is kept as a fraction. */
export function timestampToMillis(ts: TimestampLike | null | undefined): number | undefined {
  if (ts === null || ts === undefined) return undefined;
  return Number(ts.seconds ?? 0) * 1000 + Number(ts.nanos ?? 0) / 1e6;
}

/** A Date; `undefined` for an unset timestamp. */
export function timestampToDate(ts: TimestampLike | null | undefined): Date | undefined {
  const ms = timestampToMillis(ts);
  return ms === undefined ? undefined : new Date(ms);
}
