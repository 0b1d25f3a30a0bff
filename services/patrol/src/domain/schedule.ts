/**
 * Recurring schedules: weekdays and a local start time in the compound's fixed UTC offset
 * (China has had no daylight saving since 1991, so an offset is exact and needs no tz database).
 */

export interface ScheduleRule {
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  readonly weekdays: readonly number[];
  /** Minutes after local midnight. */
  readonly startMinute: number;
  readonly utcOffsetMinutes: number;
  /** Local dates, "YYYY-MM-DD"; validUntil inclusive. */
  readonly validFrom: string;
  readonly validUntil: string | undefined;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export function parseStartTime(value: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

export function formatStartTime(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

export function isLocalDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/** The instant a local date begins. */
function localDayStart(date: string, utcOffsetMinutes: number): Date {
  return new Date(Date.parse(`${date}T00:00:00Z`) - utcOffsetMinutes * MINUTE_MS);
}

/** The instant after a schedule's last local date: rounds from here on are outside it. */
export function scheduleEnd(validUntil: string, utcOffsetMinutes: number): Date {
  return new Date(localDayStart(validUntil, utcOffsetMinutes).getTime() + DAY_MS);
}

/** Planned starts of a schedule's rounds in [from, to), oldest first. */
export function occurrences(rule: ScheduleRule, from: Date, to: Date): Date[] {
  const offsetMs = rule.utcOffsetMinutes * MINUTE_MS;
  const starts: Date[] = [];
  // Local midnights (as UTC-shifted instants) from the day before `from` to the day of `to`.
  const firstDay = Math.floor((from.getTime() + offsetMs) / DAY_MS) - 1;
  const lastDay = Math.floor((to.getTime() + offsetMs) / DAY_MS);
  for (let day = firstDay; day <= lastDay; day++) {
    const date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (date < rule.validFrom || (rule.validUntil !== undefined && date > rule.validUntil)) continue;
    const isoWeekday = ((new Date(day * DAY_MS).getUTCDay() + 6) % 7) + 1;
    if (!rule.weekdays.includes(isoWeekday)) continue;
    const start = day * DAY_MS + rule.startMinute * MINUTE_MS - offsetMs;
    if (start >= from.getTime() && start < to.getTime()) starts.push(new Date(start));
  }
  return starts;
}
