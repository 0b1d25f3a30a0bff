/**
 * Events from Kafka become index rows; search by compound, camera, time, plate and person (by
 * role) pages by keyset and returns URLs that serve the image; poison goes to the DLQ; storage
 * figures follow.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, dlqTopic, timestampFromDate, topics } from '@anfang/contracts';
import { HEADER, type Subscription } from '@anfang/platform/bus';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@anfang/platform/grpc';
import { uniqueName, waitFor } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

const { ImageClass } = anfang.video.v1;

let h: Harness;
const dead: { topic: string; eventId: string; reason: string }[] = [];
let dlq: Subscription;

beforeAll(async () => {
  h = await startHarness('video-index');
  dlq = await h.bus.subscribe({
    group: uniqueName('video-dlq-watch'),
    topics: [dlqTopic(topics.deviceFaceCaptured.name), dlqTopic(topics.devicePlateRead.name)],
    handler: async (message) => {
      dead.push({
        topic: message.topic,
        eventId: message.headers[HEADER.eventId] ?? '',
        reason: JSON.stringify(message.headers),
      });
    },
  });
});

afterAll(async () => {
  await dlq?.close();
  await h?.close();
});

const range = (from: Date, to: Date) => ({ from: timestampFromDate(from), to: timestampFromDate(to) });

describe('indexing from Kafka', () => {
  it('indexes every image of face captures, plate reads and access records, once per key', async () => {
    const at = new Date(Date.now() - 3_600_000);
    const face = await h.putImage({ deviceId: 'cam-gate', at });
    const car = await h.putImage({ deviceId: 'cam-lpr', at });
    await h.faceCaptured({ deviceId: 'cam-gate', at, keys: [face] });
    await h.deviceIngest.publish(
      topics.devicePlateRead,
      {
        device: { deviceId: 'cam-lpr' },
        hasPlate: true,
        plateNumber: '鲁C12345',
        images: [{ objectKey: car, kind: anfang.common.v1.ImageKind.IMAGE_KIND_VEHICLE, sizeBytes: 42 }],
      },
      { compoundId: h.compoundId, occurredAt: at },
    );
    // identity forwards the capture with the person it recognised: the same row gains the person.
    const person = randomUUID();
    await h.deviceIngest.publish(
      topics.identityAccessRecorded,
      {
        recordId: randomUUID(),
        device: { deviceId: 'cam-gate' },
        personId: person,
        images: [{ objectKey: face, kind: anfang.common.v1.ImageKind.IMAGE_KIND_FACE }],
      },
      { compoundId: h.compoundId, occurredAt: at },
    );
    await waitFor(
      async () => {
        const { rows } = await h.sql.query('SELECT person_id FROM media_index WHERE object_key = $1', [face]);
        return rows.length === 1 && rows[0].person_id === person;
      },
      { timeoutMs: 30_000, message: 'face indexed with its person' },
    );
    await waitFor(() => h.rows(car), { timeoutMs: 30_000 });

    const { images } = await h.client.searchImages(
      {
        compoundId: h.compoundId,
        plateNumber: '鲁C12345',
        ...range(new Date(at.getTime() - 1000), new Date()),
      },
      { metadata: h.manager },
    );
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({
      objectKey: car,
      deviceId: 'cam-lpr',
      imageClass: ImageClass.IMAGE_CLASS_VEHICLES,
    });

    // The size nobody reported is asked of the store lazily.
    await waitFor(
      async () => {
        const { rows } = await h.sql.query('SELECT size_bytes FROM media_index WHERE object_key = $1', [
          face,
        ]);
        return rows[0]?.size_bytes !== null;
      },
      { timeoutMs: 15_000, message: 'size enriched' },
    );
  });

  it('returns presigned URLs that serve the image, pages by keyset, and filters by camera', async () => {
    const base = Date.now() - 7_200_000;
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      const at = new Date(base + i * 1000);
      const body = Buffer.from(`image ${i} ${randomUUID()}`);
      const key = await h.putImage({ deviceId: 'cam-page', at, body });
      keys.push(key);
      await h.faceCaptured({ deviceId: 'cam-page', at, keys: [key] });
    }
    await waitFor(async () => (await Promise.all(keys.map((k) => h.rows(k)))).every(Boolean), {
      timeoutMs: 30_000,
    });

    const seen: string[] = [];
    let pageToken = '';
    do {
      const res = await h.client.searchImages(
        {
          compoundId: h.compoundId,
          deviceIds: ['cam-page'],
          ...range(new Date(base - 1000), new Date(base + 60_000)),
          page: { pageSize: 2, pageToken },
        },
        { metadata: h.manager },
      );
      expect(res.images.length).toBeLessThanOrEqual(2);
      seen.push(...res.images.map((i) => i.objectKey!));
      pageToken = res.page?.nextPageToken ?? '';
      for (const image of res.images) expect(image.personId).toBe('');
      if (res.images[0]) {
        const fetched = await fetch(res.images[0].url!);
        expect(fetched.status).toBe(200);
        expect(Buffer.from(await fetched.arrayBuffer())).toEqual(
          await h.images.get(res.images[0].objectKey!.slice('device-ingest/'.length)),
        );
      }
    } while (pageToken);
    expect(seen).toEqual([...keys].reverse());
  });

  it('gives one image by key with a URL that serves it, in scope only', async () => {
    const at = new Date(Date.now() - 3_600_000);
    const body = Buffer.from(`one image ${randomUUID()}`);
    const key = await h.putImage({ deviceId: 'cam-one', at, body });
    await h.faceCaptured({ deviceId: 'cam-one', at, keys: [key] });
    await waitFor(() => h.rows(key), { timeoutMs: 30_000 });

    const { image } = await h.client.getImage({ objectKey: key }, { metadata: h.manager });
    expect(image).toMatchObject({ objectKey: key, compoundId: h.compoundId, personId: '' });
    const fetched = await fetch(image!.url!);
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(body);

    const officer = await h.metadataFor({
      subject: 's',
      role: 'street_officer',
      compounds: [],
      areas: [h.compoundId.slice(0, 9)],
    });
    expect((await h.client.getImage({ objectKey: key }, { metadata: officer })).image?.objectKey).toBe(key);
    const outsider = await h.metadataFor({
      subject: 'o',
      role: 'community_manager',
      compounds: ['370303999999999'],
    });
    await expect(h.client.getImage({ objectKey: key }, { metadata: outsider })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(
      h.client.getImage({ objectKey: 'device-ingest/captures/none.jpg' }, { metadata: h.manager }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.client.getImage({ objectKey: '' }, { metadata: h.manager })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('lets only the police search by person, and checks the compound', async () => {
    const now = new Date();
    const window = range(new Date(now.getTime() - 86_400_000), now);
    await expect(
      h.client.searchImages(
        { compoundId: h.compoundId, personId: randomUUID(), ...window },
        { metadata: h.manager },
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      h.client.searchImages(
        { compoundId: h.compoundId, personId: randomUUID(), ...window },
        { metadata: h.police },
      ),
    ).resolves.toMatchObject({ images: [] });
    await expect(
      h.client.searchImages({ compoundId: '370303999999999', ...window }, { metadata: h.manager }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      h.client.searchImages({ compoundId: h.compoundId }, { metadata: h.manager }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('sends poison to the DLQ with the reason, skips foreign keys, and keeps consuming', async () => {
    const noCompound = randomUUID();
    await h.deviceIngest.publish(
      topics.deviceFaceCaptured,
      {
        device: { deviceId: 'cam-x' },
        images: [{ objectKey: 'device-ingest/captures/x/2026-01-01/c/e-0.jpg' }],
      },
      { eventId: noCompound, compoundId: '' },
    );
    const foreign = randomUUID();
    await h.deviceIngest.publish(
      topics.devicePlateRead,
      { device: { deviceId: 'cam-x' }, images: [{ objectKey: 'someone-else/x.jpg' }] },
      { eventId: foreign, compoundId: h.compoundId },
    );
    await h.bus.publish(topics.deviceFaceCaptured.name, [
      {
        key: 'cam-x',
        value: Buffer.from([0xff, 0xff, 0xff, 0x01]),
        headers: { [HEADER.eventId]: 'garbage-1' },
      },
    ]);
    await waitFor(
      () =>
        [noCompound, 'garbage-1'].every((id) =>
          dead.some((d) => d.eventId === id && d.reason.includes(h.serviceName)),
        ),
      { timeoutMs: 60_000, message: 'poison in the DLQ' },
    );
    const at = new Date();
    const key = await h.putImage({ deviceId: 'cam-after', at });
    await h.faceCaptured({ deviceId: 'cam-after', at, keys: [key] });
    await waitFor(() => h.rows(key), { timeoutMs: 30_000, message: 'consumer alive after poison' });
    expect(await h.rows('someone-else/x.jpg')).toBe(0);
    expect(dead.some((d) => d.eventId === foreign)).toBe(false);
  });

  it('reports storage figures per compound and class', async () => {
    const { figures } = await h.client.getStorageFigures(
      { compoundIds: [h.compoundId] },
      { metadata: h.manager },
    );
    const faces = figures.find((f) => f.imageClass === ImageClass.IMAGE_CLASS_FACES);
    const { rows } = await h.sql.query(
      "SELECT count(*)::int AS n FROM media_index WHERE compound_id = $1 AND image_class = 'faces'",
      [h.compoundId],
    );
    expect(Number(faces?.objects)).toBe(rows[0].n);
    expect(Number(faces?.bytes)).toBeGreaterThan(0);
    expect(faces?.oldest).toBeTruthy();
  });
});
