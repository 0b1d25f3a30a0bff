/**
 * PerimeterAlarmService over gRPC: zone CRUD, import and duty rules, caller checks (no token,
 * wrong role, other compound), requests refused with the reason; the unacknowledged-alarm gauges.
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
  h = await startHarness('alarms-api', { OTEL_METRICS_EXPORTER: 'prometheus' });
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

describe('town/street officers, auditors and platform operators', () => {
  it('an area scope reads its compounds, not another area; none of them handles an alarm', async () => {
    const request = { compoundId: h.compoundId };
    const sensor = randomUUID();
    const zoneId = await createWall(h, 'S 区围墙', [sensor]);
    await h.perimeterTrigger({ deviceId: sensor });
    const alarm = await waitFor(async () => {
      const { alarms } = await h.client.listAlarms(request, { metadata: h.manager });
      return alarms?.find((a) => a.zoneId === zoneId);
    });
    const officer = await h.metadataFor({
      subject: 's-1',
      role: 'street_officer',
      compounds: [],
      areas: [h.compoundId.slice(0, 9)],
    });
    const { alarms } = await h.client.listAlarms(request, { metadata: officer });
    expect(alarms.map((a) => a.alarmId)).toContain(alarm.alarmId);
    expect((await h.client.getZone({ zoneId }, { metadata: officer })).zone?.name).toBe('S 区围墙');
    const elsewhere = await h.metadataFor({
      subject: 's-2',
      role: 'street_officer',
      compounds: [],
      areas: ['370399'],
    });
    await expect(h.client.listAlarms(request, { metadata: elsewhere })).rejects.toThrow(
      PermissionDeniedError,
    );
    await expect(h.client.getAlarm({ alarmId: alarm.alarmId }, { metadata: elsewhere })).rejects.toThrow(
      PermissionDeniedError,
    );
    for (const role of ['street_officer', 'auditor', 'platform_operator'] as const) {
      const who = await h.metadataFor({ subject: role, role, compounds: 'all' });
      await expect(h.client.acknowledgeAlarm({ alarmId: alarm.alarmId }, { metadata: who })).rejects.toThrow(
        PermissionDeniedError,
      );
      await expect(createWallAs(who)).rejects.toThrow(PermissionDeniedError);
    }
    const auditor = await h.metadataFor({ subject: 'a-1', role: 'auditor', compounds: 'all' });
    expect((await h.client.getAlarm({ alarmId: alarm.alarmId }, { metadata: auditor })).alarm?.zoneId).toBe(
      zoneId,
    );
  });
});

function createWallAs(metadata: Harness['guard']) {
  return h.client.createZone(
    { zone: { compoundId: h.compoundId, name: 'F', kind: ZoneKind.ZONE_KIND_WALL } },
    { metadata },
  );
}

describe('zone import', () => {
  async function importZones(text: string, metadata = h.manager) {
    const messages: anfang.alarm.v1.ImportZonesResponse[] = [];
    for await (const message of h.client.importZones({ csv: new TextEncoder().encode(text) }, { metadata }))
      messages.push(message);
    return messages;
  }

  it('imports valid rows, reports each refused row with its line, and changes nothing on a re-import', async () => {
    const c = h.compoundId;
    const other = '370202000000009';
    const file = [
      'compound_id,name,kind,sensor_device_ids,camera_device_ids',
      `${c},导入-东墙,围墙,s-1;s-2,cam-1`,
      `${c},导入-河边,water_edge,s-3,`,
      `${c},,moat,,`,
      `${other},别人的墙,wall,,`,
      `${c},导入-东墙,fence,,`,
    ].join('\n');
    const messages = await importZones(file);
    const last = messages.at(-1)!;
    expect(messages[0]).toMatchObject({ processed: 0, total: 5 });
    expect(last).toMatchObject({ done: true, processed: 5, total: 5, created: 2, failed: 3 });
    expect(last.errors!.map((e) => [e.line, e.violations!.map((v) => v.field)])).toEqual([
      [4, ['name', 'kind']],
      [5, ['compound_id']],
      [6, ['name']],
    ]);
    const { zones } = await h.client.listZones({ compoundId: c }, { metadata: h.manager });
    const east = zones!.find((z) => z.name === '导入-东墙')!;
    expect(east).toMatchObject({ sensorDeviceIds: ['s-1', 's-2'], cameraDeviceIds: ['cam-1'] });

    const again = (await importZones(file)).at(-1)!;
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2, failed: 3 });
    const changed = (await importZones(`compound_id,name,kind\n${c},导入-河边,pipe`)).at(-1)!;
    expect(changed).toMatchObject({ updated: 1, failed: 0 });
  });

  it('refuses an unreadable file as a whole, and a guard', async () => {
    await expect(importZones('name,kind\nx,wall')).rejects.toThrow(
      /missing required column\(s\) compound_id/,
    );
    await expect(importZones('', h.manager)).rejects.toThrow(InvalidArgumentError);
    await expect(importZones(`compound_id,name,kind\n${h.compoundId},x,wall`, h.guard)).rejects.toThrow(
      PermissionDeniedError,
    );
  });
});

describe('metrics', () => {
  it('exposes the unacknowledged alarms of the compound and the age of the oldest', async () => {
    const sensor = randomUUID();
    const zoneId = await createWall(h, 'G 区围墙', [sensor]);
    await h.perimeterTrigger({ deviceId: sensor });
    await waitFor(async () => {
      const { alarms } = await h.client.listAlarms({ compoundId: h.compoundId }, { metadata: h.manager });
      return alarms?.some((a) => a.zoneId === zoneId);
    });
    const { alarms: unacknowledged } = await h.client.listAlarms(
      { compoundId: h.compoundId, states: [anfang.alarm.v1.AlarmState.ALARM_STATE_NEW] },
      { metadata: h.manager },
    );
    expect(unacknowledged!.length).toBeGreaterThan(0);
    const value = (text: string, name: string) =>
      new RegExp(`^${name}\\{[^}]*compound_id="${h.compoundId}"[^}]*\\} ([0-9.e+-]+)`, 'm').exec(text)?.[1];
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`http://127.0.0.1:${h.httpPort}/metrics`)).text();
        return value(body, 'anfang_alarms_unacknowledged') ? body : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(Number(value(text, 'anfang_alarms_unacknowledged'))).toBe(unacknowledged!.length);
    expect(Number(value(text, 'anfang_alarms_unacknowledged_oldest_age'))).toBeGreaterThan(0);
  });
});
