/**
 * Typed gRPC service descriptions for @grpc/grpc-js, built from the generated static codecs.
 * src/generated/services.ts calls {@link defineService} once per proto service; services use
 * the result:
 *
 * ```ts
 * import { EchoService, type ServiceHandlers } from '@anfang/contracts';
 * const handlers: ServiceHandlers<typeof EchoService> = { echo: (call, cb) => cb(null, { message: call.request.message }) };
 * server.addService(EchoService.definition, handlers);
 * const client = new EchoService.Client('127.0.0.1:50051', grpc.credentials.createInsecure());
 * ```
 */
import * as grpc from '@grpc/grpc-js';
import type { ProtoMessageClass } from './codec.ts';

/** One `google.api.http` binding of a method (the primary rule or an additional binding). */
export interface HttpRule {
  /** HTTP method: GET, PUT, POST, DELETE, PATCH, or a custom verb's kind. */
  readonly method: string;
  /** Path template, e.g. `/v1/compounds/{compound_id}/devices`. */
  readonly path: string;
  /** Proto field paths bound by the template, e.g. `['compound_id']`. */
  readonly pathParams: readonly string[];
  /** `''` no body, `'*'` every field not bound by the path, else the request field mapped to the body. */
  readonly body: string;
  /** `''` the whole response, else the response field used as the body. */
  readonly responseBody: string;
}

/** A method as generated from the proto (input of {@link defineService}). */
export interface MethodSpec<
  Req = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ReqInit = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  Res = any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ResInit = any, // eslint-disable-line @typescript-eslint/no-explicit-any
> {
  /** The method's name in the proto, e.g. `Echo`. */
  readonly originalName: string;
  readonly requestType: ProtoMessageClass<Req, ReqInit>;
  readonly responseType: ProtoMessageClass<Res, ResInit>;
  /** Fully qualified request type name. */
  readonly requestTypeName: string;
  /** Fully qualified response type name. */
  readonly responseTypeName: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  /** `google.api.http` bindings, primary first; empty when the method has none. */
  readonly http: readonly HttpRule[];
}

type ReqOf<S> = S extends MethodSpec<infer Req, unknown, unknown, unknown> ? Req : never;
type ReqInitOf<S> = S extends MethodSpec<unknown, infer I, unknown, unknown> ? I : never;
type ResOf<S> = S extends MethodSpec<unknown, unknown, infer Res, unknown> ? Res : never;
type ResInitOf<S> = S extends MethodSpec<unknown, unknown, unknown, infer I> ? I : never;

/** The grpc-js server handler type of a method. */
export type MethodHandler<S extends MethodSpec> = S['requestStream'] extends true
  ? S['responseStream'] extends true
    ? grpc.handleBidiStreamingCall<ReqOf<S>, ResInitOf<S>>
    : grpc.handleClientStreamingCall<ReqOf<S>, ResInitOf<S>>
  : S['responseStream'] extends true
    ? grpc.handleServerStreamingCall<ReqOf<S>, ResInitOf<S>>
    : grpc.handleUnaryCall<ReqOf<S>, ResInitOf<S>>;

