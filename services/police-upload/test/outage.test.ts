/**
 * Fault test: the upper platform goes down under steady inflow and comes back. Every object must
 * arrive, none lost, duplicates at most 1 % by id at the peer. The outage is 10 s here (CI); the
 * 60 s drill is `./anfang bench upload --outage 60`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@anfang/testing';
import { expectedFaceId, startHarness, type Harness } from './harness.ts';

const OUTAGE_MS = 10_000;
const RATE_PER_S = 20;
/** POLICE_UPLOAD_BATCH_SIZE's default, which the harness keeps. */
const BATCH = 50;
const BACKLOG = 3 * BATCH;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('police-upload-outage');
});
afterAll(async () => h?.close());

describe('an outage of the upper platform', () => {
  it('buffers, registers again and back-fills: all arrive, duplicates ≤ 1 %', async () => {
    const expected: string[] = [];
    const publish = async (): Promise<void> => {
      const at = new Date();
      const eventId = randomUUID();
      expected.push(expectedFaceId(eventId, at));
      await h.face({ eventId, at });
    };
    const inFlight: Promise<void>[] = [];
    // Steady inflow: one capture every 1/RATE s, whatever the broker's acknowledgement time, for
    // at least `ms` and at least its nominal count (timers stretch on a loaded machine).
    const run = async (ms: number): Promise<void> => {
      const end = Date.now() + ms;
      for (let sent = 0; Date.now() < end || sent < (ms / 1000) * RATE_PER_S; sent++) {
        inFlight.push(publish());
        await new Promise((r) => setTimeout(r, 1000 / RATE_PER_S));
      }
    };
    await run(3_000);
    await h.peer.mode('down');
    await run(OUTAGE_MS);
    await h.peer.mode('up');
    await run(3_000);
    await Promise.all(inFlight);

    const counts = h.peer.counts('faces');
    await h.peer.waitFor(
      () => expected.every((id) => counts.has(id)),
      60_000,
      'every object after the outage',
    );
    const duplicates = expected.reduce((n, id) => n + (counts.get(id)! - 1), 0);
    expect(duplicates / expected.length).toBeLessThanOrEqual(0.01);
    expect(h.peer.rejections).toEqual([]);
    // Registered again after the outage, by a fresh Digest Register.
    expect(h.peer.stats().registers).toBeGreaterThanOrEqual(2);
  });

  it('back-fills oldest first: the batch of the oldest rows goes alone, before anything younger', async () => {
    await h.peer.mode('down');
    const at = new Date();
    const eventIds = await h.faces(Array.from({ length: BACKLOG }, () => ({ at })));
    const ours = new Set(eventIds.map((eventId) => expectedFaceId(eventId, at)));
    const queued = await waitFor(
      async () => {
        const { rows } = await h.sql.query<{ object_id: string }>(
          'SELECT object_id FROM upload_outbox ORDER BY id',
        );
        const ids = rows.map((r) => r.object_id).filter((id) => ours.has(id));
        return ids.length === BACKLOG ? ids : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const before = h.peer.received('faces').length;
    await h.peer.mode('up');
    await h.peer.waitFor(
      () =>
        new Set(
          h.peer
            .received('faces')
            .slice(before)
            .map((f) => f.id),
        ).size >= BACKLOG,
      60_000,
      'the back-log',
    );
    // Eight senders with batches of 50: the first request after the outage is answered before
    // another is sent, and it carries the 50 oldest rows, in order.
    const arrivals = h.peer
      .received('faces')
      .slice(before)
      .map((f) => f.id);
    expect(arrivals.slice(0, BATCH)).toEqual(queued.slice(0, BATCH));
  });
});
