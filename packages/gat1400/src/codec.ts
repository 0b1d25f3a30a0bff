/**
 * GA/T 1400 vocabulary shared by the receiving platform's edge and its mappings: identifiers,
 * the zone-less Beijing time of its bodies, and the ResponseStatus answers
 * (../shared/protocols/GAT1400.md).
 */
import { isGat1400Id } from '@anfang/contracts';

/** `StatusCode` values of ResponseStatusObject. */
export const STATUS = {
  OK: 0,
  OTHER_ERROR: 1,
  DEVICE_BUSY: 2,
  DEVICE_ERROR: 3,
  INVALID_OPERATION: 4,
  INVALID_XML_FORMAT: 5,
  INVALID_XML_CONTENT: 6,
  INVALID_JSON_FORMAT: 7,
  INVALID_JSON_CONTENT: 8,
  REBOOT: 9,
} as const;

export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

/** Beijing time has had no daylight saving since 1991: a fixed +08:00 is exact. */
const BEIJING_OFFSET_MS = 8 * 3600_000;

/**
 * Parses a body time, `yyyyMMddHHmmss` in Beijing local time without a zone. Some devices append
 * milliseconds (`yyyyMMddHHmmssSSS`); both are accepted. Returns undefined for anything that is
 * not a real calendar time.
 */
export function parseGat1400Time(value: unknown): Date | undefined {
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof text !== 'string') return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$/.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] === undefined ? 0 : Number(m[7]);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - BEIJING_OFFSET_MS);
}

/** Formats a Date as `yyyyMMddHHmmss` Beijing local time. */
export function formatGat1400Time(date: Date): string {
  const b = new Date(date.getTime() + BEIJING_OFFSET_MS);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    p(b.getUTCFullYear(), 4) +
    p(b.getUTCMonth() + 1) +
    p(b.getUTCDate()) +
    p(b.getUTCHours()) +
    p(b.getUTCMinutes()) +
    p(b.getUTCSeconds())
  );
}

/** 41-char image/clip/file id: device (20) + kind (01|02|03) + time (14) + serial (5). */
export function isGat1400SourceId(value: unknown): value is string {
  return typeof value === 'string' && /^\d{20}0[1-3]\d{14}\d{5}$/.test(value);
}

/** Semantic object kinds of the 48-char ids (FaceID, MotorVehicleID, PersonID, …). */
export const OBJECT_KIND = {
  PERSON: '01',
  MOTOR_VEHICLE: '02',
  NON_MOTOR_VEHICLE: '03',
  THING: '04',
  SCENE: '05',
  FACE: '06',
} as const;

/**
 * 48-char semantic object id: the 41-char source id + kind (2) + serial (5). With `kind`, the
 * kind must match too.
 */
export function isGat1400ObjectId(value: unknown, kind?: string): value is string {
  if (typeof value !== 'string' || value.length !== 48 || !/^\d{48}$/.test(value)) return false;
  if (!isGat1400SourceId(value.slice(0, 41))) return false;
  return kind === undefined || value.slice(41, 43) === kind;
}

export { isGat1400Id };

/**
 * Parses a StatusCode as peers send it: a number or a numeric string. Undefined when it is
 * neither.
 */
export function parseStatusCode(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value.trim());
  return undefined;
}

export interface ResponseStatus {
  readonly Id: string;
  readonly RequestURL: string;
  readonly StatusCode: number;
  readonly StatusString: string;
  readonly LocalTime: string;
}

export function responseStatus(
  id: string,
  requestUrl: string,
  code: number,
  text: string,
  now: Date,
): ResponseStatus {
  return {
    Id: id,
    RequestURL: requestUrl,
    StatusCode: code,
    StatusString: text,
    LocalTime: formatGat1400Time(now),
  };
}

/**
 * Type codes (digits 11–13 of the 20-digit id) of senders that push objects on behalf of other
 * devices: collection system, video tollgate, 视图库, application platform.
 */
const AGGREGATING_TYPES = new Set(['120', '121', '503', '504']);

/** True when a sender with this GA/T id may push objects captured by other devices. */
export function isAggregatingSender(gat1400Id: string): boolean {
  return isGat1400Id(gat1400Id) && AGGREGATING_TYPES.has(gat1400Id.slice(10, 13));
}

/**
 * The conditions of a GA/T 1400 query string, field → value. Platforms write them as
 * `?(DispositionObject.DispositionID=…)`, `?(Dispositions.A=1 AND Dispositions.B=2)` or plainly
 * `?A=1&B=2`: every form is read, the object prefix dropped. A part without `=` is a failure.
 */
export function parseQueryConditions(search: string): Map<string, string> | { readonly failure: string } {
  const conditions = new Map<string, string>();
  let text = search.replace(/^\?/, '');
  try {
    text = decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return { failure: 'the query is not URL-encoded correctly' };
  }
  for (const raw of text.split(/&|\s+AND\s+/i)) {
    const part = raw.trim().replace(/^\(+/, '').replace(/\)+$/, '').trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return { failure: `condition "${part.slice(0, 100)}" is not field=value` };
    const field = part.slice(0, eq).trim();
    conditions.set(field.slice(field.lastIndexOf('.') + 1), part.slice(eq + 1).trim());
  }
  return conditions;
}
