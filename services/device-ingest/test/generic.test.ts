/**
 * The generic signed HTTP/JSON API end to end over the real infrastructure: signed events with
 * images to the real topic and bucket, resends deduplicated, and every kind of bad input refused
 * with a 4xx, a quarantine row and the payload in the bucket.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, deterministicEventId, timestampToMillis, topics } from '@anfang/contracts';
import { waitFor } from '@anfang/testing';
import { signedFetch, startHarness, type Harness } from './pipeline-harness.ts';

// A 1×1 JPEG is not needed: the bytes only have to sniff as JPEG.
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('test-jpeg-bytes')]);

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    watch: [topics.deviceFaceCaptured, topics.devicePlateRead],
    maxBodyBytes: 64 * 1024,
  });
}, 90_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const faceEvent = (eventId: string, time: string) => ({
  type: 'face_captured',
  eventId,
  time,
  liveness: 'genuine',
  livenessScore: 0.98,
  direction: 'in',
  images: [{ kind: 'face', data: JPEG.toString('base64') }],
});

async function quarantineRows(deviceId: string | null, reason: string) {
  const { rows } = await h.pool.query<{
    id: string;
    object_key: string | null;
    protocol: string;
    size_bytes: string;
    remote_address: string;
  }>(`SELECT * FROM quarantine WHERE ($1::text IS NULL OR device_id = $1) AND reason LIKE $2 || '%'`, [
    deviceId,
    reason,
  ]);
  return rows;
}

async function expectQuarantined(deviceId: string | null, reason: string) {
  const rows = await waitFor(async () => {
    const r = await quarantineRows(deviceId, reason);
    return r.length ? r : undefined;
  });
  const row = rows[0]!;
  expect(row.protocol).toBe('generic');
  expect(row.object_key).toMatch(/^quarantine\/\d{4}-\d{2}-\d{2}\//);
  expect(await h.objects.stat(row.object_key!)).not.toBeNull();
  return row;
}

describe('generic device API', () => {
  it('publishes a signed event with its image, and a resend only once', async () => {
    const { device, secret } = await h.addDevice();
    const time = '2025-11-28T08:00:00.123+08:00';
    const body = JSON.stringify({ events: [faceEvent('cap-1', time)] });
    const res = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/events', body);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as {
      results: { status: string; eventId: string; deviceEventId: string }[];
    };
    const eventId = deterministicEventId('face-captured', device.deviceId, 'cap-1');
    expect(answer.results).toEqual([{ index: 0, deviceEventId: 'cap-1', status: 'accepted', eventId }]);

    const [msg] = await waitFor(() => {
      const m = h.watcher.of(topics.deviceFaceCaptured, device.deviceId);
      return m.length ? m : undefined;
    });
    const payload = msg!.payload as anfang.device.v1.FaceCaptured;
    expect(msg!.key).toBe(device.deviceId);
    expect(msg!.headers['anfang-event-id']).toBe(eventId);
    expect(payload.meta!.eventId).toBe(eventId);
    expect(payload.meta!.eventType).toBe('anfang.device.v1.FaceCaptured');
    expect(payload.meta!.producer).toBe('device-ingest');
    expect(payload.meta!.compoundId).toBe('370303001001');
    expect(timestampToMillis(payload.meta!.occurredAt!)).toBe(Date.parse(time));
    expect(payload.sourceObjectId).toBe('cap-1');
    expect(payload.liveness).toBe(anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE);
    expect(payload.device!.deviceId).toBe(device.deviceId);
    expect(payload.images).toHaveLength(1);
    const image = payload.images[0]!;
    // The full bucket key (media.proto): readable without knowing device-ingest's store prefix.
    expect(image.objectKey).toBe(
      `device-ingest/captures/370303001001/2025-11-28/${device.deviceId}/${eventId}-0.jpg`,
    );
    expect(image.sha256).toBe(createHash('sha256').update(JPEG).digest('hex'));
    expect(Number(image.sizeBytes)).toBe(JPEG.length);
    expect(image.contentType).toBe('image/jpeg');
    expect(await h.bucket.get(image.objectKey!)).toEqual(JPEG);

    // The resend (new nonce, same event): success, no second event.
    const again = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/events', body);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { results: { status: string }[] }).results[0]!.status).toBe('duplicate');
    // A later event on the same key and partition: once it is here, a second copy would be too.
    const marker = await signedFetch(
      h.baseUrl,
      device,
      secret,
      'POST',
      '/api/v1/device/events',
      JSON.stringify({ events: [faceEvent('cap-2', time)] }),
    );
    expect(marker.status).toBe(200);
    await waitFor(() => h.watcher.of(topics.deviceFaceCaptured, device.deviceId).length >= 2);
    const ids = h.watcher
      .of(topics.deviceFaceCaptured, device.deviceId)
      .map((m) => m.headers['anfang-event-id']);
    expect(ids).toEqual([eventId, deterministicEventId('face-captured', device.deviceId, 'cap-2')]);
  }, 60_000);

  it('takes images as multipart parts and answers per event', async () => {
    const { device, secret } = await h.addDevice({
      deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_PLATE_CAMERA,
    });
    const events = [
      {
        type: 'plate_read',
        eventId: 'p-1',
        time: Date.now(),
        plate: '鲁C12345',
        plateColor: 'blue',
        direction: 'in',
        lane: 1,
        confidence: 0.9,
        spoof: 'genuine',
        images: [{ kind: 'vehicle', part: 'scene' }],
      },
      { type: 'plate_read', eventId: 'p-2', time: 'yesterday' },
    ];
    const boundary = 'anfangboundary42';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="events"\r\nContent-Type: application/json\r\n\r\n`,
      ),
      Buffer.from(JSON.stringify({ events })),
      Buffer.from(
        `\r\n--${boundary}\r\nContent-Disposition: form-data; name="scene"; filename="scene.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      JPEG,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/events', body, {
      contentType: `multipart/form-data; boundary=${boundary}`,
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { results: { status: string; reason?: string }[] };
    expect(answer.results[0]!.status).toBe('accepted');
    expect(answer.results[1]!.status).toBe('rejected');
    expect(answer.results[1]!.reason).toMatch(/time/);
    const [msg] = await waitFor(() => {
      const m = h.watcher.of(topics.devicePlateRead, device.deviceId);
      return m.length ? m : undefined;
    });
    const payload = msg!.payload as anfang.device.v1.PlateRead;
    expect(payload.plateNumber).toBe('鲁C12345');
    expect(payload.plateColor).toBe(anfang.common.v1.PlateColor.PLATE_COLOR_BLUE);
    expect(payload.images[0]!.kind).toBe(anfang.common.v1.ImageKind.IMAGE_KIND_VEHICLE);
    expect(payload.images[0]!.objectKey).toMatch(/^device-ingest\/captures\//);
    expect(await h.bucket.get(payload.images[0]!.objectKey!)).toEqual(JPEG);
    await expectQuarantined(device.deviceId, 'invalid_event');
  }, 60_000);

  it('refuses a bad signature', async () => {
    const { device, secret } = await h.addDevice();
    const res = await signedFetch(
      h.baseUrl,
      device,
      secret,
      'POST',
      '/api/v1/device/events',
      JSON.stringify({ events: [faceEvent('x', new Date().toISOString())] }),
      { secret: 'not-the-secret' },
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('bad_signature');
    await expectQuarantined(device.deviceId, 'bad_signature');
  });

  it('refuses an unsigned request', async () => {
    const { device, secret } = await h.addDevice();
    const res = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/heartbeat', '{}', {
      omitSignature: true,
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('unsigned');
    await expectQuarantined(device.deviceId, 'unsigned');
  });

  it('refuses a replayed nonce and a stale timestamp', async () => {
    const { device, secret } = await h.addDevice();
    const first = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/heartbeat', '{}', {
      nonce: 'nonce-replay-1',
    });
    expect(first.status).toBe(200);
    const replay = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/heartbeat', '{}', {
      nonce: 'nonce-replay-1',
    });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toBe('replayed');
    await expectQuarantined(device.deviceId, 'replayed');
    const stale = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/heartbeat', '{}', {
      timestamp: Date.now() - 3_600_000,
    });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('x-server-time')).toMatch(/^\d+$/);
    expect(((await stale.json()) as { error: string }).error).toBe('stale_timestamp');
  });

  it('refuses an unknown device', async () => {
    const res = await signedFetch(
      h.baseUrl,
      { deviceId: 'no-such-device-zz' },
      'whatever',
      'POST',
      '/api/v1/device/events',
      '{"events":[]}',
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('unknown_device');
    await expectQuarantined('no-such-device-zz', 'unknown_device');
  });

  it('refuses malformed JSON', async () => {
    const { device, secret } = await h.addDevice();
    const res = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/events', '{"events": [');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('malformed');
    const row = await expectQuarantined(device.deviceId, 'malformed');
    expect((await h.objects.get(row.object_key!)).toString()).toBe('{"events": [');
  });

  it('refuses an oversized body and keeps serving', async () => {
    const { device, secret } = await h.addDevice();
    const big = JSON.stringify({
      events: [faceEvent('big', new Date().toISOString())],
      pad: 'x'.repeat(100 * 1024),
    });
    const res = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/events', big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('oversized');
    const row = await expectQuarantined(device.deviceId, 'oversized');
    expect(Number(row.size_bytes)).toBe(Buffer.byteLength(big));
    const time = await fetch(`${h.baseUrl}/api/v1/device/time`);
    expect(time.status).toBe(200);
    expect(((await time.json()) as { timeMs: number }).timeMs).toBeGreaterThan(0);
  });
});
