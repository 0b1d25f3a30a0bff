/**
 * Canonical proto3 JSON over protobufjs reflection types, both ways. protobufjs' own
 * toObject/fromObject do the scalar work (enums by name, 64-bit integers as strings, bytes as
 * base64); this adds what they leave out of the proto3 JSON mapping: Timestamp as RFC 3339,
 * FieldMask as a comma-separated string of lowerCamelCase paths, proto field names accepted
 * beside JSON names, and a clear refusal of unknown fields, unknown enum names and wrong shapes.
 */
import { InvalidArgumentError } from '@anfang/platform/grpc';
import type { Enum, Field, Message, Type } from 'protobufjs';

const TIMESTAMP = 'google.protobuf.Timestamp';
const FIELD_MASK = 'google.protobuf.FieldMask';
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

export const snakeToCamel = (name: string): string =>
  name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const camelToSnake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const fullName = (type: Type | Enum): string => type.fullName.replace(/^\./, '');

function invalid(path: string, description: string): InvalidArgumentError {
  return new InvalidArgumentError(`${path}: ${description}`, [{ field: path, description }]);
}

/** The field a JSON key (lowerCamelCase) or a proto name (snake_case) names, if any. */
export function fieldOf(type: Type, key: string): Field | undefined {
  return type.fields[key] ?? type.fields[snakeToCamel(key)];
}

export function timestampFromJson(value: unknown, path: string): { seconds: number; nanos: number } {
  if (typeof value !== 'string') throw invalid(path, 'must be an RFC 3339 timestamp string');
  const match = RFC3339.exec(value);
  const millis = match ? Date.parse(value) : NaN;
  if (!match || Number.isNaN(millis)) throw invalid(path, 'must be an RFC 3339 timestamp string');
  const fraction = match[7] ? match[7].slice(1).padEnd(9, '0') : '0';
  const seconds = Math.floor(millis / 1000);
  if (seconds < -62_135_596_800 || seconds > MAX_TIMESTAMP_SECONDS) throw invalid(path, 'is out of range');
  return { seconds, nanos: Number(fraction) };
}

export function timestampToJson(value: { seconds?: unknown; nanos?: unknown }): string {
  const seconds = Number(value.seconds ?? 0);
  const nanos = Number(value.nanos ?? 0);
  const base = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, '0');
  // proto3 JSON uses 3, 6 or 9 fractional digits.
  const trimmed = digits.endsWith('000000')
    ? digits.slice(0, 3)
    : digits.endsWith('000')
      ? digits.slice(0, 6)
      : digits;
  return `${base}.${trimmed}Z`;
}

/** Converts one JSON value of a field to what protobufjs' fromObject accepts. */
function fieldFromJson(field: Field, value: unknown, path: string): unknown {
  if (field.map) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw invalid(path, 'must be an object');
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, singleFromJson(field, v, `${path}.${k}`)]),
    );
  }
  if (field.repeated) {
    // A repeated field given once in a query string arrives as a single string.
    if (typeof value === 'string') return [singleFromJson(field, value, `${path}[0]`)];
    if (!Array.isArray(value)) throw invalid(path, 'must be an array');
    return value.map((v, i) => singleFromJson(field, v, `${path}[${i}]`));
  }
  return singleFromJson(field, value, path);
}

function singleFromJson(field: Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved && 'fields' in resolved) {
    const name = fullName(resolved);
    if (name === TIMESTAMP) return timestampFromJson(value, path);
    if (name === FIELD_MASK) {
      if (typeof value !== 'string') throw invalid(path, 'must be a comma-separated list of field paths');
      return {
        paths: value === '' ? [] : value.split(',').map((p) => p.split('.').map(camelToSnake).join('.')),
      };
    }
    return objectFromJson(resolved, value, path);
  }
  if (resolved) {
    const values = (resolved as Enum).values;
    if (typeof value === 'string') {
      if (!Object.hasOwn(values, value)) throw invalid(path, `unknown value ${value}`);
      return value;
    }
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    throw invalid(path, 'must be an enum value name');
  }
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw invalid(path, 'must be a string');
      return value;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw invalid(path, 'must be true or false');
    case 'bytes':
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value))
        throw invalid(path, 'must be base64');
      return value;
    case 'double':
    case 'float': {
      const n = typeof value === 'string' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) throw invalid(path, 'must be a number');
      return n;
    }
    default: {
      // 32- and 64-bit integers: a number, or a decimal string (64-bit values beyond 2^53).
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
      throw invalid(path, 'must be an integer');
    }
  }
}

/** A plain object protobufjs' fromObject accepts, from a proto3 JSON object. */
export function objectFromJson(type: Type, json: unknown, path = ''): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw invalid(path || type.name, 'must be a JSON object');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fieldOf(type, key);
    const at = path ? `${path}.${key}` : key;
    if (!field) throw invalid(at, 'unknown field');
    if (value === null) continue;
    out[field.name] = fieldFromJson(field, value, at);
  }
  return out;
}

/** A message of the type from a proto3 JSON object; InvalidArgumentError when it does not fit. */
export function messageFromJson(type: Type, json: unknown): Message {
  const plain = objectFromJson(type, json);
  try {
    return type.fromObject(plain);
  } catch (error) {
    throw invalid(type.name, error instanceof Error ? error.message : 'does not fit the message');
  }
}

function valueToJson(field: Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (!resolved || !('fields' in resolved) || value === null || value === undefined) return value;
  const convert = (v: unknown): unknown => {
    const name = fullName(resolved);
    if (name === TIMESTAMP) return timestampToJson(v as { seconds?: unknown; nanos?: unknown });
    if (name === FIELD_MASK)
      return ((v as { paths?: string[] }).paths ?? [])
        .map((p) => p.split('.').map(snakeToCamel).join('.'))
        .join(',');
    return plainToJson(resolved, v as Record<string, unknown>);
  };
  if (field.map) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v)]));
  if (field.repeated) return (value as unknown[]).map(convert);
  return convert(value);
}

function plainToJson(type: Type, plain: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(plain)) {
    // Unset message fields come out of toObject as null: canonical JSON leaves them out.
    if (value === null || value === undefined) continue;
    const field = type.fields[key];
    out[key] = field ? valueToJson(field, value) : value;
  }
  return out;
}

/**
 * Proto3 JSON of a message. Scalars, enums and repeated fields are emitted with their default
 * values (grpc-gateway's EmitUnpopulated): a dashboard reads `totalSize: 0` and `items: []`
 * rather than guessing from a missing key.
 */
export function messageToJson(type: Type, message: unknown): Record<string, unknown> {
  const plain = type.toObject(message as Message, {
    enums: String,
    longs: String,
    bytes: String,
    defaults: true,
    arrays: true,
    json: true,
  });
  return plainToJson(type, plain);
}
