import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
  type Metadata,
  type ServerInterceptor,
  type ServerMethodDefinition,
  type StatusObject,
} from '@grpc/grpc-js';
import {
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  METRIC_RPC_SERVER_CALL_DURATION,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from '../log/index.ts';
import { DURATION_BUCKETS_SECONDS, TRACER_NAME } from '../telemetry/spans.ts';
import { extractMetadata, withDeadline } from './context.ts';
import { grpcCodeName } from './errors.ts';

type PartialStatus = {
  readonly code: number;
  readonly details?: string;
  readonly metadata?: Metadata | null;
};

/** Codes that mean the server failed (span status ERROR, logged at error level). */
const SERVER_FAULTS: ReadonlySet<number> = new Set([
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.UNIMPLEMENTED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

/** Health checks and reflection: not traced, logged at debug (probes call them every few seconds). */
const QUIET = /^\/grpc\.(health|reflection)\./;

/** `/pkg.Service/Method` → `pkg.Service/Method`. */
export function rpcMethodName(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

/**
 * Runs every inbound event (metadata, message, half-close, cancel) of a call in `ctx()`, so that
 * the handler, which grpc-js invokes synchronously from one of them, runs in that context.
 */
function listenInContext(getCtx: () => Context): ServerListenerBuilder {
  return new ServerListenerBuilder()
    .withOnReceiveMessage((message, next) => context.with(getCtx(), () => next(message)))
    .withOnReceiveHalfClose((next) => context.with(getCtx(), () => next()));
}

export interface ObservabilityInterceptorOptions {
  readonly logger: Logger;
}

/**
 * Per call: extracts the caller's trace context from metadata and runs the handler in a SERVER
 * span; writes one structured access-log line; records `rpc.server.call.duration` by method and
 * status code.
 */
export function serverObservabilityInterceptor(options: ObservabilityInterceptorOptions): ServerInterceptor {
  const logger = options.logger;
  const tracer = trace.getTracer(TRACER_NAME);
  const duration = metrics.getMeter(TRACER_NAME).createHistogram(METRIC_RPC_SERVER_CALL_DURATION, {
    description: 'Duration of gRPC calls served',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
  });

  return (descriptor: ServerMethodDefinition<unknown, unknown>, call) => {
    const method = rpcMethodName(descriptor.path);
    const quiet = QUIET.test(descriptor.path);
    const started = performance.now();
    let span: Span | undefined;
    let ctx: Context = context.active();
    let finished = false;

    const finish = (st: PartialStatus): void => {
      if (finished) return;
      finished = true;
      const seconds = (performance.now() - started) / 1000;
      const codeName = grpcCodeName(st.code);
      const attributes = {
        [ATTR_RPC_SYSTEM_NAME]: 'grpc',
        [ATTR_RPC_METHOD]: method,
        [ATTR_RPC_STATUS_CODE]: codeName,
      };
      duration.record(seconds, attributes);
      const fault = SERVER_FAULTS.has(st.code);
      if (span) {
        span.setAttribute(ATTR_RPC_STATUS_CODE, codeName);
        if (fault) span.setStatus({ code: SpanStatusCode.ERROR, message: codeName });
        span.end();
      }
      context.with(ctx, () => {
        const line = {
          method,
          code: codeName,
          duration_ms: Math.round(seconds * 10_000) / 10,
          peer: call.getPeer(),
          ...(st.code !== status.OK && st.details ? { details: st.details } : {}),
        };
        if (fault && st.code !== status.DEADLINE_EXCEEDED) logger.error(line, 'grpc call');
        else if (st.code === status.DEADLINE_EXCEEDED || st.code === status.CANCELLED)
          logger.warn(line, 'grpc call');
        else if (quiet) logger.debug(line, 'grpc call');
        else logger.info(line, 'grpc call');
      });
    };

    const listener = listenInContext(() => ctx)
      .withOnReceiveMetadata((metadata, next) => {
        const parent = extractMetadata(metadata, context.active());
        if (quiet) {
          // Probes every few seconds from every kubelet: counted and logged at debug, not traced.
          ctx = parent;
          context.with(ctx, () => next(metadata));
          return;
        }
        span = tracer.startSpan(
          method,
          {
            kind: SpanKind.SERVER,
            attributes: { [ATTR_RPC_SYSTEM_NAME]: 'grpc', [ATTR_RPC_METHOD]: method },
          },
          parent,
        );
        ctx = trace.setSpan(parent, span);
        context.with(ctx, () => next(metadata));
      })
      .withOnCancel(() => finish({ code: status.CANCELLED, details: 'cancelled by the client' }))
      .build();

    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((st, next) => {
        finish(st);
        next(st);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}

export interface DeadlineInterceptorOptions {
  /**
   * Deadline applied to calls that arrive without one, so that no call can hang forever.
   * Default 30 000 ms.
   */
  readonly defaultDeadlineMs?: number;
}

/**
 * Rejects at once a call whose deadline has already passed; gives calls without a deadline the
 * server default (ending them with DEADLINE_EXCEEDED when it passes); and makes the effective
 * deadline visible to the handler (`CallContext.deadline`/`signal`) and to outgoing client calls,
 * which inherit it.
 */
export function serverDeadlineInterceptor(options: DeadlineInterceptorOptions = {}): ServerInterceptor {
  const defaultMs = options.defaultDeadlineMs ?? 30_000;
  return (_descriptor, call) => {
    let ctx: Context = context.active();
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const end = (st: PartialStatus): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      call.sendStatus({ details: '', metadata: null, ...st } as StatusObject);
    };

    const listener = listenInContext(() => ctx)
      .withOnReceiveMetadata((metadata, next) => {
        // Checked before the handler can start: an expired call does no work at all.
        const incoming = call.getDeadline();
        const incomingMs = incoming instanceof Date ? incoming.getTime() : incoming;
        if (Number.isFinite(incomingMs) && incomingMs <= Date.now()) {
          end({ code: status.DEADLINE_EXCEEDED, details: 'deadline already exceeded on arrival' });
          return;
        }
        const now = Date.now();
        let deadline: Date;
        if (Number.isFinite(incomingMs)) deadline = new Date(incomingMs);
        else {
          deadline = new Date(now + defaultMs);
          timer = setTimeout(
            () =>
              end({
                code: status.DEADLINE_EXCEEDED,
                details: `server default deadline of ${defaultMs} ms exceeded`,
              }),
            defaultMs,
          );
        }
        ctx = withDeadline(context.active(), deadline);
        context.with(ctx, () => next(metadata));
      })
      .withOnCancel(() => clearTimeout(timer))
      .build();

    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMetadata((metadata, next) => {
        if (!ended) next(metadata);
      })
      .withSendMessage((message, next) => {
        if (!ended) next(message);
      })
      .withSendStatus((st, next) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        next(st);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
