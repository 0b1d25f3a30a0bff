import { once } from 'node:events';
import {
  Client,
  InterceptingCall,
  ListenerBuilder,
  Metadata,
  RequesterBuilder,
  credentials as grpcCredentials,
  status,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientWritableStream,
  type Interceptor,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, metrics, trace } from '@opentelemetry/api';
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  METRIC_RPC_CLIENT_CALL_DURATION,
} from '@opentelemetry/semantic-conventions';
import { DURATION_BUCKETS_SECONDS, TRACER_NAME } from '../telemetry/spans.ts';
import { activeDeadline, injectMetadata } from './context.ts';
import { CancelledError, fromGrpcError, grpcCodeName, type DomainError } from './errors.ts';
import { rpcMethodName } from './server-interceptors.ts';
import { serviceNameOf } from './server.ts';

export interface RetryOptions {
  /** Attempts including the first (grpc-js caps this at 5). Default 3. */
  readonly maxAttempts?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly backoffMultiplier?: number;
  /** Default `['UNAVAILABLE']`: the request never reached a handler or the server was going away. */
  readonly retryableStatusCodes?: readonly string[];
}

export interface GrpcClientOptions {
  /** Deadline of a call that sets none; an inherited (server-side) deadline wins when sooner. Default 5000 ms. */
  readonly deadlineMs?: number;
  /** Default insecure (the mesh does TLS). */
  readonly credentials?: ChannelCredentials;
  /** Retry policy for UNAVAILABLE via the service config; `false` disables it. */
  readonly retry?: RetryOptions | false;
  /**
   * `round_robin` (default) spreads calls over every address the name resolves to; use a
   * `dns:///name.namespace.svc:50051` address of a headless Service for per-call balancing.
   */
  readonly loadBalancing?: 'round_robin' | 'pick_first';
  readonly channelOptions?: ChannelOptions;
  /** Extra interceptors, run inside the built-in one (they see the CLIENT span). */
  readonly interceptors?: readonly Interceptor[];
}

export interface CallOptions {
  readonly deadlineMs?: number;
  readonly deadline?: Date;
  readonly metadata?: Metadata;
  /** Aborting cancels the call (it rejects with CancelledError). */
  readonly signal?: AbortSignal;
}

type ClientRequest<M> = M extends { requestSerialize: (value: infer Req) => Buffer } ? Req : never;
type ClientResponse<M> = M extends { responseDeserialize: (bytes: Buffer) => infer Res } ? Res : never;

/** Promise/async-iterable method of a client; streaming shapes need literal stream flags in the definition. */
export type ClientMethod<M> = M extends { requestStream: true; responseStream: true }
  ? (
      requests: AsyncIterable<ClientRequest<M>> | Iterable<ClientRequest<M>>,
      options?: CallOptions,
    ) => AsyncIterable<ClientResponse<M>>
  : M extends { requestStream: true }
    ? (
        requests: AsyncIterable<ClientRequest<M>> | Iterable<ClientRequest<M>>,
        options?: CallOptions,
      ) => Promise<ClientResponse<M>>
    : M extends { responseStream: true }
      ? (request: ClientRequest<M>, options?: CallOptions) => AsyncIterable<ClientResponse<M>>
      : (request: ClientRequest<M>, options?: CallOptions) => Promise<ClientResponse<M>>;

export interface GrpcClientHandle {
  /** The underlying grpc-js client (for anything the wrapper does not cover). */
  readonly raw: Client;
  waitForReady(timeoutMs?: number): Promise<void>;
  close(): void;
}

/**
 * A client whose methods return promises (unary, client-streaming) or async iterables
 * (server-streaming, bidi), and reject with the DomainError of the status (NotFoundError, …).
 */
export type GrpcClient<D> = { readonly [K in keyof D]: ClientMethod<D[K]> } & GrpcClientHandle;

type AnyMethod = {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: unknown) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
};

const HANDLE_KEYS = new Set(['raw', 'waitForReady', 'close']);

export function createGrpcClient<D extends ServiceDefinition>(
  definition: D,
  address: string,
  options: GrpcClientOptions = {},
): GrpcClient<D> {
  const methods = Object.entries(definition) as [string, AnyMethod][];
  const first = methods[0];
  if (!first) throw new Error('service definition has no methods');
  for (const [name] of methods) {
    if (HANDLE_KEYS.has(name)) throw new Error(`method name ${name} collides with the client handle`);
  }
  const serviceName = serviceNameOf(first[1].path);
  const client = new Client(address, options.credentials ?? grpcCredentials.createInsecure(), {
    'grpc.service_config': JSON.stringify(serviceConfig(serviceName, options)),
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    ...options.channelOptions,
    interceptors: [clientInterceptor(options.deadlineMs ?? 5000), ...(options.interceptors ?? [])],
  });

  const out: Record<string, unknown> = {
    raw: client,
    close: () => client.close(),
    waitForReady: (timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
      ),
  };
  for (const [name, m] of methods) {
    if (!m.requestStream && !m.responseStream) out[name] = unary(client, m);
    else if (!m.requestStream) out[name] = serverStreaming(client, m);
    else if (!m.responseStream) out[name] = clientStreaming(client, m);
    else out[name] = bidiStreaming(client, m);
  }
  return out as GrpcClient<D>;
}

function serviceConfig(serviceName: string, options: GrpcClientOptions): object {
  const retry = options.retry === false ? undefined : (options.retry ?? {});
  return {
    loadBalancingConfig: [{ [options.loadBalancing ?? 'round_robin']: {} }],
    methodConfig: retry
      ? [
          {
            name: [{ service: serviceName }],
            retryPolicy: {
              maxAttempts: retry.maxAttempts ?? 3,
              initialBackoff: `${(retry.initialBackoffMs ?? 100) / 1000}s`,
              maxBackoff: `${(retry.maxBackoffMs ?? 2000) / 1000}s`,
              backoffMultiplier: retry.backoffMultiplier ?? 2,
              retryableStatusCodes: retry.retryableStatusCodes ?? ['UNAVAILABLE'],
            },
          },
        ]
      : [],
  };
}

