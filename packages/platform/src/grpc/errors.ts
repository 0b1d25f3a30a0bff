import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import {
  STATUS_DETAILS_KEY,
  decodeStatusDetails,
  encodeStatusDetails,
  type FieldViolation,
} from './status-details.ts';

export type { FieldViolation } from './status-details.ts';
export type GrpcCode = status;

export interface DomainErrorOptions {
  /** Stable machine-readable reason, UPPER_SNAKE_CASE (`DEVICE_NOT_FOUND`); sent as google.rpc.ErrorInfo. */
  readonly reason?: string;
  readonly cause?: unknown;
}

/**
 * An expected failure with a meaning for the caller. Its message is public: it goes to the client
 * as the gRPC status message / the problem+json `detail` (except for {@link InternalError}).
 * Anything thrown that is not a DomainError is a bug: the client gets INTERNAL with a generic
 * message and the details go to the log.
 */
export abstract class DomainError extends Error {
  abstract readonly grpcCode: GrpcCode;
  readonly reason: string | undefined;
  constructor(message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason;
  }
  get httpStatus(): number {
    return grpcCodeToHttpStatus(this.grpcCode);
  }
  /** Whether the message may be shown to the caller. */
  get isPublic(): boolean {
    return true;
  }
}

export class CancelledError extends DomainError {
  override readonly name = 'CancelledError';
  readonly grpcCode = status.CANCELLED;
}
export class InvalidArgumentError extends DomainError {
  override readonly name = 'InvalidArgumentError';
  readonly grpcCode = status.INVALID_ARGUMENT;
  readonly violations: readonly FieldViolation[];
  constructor(message: string, violations: readonly FieldViolation[] = [], options: DomainErrorOptions = {}) {
    super(message, options);
    this.violations = violations;
  }
}
export class DeadlineExceededError extends DomainError {
  override readonly name = 'DeadlineExceededError';
  readonly grpcCode = status.DEADLINE_EXCEEDED;
}
export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  readonly grpcCode = status.NOT_FOUND;
}
export class AlreadyExistsError extends DomainError {
  override readonly name = 'AlreadyExistsError';
  readonly grpcCode = status.ALREADY_EXISTS;
}
export class PermissionDeniedError extends DomainError {
  override readonly name = 'PermissionDeniedError';
  readonly grpcCode = status.PERMISSION_DENIED;
}
export class ResourceExhaustedError extends DomainError {
  override readonly name = 'ResourceExhaustedError';
  readonly grpcCode = status.RESOURCE_EXHAUSTED;
}
export class FailedPreconditionError extends DomainError {
  override readonly name = 'FailedPreconditionError';
  readonly grpcCode = status.FAILED_PRECONDITION;
}
/** A concurrency conflict (optimistic lock, aborted transaction): the caller may retry the whole sequence. */
export class AbortedError extends DomainError {
  override readonly name = 'AbortedError';
  readonly grpcCode = status.ABORTED;
}
export class OutOfRangeError extends DomainError {
  override readonly name = 'OutOfRangeError';
  readonly grpcCode = status.OUT_OF_RANGE;
}
export class UnimplementedError extends DomainError {
  override readonly name = 'UnimplementedError';
  readonly grpcCode = status.UNIMPLEMENTED;
}
/** A bug or broken invariant. Its message is logged, never sent: the caller sees "internal error". */
export class InternalError extends DomainError {
  override readonly name = 'InternalError';
  readonly grpcCode = status.INTERNAL;
  override get isPublic(): boolean {
    return false;
  }
}
/** A dependency is down; the caller may retry with back-off. */
export class UnavailableError extends DomainError {
  override readonly name = 'UnavailableError';
  readonly grpcCode = status.UNAVAILABLE;
}
export class UnauthenticatedError extends DomainError {
  override readonly name = 'UnauthenticatedError';
  readonly grpcCode = status.UNAUTHENTICATED;
}

export const INTERNAL_MESSAGE = 'internal error';

/** gRPC code → HTTP status, as google.rpc.Code documents it (the grpc-gateway mapping). */
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [status.OK]: 200,
  [status.CANCELLED]: 499,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 400,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
  [status.UNAUTHENTICATED]: 401,
};

export function grpcCodeToHttpStatus(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** `5` → `NOT_FOUND`. */
export function grpcCodeName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? `CODE_${code}`;
}

export interface MappedStatus extends StatusObject {
  /** True when the error was not a public DomainError: log it, it is a bug or an outage. */
  readonly internal: boolean;
}

/** Maps anything thrown by a handler to the status the client receives. */
export function toGrpcStatus(err: unknown): MappedStatus {
  const metadata = new Metadata();
  if (err instanceof DomainError && err.isPublic) {
    const violations = err instanceof InvalidArgumentError ? err.violations : undefined;
    if ((violations && violations.length > 0) || err.reason) {
      metadata.set(
        STATUS_DETAILS_KEY,
        encodeStatusDetails({
          code: err.grpcCode,
          message: err.message,
          ...(violations ? { violations } : {}),
          ...(err.reason ? { reason: err.reason, domain: 'anfang' } : {}),
        }),
      );
    }
    return { code: err.grpcCode, details: err.message, metadata, internal: false };
  }
  return { code: status.INTERNAL, details: INTERNAL_MESSAGE, metadata, internal: true };
}

const BY_CODE: Readonly<Record<number, new (message: string, options?: DomainErrorOptions) => DomainError>> =
  {
    [status.CANCELLED]: CancelledError,
    [status.DEADLINE_EXCEEDED]: DeadlineExceededError,
    [status.NOT_FOUND]: NotFoundError,
    [status.ALREADY_EXISTS]: AlreadyExistsError,
    [status.PERMISSION_DENIED]: PermissionDeniedError,
    [status.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
    [status.FAILED_PRECONDITION]: FailedPreconditionError,
    [status.ABORTED]: AbortedError,
    [status.OUT_OF_RANGE]: OutOfRangeError,
    [status.UNIMPLEMENTED]: UnimplementedError,
    [status.UNAVAILABLE]: UnavailableError,
    [status.UNAUTHENTICATED]: UnauthenticatedError,
  };

/**
 * What a gRPC client call rejects with: the DomainError of the status (with field violations and
 * reason decoded from the richer error model); the grpc-js ServiceError is its `cause`.
 */
export function fromGrpcError(err: ServiceError | (Partial<StatusObject> & Error)): DomainError {
  const code = err.code ?? status.UNKNOWN;
  const details = err.details ?? err.message;
  const bin = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  const rich = Buffer.isBuffer(bin) ? decodeStatusDetails(bin) : undefined;
  const options: DomainErrorOptions = { cause: err, ...(rich?.reason ? { reason: rich.reason } : {}) };
  if (code === status.INVALID_ARGUMENT)
    return new InvalidArgumentError(details, rich?.violations ?? [], options);
  const Ctor = BY_CODE[code];
  if (Ctor) return new Ctor(details, options);
  // UNKNOWN, INTERNAL, DATA_LOSS: a failure of the callee, not something to show our own caller.
  return new InternalError(`${grpcCodeName(code)}: ${details}`, options);
}
