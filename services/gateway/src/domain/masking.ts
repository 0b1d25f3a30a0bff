/**
 * Masking of personal data in responses (SPEC §5): ID numbers, phone numbers and the names of
 * people. Driven by the message types, not by guesses over JSON: a field is personal when it is
 * an ID number (`*idNumber`) or a phone (`*phone`), a `personName` always, and a `name`/`*Name`
 * field is a person's when its message also holds one of those. Services mask already; this is the gateway's own line of
 * defence, so a value that is already masked stays as it is.
 */
import { maskIdNumber, maskName, maskPhone } from '@anfang/platform/crypto';
import type { Type } from 'protobufjs';

type Masker = (value: string) => string;

const ID = /idNumber$/i;
const PHONE = /phone$/i;
const NAME = /^(name|[a-z]+Name)$/;
const PERSON_NAME = /^personName$/;
const NOT_A_PERSON_NAME = /^(fullName|displayName|deviceName|zoneName|compoundName|routeName)$/;

const plans = new WeakMap<Type, ReadonlyMap<string, Masker | Type>>();

function planOf(type: Type): ReadonlyMap<string, Masker | Type> {
  const known = plans.get(type);
  if (known) return known;
  const plan = new Map<string, Masker | Type>();
  plans.set(type, plan); // before recursing: messages may refer to themselves
  const fields = type.fieldsArray;
  const personal = fields.some((f) => f.type === 'string' && (ID.test(f.name) || PHONE.test(f.name)));
  for (const field of fields) {
    const resolved = field.resolvedType;
    if (resolved && 'fields' in resolved) plan.set(field.name, resolved);
    else if (field.type !== 'string') continue;
    else if (ID.test(field.name)) plan.set(field.name, maskIdNumber);
    else if (PHONE.test(field.name)) plan.set(field.name, maskPhone);
    else if (PERSON_NAME.test(field.name)) plan.set(field.name, maskName);
    else if (personal && NAME.test(field.name) && !NOT_A_PERSON_NAME.test(field.name))
      plan.set(field.name, maskName);
  }
  return plan;
}

function maskValue(value: unknown, how: Masker | Type): unknown {
  if (Array.isArray(value)) return value.map((v) => maskValue(v, how));
  if (typeof how === 'function')
    return typeof value === 'string' && value !== '' && !value.includes('*') ? how(value) : value;
  if (typeof value === 'object' && value !== null) return maskJson(how, value as Record<string, unknown>);
  return value;
}

/** The proto3 JSON of a message of `type` with its personal fields masked. */
export function maskJson(type: Type, json: Record<string, unknown>): Record<string, unknown> {
  const plan = planOf(type);
  if (plan.size === 0) return json;
  const out: Record<string, unknown> = { ...json };
  for (const [name, how] of plan) if (name in out) out[name] = maskValue(out[name], how);
  return out;
}

/** True when messages of the type can carry personal data (for audit of unmasked reads). */
export function carriesPersonalData(type: Type, seen = new Set<Type>()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  for (const how of planOf(type).values())
    if (typeof how === 'function' || carriesPersonalData(how, seen)) return true;
  return false;
}
