/**
 * Live recomputation over the real infrastructure: registry, status and upload-health events on
 * the real Kafka topics score a compound; a required device going offline drops its level and
 * publishes ComplianceLevelChanged (through the outbox); back online restores it; redelivered
 * events change nothing; a poison message goes to the DLQ and the consumer carries on.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { anfang, dlqTopic, topics } from '@anfang/contracts';
import { HEADER, type Subscription } from '@anfang/platform/bus';
import { uniqueName, waitFor } from '@anfang/testing';
import {
  announceDevice,
  reportPatrol,
  reportStatus,
  reportStorage,
  reportUpload,
  startHarness,
  type Harness,
} from './harness.ts';

const { Module } = anfang.common.v1;
const { ComplianceLevel: L, CompoundCategory, ProgrammeGroup } = anfang.compliance.v1;

/** SPEC §4 table A, 达标: the required device modules (with real-time upload besides). */
const COMPLIANT_A = [
  Module.MODULE_PEDESTRIAN_ACCESS,
  Module.MODULE_VEHICLE_ACCESS,
  Module.MODULE_VIDEO_PUBLIC_AREAS,
  Module.MODULE_VIDEO_BUILDINGS,
  Module.MODULE_VIDEO_KEY_ROOMS,
  Module.MODULE_VIDEO_THROWING,
];

let h: Harness;
let raw: pg.Client;

beforeAll(async () => {
  h = await startHarness('compliance-live');
  raw = new pg.Client({ connectionString: h.db.url });
  await raw.connect();
}, 120_000);

afterAll(async () => {
  await raw?.end();
  await h?.close();
}, 60_000);

async function createCompound(compoundId: string, townStreet: string) {
  await h.client.createCompound(
    {
      compound: {
        compoundId,
        name: `小区 ${compoundId}`,
        townStreet,
        category: CompoundCategory.COMPOUND_CATEGORY_CLOSED,
        programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
        buildingsCount: 3,
      },
    },
    await h.as(),
  );
}

async function level(compoundId: string) {
  return (await h.client.getCompoundLevel({ compoundId }, await h.as())).level;
}

/** Devices of every 达标 module, online, plus real-time upload: the compound reaches 达标. */
async function makeCompliant(compoundId: string) {
  const devices = COMPLIANT_A.map((module) => ({ deviceId: randomUUID(), compoundId, module }));
  for (const device of devices) await announceDevice(h, device);
  for (const device of devices) await reportStatus(h, device, true);
  await reportUpload(h, compoundId, true);
  await reportStorage(h, compoundId);
  await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_COMPLIANT, {
    timeoutMs: 30_000,
    message: `${compoundId} did not reach 达标`,
  });
  return devices;
}

