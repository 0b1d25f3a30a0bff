import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { DomainError, InvalidArgumentError, INTERNAL_MESSAGE } from '../grpc/errors.ts';

/** RFC 9457 problem details. Extension members are allowed. */
export interface Problem {
  /** A URI identifying the problem type; `about:blank` when the status says it all. */
  readonly type?: string;
  readonly title: string;
  readonly status: number;
  /** Human-readable, specific to this occurrence; never internals. */
  readonly detail?: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A stable type URI per domain reason (`DEVICE_NOT_FOUND` → `urn:anfang:problem:device-not-found`). */
export function problemType(reason: string | undefined): string {
  return reason ? `urn:anfang:problem:${reason.toLowerCase().replace(/_/g, '-')}` : 'about:blank';
}

export function titleOf(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

interface HttpErrorLike {
  readonly status?: number;
  readonly statusCode?: number;
  readonly expose?: boolean;
  readonly type?: string;
  readonly message?: string;
}

/**
 * The problem for anything thrown. `internal` is true when it is not an expected, public error:
 * the caller sees a generic 500 and the error must be logged.
 */
export function problemFromError(err: unknown): { problem: Problem; internal: boolean } {
  if (err instanceof DomainError && err.isPublic) {
    const status = err.httpStatus;
    return {
      problem: {
        type: problemType(err.reason),
        title: titleOf(status),
        status,
        detail: err.message,
        ...(err.reason ? { code: err.reason } : {}),
        ...(err instanceof InvalidArgumentError && err.violations.length > 0
          ? { errors: err.violations.map((v) => ({ field: v.field, detail: v.description })) }
          : {}),
      },
      internal: false,
    };
  }
  // http-errors style (body-parser, express): `expose` marks a message meant for the client.
  const e = (typeof err === 'object' && err !== null ? err : {}) as HttpErrorLike;
  const status = e.status ?? e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      problem: {
        type: 'about:blank',
        title: titleOf(status),
        status,
        ...(e.expose && e.message ? { detail: e.message } : {}),
      },
      internal: false,
    };
  }
  return {
    problem: { type: 'about:blank', title: titleOf(500), status: 500, detail: INTERNAL_MESSAGE },
    internal: true,
  };
}

/** Sends a problem+json response, with the trace id so that a report can be matched to its trace. */
export function sendProblem(res: Response, problem: Problem): void {
  const span = trace.getActiveSpan()?.spanContext();
  const body = span && isSpanContextValid(span) ? { ...problem, trace_id: span.traceId } : problem;
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}
