/**
 * Builders of GA/T 1400 identifiers (../shared/protocols/GAT1400.md, Identifiers). A lower
 * platform derives the serials from its own event ids, so a re-sent object carries the id it had
 * the first time and the receiver recognises the duplicate.
 */
import { createHash } from 'node:crypto';
import { formatGat1400Time } from './codec.ts';

/** Kinds of the 41-char ids. */
export const SOURCE_KIND = { CLIP: '01', IMAGE: '02', FILE: '03' } as const;

/** Kinds of the 33-char command/notification ids. */
export const COMMAND_KIND = {
  DISPOSITION: '01',
  ALARM: '02',
  SUBSCRIPTION: '03',
  NOTIFICATION: '04',
} as const;

const serial = (n: number): string => String(Math.abs(Math.trunc(n)) % 100_000).padStart(5, '0');

/** Five decimal digits taken from a hash of `seed` and `salt`: stable for one seed. */
export function stableSerial(seed: string, salt = ''): number {
  return createHash('sha256').update(`${salt}\u0000${seed}`).digest().readUInt32BE(0) % 100_000;
}

/** 41 chars: device (20) + kind + yyyyMMddHHmmss + serial. */
export function sourceId(deviceId: string, kind: string, time: Date, n: number): string {
  return `${deviceId}${kind}${formatGat1400Time(time)}${serial(n)}`;
}

/** 48 chars: the 41-char source id + object kind (OBJECT_KIND) + serial. */
export function semanticObjectId(source: string, objectKind: string, n: number): string {
  return `${source}${objectKind}${serial(n)}`;
}

/** 33 chars: organisation code (12) + kind (COMMAND_KIND) + yyyyMMddHHmmss + serial. */
export function commandId(orgCode: string, kind: string, time: Date, n: number): string {
  return `${orgCode.padEnd(12, '0').slice(0, 12)}${kind}${formatGat1400Time(time)}${serial(n)}`;
}

/** A 33-char subscription, notification, disposition or alarm id; with `kind`, of that kind. */
export function isGat1400CommandId(value: unknown, kind?: string): value is string {
  if (typeof value !== 'string' || !/^\d{33}$/.test(value)) return false;
  return kind === undefined || value.slice(12, 14) === kind;
}