describe('live recomputation', () => {
  it('devices and upload health raise a compound to 达标; an offline required device drops it; online restores it', async () => {
    const compoundId = h.newCompoundId();
    await createCompound(compoundId, uniqueName('town'));
    expect(await level(compoundId)).toBe(L.COMPLIANCE_LEVEL_NOT_COMPLIANT);

    const devices = await makeCompliant(compoundId);
    const keyRooms = devices.find((d) => d.module === Module.MODULE_VIDEO_KEY_ROOMS)!;

    const offlineEventId = await reportStatus(h, keyRooms, false);
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_NOT_COMPLIANT, {
      timeoutMs: 30_000,
    });
    const dropped = await waitFor(
      () =>
        h
          .levelChanges(compoundId)
          .find((e) => e.level === L.COMPLIANCE_LEVEL_NOT_COMPLIANT && e.triggerEventId === offlineEventId),
      { timeoutMs: 30_000, message: 'no level-changed event for the drop' },
    );
    expect(dropped).toMatchObject({
      compoundId,
      previousLevel: L.COMPLIANCE_LEVEL_COMPLIANT,
      table: anfang.compliance.v1.ConfigurationTable.CONFIGURATION_TABLE_A,
      tableVersion: 'zhangdian-2020',
    });
    expect(dropped.missingForNextLevel.map((m) => [m.module, m.evidenceLacking])).toEqual([
      [Module.MODULE_VIDEO_KEY_ROOMS, '1 device, offline'],
    ]);
    expect(dropped.meta?.producer).toBe('compliance-scoring');
    expect(dropped.meta?.compoundId).toBe(compoundId);

    const detail = await h.client.getCompoundLevel({ compoundId }, await h.as());
    expect(detail.missingForNextLevel.map((m) => m.module)).toEqual([Module.MODULE_VIDEO_KEY_ROOMS]);
    expect([detail.devicesRequired, detail.devicesOnline, detail.uploadingRealTime]).toEqual([6, 5, true]);

    await reportStatus(h, keyRooms, true);
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_COMPLIANT, {
      timeoutMs: 30_000,
    });
    // Creation scores it first (from 'not computed'), then the three changes.
    await waitFor(() => h.levelChanges(compoundId).length >= 4, { timeoutMs: 30_000 });
    expect(h.levelChanges(compoundId).map((e) => [e.previousLevel, e.level])).toEqual([
      [L.COMPLIANCE_LEVEL_UNSPECIFIED, L.COMPLIANCE_LEVEL_NOT_COMPLIANT],
      [L.COMPLIANCE_LEVEL_NOT_COMPLIANT, L.COMPLIANCE_LEVEL_COMPLIANT],
      [L.COMPLIANCE_LEVEL_COMPLIANT, L.COMPLIANCE_LEVEL_NOT_COMPLIANT],
      [L.COMPLIANCE_LEVEL_NOT_COMPLIANT, L.COMPLIANCE_LEVEL_COMPLIANT],
    ]);

    // The history, newest first: the creation (未达标), then the three changes.
    const history = await h.client.listLevelHistory({ compoundId }, await h.as());
    expect(history.changes.map((c) => c.level)).toEqual([
      L.COMPLIANCE_LEVEL_COMPLIANT,
      L.COMPLIANCE_LEVEL_NOT_COMPLIANT,
      L.COMPLIANCE_LEVEL_COMPLIANT,
      L.COMPLIANCE_LEVEL_NOT_COMPLIANT,
    ]);
    expect(history.changes[1]!.triggerEventId).toBe(offlineEventId);
  }, 120_000);

  it('a redelivered event (same event id) is applied once', async () => {
    const compoundId = h.newCompoundId();
    await createCompound(compoundId, uniqueName('town'));
    const devices = await makeCompliant(compoundId);
    const gate = devices[0]!;
    // The same event id again, claiming a later offline transition: a duplicate, so ignored.
    const eventId = await reportStatus(h, gate, true, { occurredAt: Date.now() });
    await reportStatus(h, gate, false, { eventId, occurredAt: Date.now() + 1000 });
    // A distinct, stale event of the same device (same key, so after the duplicate in the same
    // partition): once it is marked, the consumer has passed the duplicate.
    const marker = await reportStatus(h, gate, true, { occurredAt: Date.now() - 60_000 });
    await waitFor(
      async () =>
        (await raw.query('SELECT 1 FROM processed_events WHERE event_id = $1', [marker])).rowCount === 1,
      { timeoutMs: 30_000 },
    );
    expect(await level(compoundId)).toBe(L.COMPLIANCE_LEVEL_COMPLIANT);
    const { rows } = await raw.query('SELECT online FROM devices WHERE device_id = $1', [gate.deviceId]);
    expect(rows[0].online).toBe(true);
  }, 120_000);

  it('a decommissioned required device drops the level; a stale registry state does not bring it back', async () => {
    const compoundId = h.newCompoundId();
    await createCompound(compoundId, uniqueName('town'));
    const devices = await makeCompliant(compoundId);
    const throwing = devices.find((d) => d.module === Module.MODULE_VIDEO_THROWING)!;
    await announceDevice(
      h,
      { ...throwing, revision: 2 },
      anfang.device.v1.DeviceLifecycle.DEVICE_LIFECYCLE_DECOMMISSIONED,
    );
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_NOT_COMPLIANT, {
      timeoutMs: 30_000,
    });
    const replayed = await announceDevice(h, { ...throwing, revision: 1 });
    await waitFor(
      async () =>
        (await raw.query('SELECT 1 FROM processed_events WHERE event_id = $1', [replayed])).rowCount === 1,
      { timeoutMs: 30_000 },
    );
    expect(await level(compoundId)).toBe(L.COMPLIANCE_LEVEL_NOT_COMPLIANT);
  }, 120_000);

  it("building items are checked per registered building, from the devices' addresses", async () => {
    const compoundId = h.newCompoundId();
    await h.client.createCompound(
      {
        compound: {
          compoundId,
          name: `小区 ${compoundId}`,
          townStreet: uniqueName('town'),
          category: CompoundCategory.COMPOUND_CATEGORY_CLOSED,
          programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
          buildingsCount: 2,
          buildingCodes: [`${compoundId}-b1`, `${compoundId}-b2`],
        },
      },
      await h.as(),
    );
    for (const module of COMPLIANT_A) {
      const device = {
        deviceId: randomUUID(),
        compoundId,
        module,
        ...(module === Module.MODULE_VIDEO_BUILDINGS ? { buildingCode: `${compoundId}-b1` } : {}),
      };
      await announceDevice(h, device);
      await reportStatus(h, device, true);
    }
    await reportUpload(h, compoundId, true);
    const storage = await reportStorage(h, compoundId);
    const missing = await waitFor(
      async () => {
        // The storage report comes on a topic of its own, in any order with the others: wait for
        // it to be applied (and the compound rescored, in the same transaction) too.
        const applied = await raw.query('SELECT 1 FROM processed_events WHERE event_id = $1', [storage]);
        if (applied.rowCount !== 1) return undefined;
        const detail = await h.client.getCompoundLevel({ compoundId }, await h.as());
        return detail.devicesOnline === 6 && detail.uploadingRealTime
          ? detail.missingForNextLevel
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(missing.map((m) => [m.module, m.buildingCode, m.evidenceLacking])).toEqual([
      [Module.MODULE_VIDEO_BUILDINGS, `${compoundId}-b2`, 'no device registered'],
    ]);
    expect(await level(compoundId)).toBe(L.COMPLIANCE_LEVEL_NOT_COMPLIANT);

    // The second building's camera reports online before the registry announces it.
    const second = { deviceId: randomUUID(), compoundId, module: Module.MODULE_VIDEO_BUILDINGS };
    await reportStatus(h, second, true);
    await announceDevice(h, { ...second, buildingCode: `${compoundId}-b2` });
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_COMPLIANT, {
      timeoutMs: 30_000,
    });
  }, 120_000);

  it('a poison message goes to the DLQ with the reason, and the consumer goes on', async () => {
    const key = `poison-${randomUUID()}`;
    const dead: Record<string, string>[] = [];
    // Raw messages: a DLQ holds what did not decode.
    const dlqWatch: Subscription = await h.bus.subscribe({
      group: uniqueName('compliance-dlq-watch'),
      topics: [dlqTopic(topics.deviceStatusChanged.name)],
      start: 'latest',
      handler: async (message) => {
        if (message.key === key) dead.push(message.headers);
      },
    });
    try {
      await h.bus.publish(topics.deviceStatusChanged.name, [
        { key, value: new Uint8Array([0xff, 0xff, 0xff, 0x0f]), headers: { [HEADER.eventId]: randomUUID() } },
      ]);
      // A well-formed event that means nothing: no device id.
      await h
        .publisher('device-ingest')
        .publish(
          topics.deviceStatusChanged,
          { status: anfang.device.v1.DeviceStatus.DEVICE_STATUS_ONLINE },
          { key },
        );
      const reasons = await waitFor(
        () => (dead.length >= 2 ? dead.map((d) => d[HEADER.dlqReason] ?? '') : undefined),
        {
          timeoutMs: 40_000,
          message: 'poison messages not in the DLQ',
        },
      );
      expect(reasons.some((r) => /undecodable/.test(r))).toBe(true);
      expect(reasons.some((r) => /without device\.device_id/.test(r))).toBe(true);

      const compoundId = h.newCompoundId();
      await createCompound(compoundId, uniqueName('town'));
      await makeCompliant(compoundId);
    } finally {
      await dlqWatch.close();
    }
  }, 120_000);
});

