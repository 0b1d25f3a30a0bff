import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import {
  Client,
  credentials,
  Metadata,
  status,
  type MethodDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  AlreadyExistsError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  createGrpcClient,
  createGrpcServer,
  grpcCodeToHttpStatus,
  grpcService,
  type CallContext,
  type DomainError,
  type GrpcClient,
  type GrpcServer,
} from '../src/grpc/index.ts';
import { Readiness } from '../src/lifecycle/index.ts';
import { createLogger } from '../src/log/index.ts';
import { InMemorySpanExporter, startTelemetry, type Telemetry } from '../src/telemetry/index.ts';
import { TestService, type EchoRequest, type EchoResponse } from './grpc.fixture.ts';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  service: 'grpc-test',
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        logLines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }),
});

const ERRORS: Record<string, () => Error> = {
  notFound: () => new NotFoundError('device d-1 not found', { reason: 'DEVICE_NOT_FOUND' }),
  invalid: () =>
    new InvalidArgumentError('request is invalid', [
      { field: 'address.postal_code', description: 'must be 6 digits' },
      { field: 'serial', description: 'required' },
    ]),
  exists: () => new AlreadyExistsError('device already registered'),
  precondition: () => new FailedPreconditionError('zone is not armed'),
  denied: () => new PermissionDeniedError('not your compound'),
  unauthenticated: () => new UnauthenticatedError('token expired'),
  exhausted: () => new ResourceExhaustedError('rate limit'),
  unavailable: () => new UnavailableError('database unavailable'),
  aborted: () => new AbortedError('version conflict'),
  internal: () => new InternalError('invariant broken: row 42 has password=hunter2'),
  bug: () => new TypeError("Cannot read properties of undefined (reading 'secretThing')"),
};

let signalAborted: string | undefined;
let unavailableOnce = 0;
let client: GrpcClient<typeof TestService>;

const implementation = {
  async echo(request: EchoRequest, ctx: CallContext): Promise<EchoResponse> {
    if (request.fail === 'unavailable-once' && unavailableOnce++ === 0)
      throw new UnavailableError('try again');
    if (request.fail && request.fail !== 'unavailable-once') throw ERRORS[request.fail]!();
    if (request.sleepMs) {
      try {
        await sleep(request.sleepMs, undefined, { signal: ctx.signal });
      } catch {
        signalAborted = String((ctx.signal.reason as Error).message);
        throw new DeadlineExceededError('gave up');
      }
    }
    if (request.text === 'nested') {
      const inner = await client.echo({ text: 'inner' });
      return { text: 'outer', deadline: inner.deadline };
    }
    return {
      text: request.text,
      traceId: trace.getActiveSpan()?.spanContext().traceId,
      deadline: ctx.deadline?.getTime(),
    };
  },
  async *count(request: { upTo: number }) {
    for (let n = 1; n <= request.upTo; n++) yield { n };
  },
  async sum(requests: AsyncIterable<{ n: number }>) {
    let total = 0;
    for await (const r of requests) total += r.n;
    return { total };
  },
  async *chat(requests: AsyncIterable<{ text: string }>) {
    for await (const r of requests) yield { text: r.text.toUpperCase() };
  },
};

let server: GrpcServer;
const readiness = new Readiness();

beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'grpc-test',
    spanExporter: exporter,
    metricsExporter: 'prometheus',
  });
  server = await createGrpcServer({
    services: [grpcService(TestService, implementation)],
    port: 0,
    host: '127.0.0.1',
    logger,
    readiness,
    defaultDeadlineMs: 1500,
  });
  client = createGrpcClient(TestService, `127.0.0.1:${server.port}`, { deadlineMs: 5000 });
});

afterAll(async () => {
  client.close();
  await server.shutdown(1000);
  await telemetry.shutdown();
});

beforeEach(() => {
  exporter.reset();
  logLines.length = 0;
});

