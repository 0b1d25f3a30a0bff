/**
 * Refusing bad input, the same way on every protocol: a 4xx with the reason (JSON by default, or
 * the protocol's own answer), a count in `anfang.device_ingest.rejected{protocol, reason}`, and
 * the payload in the quarantine. Never a 5xx for a client mistake; never a throw out of here.
 *
 *   import { readRawBody, rejectRequest } from '../reject.ts';
 *   router.post('/x', readRawBody(deps.limits), async (req, res) => {
 *     if (!ok) return rejectRequest(deps, req, res, { protocol: 'isapi', status: 400, reason: 'malformed', detail: '…' });
 *   });
 *
 * `readRawBody` leaves the bytes in `req.body` (a Buffer) for signatures and parsers; an
 * oversized or aborted body is refused by the device listener's error handler (413 / 400).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '@anfang/platform/log';
import type { ProtocolName, Quarantine } from '../ingest/types.ts';
import type { ProtocolLimits } from './protocols/types.ts';
import { requestCounter } from './counters.ts';

export type RejectReason =
  | 'malformed'
  | 'unsigned'
  | 'bad_signature'
  | 'replayed'
  | 'stale_timestamp'
  | 'oversized'
  | 'aborted'
  | 'unknown_device'
  | 'inactive_device'
  | 'invalid_event'
  | 'unsupported_media_type'
  | 'unknown_command'
  | (string & {});

export interface RejectInput {
  readonly protocol: ProtocolName;
  readonly status: number;
  readonly reason: RejectReason;
  /** Human-readable; sent to the device, so no secrets. */
  readonly detail: string;
  readonly deviceId?: string | undefined;
  /** The payload to keep; default: `req.body` when it is a Buffer, `rawBodyOf(req)`. */
  readonly body?: Buffer;
  /** Declared size when the body is cut short. */
  readonly size?: number;
  /** Writes the protocol's own refusal instead of the default JSON. */
  readonly respond?: (res: Response, quarantineId: string | undefined) => void;
  /** Skip the quarantine (e.g. nothing worth keeping). */
  readonly keep?: boolean;
}

const rejected = requestCounter(
  'anfang.device_ingest.rejected',
  'Device requests refused for a client mistake, by protocol and reason.',
);

const RAW = Symbol('anfang.rawBody');
type WithRaw = Request & { [RAW]?: Buffer };

/** The raw bytes read so far (whole body after readRawBody; partial when cut short). */
export function rawBodyOf(req: Request): Buffer {
  const raw = (req as WithRaw)[RAW];
  if (raw) return raw;
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

export function remoteAddressOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? '';
}

export async function rejectRequest(
  deps: { readonly quarantine: Quarantine; readonly logger: Logger },
  req: Request,
  res: Response,
  input: RejectInput,
): Promise<void> {
  rejected().add(1, { protocol: input.protocol, reason: input.reason });
  let quarantineId: string | undefined;
  if (input.keep !== false) {
    try {
      quarantineId = await deps.quarantine.keep({
        protocol: input.protocol,
        reason: `${input.reason}: ${input.detail}`.slice(0, 1000),
        status: input.status,
        remoteAddress: remoteAddressOf(req),
        path: req.originalUrl,
        contentType: String(req.headers['content-type'] ?? ''),
        body: input.body ?? rawBodyOf(req),
        ...(input.size !== undefined ? { size: input.size } : {}),
        ...(input.deviceId ? { deviceId: input.deviceId } : {}),
      });
    } catch (err) {
      deps.logger.warn({ err, protocol: input.protocol, reason: input.reason }, 'quarantine failed');
    }
  }
  // A refusal that keeps nothing is an expected protocol step (a Digest challenge before the
  // credentials) or a cheap refusal; it is counted, but logged only at debug so that thousands
  // of devices authenticating do not bury the refusals worth reading.
  const log = input.keep === false ? deps.logger.debug.bind(deps.logger) : deps.logger.info.bind(deps.logger);
  log(
    {
      protocol: input.protocol,
      reason: input.reason,
      status: input.status,
      deviceId: input.deviceId,
      quarantineId,
    },
    'device request refused',
  );
  if (res.headersSent || res.writableEnded) return;
  if (input.respond) return input.respond(res, quarantineId);
  res.status(input.status).json({
    error: input.reason,
    detail: input.detail,
    ...(quarantineId ? { quarantineId } : {}),
  });
}

/** An error raised while reading a body; the device listener turns it into a refusal. */
export class BodyError extends Error {
  override readonly name = 'BodyError';
  readonly status: number;
  readonly reason: RejectReason;
  readonly partial: Buffer;
  readonly size: number;
  constructor(status: number, reason: RejectReason, message: string, partial: Buffer, size: number) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.partial = partial;
    this.size = size;
  }
}

/** How much of an oversized body is kept for the quarantine. */
const OVERSIZED_SAMPLE_BYTES = 64 * 1024;

/**
 * Reads the whole body into `req.body` (a Buffer), refusing more than `limits.maxBodyBytes`
 * (declared or actual) with a BodyError (413) and an aborted upload with one (400).
 */
export function readRawBody(limits: Pick<ProtocolLimits, 'maxBodyBytes'>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if ((req as WithRaw)[RAW]) return next();
    const max = limits.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      res.setHeader('connection', 'close');
      req.resume();
      return next(
        new BodyError(
          413,
          'oversized',
          `body of ${declared} bytes exceeds ${max}`,
          Buffer.alloc(0),
          declared,
        ),
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: BodyError) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onError);
      if (err) return next(err);
      // One chunk (most device requests) needs no copy.
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      (req as WithRaw)[RAW] = body;
      req.body = body;
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        const partial = Buffer.concat(chunks).subarray(0, OVERSIZED_SAMPLE_BYTES);
        res.setHeader('connection', 'close');
        req.resume();
        return finish(new BodyError(413, 'oversized', `body exceeds ${max} bytes`, partial, size));
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onAborted = () =>
      finish(new BodyError(400, 'aborted', 'upload aborted', Buffer.concat(chunks), size));
    const onError = (e: Error) =>
      finish(new BodyError(400, 'aborted', `upload failed: ${e.message}`, Buffer.concat(chunks), size));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onError);
  };
}

/** body-parser's errors (express.json/raw/text in a router) as refusals. */
export function bodyParserRefusal(
  err: unknown,
): { status: number; reason: RejectReason; detail: string } | undefined {
  if (err instanceof BodyError) return { status: err.status, reason: err.reason, detail: err.message };
  const e = err as { type?: unknown; status?: unknown; message?: unknown } | null;
  if (!e || typeof e.type !== 'string') return undefined;
  const detail = typeof e.message === 'string' ? e.message : e.type;
  switch (e.type) {
    case 'entity.too.large':
      return { status: 413, reason: 'oversized', detail };
    case 'entity.parse.failed':
      return { status: 400, reason: 'malformed', detail };
    case 'request.aborted':
      return { status: 400, reason: 'aborted', detail };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, reason: 'unsupported_media_type', detail };
    default:
      return typeof e.status === 'number' && e.status >= 400 && e.status < 500
        ? { status: e.status, reason: 'malformed', detail }
        : undefined;
  }
}
