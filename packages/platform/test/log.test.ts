import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, redactDeep } from '../src/log/index.ts';
import { InMemorySpanExporter, startTelemetry, type Telemetry } from '../src/telemetry/index.ts';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  let telemetry: Telemetry;
  beforeAll(() => {
    telemetry = startTelemetry({
      serviceName: 'log-test',
      spanExporter: new InMemorySpanExporter(),
      metricsExporter: 'none',
    });
  });
  afterAll(() => telemetry.shutdown());

  it('writes JSON lines with service, level label and ISO time', () => {
    const out = capture();
    createLogger({ service: 'identity', destination: out.stream }).info({ door: 'd1' }, 'opened');
    const [line] = out.lines();
    expect(line).toMatchObject({ service: 'identity', level: 'info', door: 'd1', msg: 'opened' });
    expect(String(line?.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('mixes in the active trace_id and span_id', () => {
    const out = capture();
    const logger = createLogger({ service: 'identity', destination: out.stream });
    const span = trace.getTracer('t').startSpan('work');
    context.with(trace.setSpan(context.active(), span), () => logger.info('inside'));
    span.end();
    logger.info('outside');
    const [inside, outside] = out.lines();
    expect(inside?.trace_id).toBe(span.spanContext().traceId);
    expect(inside?.span_id).toBe(span.spanContext().spanId);
    expect(outside?.trace_id).toBeUndefined();
  });

  it('redacts secret-looking keys at any depth and credentials in URLs', () => {
    const out = capture();
    const logger = createLogger({ service: 'identity', destination: out.stream });
    const person = {
      name: '张三',
      id_number: '110101199003077777',
      phone: '13800138000',
      idCardNo: 'x',
      mobile: '139',
    };
    const original = structuredClone(person);
    logger.info(
      {
        person,
        headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'x-request-id': 'r1' },
        db: {
          url: 'postgres://anfang:pg-pass@db:5432/identity',
          password: 'p',
          nested: [{ accessToken: 't', apiKey: 'k' }],
        },
        client_secret: 's',
      },
      'registered %s',
      'redis://:redis-pass@cache:6379',
    );
    const [line] = out.lines();
    const text = JSON.stringify(line);
    for (const secretValue of [
      '110101199003077777',
      '13800138000',
      'Bearer abc',
      'sid=1',
      'pg-pass',
      'redis-pass',
      '"p"',
      '"t"',
      '"k"',
      '"s"',
    ]) {
      expect(text).not.toContain(secretValue);
    }
    expect(text).toContain('张三');
    expect(text).toContain('r1');
    expect(line?.msg).toBe('registered redis://:[REDACTED]@cache:6379');
    expect((line?.db as { url: string }).url).toBe('postgres://anfang:[REDACTED]@db:5432/identity');
    expect(person).toEqual(original); // the logged object is not mutated
  });

  it('serialises errors, redacting their secret properties and messages', () => {
    const out = capture();
    const logger = createLogger({ service: 'identity', destination: out.stream });
    const err = Object.assign(new TypeError('connect postgres://u:err-pass@db failed'), {
      token: 'tok',
      code: 'ECONNREFUSED',
    });
    logger.error({ err }, 'failed');
    logger.error(err);
    const [a, b] = out.lines();
    expect(a?.err).toMatchObject({ type: 'TypeError', code: 'ECONNREFUSED', token: '[REDACTED]' });
    expect(JSON.stringify(a)).not.toContain('err-pass');
    expect(JSON.stringify(b)).not.toContain('err-pass');
    expect(b?.msg).toBe('connect postgres://u:[REDACTED]@db failed');
  });

  it('child loggers keep bindings, level and redaction', () => {
    const out = capture();
    const logger = createLogger({ service: 'patrol', level: 'warn', destination: out.stream });
    const child = logger.child({ component: 'rounds' });
    child.info('dropped');
    child.warn({ password: 'x' }, 'kept');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'patrol',
      component: 'rounds',
      password: '[REDACTED]',
      msg: 'kept',
    });
  });

  it('redactDeep survives cycles', () => {
    const a: Record<string, unknown> = { token: 'x' };
    a.self = a;
    expect(() => redactDeep(a)).not.toThrow();
  });
});
