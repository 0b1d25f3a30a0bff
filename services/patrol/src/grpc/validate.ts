/**
 * Request validation for PatrolService: every refusal is an InvalidArgumentError naming the
 * field and the reason, collected so a caller sees all problems of a request at once.
 */
import { isUuid, timestampToDate } from '@anfang/contracts';
import { InvalidArgumentError, type FieldViolation } from '@anfang/platform/grpc';
import { isLocalDate, parseStartTime } from '../domain/schedule.ts';

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const MAX_STOPS = 200;
const MAX_NAME = 200;
const MAX_TAG = 128;
const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

type Timestamp = Parameters<typeof timestampToDate>[0];

export class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  throwIfAny(): void {
    if (this.list.length > 0)
      throw new InvalidArgumentError(
        this.list.map((v) => `${v.field}: ${v.description}`).join('; '),
        this.list,
      );
  }

  text(
    field: string,
    value: string | null | undefined,
    options: { required: boolean; max?: number },
  ): string {
    const text = (value ?? '').trim();
    if (!text && options.required) this.add(field, 'required');
    else if (text.length > (options.max ?? MAX_NAME))
      this.add(field, `at most ${options.max ?? MAX_NAME} characters`);
    return text;
  }

  /** Tags, cards and user ids are compared byte for byte with what readers send. */
  tag(field: string, value: string | null | undefined, required = false): string {
    const tag = this.text(field, value, { required, max: MAX_TAG });
    if (/\s/.test(tag)) this.add(field, 'must not contain whitespace');
    return tag;
  }

  compound(field: string, value: string | null | undefined): string {
    const id = (value ?? '').trim();
    if (!id) this.add(field, 'required');
    else if (!/^[0-9A-Za-z]{1,64}$/.test(id)) this.add(field, 'a standard-address code (letters and digits)');
    return id;
  }

  uuid(field: string, value: string | null | undefined, required = true): string {
    const id = (value ?? '').trim();
    if (!id) {
      if (required) this.add(field, 'required');
    } else if (!isUuid(id)) this.add(field, 'a lowercase UUID');
    return id;
  }

  integer(field: string, value: number | null | undefined, min: number, max: number): number {
    const n = value ?? 0;
    if (!Number.isInteger(n) || n < min || n > max) this.add(field, `between ${min} and ${max}`);
    return n;
  }

  time(field: string, value: Timestamp, required: boolean): Date | undefined {
    const date = value ? timestampToDate(value) : undefined;
    if (!date && required) this.add(field, 'required');
    return date;
  }
}

/** Validates and throws in one step, for requests with a single field to check. */
export function validated<T>(check: (violations: Violations) => T): T {
  const violations = new Violations();
  const result = check(violations);
  violations.throwIfAny();
  return result;
}

export function pageSizeOf(
  violations: Violations,
  page: { pageSize?: number | null } | null | undefined,
): number {
  const requested = page?.pageSize ?? 0;
  if (requested < 0) violations.add('page.page_size', 'must not be negative');
  return Math.min(requested || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
}

export interface StopInput {
  readonly checkpointId?: string | null;
  readonly minutesFromPrevious?: number | null;
  readonly toleranceMinutes?: number | null;
  readonly stayMinutes?: number | null;
}

export function routeStops(violations: Violations, stops: readonly StopInput[] | null | undefined) {
  const list = stops ?? [];
  if (list.length === 0) violations.add('route.stops', 'at least one stop');
  if (list.length > MAX_STOPS) violations.add('route.stops', `at most ${MAX_STOPS} stops`);
  const seen = new Set<string>();
  return list.map((stop, index) => {
    const field = `route.stops[${index}]`;
    const checkpointId = violations.uuid(`${field}.checkpoint_id`, stop.checkpointId);
    if (checkpointId && seen.has(checkpointId))
      violations.add(`${field}.checkpoint_id`, 'a checkpoint appears at most once in a route');
    seen.add(checkpointId);
    return {
      checkpointId,
      minutesFromPrevious: violations.integer(
        `${field}.minutes_from_previous`,
        stop.minutesFromPrevious,
        0,
        1440,
      ),
      toleranceMinutes: violations.integer(`${field}.tolerance_minutes`, stop.toleranceMinutes, 0, 240),
      stayMinutes: violations.integer(`${field}.stay_minutes`, stop.stayMinutes, 0, 720),
    };
  });
}

export interface ScheduleInput {
  readonly routeId?: string | null;
  readonly guardId?: string | null;
  readonly shiftName?: string | null;
  readonly weekdays?: readonly number[] | null;
  readonly startTime?: string | null;
  readonly utcOffsetMinutes?: number | null;
  readonly validFrom?: string | null;
  readonly validUntil?: string | null;
}

export function scheduleInput(violations: Violations, input: ScheduleInput | null | undefined) {
  const schedule = input ?? {};
  const weekdays = [...new Set(schedule.weekdays ?? [])].sort();
  if (weekdays.length === 0) violations.add('schedule.weekdays', 'at least one weekday');
  if (weekdays.some((day) => !Number.isInteger(day) || day < 1 || day > 7))
    violations.add('schedule.weekdays', 'ISO weekdays 1 (Monday) to 7 (Sunday)');
  const startMinute = parseStartTime(schedule.startTime ?? '');
  if (startMinute === undefined) violations.add('schedule.start_time', 'local time "HH:MM"');
  const validFrom = (schedule.validFrom ?? '').trim();
  if (!isLocalDate(validFrom)) violations.add('schedule.valid_from', 'a date "YYYY-MM-DD"');
  const until = (schedule.validUntil ?? '').trim();
  if (until && !isLocalDate(until)) violations.add('schedule.valid_until', 'a date "YYYY-MM-DD" or empty');
  else if (until && until < validFrom) violations.add('schedule.valid_until', 'not before valid_from');
  return {
    routeId: violations.uuid('schedule.route_id', schedule.routeId),
    guardId: violations.uuid('schedule.guard_id', schedule.guardId),
    shiftName: violations.text('schedule.shift_name', schedule.shiftName, { required: false }),
    weekdays,
    startMinute: startMinute ?? 0,
    utcOffsetMinutes: violations.integer('schedule.utc_offset_minutes', schedule.utcOffsetMinutes, -720, 840),
    validFrom,
    validUntil: until || undefined,
  };
}

export function reportPeriod(
  violations: Violations,
  from: Timestamp,
  to: Timestamp,
): { from: Date; to: Date } {
  const start = violations.time('from', from, true);
  const end = violations.time('to', to, true);
  if (start && end) {
    if (end <= start) violations.add('to', 'after from');
    else if (end.getTime() - start.getTime() > MAX_REPORT_DAYS * DAY_MS)
      violations.add('to', `at most ${MAX_REPORT_DAYS} days after from`);
  }
  return { from: start ?? new Date(0), to: end ?? new Date(0) };
}
