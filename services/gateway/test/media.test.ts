/**
 * `/v1/media/{key}` in front of a real video-index and the real S3 store: the bytes of an image
 * of the caller's compound, 404 for another compound's, 403 for a role without images, and every
 * read of a face image in the audit log as a personal-data read.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('gateway-media', {}, { video: true });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

async function bytes(path: string, token: string): Promise<{ status: number; body: Buffer; type: string }> {
  const r = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: r.status,
    body: Buffer.from(await r.arrayBuffer()),
    type: r.headers.get('content-type') ?? '',
  };
}

describe('/v1/media/{key}', () => {
  it('streams an image of the caller’s scope, hides another compound’s, and audits face reads', async () => {
    const face = Buffer.from(`face ${randomUUID()}`);
    const scene = Buffer.from(`scene ${randomUUID()}`);
    const faceKey = await h.captureImage(h.compoundA, 'face', face);
    const sceneKey = await h.captureImage(h.compoundA, 'scene', scene);
    const manager = await h.user('community_manager', [h.compoundA]);
    const officer = await h.user('street_officer', [], [h.street]);
    const outsider = await h.user('community_manager', [h.compoundOther]);

    const got = await waitFor(
      async () => {
        const r = await bytes(`/v1/media/${faceKey}`, manager.token);
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 30_000, message: 'the face image was not indexed' },
    );
    expect(got.body).toEqual(face);
    expect(got.type).toContain('image/jpeg');
    expect((await bytes(`/v1/media/${faceKey}`, officer.token)).body).toEqual(face);
    const sceneRead = await waitFor(
      async () => {
        const r = await bytes(`/v1/media/${sceneKey}`, manager.token);
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 30_000, message: 'the scene image was not indexed' },
    );
    expect(sceneRead.body).toEqual(scene);

    expect((await bytes(`/v1/media/${faceKey}`, outsider.token)).status).toBe(404);
    expect((await bytes('/v1/media/device-ingest/captures/none.jpg', manager.token)).status).toBe(404);
    const operator = await h.user('platform_operator', [], ['370303']);
    expect((await bytes(`/v1/media/${faceKey}`, operator.token)).status).toBe(403);
    expect((await fetch(`${h.url}/v1/media/${faceKey}`)).status).toBe(401);

    const auditor = (await h.user('auditor', [])).token;
    const reads = await h.request<{ entries: { subject: string; target: string; role: string }[] }>(
      'GET',
      '/v1/audit?action=personal-data.read&pageSize=500',
      { token: auditor },
    );
    const mediaReads = reads.body.entries.filter((e) => e.target.startsWith('media '));
    expect(mediaReads.map((e) => [e.role, e.target])).toEqual(
      expect.arrayContaining([
        ['community_manager', `media ${faceKey}`],
        ['street_officer', `media ${faceKey}`],
      ]),
    );
    expect(mediaReads.some((e) => e.target === `media ${sceneKey}`)).toBe(false);
  }, 90_000);
});
