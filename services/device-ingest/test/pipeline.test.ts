/**
 * The ingest pipeline's acknowledgement over the real infrastructure: what `accept` waits for
 * before it resolves (the picture stored, the event on Kafka) and what it does not (the dedupe
 * marks), and that a resend sent the moment the answer arrives is still a duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicEventId, topics } from '@anfang/contracts';
import type { Cache } from '@anfang/platform/cache';
import { createLogger } from '@anfang/platform/log';
import { waitFor } from '@anfang/testing';
import { normaliseGenericEvent } from '../src/domain/normalise/generic.ts';
import { acceptedKey, createIngestPipeline } from '../src/ingest/pipeline.ts';
import type { NormalisedEvent } from '../src/ingest/types.ts';
import { PRODUCER, signedFetch, startHarness, type Harness } from './pipeline-harness.ts';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('test-jpeg-bytes')]);

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ watch: [topics.deviceFaceCaptured] });
}, 90_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const faceEvent = (eventId: string) => ({
  type: 'face_captured',
  eventId,
  time: '2025-11-28T08:00:00.123+08:00',
  liveness: 'genuine',
  direction: 'in',
  images: [{ kind: 'face', data: JPEG.toString('base64') }],
});

function normalised(eventId: string): NormalisedEvent {
  const item = normaliseGenericEvent(faceEvent(eventId), new Map());
  if (!item.ok) throw new Error(`fixture does not normalise: ${JSON.stringify(item)}`);
  return item.event as NormalisedEvent;
}

describe('ingest pipeline acknowledgement', () => {
  it('resolves once the picture is stored and the event is on Kafka, without waiting for the dedupe marks', async () => {
    const { device } = await h.addDevice();
    let release!: () => void;
    const marksHeld = new Promise<void>((resolve) => (release = resolve));
    // The real Redis cache, its marks held back: the acknowledgement must not wait for them.
    const cache: Cache = {
      ...h.cache,
      setManyIfAbsent: async (keys, value, ttlMs) => {
        await marksHeld;
        return h.cache.setManyIfAbsent(keys, value, ttlMs);
      },
    };
    const pipeline = createIngestPipeline({
      bus: h.bus,
      cache,
      objects: h.objects,
      activity: h.core.activity,
      commands: h.core.commands,
      logger: createLogger({ service: PRODUCER, level: 'warn' }),
      producer: PRODUCER,
    });
    const eventId = deterministicEventId('face-captured', device.deviceId, 'held-1');

    const accepted = await pipeline.accept(device, [normalised('held-1')], {
      protocol: 'generic',
      receivedAt: new Date(),
    });

    expect(accepted).toEqual([{ eventId, created: true }]);
    const [message] = await waitFor(() => {
      const m = h.watcher.of(topics.deviceFaceCaptured, device.deviceId);
      return m.length ? m : undefined;
    });
    expect(message!.headers['anfang-event-id']).toBe(eventId);
    expect(
      await h.objects.stat(`captures/370303001001/2025-11-28/${device.deviceId}/${eventId}-0.jpg`),
    ).not.toBeNull();
    expect(await h.cache.get(acceptedKey(eventId))).toBeNull();
    release();
    await waitFor(async () => (await h.cache.get(acceptedKey(eventId))) !== null);
  }, 60_000);

  it('answers a resend sent the moment the first answer arrived as a duplicate', async () => {
    const { device, secret } = await h.addDevice();
    for (let i = 0; i < 20; i++) {
      const body = JSON.stringify({ events: [faceEvent(`now-${i}`)] });
      const first = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/events', body);
      const again = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/events', body);
      expect([first.status, again.status]).toEqual([200, 200]);
      const statusOf = async (res: Response) =>
        ((await res.json()) as { results: { status: string }[] }).results[0]!.status;
      expect([await statusOf(first), await statusOf(again)]).toEqual(['accepted', 'duplicate']);
    }
  }, 60_000);
});