/**
 * The built-in client interceptor: a CLIENT span (child of the active context) whose context goes
 * into the metadata; the default deadline, capped by the deadline of the call being served;
 * `rpc.client.call.duration` by method and status code.
 */
export function clientInterceptor(defaultDeadlineMs: number): Interceptor {
  const tracer = trace.getTracer(TRACER_NAME);
  const duration = metrics.getMeter(TRACER_NAME).createHistogram(METRIC_RPC_CLIENT_CALL_DURATION, {
    description: 'Duration of outgoing gRPC calls',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
  });
  return (options, nextCall) => {
    const method = rpcMethodName(options.method_definition.path);
    const parent = context.active();
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.CLIENT, attributes: { [ATTR_RPC_SYSTEM_NAME]: 'grpc', [ATTR_RPC_METHOD]: method } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const started = performance.now();

    const own = options.deadline === undefined ? Date.now() + defaultDeadlineMs : toMs(options.deadline);
    const inherited = activeDeadline(parent)?.getTime() ?? Infinity;
    const deadline = Math.min(own, inherited);

    const requester = new RequesterBuilder()
      .withStart((metadata, listener, next) => {
        injectMetadata(metadata, ctx);
        next(
          metadata,
          new ListenerBuilder()
            .withOnReceiveStatus((st, nextStatus) => {
              const codeName = grpcCodeName(st.code);
              duration.record((performance.now() - started) / 1000, {
                [ATTR_RPC_SYSTEM_NAME]: 'grpc',
                [ATTR_RPC_METHOD]: method,
                [ATTR_RPC_STATUS_CODE]: codeName,
              });
              span.setAttribute(ATTR_RPC_STATUS_CODE, codeName);
              if (st.code !== status.OK)
                span.setStatus({ code: SpanStatusCode.ERROR, message: `${codeName}: ${st.details}` });
              span.end();
              nextStatus(st);
            })
            .build(),
        );
      })
      .build();
    return new InterceptingCall(nextCall({ ...options, deadline }), requester);
  };
}

function toMs(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

function grpcOptions(options: CallOptions | undefined): GrpcCallOptions {
  if (options?.deadline) return { deadline: options.deadline };
  if (options?.deadlineMs !== undefined) return { deadline: Date.now() + options.deadlineMs };
  return {};
}

function cancelledError(): DomainError {
  return new CancelledError('call cancelled by the caller');
}

function unary(client: Client, m: AnyMethod) {
  return (request: unknown, options?: CallOptions): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (options?.signal?.aborted) return reject(cancelledError());
      const call = client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        options?.metadata ?? new Metadata(),
        grpcOptions(options),
        (err: ServiceError | null, response?: unknown) => {
          options?.signal?.removeEventListener('abort', onAbort);
          if (err) reject(fromGrpcError(err));
          else resolve(response);
        },
      );
      const onAbort = (): void => call.cancel();
      options?.signal?.addEventListener('abort', onAbort, { once: true });
    });
}

async function* readAll(
  stream: AsyncIterable<unknown> & { cancel(): void },
  signal?: AbortSignal,
): AsyncGenerator<unknown> {
  const onAbort = (): void => stream.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  let done = false;
  try {
    for await (const message of stream) yield message;
    done = true;
  } catch (err) {
    throw isServiceError(err) ? fromGrpcError(err) : err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!done) stream.cancel(); // the consumer stopped early
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

function serverStreaming(client: Client, m: AnyMethod) {
  return (request: unknown, options?: CallOptions): AsyncIterable<unknown> => {
    if (options?.signal?.aborted) return failing(cancelledError());
    const stream = client.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      options?.metadata ?? new Metadata(),
      grpcOptions(options),
    );
    return readAll(stream, options?.signal);
  };
}

function failing(err: Error): AsyncIterable<never> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
  };
}

async function writeAll(
  stream: ClientWritableStream<unknown>,
  requests: AsyncIterable<unknown> | Iterable<unknown>,
): Promise<void> {
  try {
    for await (const request of requests) {
      if (!stream.write(request)) await once(stream, 'drain');
    }
    stream.end();
  } catch (err) {
    stream.cancel();
    throw err;
  }
}

function clientStreaming(client: Client, m: AnyMethod) {
  return (requests: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (options?.signal?.aborted) return reject(cancelledError());
      const stream = client.makeClientStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        options?.metadata ?? new Metadata(),
        grpcOptions(options),
        (err: ServiceError | null, response?: unknown) => {
          options?.signal?.removeEventListener('abort', onAbort);
          if (err) reject(fromGrpcError(err));
          else resolve(response);
        },
      );
      const onAbort = (): void => stream.cancel();
      options?.signal?.addEventListener('abort', onAbort, { once: true });
      writeAll(stream, requests).catch(reject);
    });
}

function bidiStreaming(client: Client, m: AnyMethod) {
  return (
    requests: AsyncIterable<unknown> | Iterable<unknown>,
    options?: CallOptions,
  ): AsyncIterable<unknown> => {
    if (options?.signal?.aborted) return failing(cancelledError());
    const stream = client.makeBidiStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      options?.metadata ?? new Metadata(),
      grpcOptions(options),
    );
    writeAll(stream as unknown as ClientWritableStream<unknown>, requests).catch(() => undefined);
    return readAll(stream, options?.signal);
  };
}
