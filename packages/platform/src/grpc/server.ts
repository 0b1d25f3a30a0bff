import { once } from 'node:events';
import {
  Server,
  ServerCredentials,
  type Metadata,
  type MethodDefinition,
  type ServerDuplexStream,
  type ServerInterceptor,
  type ServerOptions,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Logger } from '../log/index.ts';
import type { Readiness } from '../lifecycle/index.ts';
import { recordError } from '../telemetry/spans.ts';
import { trace } from '@opentelemetry/api';
import { activeDeadline } from './context.ts';
import { toGrpcStatus } from './errors.ts';
import {
  rpcMethodName,
  serverDeadlineInterceptor,
  serverObservabilityInterceptor,
} from './server-interceptors.ts';

/** What a handler gets beside its request. */
export interface CallContext {
  /** `pkg.Service/Method`. */
  readonly method: string;
  readonly metadata: Metadata;
  /** The effective deadline: the caller's, or the server default. Outgoing client calls inherit it. */
  readonly deadline: Date | undefined;
  /** Aborted when the caller cancels or the deadline passes: pass it to whatever can be cancelled. */
  readonly signal: AbortSignal;
  readonly peer: string;
}

// Handler shapes. A handler throws a DomainError for an expected failure (NotFoundError, …); any
// other exception becomes INTERNAL with a generic message, its details logged.
export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
export type ServerStreamingHandler<Req, Res> = (
  request: Req,
  ctx: CallContext,
) => AsyncIterable<Res> | Iterable<Res>;
export type ClientStreamingHandler<Req, Res> = (
  requests: AsyncIterable<Req>,
  ctx: CallContext,
) => Promise<Res> | Res;
export type BidiStreamingHandler<Req, Res> = (
  requests: AsyncIterable<Req>,
  ctx: CallContext,
) => AsyncIterable<Res>;

type AnyMethod = MethodDefinition<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type ServerRequest<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Req } ? Req : never;
type ServerResponse<M> = M extends { responseSerialize: (value: infer Res) => Buffer } ? Res : never;

/**
 * The handler type of one method. Streaming shapes need literal `requestStream`/`responseStream`
 * types in the definition; with plain `boolean` flags a method is typed as unary.
 */
export type HandlerFor<M> = M extends { requestStream: true; responseStream: true }
  ? BidiStreamingHandler<ServerRequest<M>, ServerResponse<M>>
  : M extends { requestStream: true }
    ? ClientStreamingHandler<ServerRequest<M>, ServerResponse<M>>
    : M extends { responseStream: true }
      ? ServerStreamingHandler<ServerRequest<M>, ServerResponse<M>>
      : UnaryHandler<ServerRequest<M>, ServerResponse<M>>;

export type ServiceImplementation<D> = { readonly [K in keyof D]: HandlerFor<D[K]> };

export interface GrpcService<D extends ServiceDefinition = ServiceDefinition> {
  readonly definition: D;
  readonly implementation: ServiceImplementation<D>;
}

/** Pairs a definition with its implementation, type-checked. */
export function grpcService<D extends ServiceDefinition>(
  definition: D,
  implementation: ServiceImplementation<D>,
): GrpcService<D> {
  return { definition, implementation };
}

/**
 * What `@grpc/reflection` reads: entries carrying `fileDescriptorProtos` (a proto-loader
 * `PackageDefinition`, or `reflectionPackageDefinition()` of `@anfang/contracts`).
 */
export type ReflectionPackageDefinition = Readonly<Record<string, object>>;

