/**
 * The gRPC richer error model (`grpc-status-details-bin` = a serialised google.rpc.Status) for the
 * two details Anfang uses: google.rpc.BadRequest (field violations) and google.rpc.ErrorInfo
 * (a stable machine-readable reason). A few lines of protobuf wire format, so that the platform
 * needs no generated code for it; grpcurl, Envoy and grpc-gateway all read it.
 */

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';
const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

export interface FieldViolation {
  /** Path to the field, e.g. `address.postal_code` or `devices[2].serial`. */
  readonly field: string;
  readonly description: string;
}

export interface StatusDetails {
  readonly code: number;
  readonly message: string;
  readonly violations?: readonly FieldViolation[];
  readonly reason?: string;
  readonly domain?: string;
}

// --- encoding -----------------------------------------------------------------------------

class Writer {
  private readonly parts: Buffer[] = [];
  private varint(value: number): void {
    const bytes: number[] = [];
    let v = value >>> 0;
    if (value < 0) {
      // int32 negatives are ten-byte varints; gRPC codes are never negative, but be correct.
      let big = BigInt.asUintN(64, BigInt(value));
      while (big > 0x7fn) {
        bytes.push(Number((big & 0x7fn) | 0x80n));
        big >>= 7n;
      }
      bytes.push(Number(big));
    } else {
      while (v > 0x7f) {
        bytes.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      bytes.push(v);
    }
    this.parts.push(Buffer.from(bytes));
  }
  int(field: number, value: number): this {
    if (value !== 0) {
      this.varint((field << 3) | 0);
      this.varint(value);
    }
    return this;
  }
  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    this.parts.push(Buffer.from(value));
    return this;
  }
  string(field: number, value: string | undefined): this {
    if (value) this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function encodeStatusDetails(details: StatusDetails): Buffer {
  const w = new Writer().int(1, details.code).string(2, details.message);
  if (details.violations && details.violations.length > 0) {
    const badRequest = new Writer();
    for (const v of details.violations) {
      badRequest.bytes(1, new Writer().string(1, v.field).string(2, v.description).finish());
    }
    w.bytes(3, new Writer().string(1, BAD_REQUEST).bytes(2, badRequest.finish()).finish());
  }
  if (details.reason) {
    const info = new Writer().string(1, details.reason).string(2, details.domain).finish();
    w.bytes(3, new Writer().string(1, ERROR_INFO).bytes(2, info).finish());
  }
  return w.finish();
}

// --- decoding -----------------------------------------------------------------------------

type Field = { readonly no: number; readonly int?: number; readonly bytes?: Buffer };

function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++] as number;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const no = tag >>> 3;
    switch (tag & 7) {
      case 0:
        yield { no, int: varint() | 0 };
        break;
      case 2: {
        const len = varint();
        if (pos + len > buf.length) throw new Error('truncated field');
        yield { no, bytes: buf.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${tag & 7}`);
    }
  }
}

/** Decodes `grpc-status-details-bin`; undefined when it is malformed. */
export function decodeStatusDetails(buf: Buffer): StatusDetails | undefined {
  try {
    let code = 0;
    let message = '';
    const violations: FieldViolation[] = [];
    let reason: string | undefined;
    let domain: string | undefined;
    for (const f of fields(buf)) {
      if (f.no === 1 && f.int !== undefined) code = f.int;
      else if (f.no === 2 && f.bytes) message = f.bytes.toString('utf8');
      else if (f.no === 3 && f.bytes) {
        let typeUrl = '';
        let value: Buffer = Buffer.alloc(0);
        for (const a of fields(f.bytes)) {
          if (a.no === 1 && a.bytes) typeUrl = a.bytes.toString('utf8');
          else if (a.no === 2 && a.bytes) value = a.bytes;
        }
        if (typeUrl === BAD_REQUEST) {
          for (const fv of fields(value)) {
            if (fv.no !== 1 || !fv.bytes) continue;
            let field = '';
            let description = '';
            for (const x of fields(fv.bytes)) {
              if (x.no === 1 && x.bytes) field = x.bytes.toString('utf8');
              else if (x.no === 2 && x.bytes) description = x.bytes.toString('utf8');
            }
            violations.push({ field, description });
          }
        } else if (typeUrl === ERROR_INFO) {
          for (const x of fields(value)) {
            if (x.no === 1 && x.bytes) reason = x.bytes.toString('utf8');
            else if (x.no === 2 && x.bytes) domain = x.bytes.toString('utf8');
          }
        }
      }
    }
    return {
      code,
      message,
      ...(violations.length > 0 ? { violations } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(domain !== undefined ? { domain } : {}),
    };
  } catch {
    return undefined;
  }
}
