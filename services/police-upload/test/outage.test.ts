/**
 * Fault test: the upper platform goes down under steady inflow and comes back. Every object must
 * arrive, none lost, duplicates at most 1 % by id at the peer. The outage is 10 s here (CI); the
 * 60 s drill is `./anfang bench upload --outage 60`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedFaceId, startHarness, type Harness } from './harness.ts';

const OUTAGE_MS = 10_000;
const RATE_PER_S = 20;

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
});
