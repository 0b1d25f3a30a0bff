import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBucket, infraEnv } from '@anfang/testing';
import { createObjectStore, createS3ObjectStore } from '../src/objects/index.ts';
import type { S3ObjectStoreOptions } from '../src/objects/index.ts';
import { objectStoreContract } from './objects.contract.ts';

const { s3 } = infraEnv();
let bucket: Awaited<ReturnType<typeof createTestBucket>>;
const base = (): S3ObjectStoreOptions => ({
  url: s3.endpoint,
  accessKey: s3.accessKey,
  secretKey: s3.secretKey,
  region: s3.region,
  bucket: bucket.bucket,
});

beforeAll(async () => {
  bucket = await createTestBucket('objects-s3');
});
afterAll(async () => {
  await bucket?.drop();
});

objectStoreContract('s3', {
  make: (prefix) => createS3ObjectStore({ ...base(), prefix }),
  // Versity Gateway answers NotImplemented for bucket lifecycle; other S3 servers install it.
  lifecycle: 'either',
});

describe('s3 store specifics', () => {
  it('creates its bucket when asked, and check() fails for a missing bucket', async () => {
    const name = `${bucket.bucket.slice(0, 50)}-auto`;
    const store = await createObjectStore({
      kind: 's3',
      ...base(),
      bucket: name,
      prefix: 'x',
      createBucket: true,
    });
    await store.check();
    await store.put('k', Buffer.from('v'));
    await store.delete(['k']);
    const missing = await createS3ObjectStore({ ...base(), bucket: `${name}-missing` });
    await expect(missing.check()).rejects.toThrow(/does not exist/);
    // Leave the bucket empty; the test bucket fixture owns only its own bucket.
    const { Client } = await import('minio');
    const u = new URL(s3.endpoint);
    const client = new Client({
      endPoint: u.hostname,
      port: Number(u.port),
      useSSL: u.protocol === 'https:',
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
      pathStyle: true,
    });
    await client.removeBucket(name);
  });

  it('signs presigned URLs for the public endpoint when one is configured', async () => {
    const store = await createS3ObjectStore({
      ...base(),
      prefix: 'pub',
      publicUrl: 'https://objects.example.test',
    });
    const url = new URL(await store.presignedGetUrl('a/b.jpg', 60));
    expect(url.origin).toBe('https://objects.example.test');
    expect(url.pathname).toBe(`/${bucket.bucket}/pub/a/b.jpg`);
    expect(url.searchParams.get('X-Amz-Signature')).toBeTruthy();
  });

  it("a whole-object read with the wrong secret is refused with the server's code, not taken for a missing object", async () => {
    const store = await createS3ObjectStore({ ...base(), prefix: 'signed' });
    await store.put('a b/ü.jpg', Buffer.from('pixels'));
    expect((await store.get('a b/ü.jpg')).toString()).toBe('pixels');
    const wrong = await createS3ObjectStore({ ...base(), prefix: 'signed', secretKey: `${s3.secretKey}x` });
    const refused: unknown = await wrong.get('a b/ü.jpg').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Error);
    expect(refused).not.toHaveProperty('name', 'ObjectNotFoundError');
    expect((refused as { code?: string }).code).toMatch(/Signature|AccessDenied|InvalidAccessKey/);
    await store.delete(['a b/ü.jpg']);
    await Promise.all([store.close(), wrong.close()]);
  });

  it('whole-object reads return every byte of a body larger than one socket read, under keys S3 escapes', async () => {
    const store = await createS3ObjectStore({ ...base(), prefix: 'whole' });
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const key = "cam (1)/it's*!=@,;$~ 图.jpg";
    await store.put(key, body);
    const read = await store.get(key);
    expect(read.length).toBe(body.length);
    expect(Buffer.compare(read, body)).toBe(0);
    const many = await Promise.all(Array.from({ length: 20 }, () => store.get(key)));
    expect(many.every((b) => Buffer.compare(b, body) === 0)).toBe(true);
    await store.delete([key]);
    await store.close();
  });
});
