/**
 * Evidence that expires: a gate that answers heartbeats but records nothing for the data window
 * stops counting, and an upper platform whose upload report is older than the TTL stops counting
 * as real-time upload, and a storage report of video-index older than its limit stops counting
 * as images kept — the level drops with no event at all, and data and a fresh report bring it
 * back. Short windows here; the defaults are 24 h, 5 min and 30 min.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { waitFor } from '@anfang/testing';
import {
  announceDevice,
  reportStatus,
  reportStorage,
  reportUpload,
  startHarness,
  type Harness,
} from './harness.ts';

const { Module } = anfang.common.v1;
const { ComplianceLevel: L, CompoundCategory, ProgrammeGroup } = anfang.compliance.v1;
const WINDOW_MS = 6000;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('compliance-timed', {
    COMPLIANCE_DATA_WINDOW_MS: String(WINDOW_MS),
    COMPLIANCE_UPLOAD_HEALTH_TTL_MS: String(WINDOW_MS),
    COMPLIANCE_STORAGE_EVIDENCE_TTL_MS: String(WINDOW_MS),
    COMPLIANCE_EVIDENCE_SWEEP_INTERVAL_MS: '300',
  });
}, 120_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

describe('evidence with a time limit', () => {
  it('a silent gate and a stale upload report drop the level; data and a fresh report restore it', async () => {
    const compoundId = h.newCompoundId();
    await h.client.createCompound(
      {
        compound: {
          compoundId,
          name: '单体楼',
          townStreet: '车站',
          category: CompoundCategory.COMPOUND_CATEGORY_SINGLE_BUILDING,
          programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
        },
      },
      await h.as(),
    );
    const device = (module: anfang.common.v1.Module) => ({ deviceId: randomUUID(), compoundId, module });
    const gate = device(Module.MODULE_PEDESTRIAN_ACCESS);
    const barrier = device(Module.MODULE_VEHICLE_ACCESS);
    const others = [device(Module.MODULE_VIDEO_BUILDINGS), device(Module.MODULE_VIDEO_KEY_ROOMS)];
    for (const d of [gate, barrier, ...others]) {
      await announceDevice(h, d);
      await reportStatus(h, d, true);
    }
    const level = async () => (await h.client.getCompoundLevel({ compoundId }, await h.as())).level;
    // Everything works while the gate sees faces, the barrier reads plates and police-upload
    // reports; kept up all along so a slow machine cannot let a window pass too early.
    let gateWorks = true;
    const publisher = h.publisher('device-ingest');
    const traffic = setInterval(() => {
      void publisher.publish(
        topics.devicePlateRead,
        { device: { deviceId: barrier.deviceId, module: barrier.module } },
        { compoundId },
      );
      void reportStorage(h, compoundId);
      if (!gateWorks) return;
      void publisher.publish(
        topics.deviceFaceCaptured,
        { device: { deviceId: gate.deviceId, module: gate.module } },
        { compoundId },
      );
      void reportUpload(h, compoundId, true);
    }, 500);
    try {
      await waitFor(async () => (await level()) === L.COMPLIANCE_LEVEL_COMPLIANT, {
        timeoutMs: 30_000,
        message: 'did not reach 达标',
      });
      // The gate falls silent and police-upload stops reporting; the barrier goes on.
      gateWorks = false;
      await waitFor(async () => (await level()) === L.COMPLIANCE_LEVEL_NOT_COMPLIANT, {
        timeoutMs: WINDOW_MS + 20_000,
        message: 'the silent gate and the stale report did not drop the level',
      });
      const missing = (await h.client.getCompoundLevel({ compoundId }, await h.as())).missingForNextLevel;
      expect(missing.map((m) => [m.module, m.evidenceLacking])).toEqual(
        expect.arrayContaining([
          [Module.MODULE_PEDESTRIAN_ACCESS, '1 online, no data within the window'],
          [
            Module.MODULE_MANAGEMENT_REAL_TIME_UPLOAD,
            'no recent upload health report from 37030000005030000001',
          ],
        ]),
      );
      // The barrier's plates kept it working.
      expect(missing.map((m) => m.module)).not.toContain(Module.MODULE_VEHICLE_ACCESS);
      const report = await h.client.getAcceptanceReport({ compoundId }, await h.as());
      expect(report.rows.find((r) => r.row!.module === Module.MODULE_PEDESTRIAN_ACCESS)!.evidence).toEqual([
        '1 device, 1 online, 0 producing data',
      ]);

      // A face at the gate and a fresh report: back to 达标.
      await h
        .publisher('device-ingest')
        .publish(
          topics.deviceFaceCaptured,
          { device: { deviceId: gate.deviceId, module: gate.module } },
          { compoundId },
        );
      await reportUpload(h, compoundId, true);
      await waitFor(async () => (await level()) === L.COMPLIANCE_LEVEL_COMPLIANT, {
        timeoutMs: 20_000,
        message: 'data and a fresh report did not restore 达标',
      });
    } finally {
      clearInterval(traffic);
    }
  });

  it('a stale storage report of video-index drops the video rows; a fresh one restores them', async () => {
    const compoundId = h.newCompoundId();
    await h.client.createCompound(
      {
        compound: {
          compoundId,
          name: `公寓 ${compoundId}`,
          townStreet: '科苑街道',
          category: CompoundCategory.COMPOUND_CATEGORY_SINGLE_BUILDING,
          programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
        },
      },
      await h.as(),
    );
    const devices = [
      Module.MODULE_PEDESTRIAN_ACCESS,
      Module.MODULE_VEHICLE_ACCESS,
      Module.MODULE_VIDEO_BUILDINGS,
      Module.MODULE_VIDEO_KEY_ROOMS,
    ].map((module) => ({ deviceId: randomUUID(), compoundId, module }));
    for (const d of devices) {
      await announceDevice(h, d);
      await reportStatus(h, d, true);
    }
    const level = async () => (await h.client.getCompoundLevel({ compoundId }, await h.as())).level;
    // Gates, barrier and police-upload keep working; only video-index falls silent.
    const publisher = h.publisher('device-ingest');
    const traffic = setInterval(() => {
      void publisher.publish(
        topics.deviceFaceCaptured,
        { device: { deviceId: devices[0]!.deviceId, module: devices[0]!.module } },
        { compoundId },
      );
      void publisher.publish(
        topics.devicePlateRead,
        { device: { deviceId: devices[1]!.deviceId, module: devices[1]!.module } },
        { compoundId },
      );
      void reportUpload(h, compoundId, true);
    }, 500);
    try {
      await reportStorage(h, compoundId);
      await waitFor(async () => (await level()) === L.COMPLIANCE_LEVEL_COMPLIANT, {
        timeoutMs: 30_000,
        message: 'did not reach 达标',
      });
      await waitFor(async () => (await level()) === L.COMPLIANCE_LEVEL_NOT_COMPLIANT, {
        timeoutMs: WINDOW_MS + 20_000,
        message: 'the stale storage report did not drop the level',
      });
      const missing = (await h.client.getCompoundLevel({ compoundId }, await h.as())).missingForNextLevel;
      expect(missing.map((m) => [m.module, m.evidenceLacking])).toEqual([
        [Module.MODULE_VIDEO_BUILDINGS, 'no recent storage report from video-index'],
        [Module.MODULE_VIDEO_KEY_ROOMS, 'no recent storage report from video-index'],
      ]);
      await reportStorage(h, compoundId);
      await waitFor(async () => (await level()) === L.COMPLIANCE_LEVEL_COMPLIANT, {
        timeoutMs: 20_000,
        message: 'a fresh storage report did not restore 达标',
      });
    } finally {
      clearInterval(traffic);
    }
  });
});
