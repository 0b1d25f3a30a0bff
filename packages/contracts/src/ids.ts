/**
 * Identifier conventions (protos/anfang/common/v1/ids.proto explains them) as code.
 */
import { hash } from 'node:crypto';

/** Lowercase canonical UUID (any version). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** 20-digit GA/T 1400 / GB/T 28181 id: region 8 + industry 2 + type 3 + network 1 + serial 6. */
export const GAT1400_ID_PATTERN = /^[0-9]{20}$/;

/** Topic names: `anfang.<domain>.<event>.v<N>`, lower case, event in kebab-case. */
export const TOPIC_NAME_PATTERN = /^anfang\.[a-z][a-z0-9]*\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.v[1-9][0-9]*$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

export function isGat1400Id(value: string): boolean {
  return GAT1400_ID_PATTERN.test(value);
}

/** The parts of a 20-digit GA/T 1400 id. */
export interface Gat1400IdParts {
  /** Administrative region, 8 digits (e.g. `37030300`). */
  readonly region: string;
  /** Industry code, 2 digits. */
  readonly industry: string;
  /** Type code, 3 digits (e.g. `119` collection device, `503` 视图库). */
  readonly type: string;
  /** Network identifier, 1 digit. */
  readonly network: string;
  /** Serial, 6 digits. */
  readonly serial: string;
}

export function parseGat1400Id(value: string): Gat1400IdParts {
  if (!isGat1400Id(value)) throw new RangeError(`not a 20-digit GA/T 1400 id: ${JSON.stringify(value)}`);
  return {
    region: value.slice(0, 8),
    industry: value.slice(8, 10),
    type: value.slice(10, 13),
    network: value.slice(13, 14),
    serial: value.slice(14, 20),
  };
}

/**
 * The UUID namespace of Anfang's deterministic event ids. Fixed forever: changing it would
 * make every resent device event look new.
 */
export const EVENT_ID_NAMESPACE = '6f1c1e52-5d8a-4c47-9a4e-2b0f3c9e7a10';

const namespaceBytes = Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex');

/**
 * A deterministic event id (UUIDv5, RFC 9562) from the parts that identify an occurrence, e.g.
 * `deterministicEventId('face', deviceId, sourceObjectId)`: a device's resend of the same
 * capture gets the same id and is deduplicated. Parts are joined unambiguously: SHA-1 over the
 * namespace, then each part as a 4-byte big-endian UTF-8 length and its UTF-8 bytes.
 */
export function deterministicEventId(...parts: readonly string[]): string {
  if (parts.length === 0) throw new RangeError('deterministicEventId needs at least one part');
  // One input buffer and a one-shot hash: every event of device-ingest derives one of these, and a
  // Hash object with an update and a Buffer per part cost 5 % of its CPU.
  let size = namespaceBytes.length;
  for (const part of parts) size += 4 + Buffer.byteLength(part, 'utf8');
  const input = Buffer.allocUnsafe(size);
  let at = namespaceBytes.copy(input, 0);
  for (const part of parts) {
    const length = input.write(part, at + 4, 'utf8');
    input.writeUInt32BE(length, at);
    at += 4 + length;
  }
  const hex = hash('sha1', input, 'hex');
  // Version 5 in the high nibble of byte 6, variant 10 in the high bits of byte 8.
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
