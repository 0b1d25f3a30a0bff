import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionControl } from './admission.ts';

/** A listener whose one route answers only when the test releases it. */
async function start(limits: Parameters<typeof admissionControl>[0]) {
  const app = express();
  app.use(admissionControl(limits));
  const waiting: (() => void)[] = [];
  const arrived: string[] = [];
  app.post('/x', (req, res) => {
    arrived.push(String(req.headers['x-n']));
    waiting.push(() => void res.json({ ok: true }));
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const post = (n: number, body = '') =>
    fetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body, headers: { 'x-n': String(n) } });
  const until = async (count: number) => {
    while (arrived.length < count) await new Promise((r) => setTimeout(r, 5));
  };
  return {
    post,
    until,
    arrived,
    release: () => waiting.shift()!(),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('admission control', () => {
  it('answers 503 with Retry-After beyond maxRequests in flight, and admits again once one finished', async () => {
    const s = await start({ maxRequests: 2, maxBytes: 1 << 20 });
    close = s.close;
    const first = s.post(1);
    const second = s.post(2);
    await s.until(2);
    const refused = await s.post(3);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: 'busy' });
    expect(s.arrived).toEqual(['1', '2']);
    s.release();
    expect((await first).status).toBe(200);
    const fourth = s.post(4);
    await s.until(3);
    expect(s.arrived).toEqual(['1', '2', '4']);
    s.release();
    s.release();
    expect((await second).status).toBe(200);
    expect((await fourth).status).toBe(200);
  });

  it('bounds the declared body bytes in flight, but always admits a request alone', async () => {
    const s = await start({ maxRequests: 10, maxBytes: 100, retryAfterSeconds: 3 });
    close = s.close;
    const big = s.post(1, 'x'.repeat(150));
    await s.until(1);
    const refused = await s.post(2, 'y');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('3');
    s.release();
    expect((await big).status).toBe(200);
    const a = s.post(3, 'a'.repeat(60));
    await s.until(2);
    expect((await s.post(4, 'b'.repeat(41))).status).toBe(503);
    const b = s.post(5, 'c'.repeat(40));
    await s.until(3);
    expect(s.arrived).toEqual(['1', '3', '5']);
    s.release();
    s.release();
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
  });
});