describe('images kept and patrol operated', () => {
  it('a camera keeping under 7 days at the front end drops the video row; fixed, the level returns', async () => {
    const compoundId = h.newCompoundId();
    await createCompound(compoundId, uniqueName('town'));
    await makeCompliant(compoundId);
    await reportStorage(h, compoundId, {
      zones: COMPLIANT_A.filter(
        (m) => m >= Module.MODULE_VIDEO_PUBLIC_AREAS && m <= Module.MODULE_VIDEO_THROWING,
      ).map((module) =>
        module === Module.MODULE_VIDEO_KEY_ROOMS
          ? { module, cameras: 2, frontendCompliant: 1, shortestFrontendDays: 3 }
          : { module, cameras: 1, frontendCompliant: 1, shortestFrontendDays: 7 },
      ),
    });
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_NOT_COMPLIANT, {
      timeoutMs: 30_000,
      message: 'a short front-end storage did not drop the level',
    });
    const report = await h.client.getAcceptanceReport({ compoundId }, await h.as());
    const keyRooms = report.rows.find((r) => r.row!.module === Module.MODULE_VIDEO_KEY_ROOMS)!;
    expect(keyRooms.satisfied).toBe(false);
    expect(keyRooms.missing!.map((m) => m.evidenceLacking)).toEqual([
      '1 of 2 cameras keep under 7 days at the front end (shortest 3)',
    ]);
    expect(keyRooms.evidence!.at(-1)).toBe(
      'back-end retention 30 days; 1 of 2 cameras keep ≥ 7 days at the front end',
    );
    await reportStorage(h, compoundId);
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_COMPLIANT, {
      timeoutMs: 30_000,
      message: 'a compliant storage report did not restore 达标',
    });
  });

  it('electronic patrol counts at 示范 only once patrol reports a route with a completed round', async () => {
    const compoundId = h.newCompoundId();
    await h.client.createCompound(
      {
        compound: {
          compoundId,
          name: `小区 ${compoundId}`,
          townStreet: uniqueName('town'),
          category: CompoundCategory.COMPOUND_CATEGORY_CLOSED,
          programmeGroup: ProgrammeGroup.PROGRAMME_GROUP_COMMERCIAL,
          visualPlatformEnabled: true,
        },
      },
      await h.as(),
    );
    const modules = [
      ...COMPLIANT_A,
      Module.MODULE_PERIMETER_PROTECTION,
      Module.MODULE_VIDEO_PANORAMA,
      Module.MODULE_ELECTRONIC_PATROL,
      Module.MODULE_UNIT_FACE_ACCESS,
    ];
    for (const module of modules) {
      const device = { deviceId: randomUUID(), compoundId, module };
      await announceDevice(h, device);
      await reportStatus(h, device, true);
    }
    await reportUpload(h, compoundId, true);
    await reportStorage(h, compoundId);
    const patrolLacking = async () =>
      (await h.client.getCompoundLevel({ compoundId }, await h.as())).missingForNextLevel
        .filter((m) => m.module === Module.MODULE_ELECTRONIC_PATROL)
        .map((m) => m.evidenceLacking);
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_QUALITY, {
      timeoutMs: 30_000,
      message: 'did not reach 优质',
    });
    // 优质 does not need patrol: the patrol reader's own events may still be on their way.
    await waitFor(
      async () => {
        const lacking = await patrolLacking();
        return lacking.length === 1 && lacking[0] === 'no patrol report from patrol';
      },
      { timeoutMs: 30_000, message: 'patrol lacks more than its report' },
    );

    await reportPatrol(h, compoundId, { roundsDue: 2, roundsCompleted: 0 });
    await waitFor(async () => (await patrolLacking())[0] === 'no round completed in the last 24 h (2 due)', {
      timeoutMs: 30_000,
    });
    expect(await level(compoundId)).toBe(L.COMPLIANCE_LEVEL_QUALITY);

    await reportPatrol(h, compoundId);
    await waitFor(async () => (await level(compoundId)) === L.COMPLIANCE_LEVEL_DEMONSTRATION, {
      timeoutMs: 30_000,
      message: 'a completed round did not raise it to 示范',
    });
  });
});
