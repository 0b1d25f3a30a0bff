import { enumText, t, type MessageKey } from './i18n.ts';

/** Compliance levels as the API names them (proto3 JSON enum names), highest first. */
export const LEVELS = [
  'COMPLIANCE_LEVEL_DEMONSTRATION',
  'COMPLIANCE_LEVEL_QUALITY',
  'COMPLIANCE_LEVEL_COMPLIANT',
  'COMPLIANCE_LEVEL_NOT_COMPLIANT',
  'COMPLIANCE_LEVEL_UNSPECIFIED',
] as const;
export type Level = (typeof LEVELS)[number];

const LEVEL_KEYS: Record<Level, MessageKey> = {
  COMPLIANCE_LEVEL_DEMONSTRATION: 'level.demonstration',
  COMPLIANCE_LEVEL_QUALITY: 'level.quality',
  COMPLIANCE_LEVEL_COMPLIANT: 'level.compliant',
  COMPLIANCE_LEVEL_NOT_COMPLIANT: 'level.notCompliant',
  COMPLIANCE_LEVEL_UNSPECIFIED: 'level.unscored',
};

/** Accepts the enum by name or by number (proto3 JSON allows both). */
export function toLevel(value: unknown): Level {
  if (typeof value === 'number') {
    const byNumber: Record<number, Level> = {
      1: 'COMPLIANCE_LEVEL_NOT_COMPLIANT',
      2: 'COMPLIANCE_LEVEL_COMPLIANT',
      3: 'COMPLIANCE_LEVEL_QUALITY',
      4: 'COMPLIANCE_LEVEL_DEMONSTRATION',
    };
    return byNumber[value] ?? 'COMPLIANCE_LEVEL_UNSPECIFIED';
  }
  return (LEVELS as readonly string[]).includes(value as string)
    ? (value as Level)
    : 'COMPLIANCE_LEVEL_UNSPECIFIED';
}

/** CSS class carrying the level's colour (see styles.css). */
export function levelClass(level: Level): string {
  return `lv-${level.replace('COMPLIANCE_LEVEL_', '').toLowerCase().replace('_', '-')}`;
}

export function levelLabel(level: Level): string {
  return t(LEVEL_KEYS[level]);
}

/** An enum value (proto3 JSON name) in the current language; '—' when absent. */
export function enumLabel(value: unknown): string {
  if (value === undefined || value === null || value === '') return '—';
  return enumText(String(value));
}

/** A rate in [0, 1] as a percentage with one decimal. */
export function percent(rate: number | undefined): string {
  if (rate === undefined || !Number.isFinite(rate)) return '—';
  return `${(rate * 100).toFixed(1)}%`;
}

/** An RFC 3339 timestamp as local date and time, seconds included; '—' when absent. */
export function dateTime(value: string | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '—';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A clock offset in ms as a signed, human-sized figure. */
export function offset(ms: number): string {
  const sign = ms > 0 ? '+' : ms < 0 ? '−' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${abs} ms`;
  if (abs < 120_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  return `${sign}${(abs / 60_000).toFixed(1)} min`;
}
