/**
 * Pictures read when a capture is enqueued, kept in its outbox row within the platform's budget
 * (POLICE_UPLOAD_ENQUEUED_PICTURE_BYTES), and read at send time beyond it or when the store did
 * not have them at enqueue.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_JPEG_BASE64, PLATE_JPEG_BASE64 } from '@anfang/gat1400/fixtures';
import { s3Client, waitFor } from '@anfang/testing';
import { expectedFaceId, startHarness, type Harness } from './harness.ts';

const FACE_BYTES = Buffer.from(FACE_JPEG_BASE64, 'base64').length;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('police-upload-pictures', {
    extra: { POLICE_UPLOAD_ENQUEUED_PICTURE_BYTES: String(2 * FACE_BYTES) },
  });
});
afterAll(async () => h?.close());

const pictureOf = (id: string): unknown => {
  const face = h.peer.received('faces').find((r) => r.id === id)!.object;
  return (face.SubImageList as { SubImageInfoObject: { Data: string }[] }).SubImageInfoObject[0]!.Data;
};

describe('pictures read at enqueue', () => {
  it('are kept in the outbox within the budget and sent from there; beyond it they are read at send time', async () => {
    await h.peer.mode('down');
    const at = new Date();
    const eventIds = await h.faces([0, 1, 2].map(() => ({ at, eventId: randomUUID() })));
    const rows = await waitFor(async () => {
      const r = await h.sql.query<{ pictures: string[] | null; picture_bytes: number }>(
        'SELECT pictures, picture_bytes FROM upload_outbox ORDER BY id',
      );
      return r.rows.length === 3 ? r.rows : undefined;
    });
    expect(rows.map((r) => r.picture_bytes).sort()).toEqual([0, FACE_BYTES, FACE_BYTES]);
    expect(rows.filter((r) => r.pictures !== null).map((r) => r.pictures)).toEqual([
      [FACE_JPEG_BASE64],
      [FACE_JPEG_BASE64],
    ]);

    // The store's picture changes while the platform is away: only the row beyond the budget,
    // which kept just the key, reads it now.
    await s3Client().putObject(h.bucket, h.imageKeys.face, Buffer.from(PLATE_JPEG_BASE64, 'base64'));
    await h.peer.mode('up');
    const ids = eventIds.map((eventId) => expectedFaceId(eventId, at));
    await h.peer.waitFor(() => ids.every((id) => h.peer.counts('faces').has(id)), 20_000, 'the three faces');
    expect(ids.map(pictureOf).sort()).toEqual([FACE_JPEG_BASE64, FACE_JPEG_BASE64, PLATE_JPEG_BASE64].sort());
    expect(h.peer.rejections).toEqual([]);
  });

  it('a picture not in the store at enqueue is looked up at send time, and the object goes without it', async () => {
    await s3Client().removeObject(h.bucket, h.imageKeys.face);
    const at = new Date();
    const id = expectedFaceId(await h.face({ at }), at);
    const dead = await waitFor(
      async () =>
        (
          await h.sql.query<{ reason: string }>(
            'SELECT reason FROM upload_dead_letter WHERE object_id = $1',
            [id],
          )
        ).rows[0],
      { timeoutMs: 20_000 },
    );
    // The receiver decides: the conformance peer refuses a Face without its picture.
    expect(dead.reason).toContain('SubImageList');
  });
});
