import { describe, expect, it } from 'vitest';
import { createLogger } from '@anfang/platform/log';
import { ObjectNotFoundError } from '@anfang/platform/objects';
import type { UploadObject } from '../domain/objects.ts';
import type { OutboxEntry } from '../store/outbox.ts';
import { createPictureReader } from './pictures.ts';

const logger = createLogger({ service: 'pictures-test', level: 'silent' });

const entry = (platformId: string, eventId: string, keys: readonly string[]): OutboxEntry => ({
  platformId,
  object: {
    kind: 'faces',
    objectId: `${eventId}-face`,
    sourceEventId: eventId,
    compoundId: 'c',
    deviceId: 'd',
    body: {},
    images: keys.map((objectKey) => ({ objectKey, info: {} })),
    capturedAt: new Date(0),
  } satisfies UploadObject,
});

/** An object store of `bytes`-long pictures (missing keys absent) that counts its reads. */
function store(pictures: Record<string, number>) {
  const reads: string[] = [];
  return {
    reads,
    get: (key: string): Promise<Buffer> => {
      reads.push(key);
      const size = pictures[key];
      if (size === undefined) return Promise.reject(new ObjectNotFoundError(key));
      return Promise.resolve(Buffer.alloc(size, key));
    },
  };
}

describe('pictures read at enqueue', () => {
  it("keeps a platform's pictures within its budget; beyond it rows keep only their keys", async () => {
    const images = store({ a: 40, b: 40, c: 40 });
    const reader = createPictureReader({
      images,
      held: () => Promise.resolve(new Map([['p2', 100]])),
      budgetBytes: 100,
      logger,
    });
    const out = await reader.attach([
      entry('p1', 'e1', ['a']),
      entry('p1', 'e2', ['b']),
      entry('p1', 'e3', ['c']),
      entry('p2', 'e4', ['a']),
    ]);
    expect(out.map((e) => e.pictures?.bytes)).toEqual([40, 40, undefined, undefined]);
    expect(out[0]!.pictures?.base64).toEqual([Buffer.alloc(40, 'a').toString('base64')]);
    // p2 was full already: none of its pictures were read.
    expect(images.reads).toEqual(['a', 'b', 'c']);
    // What this replica enqueued counts until the held bytes are read again.
    const later = await reader.attach([entry('p1', 'e5', ['a'])]);
    expect(later[0]!.pictures).toBeUndefined();
  });

  it('reads the held bytes again after a second; in between it adds its own', async () => {
    let clock = 0;
    let held = 0;
    const reader = createPictureReader({
      images: store({ a: 40 }),
      held: () => Promise.resolve(new Map([['p', held]])),
      budgetBytes: 100,
      logger,
      now: () => clock,
    });
    expect((await reader.attach([entry('p', 'e1', ['a'])]))[0]!.pictures?.bytes).toBe(40);
    expect((await reader.attach([entry('p', 'e2', ['a'])]))[0]!.pictures?.bytes).toBe(40);
    expect((await reader.attach([entry('p', 'e3', ['a'])]))[0]!.pictures).toBeUndefined();
    held = 0; // drained meanwhile
    clock = 1_000;
    expect((await reader.attach([entry('p', 'e4', ['a'])]))[0]!.pictures?.bytes).toBe(40);
  });

  it('leaves an object whose picture cannot be read now to the senders, whole', async () => {
    const images = store({ a: 10 });
    const failing = {
      get: (key: string) => (key === 'down' ? Promise.reject(new Error('store down')) : images.get(key)),
    };
    const reader = createPictureReader({
      images: failing,
      held: () => Promise.resolve(new Map()),
      budgetBytes: 1_000,
      logger,
    });
    const out = await reader.attach([
      entry('p', 'e1', ['a', 'missing']),
      entry('p', 'e2', ['down']),
      entry('p', 'e3', ['a']),
    ]);
    expect(out.map((e) => e.pictures?.bytes)).toEqual([undefined, undefined, 10]);
  });

  it("reads an event's picture once for every object and platform, but each event's own", async () => {
    const images = store({ a: 10 });
    const reader = createPictureReader({
      images,
      held: () => Promise.resolve(new Map()),
      budgetBytes: 1_000,
      logger,
    });
    const out = await reader.attach([
      entry('p1', 'e1', ['a']),
      entry('p2', 'e1', ['a']),
      entry('p1', 'e2', ['a']),
    ]);
    expect(out.every((e) => e.pictures?.bytes === 10)).toBe(true);
    expect(images.reads).toEqual(['a', 'a']);
  });

  it('reads nothing with a budget of 0', async () => {
    const images = store({ a: 10 });
    const reader = createPictureReader({
      images,
      held: () => Promise.reject(new Error('not asked')),
      budgetBytes: 0,
      logger,
    });
    const out = await reader.attach([entry('p', 'e1', ['a'])]);
    expect(out[0]!.pictures).toBeUndefined();
    expect(images.reads).toEqual([]);
  });
});
