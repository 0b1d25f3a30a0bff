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
  const post = (n: number, body = '', signal?: AbortSignal) =>
    fetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body, headers: { 'x-n': String(n) }, signal });
  const until = async (count: number) => {
    while (arrived.length < count) await new Promise((r) => setTimeout(r, 5));
  };
  return {
    post,
    until,
    arrived,
    release: () => waiting.shift()!(),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        // A failed test leaves requests unanswered; they must not hold the server open.
        server.closeAllConnections();
      }),
  };
}

/** Bounds that never bind, for the tests of one bound. */
const UNBOUNDED = { maxRequests: 1000, maxBytes: 1 << 30, maxProcessing: 1000, maxProcessingBytes: 1 << 30 };

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('admission control', () => {
  it('answers 503 with Retry-After beyond maxRequests in flight, and admits again once one finished', async () => {
    const s = await start({ ...UNBOUNDED, maxRequests: 2 });
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
    const s = await start({ ...UNBOUNDED, maxRequests: 10, maxBytes: 100, retryAfterSeconds: 3 });
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

  it('processes at most maxProcessingBytes of bodies at once: the others wait unread, in arrival order, none lost', async () => {
    const s = await start({ ...UNBOUNDED, maxProcessingBytes: 6400 });
    close = s.close;
    // Three batches of 3 000 bytes: only two fit at once.
    const batch = (n: number) => s.post(n, String(n).repeat(3000));
    const first = batch(1);
    await s.until(1);
    const second = batch(2);
    await s.until(2);
    const third = batch(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.arrived).toEqual(['1', '2']);
    // A heartbeat-sized request never waits behind batches.
    const small = s.post(4, 'x'.repeat(1024));
    await s.until(3);
    expect(s.arrived).toEqual(['1', '2', '4']);
    const fourth = batch(5);
    s.release();
    await s.until(4);
    expect(s.arrived).toEqual(['1', '2', '4', '3']);
    s.release();
    await s.until(5);
    expect(s.arrived).toEqual(['1', '2', '4', '3', '5']);
    s.release();
    s.release();
    s.release();
    expect((await Promise.all([first, second, third, small, fourth])).map((r) => r.status)).toEqual([
      200, 200, 200, 200, 200,
    ]);
  });

  it('processes at most maxProcessing batches at once, however small their bytes', async () => {
    const s = await start({ ...UNBOUNDED, maxProcessing: 2 });
    close = s.close;
    const answers = [1, 2, 3, 4].map((n) => s.post(n, String(n).repeat(2000)));
    await s.until(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.arrived).toHaveLength(2);
    s.release();
    await s.until(3);
    s.release();
    await s.until(4);
    s.release();
    s.release();
    expect((await Promise.all(answers)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('processes a batch alone however large, and lets no batch overtake one that waits', async () => {
    const s = await start({ ...UNBOUNDED, maxProcessingBytes: 6400 });
    close = s.close;
    const big = s.post(1, 'x'.repeat(10_000));
    await s.until(1);
    const a = s.post(2, 'a'.repeat(5000));
    await new Promise((r) => setTimeout(r, 20));
    const b = s.post(3, 'b'.repeat(1200));
    await new Promise((r) => setTimeout(r, 50));
    expect(s.arrived).toEqual(['1']);
    s.release();
    // 5 000 + 1 200 fit together once the big one is done.
    await s.until(3);
    expect(s.arrived).toEqual(['1', '2', '3']);
    s.release();
    s.release();
    expect((await Promise.all([big, a, b])).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('forgets a request whose device gave up while it waited', async () => {
    const s = await start({ ...UNBOUNDED, maxProcessingBytes: 6400, maxRequests: 3 });
    close = s.close;
    const batch = (n: number, signal?: AbortSignal) => s.post(n, 'x'.repeat(5000), signal);
    const first = batch(1);
    await s.until(1);
    const gaveUp = new AbortController();
    const abandoned = batch(2, gaveUp.signal).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 20));
    const third = batch(3);
    await new Promise((r) => setTimeout(r, 50));
    gaveUp.abort();
    expect(await abandoned).toBeInstanceOf(Error);
    // Its place in flight is free again: a fourth is admitted, not shed.
    await new Promise((r) => setTimeout(r, 50));
    const fourth = batch(4);
    s.release();
    await s.until(2);
    s.release();
    await s.until(3);
    s.release();
    expect(s.arrived).toEqual(['1', '3', '4']);
    expect((await Promise.all([first, third, fourth])).map((r) => r.status)).toEqual([200, 200, 200]);
  });
});