export interface GrpcServerOptions {
  readonly services: readonly GrpcService<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** `GRPC_PORT`; 0 picks a free port (tests). */
  readonly port: number;
  /** Default `0.0.0.0`. */
  readonly host?: string;
  readonly logger: Logger;
  /** The health service follows it (NOT_SERVING until ready and from shutdown on). */
  readonly readiness?: Readiness;
  /** Enables server reflection (grpcurl, Postman) over these descriptors. */
  readonly reflection?: ReflectionPackageDefinition;
  /** Deadline for calls that come without one. Default 30 000 ms. */
  readonly defaultDeadlineMs?: number;
  /** Extra interceptors, run inside the built-in ones (they see the span and deadline). */
  readonly interceptors?: readonly ServerInterceptor[];
  /** Default insecure: inside the cluster, TLS is the mesh's job. */
  readonly credentials?: ServerCredentials;
  /** grpc-js channel options, over the defaults below. */
  readonly options?: ServerOptions;
}

export interface GrpcServer {
  readonly server: Server;
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly health: HealthImplementation;
  /** Sets every registered service (and the overall `""` entry) SERVING or NOT_SERVING. */
  setServing(serving: boolean): void;
  /**
   * NOT_SERVING, then stops accepting and lets in-flight calls finish; after `graceMs`
   * (default 10 000) cancels what is left.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Health-service name that is SERVING as long as the process answers (liveness probes). */
export const LIVENESS_SERVICE = 'liveness';

const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  // Re-balance long-lived HTTP/2 connections across pods behind a Kubernetes Service.
  'grpc.max_connection_age_ms': 5 * 60_000,
  'grpc.max_connection_age_grace_ms': 30_000,
  // Allow client keepalive pings (the client helper pings every 60 s).
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 30_000,
};

