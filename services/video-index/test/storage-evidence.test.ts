/**
 * Storage evidence on anfang.video.storage-evidence.v1 (real Kafka and Postgres): published at
 * start and every interval, and shortly after a camera or a retention policy changes, with the
 * front-end storage per zone group and the shortest back-end retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { waitFor, watchTopics, type TopicWatch } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

type Evidence = anfang.video.v1.StorageEvidenceReported;
const { ZoneGroup, ImageClass } = anfang.video.v1;
const { Module } = anfang.common.v1;

let h: Harness;
let watch: TopicWatch;
beforeAll(async () => {
  h = await startHarness('video-evidence', {
    // Long enough that what a test sees after a change comes from the change, not the interval.
    VIDEO_STORAGE_EVIDENCE_INTERVAL_MS: '600000',
    VIDEO_STORAGE_EVIDENCE_DEBOUNCE_MS: '50',
  });
  watch = await watchTopics(h.bus, {
    label: 'video-evidence',
    topics: [topics.videoStorageEvidence],
    producer: h.serviceName,
  });
});
afterAll(async () => {
  await watch?.close();
  await h?.close();
});

const latest = () =>
  watch.events<Evidence>(topics.videoStorageEvidence).filter((e) => e.compoundId === h.compoundId);

async function next(count: number): Promise<Evidence> {
  await waitFor(() => latest().length > count, { timeoutMs: 20_000 });
  return latest().at(-1)!;
}

describe('storage evidence', () => {
  it('publishes each change of front-end storage and back-end retention for the compound', async () => {
    const camera = {
      compoundId: h.compoundId,
      name: '监控中心',
      zoneGroup: ZoneGroup.ZONE_GROUP_KEY_ROOMS,
      frontendStorageDays: 3,
    };
    const { camera: short } = await h.client.createCamera({ camera }, { metadata: h.manager });
    let evidence = await waitFor(() => latest().find((e) => e.zones.length > 0), { timeoutMs: 20_000 });
    expect(evidence).toMatchObject({
      compoundId: h.compoundId,
      backendRetentionDays: 30,
      minBackendDays: 30,
      minFrontendDays: 7,
      retentionEnforced: true,
    });
    expect(evidence.zones).toEqual([
      expect.objectContaining({
        module: Module.MODULE_VIDEO_KEY_ROOMS,
        cameras: 1,
        frontendCompliant: 0,
        shortestFrontendDays: 3,
      }),
    ]);
    expect(evidence.meta?.compoundId).toBe(h.compoundId);

    let seen = latest().length;
    await h.client.updateCamera({ camera: { ...short, frontendStorageDays: 14 } }, { metadata: h.manager });
    evidence = await next(seen);
    expect(evidence.zones[0]).toMatchObject({ cameras: 1, frontendCompliant: 1, shortestFrontendDays: 14 });

    seen = latest().length;
    for (const imageClass of [
      ImageClass.IMAGE_CLASS_FACES,
      ImageClass.IMAGE_CLASS_VEHICLES,
      ImageClass.IMAGE_CLASS_ALARMS,
      ImageClass.IMAGE_CLASS_GENERAL,
    ])
      await h.client.setRetention({ imageClass, days: 45 }, { metadata: h.admin });
    await waitFor(() => latest().at(-1)?.backendRetentionDays === 45, { timeoutMs: 20_000 });
    expect(latest().length).toBeGreaterThan(seen);

    seen = latest().length;
    await h.client.deleteCamera({ cameraId: short!.cameraId }, { metadata: h.manager });
    evidence = await next(seen);
    expect(evidence.zones).toEqual([]);
  });
});
