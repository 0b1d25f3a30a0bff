import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import {
  createDirectoryObjectStore,
  createObjectStore,
  directoryObjectsHandler,
} from '../src/objects/index.ts';
import type { DirectoryObjectStore } from '../src/objects/index.ts';
import { objectStoreContract } from './objects.contract.ts';

const secret = 'test-signing-secret-0123456789abcdef';
let root: string;
let server: Server;
let baseUrl: string;
const stores = new Map<string, DirectoryObjectStore>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'anfang-objects-'));
  // One express app serving every store made by the suite, like the embedded runner would.
  const app = express();
  app.use('/objects/:store', (req, res, next) => {
    const store = stores.get(req.params.store);
    if (!store) return void res.status(404).end();
    directoryObjectsHandler(store)(req, res, next);
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/objects`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rm(root, { recursive: true, force: true });
});

objectStoreContract('directory', {
  make: async (prefix) => {
    const store = await createDirectoryObjectStore({
      root,
      prefix,
      signingSecret: secret,
      publicBaseUrl: `${baseUrl}/${prefix}`,
    });
    stores.set(prefix, store);
    return store;
  },
  lifecycle: false,
});

describe('directory store specifics', () => {
  it('leaves no temporary files or old data files behind, and prunes emptied folders', async () => {
    const store = await createDirectoryObjectStore({ root, prefix: 'tidy' });
    await store.put('a/b/c.txt', Buffer.from('1'));
    await store.put('a/b/c.txt', Buffer.from('2'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('a/b/c.txt', Buffer.from(String(i)))));
    const files = await readdir(join(root, 'tidy', 'a', 'b'));
    expect(files.filter((f) => f.includes('$t.'))).toEqual([]);
    expect(files.filter((f) => f.includes('$d.'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('$m'))).toEqual(['c.txt$m']);
    await store.delete(['a/b/c.txt']);
    expect(await readdir(join(root, 'tidy'))).toEqual([]);
  });

  it('readers see either the old or the new object while it is replaced, never a mix', async () => {
    const store = await createDirectoryObjectStore({ root, prefix: 'atomic', fsync: false });
    const a = Buffer.alloc(256 * 1024, 'a');
    const b = Buffer.alloc(256 * 1024, 'b');
    await store.put('obj', a);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 30; i++) await store.put('obj', i % 2 ? a : b);
      writing = false;
    })();
    while (writing) {
      const got = await store.get('obj');
      expect(got.length).toBe(a.length);
      expect(got.equals(a) || got.equals(b)).toBe(true);
    }
    await writer;
  });

  it('the handler refuses unsigned requests and serves ranges and HEAD', async () => {
    const store = await createDirectoryObjectStore({
      root,
      prefix: 'served',
      signingSecret: secret,
      publicBaseUrl: `${baseUrl}/served`,
    });
    stores.set('served', store);
    await store.put('v/clip.mp4', Buffer.from('0123456789'), { contentType: 'video/mp4' });
    expect((await fetch(`${baseUrl}/served/v/clip.mp4`)).status).toBe(403);
    const url = await store.presignedGetUrl('v/clip.mp4', 60);
    const part = await fetch(url, { headers: { range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('2345');
    expect(part.headers.get('content-range')).toBe('bytes 2-5/10');
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    const etag = head.headers.get('etag')!;
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    await store.delete(['v/clip.mp4']);
    expect((await fetch(url)).status).toBe(404);
  });

  it('works as a plain http listener with the base path in the URL', async () => {
    const plain = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as AddressInfo).port;
    const store = await createDirectoryObjectStore({
      root,
      prefix: 'plain',
      signingSecret: secret,
      publicBaseUrl: `http://127.0.0.1:${port}/files/`,
    });
    const handler = directoryObjectsHandler(store);
    try {
      await store.put('x/y.txt', Buffer.from('plain'));
      const res = await fetch(await store.presignedGetUrl('x/y.txt', 60));
      expect(await res.text()).toBe('plain');
    } finally {
      await new Promise((r) => plain.close(r));
    }
  });

  it('a URL signed by another secret or for another prefix is refused', async () => {
    const one = await createDirectoryObjectStore({
      root,
      prefix: 'p1',
      signingSecret: secret,
      publicBaseUrl: `${baseUrl}/p1`,
    });
    const other = await createDirectoryObjectStore({
      root,
      prefix: 'p1',
      signingSecret: `${secret}-other`,
      publicBaseUrl: `${baseUrl}/p1`,
    });
    stores.set('p1', one);
    await one.put('k', Buffer.from('v'));
    expect((await fetch(await other.presignedGetUrl('k', 60))).status).toBe(403);
    expect((await fetch(await one.presignedGetUrl('k', 60))).status).toBe(200);
  });

  it('is chosen by configuration and reports no lifecycle', async () => {
    const store = await createObjectStore({ kind: 'directory', root, prefix: 'cfg' });
    expect(store.kind).toBe('directory');
    expect(await store.setLifecycle([{ id: 'x', prefix: '', expireAfterDays: 1 }])).toBe(false);
    await expect(store.presignedGetUrl('k', 60)).rejects.toThrow(/publicBaseUrl/);
  });
});