/** Serves the services, the standard health service and (optionally) reflection. */
export async function createGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const logger = options.logger.child({ component: 'grpc' });
  const server = new Server({
    ...DEFAULT_SERVER_OPTIONS,
    ...options.options,
    interceptors: [
      serverObservabilityInterceptor({ logger }),
      serverDeadlineInterceptor(
        options.defaultDeadlineMs === undefined ? {} : { defaultDeadlineMs: options.defaultDeadlineMs },
      ),
      ...(options.interceptors ?? []),
      ...(options.options?.interceptors ?? []),
    ],
  });

  const names = [''];
  for (const { definition, implementation } of options.services) {
    server.addService(definition, adapt(definition, implementation as Record<string, unknown>, logger));
    const first = Object.values(definition)[0] as AnyMethod | undefined;
    if (first) names.push(serviceNameOf(first.path));
  }

  const initial: ServingStatus = options.readiness && !options.readiness.serving ? 'NOT_SERVING' : 'SERVING';
  // `liveness` is always SERVING while the process answers: for a native gRPC liveness probe,
  // which must never depend on readiness or dependencies.
  const health = new HealthImplementation({
    ...Object.fromEntries(names.map((n) => [n, initial])),
    [LIVENESS_SERVICE]: 'SERVING',
  });
  health.addToServer(server);
  const setServing = (serving: boolean): void => {
    for (const name of names) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
  };
  const unsubscribe = options.readiness?.onChange((state) => setServing(state === 'ready'));

  if (options.reflection) {
    new ReflectionService(
      options.reflection as ConstructorParameters<typeof ReflectionService>[0],
    ).addToServer(server);
  }

  const host = options.host ?? '0.0.0.0';
  const address = host.includes(':') ? `[${host}]:${options.port}` : `${host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, options.credentials ?? ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  logger.info({ port, services: names.filter(Boolean) }, 'grpc server listening');

  let stopping: Promise<void> | undefined;
  return {
    server,
    port,
    health,
    setServing,
    shutdown(graceMs = 10_000) {
      stopping ??= new Promise<void>((resolve) => {
        unsubscribe?.();
        setServing(false);
        const timer = setTimeout(() => {
          logger.warn(
            { grace_ms: graceMs },
            'grpc calls still running after the grace period; cancelling them',
          );
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          logger.info('grpc server stopped');
          resolve();
        });
      });
      return stopping;
    },
  };
}

/** `/anfang.platform.v1.EchoService/Echo` → `anfang.platform.v1.EchoService`. */
export function serviceNameOf(path: string): string {
  const p = rpcMethodName(path);
  const slash = p.lastIndexOf('/');
  return slash < 0 ? p : p.slice(0, slash);
}

// ---------------------------------------------------------------------------------------------
// Adapting promise/async-iterable handlers to grpc-js callback handlers.

type Call = {
  getPath(): string;
  getPeer(): string;
  metadata: Metadata;
  cancelled: boolean;
  on(event: 'cancelled', listener: () => void): unknown;
};

function callContext(call: Call): { ctx: CallContext; done: () => void } {
  const controller = new AbortController();
  const deadline = activeDeadline();
  const onCancel = (): void => controller.abort(new Error('call cancelled'));
  call.on('cancelled', onCancel);
  let timer: NodeJS.Timeout | undefined;
  if (deadline) {
    timer = setTimeout(
      () => controller.abort(new Error('deadline exceeded')),
      Math.max(0, deadline.getTime() - Date.now()),
    );
  }
  const ctx: CallContext = {
    method: rpcMethodName(call.getPath()),
    metadata: call.metadata,
    deadline,
    signal: controller.signal,
    peer: call.getPeer(),
  };
  return { ctx, done: () => clearTimeout(timer) };
}

function fail(err: unknown, method: string, logger: Logger): ReturnType<typeof toGrpcStatus> {
  const st = toGrpcStatus(err);
  if (st.internal) {
    const span = trace.getActiveSpan();
    if (span) recordError(span, err);
    logger.error({ err, method }, 'grpc handler failed');
  }
  return st;
}

function start<T>(fn: () => T): Promise<Awaited<T>> {
  try {
    return Promise.resolve(fn()) as Promise<Awaited<T>>;
  } catch (err) {
    return Promise.reject(err);
  }
}

async function writeAll(
  call: ServerWritableStream<unknown, unknown>,
  source: AsyncIterable<unknown> | Iterable<unknown>,
  signal: AbortSignal,
): Promise<void> {
  for await (const message of source) {
    if (signal.aborted || call.cancelled) return;
    if (!call.write(message)) {
      await once(call, 'drain', { signal }).catch(() => undefined);
    }
  }
}

function adapt(
  definition: ServiceDefinition,
  implementation: Record<string, unknown>,
  logger: Logger,
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition) as [string, AnyMethod][]) {
    const handler = implementation[name];
    if (typeof handler !== 'function') continue; // grpc-js answers UNIMPLEMENTED
    const h = handler as (...args: unknown[]) => unknown;
    if (!method.requestStream && !method.responseStream) {
      out[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const { ctx, done } = callContext(call);
        start(() => h(call.request, ctx)).then(
          (response) => {
            done();
            callback(null, response);
          },
          (err: unknown) => {
            done();
            callback(fail(err, ctx.method, logger));
          },
        );
      };
    } else if (!method.requestStream && method.responseStream) {
      out[name] = (call: ServerWritableStream<unknown, unknown>) => {
        const { ctx, done } = callContext(call);
        start(() => writeAll(call, h(call.request, ctx) as AsyncIterable<unknown>, ctx.signal)).then(
          () => {
            done();
            call.end();
          },
          (err: unknown) => {
            done();
            call.emit('error', fail(err, ctx.method, logger));
          },
        );
      };
    } else if (method.requestStream && !method.responseStream) {
      out[name] = (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const { ctx, done } = callContext(call);
        start(() => h(call, ctx)).then(
          (response) => {
            done();
            callback(null, response);
          },
          (err: unknown) => {
            done();
            callback(fail(err, ctx.method, logger));
          },
        );
      };
    } else {
      out[name] = (call: ServerDuplexStream<unknown, unknown>) => {
        const { ctx, done } = callContext(call);
        start(() =>
          writeAll(
            call as unknown as ServerWritableStream<unknown, unknown>,
            h(call, ctx) as AsyncIterable<unknown>,
            ctx.signal,
          ),
        ).then(
          () => {
            done();
            call.end();
          },
          (err: unknown) => {
            done();
            call.emit('error', fail(err, ctx.method, logger));
          },
        );
      };
    }
  }
  return out;
}
