import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '@anfang/testing';
import type { ObjectInfo, ObjectStore } from '../src/objects/types.ts';
import { ObjectNotFoundError } from '../src/objects/types.ts';

export interface ObjectStoreContractOptions {
  /** A store over the suite's bucket/folder with the given prefix. */
  readonly make: (prefix: string) => Promise<ObjectStore>;
  /** Whether the backend must accept lifecycle rules (true), must refuse them (false), or either. */
  readonly lifecycle: boolean | 'either';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect(iter: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of iter) out.push(o);
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of unknown length (forces the streaming/multipart path). */
function streamOf(data: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
    })(),
  );
}

/** Maps with limited parallelism. */
async function parallel<T>(items: readonly T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The behaviour every ObjectStore must have; run by objects.s3.test.ts and objects.directory.test.ts. */
export function objectStoreContract(name: string, options: ObjectStoreContractOptions): void {
  describe(`ObjectStore contract: ${name}`, () => {
    const fresh = () => options.make(uniqueName('svc'));

    it('put/get/stat round-trip of bytes, with content type and metadata', async () => {
      const store = await fresh();
      const body = randomBytes(10_000);
      const put = await store.put('images/cam-1/0001.jpg', body, {
        contentType: 'image/jpeg',
        metadata: { camera: 'cam-1', 'event-id': 'e-42' },
      });
      expect(put).toMatchObject({ key: 'images/cam-1/0001.jpg', size: body.length });
      expect(put.etag).toBeTruthy();
      expect(Buffer.compare(await store.get('images/cam-1/0001.jpg'), body)).toBe(0);
      expect(Buffer.compare(await readAll(await store.getStream('images/cam-1/0001.jpg')), body)).toBe(0);
      const stat = await store.stat('images/cam-1/0001.jpg');
      expect(stat).toMatchObject({
        key: 'images/cam-1/0001.jpg',
        size: body.length,
        etag: put.etag,
        contentType: 'image/jpeg',
        metadata: { camera: 'cam-1', 'event-id': 'e-42' },
      });
      expect(stat!.lastModified).toBeInstanceOf(Date);
      expect(Math.abs(stat!.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
    });

    it('streams a body of unknown length up and down', async () => {
      const store = await fresh();
      const body = randomBytes(6 * 1024 * 1024 + 123);
      const put = await store.put('clips/big.bin', streamOf(body));
      expect(put.size).toBe(body.length);
      const back = await readAll(await store.getStream('clips/big.bin'));
      expect(createHash('sha256').update(back).digest('hex')).toBe(
        createHash('sha256').update(body).digest('hex'),
      );
      expect((await store.stat('clips/big.bin'))?.size).toBe(body.length);
    });

    it('stores empty objects and unicode keys', async () => {
      const store = await fresh();
      await store.put('empty', new Uint8Array(0));
      expect((await store.get('empty')).length).toBe(0);
      expect((await store.stat('empty'))?.size).toBe(0);
      const key = 'снимки/カメラ 1/a b=c&d$e#f?g(h)!~*\'"<x>;.jpg';
      await store.put(key, Buffer.from('unicode'));
      expect((await store.get(key)).toString()).toBe('unicode');
      expect((await collect(store.list('снимки/'))).map((o) => o.key)).toEqual([key]);
      await store.delete([key, 'empty']);
      expect(await store.stat(key)).toBeNull();
    });

    it('absent objects: stat is null, get and getStream throw ObjectNotFoundError', async () => {
      const store = await fresh();
      expect(await store.stat('nope/missing.jpg')).toBeNull();
      await expect(store.get('nope/missing.jpg')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.getStream('nope/missing.jpg')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('overwrite replaces bytes, content type and metadata', async () => {
      const store = await fresh();
      await store.put('doc', Buffer.from('first'), { contentType: 'text/plain', metadata: { v: '1' } });
      await store.put('doc', Buffer.from('second version'), { metadata: { w: '2' } });
      expect((await store.get('doc')).toString()).toBe('second version');
      const stat = await store.stat('doc');
      expect(stat?.size).toBe(14);
      expect(stat?.metadata).toEqual({ w: '2' });
      expect(stat?.contentType === undefined || stat.contentType !== 'text/plain').toBe(true);
    });

    it('rejects keys that are not plain relative paths', async () => {
      const store = await fresh();
      for (const bad of [
        '',
        '../escape',
        'a/../../b',
        '/abs',
        'a//b',
        'a/',
        './a',
        'a\\b',
        'nul\u0000',
        '100%',
        'a+b',
        'x&#39;y',
      ]) {
        await expect(store.put(bad, Buffer.from('x')), JSON.stringify(bad)).rejects.toThrow();
        await expect(store.stat(bad), JSON.stringify(bad)).rejects.toThrow();
      }
      await expect(store.put('k', Buffer.from('x'), { metadata: { 'Bad Key': 'v' } })).rejects.toThrow();
      await expect(store.put('k', Buffer.from('x'), { metadata: { 'content-type': 'v' } })).rejects.toThrow();
    });

    it('stores a body given with its sha256, refuses one that does not match it (nothing stored)', async () => {
      const store = await fresh();
      const body = randomBytes(4096);
      const sha256 = createHash('sha256').update(body).digest('hex');
      await store.put('pic/ok.jpg', body, { contentType: 'image/jpeg', sha256 });
      expect(Buffer.compare(await store.get('pic/ok.jpg'), body)).toBe(0);

      const other = createHash('sha256').update('another body').digest('hex');
      await expect(store.put('pic/bad.jpg', body, { sha256: other })).rejects.toThrow();
      expect(await store.stat('pic/bad.jpg')).toBeNull();
      // An existing object is not replaced by a refused put.
      await expect(store.put('pic/ok.jpg', Buffer.from('tampered'), { sha256 })).rejects.toThrow();
      expect(Buffer.compare(await store.get('pic/ok.jpg'), body)).toBe(0);

      await expect(store.put('pic/upper.jpg', body, { sha256: sha256.toUpperCase() })).rejects.toThrow(
        /sha256/,
      );
      await expect(store.put('pic/stream.jpg', streamOf(body), { sha256 })).rejects.toThrow(/stream/);
      expect(await store.stat('pic/stream.jpg')).toBeNull();
    });

    it('lists by prefix in key order, mid-segment prefixes included', async () => {
      const store = await fresh();
      const keys = ['a/b', 'a/c/d', 'a-z', 'a0', 'img.jpg', 'img/2/x', 'img/10/y', 'imgs/z', 'other/q'];
      for (const k of keys) await store.put(k, Buffer.from(k));
      const all = await collect(store.list(''));
      expect(all.map((o) => o.key)).toEqual(
        [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
      );
      expect(all.find((o) => o.key === 'a/c/d')).toMatchObject({ size: 5 });
      expect(all.every((o) => o.etag && o.lastModified instanceof Date)).toBe(true);
      expect((await collect(store.list('img'))).map((o) => o.key)).toEqual([
        'img.jpg',
        'img/10/y',
        'img/2/x',
        'imgs/z',
      ]);
      expect((await collect(store.list('img/'))).map((o) => o.key)).toEqual(['img/10/y', 'img/2/x']);
      expect((await collect(store.list('a/'))).map((o) => o.key)).toEqual(['a/b', 'a/c/d']);
      expect((await collect(store.list('a/c/d'))).map((o) => o.key)).toEqual(['a/c/d']);
      expect(await collect(store.list('nothing-here/'))).toEqual([]);
      expect((await store.get('a/b')).toString()).toBe('a/b');
    });

    it('stores with different prefixes are isolated', async () => {
      const a = await fresh();
      const b = await fresh();
      await a.put('same/key', Buffer.from('A'));
      await b.put('same/key', Buffer.from('B'));
      expect((await a.get('same/key')).toString()).toBe('A');
      expect((await collect(b.list(''))).map((o) => o.key)).toEqual(['same/key']);
      await a.delete(['same/key']);
      expect((await b.get('same/key')).toString()).toBe('B');
    });

    it('prefix + key is the full key: a store with a shorter prefix reads it', async () => {
      const outer = uniqueName('outer');
      const store = await options.make(`${outer}/svc`);
      expect(store.prefix).toBe(`${outer}/svc/`);
      await store.put('img/1.jpg', Buffer.from('pixels'));
      const reader = await options.make(outer);
      expect(reader.prefix).toBe(`${outer}/`);
      const full = store.prefix + 'img/1.jpg';
      expect((await reader.get(full.slice(reader.prefix.length))).toString()).toBe('pixels');
      await store.delete(['img/1.jpg']);
    });

    it('deletes in batches; absent keys are no error; more than 1000 keys list and delete', async () => {
      const store = await fresh();
      const keys = Array.from({ length: 1105 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      await parallel(keys, 16, (k) => store.put(k, Buffer.from(k)));
      await store.put('keep/me', Buffer.from('kept'));
      const listed = await collect(store.list('many/'));
      expect(listed).toHaveLength(keys.length);
      expect(listed.map((o) => o.key)).toEqual(keys);
      await store.delete([...keys, 'many/never-existed', keys[0]!]);
      expect(await collect(store.list('many/'))).toEqual([]);
      expect((await store.get('keep/me')).toString()).toBe('kept');
      await store.delete([]);
      await store.delete(['keep/me']);
      expect(await store.stat('keep/me')).toBeNull();
    });

    it('presigned GET: the URL serves the bytes until it expires, and not when tampered with', async () => {
      const store = await fresh();
      const body = randomBytes(2048);
      await store.put('snap/cam 1/ü.jpg', body, { contentType: 'image/jpeg' });
      const url = await store.presignedGetUrl('snap/cam 1/ü.jpg', 2);
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(Buffer.compare(Buffer.from(await ok.arrayBuffer()), body)).toBe(0);
      expect(ok.headers.get('content-type')).toBe('image/jpeg');

      const long = new URL(await store.presignedGetUrl('snap/cam 1/ü.jpg', 600));
      const tamperedSig = new URL(long);
      for (const p of ['signature', 'X-Amz-Signature']) {
        const v = tamperedSig.searchParams.get(p);
        if (v) tamperedSig.searchParams.set(p, (v[0] === 'a' ? 'b' : 'a') + v.slice(1));
      }
      expect((await fetch(tamperedSig)).status).toBeGreaterThanOrEqual(400);
      await store.put('snap/other.jpg', Buffer.from('other'));
      const otherKey = new URL(long);
      otherKey.pathname = otherKey.pathname.replace(/cam%201\/%C3%BC\.jpg$/i, 'other.jpg');
      expect(otherKey.pathname).not.toBe(long.pathname);
      expect((await fetch(otherKey)).status).toBeGreaterThanOrEqual(400);
      const longerExpiry = new URL(url);
      for (const p of ['expires', 'X-Amz-Expires']) {
        if (longerExpiry.searchParams.has(p))
          longerExpiry.searchParams.set(p, String(Number(longerExpiry.searchParams.get(p)) + 3600));
      }
      expect((await fetch(longerExpiry)).status).toBeGreaterThanOrEqual(400);

      await sleep(3_200);
      const expired = await fetch(url);
      expect(expired.status).toBeGreaterThanOrEqual(400);
      expect(expired.status).toBeLessThan(500);
      await expect(store.presignedGetUrl('snap/x', 0)).rejects.toThrow();
    });

    it('lifecycle rules are installed where the backend has lifecycle, else reported false', async () => {
      const store = await fresh();
      const installed = await store.setLifecycle([
        { id: 'tmp', prefix: 'tmp/', expireAfterDays: 1 },
        { id: 'snapshots', prefix: 'snapshots/', expireAfterDays: 30 },
      ]);
      expect(typeof installed).toBe('boolean');
      if (options.lifecycle !== 'either') expect(installed).toBe(options.lifecycle);
      expect(await store.setLifecycle([])).toBe(installed);
    });

    it('check() resolves on a working store', async () => {
      const store = await fresh();
      await store.check();
      await store.close();
    });
  });
}
