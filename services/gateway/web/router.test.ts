import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRouter } from './index.ts';

describe('dashboardRouter', () => {
  let dist: string;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    dist = await mkdtemp(join(tmpdir(), 'anfang-web-'));
    await mkdir(join(dist, 'assets'));
    await writeFile(join(dist, 'index.html'), '<!doctype html><div id="app"></div>');
    await writeFile(join(dist, 'assets', 'app.js'), 'export {};');
    const app = express();
    app.use(dashboardRouter({ distDir: dist }));
    app.get('/v1/compounds', (_req, res) => void res.json({ compounds: [] }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dist, { recursive: true, force: true });
  });

  it('serves the shell at / uncached', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toContain('id="app"');
  });

  it('serves assets with validators and refuses unknown ones', async () => {
    const asset = await fetch(`${base}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('last-modified')).toBeTruthy();
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${base}/assets/../index.html`)).status).not.toBe(500);
  });

  it('leaves every other path to the routes mounted beside it', async () => {
    const api = await fetch(`${base}/v1/compounds`);
    expect(await api.json()).toEqual({ compounds: [] });
    expect((await fetch(`${base}/overview`)).status).toBe(404);
  });

  it('refuses to start without a built dashboard, saying how to build it', () => {
    expect(() => dashboardRouter({ distDir: join(dist, 'nope') })).toThrow(/pnpm run codegen/);
  });
});
