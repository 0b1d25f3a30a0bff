/**
 * PerimeterAlarmService over gRPC: zone CRUD and duty rules, caller checks (no token, wrong
 * role, other compound), and requests refused with the reason.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@anfang/platform/grpc';
import { waitFor } from '@anfang/testing';
import { createWall, startHarness, type Harness } from './harness.ts';

const { ZoneKind, ArmingState, AlarmResolution } = anfang.alarm.v1;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('alarms-api');
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('zones', () => {
  it('creates, updates, lists and deletes zones', async () => {
    const metadata = h.manager;
    const sensor = randomUUID();
    const zoneId = await createWall(h, 'A 区围墙', [sensor]);
    const { zone: created } = await h.client.getZone({ zoneId }, { metadata });
    expect(created).toMatchObject({
      name: 'A 区围墙',
      kind: ZoneKind.ZONE_KIND_WALL,
      arming: ArmingState.ARMING_STATE_ARMED,
    });

    const camera = randomUUID();
    const { zone: updated } = await h.client.updateZone(
      {
        zone: {
          zoneId,
          name: 'A 区电子围栏',
          kind: ZoneKind.ZONE_KIND_FENCE,
          sensorDeviceIds: [sensor],
          cameraDeviceIds: [camera],
        },
      },
      { metadata },
    );
    expect(updated).toMatchObject({
      name: 'A 区电子围栏',
      kind: ZoneKind.ZONE_KIND_FENCE,
      cameraDeviceIds: [camera],
    });
    await createWall(h, 'B 区水岸', []);
    const { zones } = await h.client.listZones({ compoundId: h.compoundId }, { metadata });
    expect(zones!.map((z) => z.name)).toEqual(['A 区电子围栏', 'B 区水岸']);

    await expect(createWall(h, 'B 区水岸', [])).rejects.toThrow(AlreadyExistsError);
    await h.client.deleteZone({ zoneId }, { metadata });
    await expect(h.client.getZone({ zoneId }, { metadata })).rejects.toThrow(NotFoundError);
  });

  it('refuses a zone without name or kind, and a bypass that ends in the past, naming the fields', async () => {
    const metadata = h.manager;
    await expect(h.client.createZone({ zone: { compoundId: h.compoundId } }, { metadata })).rejects.toThrow(
      /zone\.name: required; zone\.kind: one of WALL, FENCE, WATER_EDGE, PIPE/,
    );
    const zoneId = await createWall(h, 'C 区', []);
    await expect(
      h.client.setZoneArming(
        { zoneId, arming: ArmingState.ARMING_STATE_BYPASSED, until: { seconds: 1000 } },
        { metadata },
      ),
    ).rejects.toThrow(/until: in the future/);
    await expect(h.client.getAlarm({ alarmId: 'not-a-uuid' }, { metadata })).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('keeps a compound rule and a zone rule, the zone rule winning for its zone', async () => {
    const metadata = h.manager;
    const sensor = randomUUID();
    const zoneId = await createWall(h, 'D 区围墙', [sensor]);
    await h.client.setDutyRule({ rule: { compoundId: h.compoundId, teamId: 'all-day' } }, { metadata });
    await h.client.setDutyRule(
      { rule: { compoundId: h.compoundId, zoneId, teamId: 'd-team' } },
      { metadata },
    );
    const { rules } = await h.client.listDutyRules({ compoundId: h.compoundId }, { metadata });
    expect(rules!.map((r) => [r.zoneId, r.teamId])).toEqual([
      ['', 'all-day'],
      [zoneId, 'd-team'],
    ]);
    await h.perimeterTrigger({ deviceId: sensor });
    const alarm = await waitFor(async () => {
      const { alarms } = await h.client.listAlarms({ compoundId: h.compoundId }, { metadata });
      return alarms?.find((a) => a.zoneId === zoneId);
    });
    expect(alarm.assigneeTeamId).toBe('d-team');
  });
});

describe('callers', () => {
  it('refuses calls without a valid token, from the wrong role, or about another compound', async () => {
    const request = { compoundId: h.compoundId };
    await expect(h.client.listZones(request)).rejects.toThrow(UnauthenticatedError);
    const resident = await h.metadataFor({ subject: 'r-1', role: 'resident', compounds: [h.compoundId] });
    await expect(h.client.listAlarms(request, { metadata: resident })).rejects.toThrow(PermissionDeniedError);
    const guardElsewhere = await h.metadataFor({
      subject: 'g-2',
      role: 'guard',
      compounds: ['370202000000001'],
    });
    await expect(h.client.listAlarms(request, { metadata: guardElsewhere })).rejects.toThrow(
      PermissionDeniedError,
    );
    // A guard handles alarms but does not plan zones.
    await expect(createWallAs(h.guard)).rejects.toThrow(PermissionDeniedError);

    const sensor = randomUUID();
    const zoneId = await createWall(h, 'E 区围墙', [sensor]);
    await h.perimeterTrigger({ deviceId: sensor });
    const alarm = await waitFor(async () => {
      const { alarms } = await h.client.listAlarms(request, { metadata: h.manager });
      return alarms?.find((a) => a.zoneId === zoneId);
    });
    await expect(
      h.client.resolveAlarm(
        { alarmId: alarm.alarmId, resolution: AlarmResolution.ALARM_RESOLUTION_TEST },
        { metadata: guardElsewhere },
      ),
    ).rejects.toThrow(PermissionDeniedError);
    const { alarm: unchanged } = await h.client.getAlarm({ alarmId: alarm.alarmId }, { metadata: h.manager });
    expect(unchanged!.history).toHaveLength(1);
    // Police read and handle alarms of every compound.
    const police = await h.metadataFor({ subject: 'p-1', role: 'police', compounds: 'all' });
    const { alarm: acknowledged } = await h.client.acknowledgeAlarm(
      { alarmId: alarm.alarmId },
      { metadata: police },
    );
    expect(acknowledged!.history!.at(-1)!.actor).toBe('p-1');
  });
});

function createWallAs(metadata: Harness['guard']) {
  return h.client.createZone(
    { zone: { compoundId: h.compoundId, name: 'F', kind: ZoneKind.ZONE_KIND_WALL } },
    { metadata },
  );
}
