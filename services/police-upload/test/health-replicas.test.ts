/**
 * Two replicas send to the same platform (each claims its own rows): the upload health either
 * one publishes covers both — success rate and p99 latency are summed from every replica's
 * samples in Postgres, not taken from the memory of the replica that happens to report.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { anfang } from '@anfang/contracts';
import { topics } from '@anfang/contracts';
import { STATUS } from '@anfang/gat1400';
import { waitFor, watchTopics, type TopicWatch } from '@anfang/testing';
import { expectedFaceId, PLATFORM_ID, startHarness, type Harness } from './harness.ts';

type Health = anfang.police.v1.UploadHealthReported;

let h: Harness;
let watch: TopicWatch;

beforeAll(async () => {
  h = await startHarness('police-upload-health-replicas', {
    extra: { POLICE_UPLOAD_HEALTH_INTERVAL_MS: '500', POLICE_UPLOAD_HEALTH_WINDOW_MS: '600000' },
  });
  await h.startReplica();
  watch = await watchTopics(h.bus, {
    label: 'police-upload-health-replicas',
    topics: [topics.policeUploadHealth],
  });
});
afterAll(async () => {
  await watch?.close();
  await h?.close();
});

const reports = (): Health[] =>
  watch.events(topics.policeUploadHealth).filter((e) => e.compoundId === h.compoundId);

/** Answers recorded so far for the test's compound: by every replica, and how many replicas. */
async function recorded(): Promise<{ accepted: number; failed: number; replicas: number }> {
  const { rows } = await h.sql.query<{ accepted: string; failed: string; replicas: string }>(
    `SELECT coalesce(sum(accepted), 0) AS accepted, coalesce(sum(failed), 0) AS failed,
       count(DISTINCT replica) FILTER (WHERE accepted > 0) AS replicas
     FROM upload_health_sample WHERE platform_id = $1 AND compound_id = $2`,
    [PLATFORM_ID, h.compoundId],
  );
  const r = rows[0]!;
  return { accepted: Number(r.accepted), failed: Number(r.failed), replicas: Number(r.replicas) };
}

describe('upload health with two replicas', () => {
  it('success rate and latency cover what both replicas sent, whichever reports', async () => {
    // Each wave: 10 objects accepted at once, 10 answered "busy" once and accepted on the retry.
    let accepted = 0;
    let failed = 0;
    for (let wave = 0; wave < 5; wave += 1) {
      const at = new Date();
      const inputs = Array.from({ length: 20 }, (_, camera) => ({ at, camera, eventId: randomUUID() }));
      const ids = inputs.map((i) => expectedFaceId(i.eventId, at));
      h.peer.failObjects(ids.slice(10), STATUS.DEVICE_BUSY, 1);
      await h.faces(inputs);
      accepted += 20;
      failed += 10;
      await h.peer.waitFor(() => ids.every((id) => h.peer.counts('faces').has(id)), 20_000, 'the wave');
      // Every answer flushed by the replica that got it.
      const now = await waitFor(
        async () => {
          const r = await recorded();
          return r.accepted === accepted && r.failed === failed && r;
        },
        { timeoutMs: 10_000, message: 'every answer in the shared samples' },
      );
      if (now.replicas >= 2) break;
    }
    expect((await recorded()).replicas).toBeGreaterThanOrEqual(2);

    const expected = accepted / (accepted + failed);
    // Each replica may have had one report under way (it read the sums before the last answers
    // were flushed): from the two after those on, every report, from either, agrees on the totals.
    const start = reports().length + 2;
    await waitFor(() => reports().length >= start + 4, { timeoutMs: 10_000, message: 'four more reports' });
    const next = reports().slice(start, start + 4);
    for (const report of next) {
      expect(report.successRate).toBeCloseTo(expected, 5);
      expect(report.latencyP99Ms).toBeGreaterThan(0);
      expect(report.backlog).toBe(0);
    }
  });
});