/** A unary client method (grpc-js callback style). */
export interface UnaryClientMethod<ReqInit, Res> {
  (request: ReqInit, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (request: ReqInit, metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (
    request: ReqInit,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientUnaryCall;
}

/** A server-streaming client method. */
export type ServerStreamingClientMethod<ReqInit, Res> = (
  request: ReqInit,
  metadata?: grpc.Metadata,
  options?: Partial<grpc.CallOptions>,
) => grpc.ClientReadableStream<Res>;

/** A client-streaming client method. */
export interface ClientStreamingClientMethod<ReqInit, Res> {
  (callback: grpc.requestCallback<Res>): grpc.ClientWritableStream<ReqInit>;
  (metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientWritableStream<ReqInit>;
  (
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientWritableStream<ReqInit>;
}

/** A bidirectional-streaming client method. */
export type BidiStreamingClientMethod<ReqInit, Res> = (
  metadata?: grpc.Metadata,
  options?: Partial<grpc.CallOptions>,
) => grpc.ClientDuplexStream<ReqInit, Res>;

/** The grpc-js client method type of a method. */
export type ClientMethod<S extends MethodSpec> = S['requestStream'] extends true
  ? S['responseStream'] extends true
    ? BidiStreamingClientMethod<ReqInitOf<S>, ResOf<S>>
    : ClientStreamingClientMethod<ReqInitOf<S>, ResOf<S>>
  : S['responseStream'] extends true
    ? ServerStreamingClientMethod<ReqInitOf<S>, ResOf<S>>
    : UnaryClientMethod<ReqInitOf<S>, ResOf<S>>;

/**
 * A method's grpc-js definition: clients send `ReqInit` and receive `Res`; servers the reverse.
 * `requestStream`/`responseStream` keep the generated literal types (`true`/`false`), so server
 * code (e.g. `@anfang/platform/grpc`'s `HandlerFor`) can tell streaming methods from unary ones.
 */
export interface MethodDefinitionOf<S extends MethodSpec> extends grpc.ServerMethodDefinition<
  ReqOf<S>,
  ResInitOf<S>
> {
  readonly requestStream: S['requestStream'];
  readonly responseStream: S['responseStream'];
  readonly requestSerialize: grpc.serialize<ReqInitOf<S>>;
  readonly responseDeserialize: grpc.deserialize<ResOf<S>>;
}

/** A typed client of a service: a grpc-js Client with one method per RPC (lowerCamel name). */
export type ServiceClient<M extends Record<string, MethodSpec>> = grpc.Client & {
  [K in keyof M]: ClientMethod<M[K]>;
};

/** A generated service: its definition for grpc-js, its methods with HTTP rules, a client class. */
export interface ServiceSpec<M extends Record<string, MethodSpec> = Record<string, MethodSpec>> {
  /** Fully qualified service name, e.g. `anfang.platform.v1.EchoService`. */
  readonly name: string;
  /** Methods by lowerCamel name, each with its gRPC path. */
  readonly methods: { readonly [K in keyof M]: M[K] & { readonly path: string } };
  /** For `server.addService(definition, handlers)` and `makeGenericClientConstructor`. */
  readonly definition: { readonly [K in keyof M]: MethodDefinitionOf<M[K]> };
  /** Client class: `new Client(address, credentials, options?)`. */
  readonly Client: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: Partial<grpc.ClientOptions>,
  ) => ServiceClient<M>;
}

/** Server handlers of a service, by lowerCamel method name. */
export type ServiceHandlers<S extends ServiceSpec> =
  S extends ServiceSpec<infer M> ? { [K in keyof M]: MethodHandler<M[K]> } : never;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Builds a {@link ServiceSpec}; called by generated code. */
export function defineService<const M extends Record<string, MethodSpec>>(
  name: string,
  methods: M,
): ServiceSpec<M> {
  const withPaths: Record<string, MethodSpec & { path: string }> = {};
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, spec] of Object.entries(methods)) {
    const path = `/${name}/${spec.originalName}`;
    withPaths[key] = Object.freeze({ ...spec, path });
    const req = spec.requestType;
    const res = spec.responseType;
    definition[key] = {
      path,
      requestStream: spec.requestStream,
      responseStream: spec.responseStream,
      requestSerialize: (value: unknown) => toBuffer(req.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) => req.decode(bytes),
      responseSerialize: (value: unknown) => toBuffer(res.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => res.decode(bytes),
      originalName: spec.originalName,
    };
  }
  const Client = grpc.makeGenericClientConstructor(definition, name);
  return Object.freeze({
    name,
    methods: Object.freeze(withPaths),
    definition: Object.freeze(definition),
    Client,
  }) as unknown as ServiceSpec<M>;
}