describe('gRPC server and client', () => {
  it('answers a unary call and continues the trace from client to server', async () => {
    const response = await client.echo({ text: 'hello' });
    expect(response.text).toBe('hello');
    const spans = exporter.getFinishedSpans();
    const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT);
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
    expect(clientSpan?.name).toBe('anfang.test.v1.TestService/Echo');
    expect(serverSpan?.spanContext().traceId).toBe(clientSpan?.spanContext().traceId);
    expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
    expect(response.traceId).toBe(serverSpan?.spanContext().traceId);
    expect(serverSpan?.attributes).toMatchObject({ 'rpc.system.name': 'grpc', 'rpc.status_code': 'OK' });
  });

  it('writes one access-log line per call, with the trace id', async () => {
    await client.echo({ text: 'log me' });
    const line = logLines.find(
      (l) => l.msg === 'grpc call' && l.method === 'anfang.test.v1.TestService/Echo',
    );
    expect(line).toMatchObject({ level: 'info', code: 'OK', component: 'grpc' });
    expect(typeof line?.duration_ms).toBe('number');
    expect(line?.trace_id).toBe(
      exporter
        .getFinishedSpans()
        .find((s) => s.kind === SpanKind.SERVER)
        ?.spanContext().traceId,
    );
  });

  it.each([
    ['notFound', NotFoundError, status.NOT_FOUND, 404],
    ['invalid', InvalidArgumentError, status.INVALID_ARGUMENT, 400],
    ['exists', AlreadyExistsError, status.ALREADY_EXISTS, 409],
    ['precondition', FailedPreconditionError, status.FAILED_PRECONDITION, 400],
    ['denied', PermissionDeniedError, status.PERMISSION_DENIED, 403],
    ['unauthenticated', UnauthenticatedError, status.UNAUTHENTICATED, 401],
    ['exhausted', ResourceExhaustedError, status.RESOURCE_EXHAUSTED, 429],
    ['aborted', AbortedError, status.ABORTED, 409],
  ] as const)(
    'maps %s to its status code and back to the same error class',
    async (fail, Class, code, http) => {
      const err = await client.echo({ text: 'x', fail }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Class);
      expect((err as DomainError).grpcCode).toBe(code);
      expect((err as DomainError).message).toBe(ERRORS[fail]!().message);
      expect(grpcCodeToHttpStatus(code)).toBe(http);
      expect((err as DomainError).httpStatus).toBe(http);
    },
  );

  it('carries field violations and the reason in the richer error model', async () => {
    const invalid = (await client
      .echo({ text: 'x', fail: 'invalid' })
      .catch((e: unknown) => e)) as InvalidArgumentError;
    expect(invalid.violations).toEqual([
      { field: 'address.postal_code', description: 'must be 6 digits' },
      { field: 'serial', description: 'required' },
    ]);
    const notFound = (await client
      .echo({ text: 'x', fail: 'notFound' })
      .catch((e: unknown) => e)) as NotFoundError;
    expect(notFound.reason).toBe('DEVICE_NOT_FOUND');
    // A plain grpc-js client sees the standard status and the grpc-status-details-bin trailer.
    const raw = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const e = await new Promise<ServiceError>((resolve) =>
      raw.makeUnaryRequest(
        TestService.echo.path,
        TestService.echo.requestSerialize,
        TestService.echo.responseDeserialize,
        { text: 'x', fail: 'invalid' },
        (err) => resolve(err as ServiceError),
      ),
    );
    raw.close();
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.metadata.get('grpc-status-details-bin')).toHaveLength(1);
  });

  it('turns unknown exceptions and InternalError into INTERNAL with a generic message, details only in the log', async () => {
    for (const fail of ['bug', 'internal']) {
      logLines.length = 0;
      const err = (await client.echo({ text: 'x', fail }).catch((e: unknown) => e)) as DomainError;
      expect(err).toBeInstanceOf(InternalError);
      expect(err.message).toBe('INTERNAL: internal error');
      expect(JSON.stringify(err)).not.toContain('secretThing');
      const failure = logLines.find((l) => l.msg === 'grpc handler failed');
      expect(failure?.level).toBe('error');
      expect(JSON.stringify(failure?.err)).toContain(fail === 'bug' ? 'secretThing' : 'invariant broken');
      expect(JSON.stringify(failure)).not.toContain('hunter2');
      expect(logLines.find((l) => l.msg === 'grpc call')).toMatchObject({ level: 'error', code: 'INTERNAL' });
    }
    const serverSpan = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    expect(serverSpan?.status.code).toBe(2); // ERROR
  });

  it('enforces the caller deadline and aborts the handler signal', async () => {
    signalAborted = undefined;
    const started = Date.now();
    const err = await client.echo({ text: 'x', sleepMs: 3000 }, { deadlineMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(1000);
    await sleep(50);
    expect(signalAborted).toMatch(/cancelled|deadline/);
  });

  it('gives calls without a deadline the server default', async () => {
    const raw = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const started = Date.now();
    const err = await new Promise<ServiceError>((resolve) =>
      raw.makeUnaryRequest(
        TestService.echo.path,
        TestService.echo.requestSerialize,
        TestService.echo.responseDeserialize,
        { text: 'x', sleepMs: 5000 },
        new Metadata(),
        {},
        (e) => resolve(e as ServiceError),
      ),
    );
    raw.close();
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('shows the handler its deadline and makes nested client calls inherit it', async () => {
    const before = Date.now();
    const direct = await client.echo({ text: 'x' }, { deadlineMs: 3000 });
    expect(direct.deadline).toBeGreaterThanOrEqual(before + 2900);
    expect(direct.deadline).toBeLessThanOrEqual(Date.now() + 3100);
    // The inner call would default to 5000 ms; it inherits the outer 2000 ms instead.
    const nested = await client.echo({ text: 'nested' }, { deadlineMs: 2000 });
    expect(nested.deadline).toBeLessThanOrEqual(Date.now() + 2100);
  });

  it('retries UNAVAILABLE through the service config', async () => {
    unavailableOnce = 0;
    const response = await client.echo({ text: 'retried', fail: 'unavailable-once' });
    expect(response.text).toBe('retried');
    expect(unavailableOnce).toBe(2);
  });

  it('serves server-streaming, client-streaming and bidi methods', async () => {
    const counted: number[] = [];
    for await (const m of client.count({ upTo: 5 })) counted.push(m.n);
    expect(counted).toEqual([1, 2, 3, 4, 5]);
    expect(await client.sum([{ n: 1 }, { n: 2 }, { n: 39 }])).toEqual({ total: 42 });
    const replies: string[] = [];
    for await (const m of client.chat([{ text: 'a' }, { text: 'b' }])) replies.push(m.text);
    expect(replies).toEqual(['A', 'B']);
  });

  it('records rpc.server.call.duration and rpc.client.call.duration by method and code', async () => {
    await client.echo({ text: 'metrics' });
    await client.echo({ text: 'x', fail: 'notFound' }).catch(() => undefined);
    const http = createServer((req, res) => telemetry.metricsHandler?.(req, res));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const { port } = http.address() as { port: number };
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    http.close();
    expect(text).toMatch(
      /rpc_server_call_duration_count\{[^}]*rpc_method="anfang\.test\.v1\.TestService\/Echo"[^}]*rpc_status_code="NOT_FOUND"/,
    );
    expect(text).toMatch(/rpc_client_call_duration_count\{[^}]*rpc_status_code="OK"/);
  });
});

describe('gRPC health service', () => {
  // Typing for the proto-loader definition of grpc.health.v1.Health.
  type HealthDefinition = { Check: MethodDefinition<{ service: string }, { status: string }> };
  const health = () =>
    createGrpcClient(healthService as unknown as HealthDefinition, `127.0.0.1:${server.port}`);

  it('follows readiness: NOT_SERVING while starting, SERVING when ready, NOT_FOUND for unknown services, liveness always SERVING', async () => {
    const h = health();
    expect((await h.Check({ service: '' })).status).toBe('NOT_SERVING');
    readiness.markReady();
    expect((await h.Check({ service: '' })).status).toBe('SERVING');
    expect((await h.Check({ service: 'anfang.test.v1.TestService' })).status).toBe('SERVING');
    await expect(h.Check({ service: 'anfang.nope.v1.Nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect((await h.Check({ service: 'liveness' })).status).toBe('SERVING');
    h.close();
  });

  it('reports NOT_SERVING from the moment shutdown begins', async () => {
    const h = health();
    readiness.markShuttingDown();
    expect((await h.Check({ service: '' })).status).toBe('NOT_SERVING');
    expect((await h.Check({ service: 'anfang.test.v1.TestService' })).status).toBe('NOT_SERVING');
    expect((await h.Check({ service: 'liveness' })).status).toBe('SERVING');
    h.close();
  });
});

describe('gRPC shutdown', () => {
  it('lets in-flight calls finish, then refuses new ones', async () => {
    const own = await createGrpcServer({
      services: [grpcService(TestService, implementation)],
      port: 0,
      host: '127.0.0.1',
      logger,
    });
    const c = createGrpcClient(TestService, `127.0.0.1:${own.port}`, { retry: false });
    await c.echo({ text: 'warm up' });
    const inflight = c.echo({ text: 'slow', sleepMs: 300 });
    await sleep(50);
    const stopped = own.shutdown(5000);
    await expect(inflight).resolves.toMatchObject({ text: 'slow' });
    await stopped;
    await expect(c.echo({ text: 'late' }, { deadlineMs: 500 })).rejects.toSatisfy(
      (e) => e instanceof UnavailableError || e instanceof DeadlineExceededError,
    );
    c.close();
  });
});

describe('gRPC reflection', () => {
  it('lists the served services and returns their descriptors', async () => {
    const { EchoService, reflectionPackageDefinition } = await import('@anfang/contracts');
    const own = await createGrpcServer({
      services: [grpcService(EchoService.definition, { echo: (r) => ({ message: r.message }) })],
      port: 0,
      host: '127.0.0.1',
      logger,
      reflection: reflectionPackageDefinition([EchoService.name]),
    });
    const raw = new Client(`127.0.0.1:${own.port}`, credentials.createInsecure());
    const ask = (request: Buffer) =>
      new Promise<Buffer>((resolve, reject) => {
        const call = raw.makeBidiStreamRequest(
          '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
          (b: Buffer) => b,
          (b: Buffer) => b,
        );
        call.on('data', (b: Buffer) => {
          resolve(b);
          call.end();
        });
        call.on('error', reject);
        call.write(request);
      });
    // ServerReflectionRequest { list_services = 7: "" }
    const list = await ask(Buffer.from([0x3a, 0x00]));
    expect(list.toString('latin1')).toContain('anfang.platform.v1.EchoService');
    // ServerReflectionRequest { file_containing_symbol = 4: "anfang.platform.v1.EchoService" }
    const symbol = Buffer.from('anfang.platform.v1.EchoService');
    const file = await ask(Buffer.concat([Buffer.from([0x22, symbol.length]), symbol]));
    expect(file.toString('latin1')).toContain('EchoRequest');
    raw.close();
    await own.shutdown(1000);
  });
});
