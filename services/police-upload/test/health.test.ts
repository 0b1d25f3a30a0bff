/**
 * Upload health keeps being reported for a compound without traffic (compliance scoring expires
 * a report after 5 min), also after a restart, and for a compound a platform is configured for
 * before anything was uploaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { anfang } from '@anfang/contracts';
import { topics } from '@anfang/contracts';
import { waitFor, watchTopics, type TopicWatch } from '@anfang/testing';
import { createHealthStore } from '../src/store/health.ts';
import { LOWER_ID, PLATFORM_ID, startHarness, type Harness } from './harness.ts';

type Health = anfang.police.v1.UploadHealthReported;

let h: Harness;
let watch: TopicWatch;

beforeAll(async () => {
  h = await startHarness('police-upload-health', { extra: { POLICE_UPLOAD_HEALTH_INTERVAL_MS: '500' } });
  watch = await watchTopics(h.bus, { label: 'police-upload-health', topics: [topics.policeUploadHealth] });
});
afterAll(async () => {
  await watch?.close();
  await h?.close();
});

const reports = (compoundId: string): Health[] =>
  watch.events(topics.policeUploadHealth).filter((e) => e.compoundId === compoundId);

/**
 * The next `count` reports of a compound (waiting for them, not for a time: timers stretch on a
 * loaded machine); a reporter that stopped leaves the wait to fail.
 */
async function nextReports(compoundId: string, count: number): Promise<Health[]> {
  const before = reports(compoundId).length;
  return waitFor(
    () => {
      const fresh = reports(compoundId).slice(before);
      return fresh.length >= count ? fresh : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `${count} more upload-health reports of ${compoundId}` },
  );
}

describe('upload-health keys', () => {
  it('a pair named by several sources at once is kept once, with its latest success', async () => {
    // A configured compound that also uploaded: the backlog, the window and the platform name it.
    const store = createHealthStore(h.sql);
    const compoundId = `${h.compoundId.slice(0, -2)}97`;
    const earlier = new Date(Date.now() - 60_000);
    const later = new Date();
    await store.remember([
      { platformId: PLATFORM_ID, compoundId },
      { platformId: PLATFORM_ID, compoundId, lastSuccessAt: later },
      { platformId: PLATFORM_ID, compoundId, lastSuccessAt: earlier },
      { platformId: PLATFORM_ID, compoundId },
    ]);
    const { rows } = await h.sql.query<{ last_success_at: Date }>(
      'SELECT last_success_at FROM upload_health_key WHERE platform_id = $1 AND compound_id = $2',
      [PLATFORM_ID, compoundId],
    );
    expect(rows.map((r) => r.last_success_at.getTime())).toEqual([later.getTime()]);
  });
});

describe('upload-health cadence', () => {
  it('a configured compound is reported every interval with no traffic at all', async () => {
    const quiet = await nextReports(h.compoundId, 3);
    expect(quiet.at(-1)).toMatchObject({ backlog: 0, realTime: true, successRate: 1 });
  });

  it('a compound that had uploads stays reported, with its last success, after traffic stops and a restart', async () => {
    const other = `${h.compoundId.slice(0, -1)}${(Number(h.compoundId.at(-1)) + 1) % 10}`;
    // A platform for every compound: the other compound is reported only because it uploaded.
    await h.client.updatePlatform(
      {
        platform: {
          platformId: PLATFORM_ID,
          name: 'conformance peer',
          baseUrl: h.peer.url,
          username: LOWER_ID,
          passwordRef: 'peer-password',
          compounds: [],
          keepaliveIntervalS: 1,
          keepaliveMisses: 2,
          enabled: true,
        },
      },
      { metadata: h.police },
    );
    const before = h.peer.received('faces').length;
    await h.face({ compoundId: other });
    await h.peer.waitFor(() => h.peer.received('faces').length > before, 15_000, 'the face');
    await nextReports(other, 2);
    const quiet = await nextReports(other, 2);
    expect(quiet.at(-1)?.lastSuccessAt).toBeTruthy();

    await h.restartService();
    const afterRestart = await nextReports(other, 2);
    expect(afterRestart.at(-1)?.lastSuccessAt).toBeTruthy();
  });
});
