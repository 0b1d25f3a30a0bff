import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotFoundError } from '../src/grpc/index.ts';
import { createHttpApp, listen, type HttpServer } from '../src/http/index.ts';
import { Readiness } from '../src/lifecycle/index.ts';
import { createLogger } from '../src/log/index.ts';
import { InMemorySpanExporter, startTelemetry, type Telemetry } from '../src/telemetry/index.ts';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  service: 'http-test',
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        logLines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }),
});

const readiness = new Readiness({ checkTimeoutMs: 200 });
let pgOk = true;
let checkRuns = 0;
let server: HttpServer;
let base: string;

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'http-test', spanExporter: exporter });
  readiness.addCheck('postgres', async () => {
    checkRuns++;
    if (!pgOk) throw new Error('connect ECONNREFUSED postgres://anfang:pg-pass@127.0.0.1:1/x');
  });
  readiness.addCheck('kafka', () => {
    checkRuns++;
  });
  const app = createHttpApp({
    logger,
    readiness,
    bodyLimit: '1kb',
    routes(router) {
      router.post('/v1/echo', (req, res) => {
        res.json({ got: req.body as unknown });
      });
      router.get('/v1/devices/:id', async (req) => {
        await sleep(1);
        throw new NotFoundError(`device ${req.params.id} not found`, { reason: 'DEVICE_NOT_FOUND' });
      });
      router.post('/v1/persons', () => {
        throw new InvalidArgumentError('invalid person', [
          { field: 'id_number', description: 'must be 18 characters' },
        ]);
      });
      router.get('/v1/boom', async () => {
        await sleep(1);
        throw new Error('SELECT * FROM users WHERE password = hunter2 failed at db.internal:5432');
      });
      router.get('/v1/slow', async (_req, res) => {
        await sleep(300);
        res.json({ slow: true });
      });
    },
  });
  server = await listen(app, 0, '127.0.0.1');
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close(1000);
  await telemetry.shutdown();
});

beforeEach(() => {
  exporter.reset();
  logLines.length = 0;
});

describe('probes', () => {
  it('/readyz is 503 while starting, without asking the dependencies', async () => {
    checkRuns = 0;
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'starting', checks: {} });
    expect(checkRuns).toBe(0);
  });

  it('/readyz runs every check once ready', async () => {
    readiness.markReady();
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
    expect(body.status).toBe('ready');
    expect(body.checks.postgres?.status).toBe('ok');
    expect(body.checks.kafka?.status).toBe('ok');
  });

  it('/readyz is 503 listing the failing dependencies (credentials masked)', async () => {
    pgOk = false;
    const res = await fetch(`${base}/readyz`);
    pgOk = true;
    expect(res.status).toBe(503);
    const body = (await res.json()) as {
      status: string;
      failing: string[];
      checks: Record<string, { error?: string }>;
    };
    expect(body.status).toBe('not_ready');
    expect(body.failing).toEqual(['postgres']);
    expect(body.checks.postgres?.error).toContain('ECONNREFUSED');
    expect(JSON.stringify(body)).not.toContain('pg-pass');
  });

  it('/readyz fails a check that exceeds its timeout', async () => {
    const r = new Readiness({ checkTimeoutMs: 50 });
    r.addCheck(
      'hangs',
      (signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    );
    r.markReady();
    const report = await r.check();
    expect(report.ready).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: 'hangs', ok: false, error: 'timed out after 50 ms' });
  });

  it('/healthz is always 200 and never checks dependencies', async () => {
    checkRuns = 0;
    pgOk = false;
    const res = await fetch(`${base}/healthz`);
    pgOk = true;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(checkRuns).toBe(0);
  });

  it('/metrics serves the Prometheus exposition of the meter provider', async () => {
    await fetch(`${base}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(
      /http_server_request_duration_count\{[^}]*http_request_method="POST"[^}]*http_response_status_code="200"[^}]*http_route="\/v1\/echo"/,
    );
  });
});

describe('requests', () => {
  it('parses JSON bodies and logs one line per request, with the trace id', async () => {
    const res = await fetch(`${base}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(await res.json()).toEqual({ got: { a: 1 } });
    const line = logLines.find((l) => l.msg === 'http request' && l.path === '/v1/echo');
    expect(line).toMatchObject({ level: 'info', method: 'POST', route: '/v1/echo', status: 200 });
    const span = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    expect(span?.name).toBe('POST /v1/echo');
    expect(line?.trace_id).toBe(span?.spanContext().traceId);
  });

  it('continues the caller trace from traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${base}/v1/devices/d-9`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    const body = (await res.json()) as { trace_id: string };
    expect(body.trace_id).toBe(traceId);
    const span = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    expect(span?.spanContext().traceId).toBe(traceId);
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });

  it('maps a domain error to problem+json', async () => {
    const res = await fetch(`${base}/v1/devices/d-9`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      type: 'urn:anfang:problem:device-not-found',
      title: 'Not Found',
      status: 404,
      detail: 'device d-9 not found',
      code: 'DEVICE_NOT_FOUND',
      instance: '/v1/devices/d-9',
    });
  });

  it('lists field violations', async () => {
    const res = await fetch(`${base}/v1/persons`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      errors: [{ field: 'id_number', detail: 'must be 18 characters' }],
    });
  });

  it('hides internals of unexpected errors, logging them instead', async () => {
    const res = await fetch(`${base}/v1/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      title: 'Internal Server Error',
      status: 500,
      detail: 'internal error',
    });
    expect(text).not.toContain('SELECT');
    expect(text).not.toContain('db.internal');
    const logged = logLines.find((l) => l.msg === 'http handler failed');
    expect(JSON.stringify(logged)).toContain('db.internal');
    expect(JSON.stringify(logged)).not.toContain('hunter2');
    expect(logLines.find((l) => l.msg === 'http request')).toMatchObject({ level: 'error', status: 500 });
  });

  it('rejects malformed and oversized bodies with problem+json', async () => {
    const bad = await fetch(`${base}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const big = await fetch(`${base}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(5000) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ status: 413, title: 'Payload Too Large' });
  });

  it('answers unknown routes with a 404 problem', async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 404, title: 'Not Found' });
  });
});

describe('shutdown', () => {
  it('/readyz is 503 from the moment shutdown starts; /healthz stays 200', async () => {
    checkRuns = 0;
    readiness.markShuttingDown();
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'shutting_down' });
    expect(checkRuns).toBe(0);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('close() finishes in-flight requests, closes keep-alive connections, refuses new ones', async () => {
    const agent = new Agent({ keepAlive: true });
    const get = (path: string) =>
      new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    await get('/healthz'); // leaves an idle keep-alive connection
    const inflight = get('/v1/slow');
    await sleep(50);
    const started = Date.now();
    const closed = server.close(5000);
    const slow = await inflight;
    expect(slow.status).toBe(200);
    expect(slow.connection).toBe('close');
    await closed;
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    agent.destroy();
  });
});
