/**
 * Alarms from the real source topics: every source becomes an alarm, a burst from one zone is
 * one alarm with its count, a disarmed zone records without alarming, the lifecycle with its
 * history and events, image holds placed and released, redeliveries and poison handled.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, dlqTopic, timestampFromDate, topics } from '@anfang/contracts';
import { HEADER, type Subscription } from '@anfang/platform/bus';
import { FailedPreconditionError } from '@anfang/platform/grpc';
import { uniqueName, waitFor } from '@anfang/testing';
import { perimeterTrigger } from '../src/domain/sources.ts';
import { createAlarmStore } from '../src/store/alarms.ts';
import { createWall, startHarness, type Harness } from './harness.ts';

const { AlarmSource, AlarmState, AlarmTransition, AlarmResolution, ArmingState, ImageHoldKind } =
  anfang.alarm.v1;
const { TriggerState } = anfang.common.v1;
const ACTIVE = TriggerState.TRIGGER_STATE_ACTIVE;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('alarms');
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function alarmsOfZone(zoneId: string) {
  const { alarms } = await h.client.listAlarms(
    { compoundId: h.compoundId, limit: 1000 },
    { metadata: h.manager },
  );
  return (alarms ?? []).filter((alarm) => alarm.zoneId === zoneId);
}

async function alarmOfDevice(deviceId: string) {
  const { alarms } = await h.client.listAlarms(
    { compoundId: h.compoundId, limit: 1000 },
    { metadata: h.manager },
  );
  return (alarms ?? []).find((alarm) => alarm.deviceIds?.includes(deviceId));
}

describe('sources', () => {
  it('turns every kind of alarming event into an alarm of its source', async () => {
    const d = Object.fromEntries(
      [
        'perimeter',
        'analytics',
        'iot',
        'door',
        'offline',
        'drift',
        'access',
        'person',
        'vehicle',
        'stray',
      ].map((name) => [name, randomUUID()]),
    );
    // Offline alarms only for required devices: d.offline is a camera of a zone, d.stray is not.
    await createWall(h, '南侧围墙', [d.perimeter!], [d.offline!]);
    const compoundId = h.compoundId;
    const device = (id: string) => ({ deviceId: id, name: `设备 ${id.slice(0, 4)}` });
    const dv = anfang.device;
    const iv = anfang.identity;
    await h.perimeterTrigger({ deviceId: d.perimeter! });
    await h.deviceIngest.publish(
      topics.deviceAnalyticsTriggered,
      {
        device: device(d.analytics!),
        kind: dv.v1.AnalyticsKind.ANALYTICS_KIND_HIGH_ALTITUDE_THROWING,
        state: ACTIVE,
      },
      { compoundId },
    );
    await h.deviceIngest.publish(
      topics.deviceIotAlarm,
      { device: device(d.iot!), sensorKind: dv.v1.IotSensorKind.IOT_SENSOR_KIND_SMOKE, state: ACTIVE },
      { compoundId },
    );
    await h.deviceIngest.publish(
      topics.deviceAlarmReported,
      {
        device: device(d.door!),
        kind: dv.v1.DeviceAlarmKind.DEVICE_ALARM_KIND_DOOR_FORCED_OPEN,
        state: ACTIVE,
      },
      { compoundId },
    );
    for (const id of [d.offline!, d.stray!])
      await h.deviceIngest.publish(
        topics.deviceStatusChanged,
        { device: device(id), status: dv.v1.DeviceStatus.DEVICE_STATUS_OFFLINE },
        { compoundId },
      );
    await h.deviceIngest.publish(
      topics.deviceClockDrift,
      {
        device: device(d.drift!),
        offsetMs: 9000,
        severity: dv.v1.ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_ALARM,
      },
      { compoundId },
    );
    await h.identity.publish(
      topics.identityAccessAlarm,
      { device: device(d.access!), kind: iv.v1.AccessAlarmKind.ACCESS_ALARM_KIND_SPOOF_ATTEMPT },
      { compoundId },
    );
    await h.identity.publish(
      topics.identityPersonWatchlistHit,
      {
        hitId: randomUUID(),
        entryId: 'entry-1',
        device: device(d.person!),
        priority: anfang.common.v1.Priority.PRIORITY_HIGH,
        video: [{ cameraDeviceId: d.person! }],
      },
      { compoundId },
    );
    await h.vehicleAccess.publish(
      topics.vehicleWatchlistHit,
      {
        hitId: randomUUID(),
        entryId: 'entry-2',
        plateNumber: '鲁B12345',
        device: device(d.vehicle!),
        priority: anfang.common.v1.Priority.PRIORITY_CRITICAL,
      },
      { compoundId },
    );

    const expected: Record<string, number> = {
      perimeter: AlarmSource.ALARM_SOURCE_PERIMETER,
      analytics: AlarmSource.ALARM_SOURCE_VIDEO_ANALYTICS,
      iot: AlarmSource.ALARM_SOURCE_IOT,
      door: AlarmSource.ALARM_SOURCE_ACCESS,
      offline: AlarmSource.ALARM_SOURCE_DEVICE,
      drift: AlarmSource.ALARM_SOURCE_DEVICE,
      access: AlarmSource.ALARM_SOURCE_SPOOF,
      person: AlarmSource.ALARM_SOURCE_PERSON_WATCHLIST,
      vehicle: AlarmSource.ALARM_SOURCE_VEHICLE_WATCHLIST,
    };
    for (const [name, source] of Object.entries(expected)) {
      const alarm = await waitFor(() => alarmOfDevice(d[name]!), {
        timeoutMs: 30_000,
        message: `no alarm from the ${name} event`,
      });
      expect(alarm.source, name).toBe(source);
      expect(alarm.state).toBe(AlarmState.ALARM_STATE_NEW);
      expect(alarm.occurrenceCount).toBe(1);
    }
    const raised = await waitFor(() =>
      h.alarmEvents.filter((e) => e.transition === AlarmTransition.ALARM_TRANSITION_RAISED).length >= 9
        ? h.alarmEvents
        : undefined,
    );
    expect(raised.some((e) => e.category === 'analytics.high_altitude_throwing')).toBe(true);
    // The stray device's offline was consumed (its event id is marked) but raised nothing.
    const { rows } = await h.sql.query('SELECT count(*)::int AS n FROM processed_events');
    expect(rows[0].n).toBeGreaterThanOrEqual(10);
    expect(await alarmOfDevice(d.stray!)).toBeUndefined();
  });

  it('raises one alarm for the missed checkpoints of a round, and nothing for a withdrawal', async () => {
    const { ViolationKind, ViolationStatus } = anfang.patrol.v1;
    const roundId = randomUUID();
    const violation = (status: number, checkpoint: string) => ({
      violationId: randomUUID(),
      kind: ViolationKind.VIOLATION_KIND_MISSED_CHECKPOINT,
      status,
      severity: anfang.common.v1.Priority.PRIORITY_HIGH,
      roundId,
      checkpointId: randomUUID(),
      detail: `${checkpoint} 未巡`,
    });
    const compoundId = h.compoundId;
    for (const checkpoint of ['东门', '北门'])
      await h.patrol.publish(
        topics.patrolViolation,
        violation(ViolationStatus.VIOLATION_STATUS_RAISED, checkpoint),
        { compoundId },
      );
    const withdrawnRound = randomUUID();
    await h.patrol.publish(
      topics.patrolViolation,
      { ...violation(ViolationStatus.VIOLATION_STATUS_WITHDRAWN, '西门'), roundId: withdrawnRound },
      { compoundId },
    );
    const ofRound = async (id: string) => {
      const { alarms } = await h.client.listAlarms({ compoundId, limit: 1000 }, { metadata: h.manager });
      return (alarms ?? []).filter(
        (alarm) => alarm.category === 'patrol.missed_checkpoint' && alarm.episode === id,
      );
    };
    const [alarm] = await waitFor(async () => {
      const found = await ofRound(roundId);
      return found.length === 1 && found[0]!.occurrenceCount === 2 && found;
    });
    expect(alarm).toMatchObject({
      source: AlarmSource.ALARM_SOURCE_PATROL,
      state: AlarmState.ALARM_STATE_NEW,
    });
    expect(alarm!.priority).toBe(anfang.common.v1.Priority.PRIORITY_HIGH);
    expect(await ofRound(withdrawnRound)).toEqual([]);
  });
});

describe('flood control', () => {
  it('merges 100 triggers of one zone within the window into one open alarm with count 100', async () => {
    const sensors = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const zoneId = await createWall(h, '东侧围墙', sensors);
    // Four sensors on different partitions: the triggers of one zone arrive concurrently.
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => h.perimeterTrigger({ deviceId: sensors[i % 4]! })),
    );
    const alarm = await waitFor(
      async () => {
        const open = await alarmsOfZone(zoneId);
        return open.length === 1 && open[0]!.occurrenceCount === 100 ? open[0] : undefined;
      },
      { timeoutMs: 60_000, message: 'the 100 triggers did not merge into one alarm' },
    );
    expect(alarm.state).toBe(AlarmState.ALARM_STATE_NEW);
    expect([...(alarm.deviceIds ?? [])].sort()).toEqual([...sensors].sort());
    expect(await alarmsOfZone(zoneId)).toHaveLength(1);
    const events = h.alarmEvents.filter((e) => e.zoneId === zoneId);
    expect(events.filter((e) => e.transition === AlarmTransition.ALARM_TRANSITION_RAISED)).toHaveLength(1);
  });

  it('applies a redelivered event once', async () => {
    const sensor = randomUUID();
    const zoneId = await createWall(h, '西侧围墙', [sensor]);
    const eventId = randomUUID();
    await h.perimeterTrigger({ deviceId: sensor, eventId });
    await h.perimeterTrigger({ deviceId: sensor, eventId });
    const marker = await h.perimeterTrigger({ deviceId: sensor });
    // Same device, same partition: the resend is seen before the third is applied — unless a
    // failed attempt sent the first two to the retry topic, so wait for both ids to be in.
    const [alarm] = await waitFor(async () => {
      const list = await alarmsOfZone(zoneId);
      const { alarm: full } = list[0]
        ? await h.client.getAlarm({ alarmId: list[0].alarmId }, { metadata: h.manager })
        : { alarm: undefined };
      const sources = full ? await sourceEventsOf(full.alarmId!) : [];
      return full && sources.includes(marker) && sources.includes(eventId) ? [full] : undefined;
    });
    expect(alarm!.occurrenceCount).toBe(2);
  });
});

describe('batches', () => {
  it('applies a batch as one by one: duplicates, disarmed zones, merges and a window outrun', async () => {
    const [walled, disarmed] = [randomUUID(), randomUUID()];
    const zoneId = await createWall(h, '批量围墙', [walled]);
    const quietZoneId = await createWall(h, '批量水岸', [disarmed]);
    await h.client.setZoneArming(
      { zoneId: quietZoneId, arming: ArmingState.ARMING_STATE_DISARMED, reason: '检修' },
      { metadata: h.manager },
    );
    const store = createAlarmStore(h.sql, {
      producer: `${h.serviceName}-batch`,
      group: `${h.serviceName}-batch`,
      floodWindowMs: 60_000,
      escalation: { limits: { critical: 60_000, high: 60_000, medium: 60_000, low: 60_000 }, maxLevel: 1 },
      playback: { beforeMs: 0, afterMs: 0 },
    });
    const at = new Date('2026-11-28T02:00:00Z');
    const input = (deviceId: string, eventId: string, offsetMs = 0) => ({
      eventId,
      compoundId: h.compoundId,
      occurredAt: new Date(at.getTime() + offsetMs),
      trigger: perimeterTrigger({
        device: { deviceId },
        state: ACTIVE,
        images: [{ objectKey: `batch/${eventId}.jpg` }],
      })!,
    });
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const batch = [
      input(walled, ids[0]!),
      input(walled, ids[1]!, 1_000),
      input(walled, ids[0]!),
      input(disarmed, ids[2]!),
      // Beyond the window of the alarm the batch merged into: a new incident.
      input(walled, ids[3]!, 62_000),
      input(walled, ids[4]!, 63_000),
    ];
    expect(await store.ingest(batch)).toEqual([
      'raised',
      'recurred',
      'duplicate',
      'suppressed',
      'raised',
      'recurred',
    ]);
    const { rows } = await h.sql.query<{ alarm_id: string; occurrence_count: number; open_key: boolean }>(
      `SELECT alarm_id, occurrence_count, flood_key NOT LIKE '%|' || alarm_id::text AS open_key
         FROM alarms WHERE zone_id = $1 ORDER BY first_occurred_at`,
      [zoneId],
    );
    expect(rows.map((row) => [row.occurrence_count, row.open_key])).toEqual([
      [2, false],
      [2, true],
    ]);
    const history = await h.sql.query<{ alarm_id: string; transition: string }>(
      `SELECT alarm_id, transition FROM alarm_history WHERE alarm_id = ANY($1::uuid[]) ORDER BY entry_id`,
      [rows.map((row) => row.alarm_id)],
    );
    expect(history.rows).toEqual([
      { alarm_id: rows[0]!.alarm_id, transition: 'raised' },
      { alarm_id: rows[0]!.alarm_id, transition: 'recurred' },
      { alarm_id: rows[1]!.alarm_id, transition: 'raised' },
      { alarm_id: rows[1]!.alarm_id, transition: 'recurred' },
    ]);
    const suppressed = await h.sql.query('SELECT event_id FROM suppressed_triggers WHERE zone_id = $1', [
      quietZoneId,
    ]);
    expect(suppressed.rows).toEqual([{ event_id: ids[2] }]);
    // The whole batch again (a redelivery after a crash before the commit of offsets): nothing twice.
    expect(await store.ingest(batch)).toEqual(batch.map(() => 'duplicate'));
    // A later trigger still merges into the open alarm.
    expect(await store.ingest([input(walled, randomUUID(), 64_000)])).toEqual(['recurred']);
    const open = await h.sql.query('SELECT occurrence_count FROM alarms WHERE alarm_id = $1', [
      rows[1]!.alarm_id,
    ]);
    expect(open.rows).toEqual([{ occurrence_count: 3 }]);
  });
});

async function sourceEventsOf(alarmId: string): Promise<string[]> {
  const { rows } = await h.sql.query<{ source_event_ids: string[] }>(
    'SELECT source_event_ids FROM alarms WHERE alarm_id = $1',
    [alarmId],
  );
  return rows[0]?.source_event_ids ?? [];
}

describe('arming', () => {
  it('records the triggers of a disarmed zone without raising an alarm, and alarms again once armed', async () => {
    const sensor = randomUUID();
    const zoneId = await createWall(h, '北侧水岸', [sensor]);
    const { zone } = await h.client.setZoneArming(
      { zoneId, arming: ArmingState.ARMING_STATE_DISARMED, reason: '白天施工' },
      { metadata: h.manager },
    );
    expect(zone).toMatchObject({ arming: ArmingState.ARMING_STATE_DISARMED, armingChangedBy: 'manager-1' });
    for (let i = 0; i < 5; i++) await h.perimeterTrigger({ deviceId: sensor });
    await waitFor(async () => {
      const { rows } = await h.sql.query(
        'SELECT count(*)::int AS n FROM suppressed_triggers WHERE zone_id = $1',
        [zoneId],
      );
      return rows[0].n === 5;
    });
    expect(await alarmsOfZone(zoneId)).toEqual([]);

    await h.client.setZoneArming({ zoneId, arming: ArmingState.ARMING_STATE_ARMED }, { metadata: h.manager });
    await h.perimeterTrigger({ deviceId: sensor });
    const [alarm] = await waitFor(async () => {
      const list = await alarmsOfZone(zoneId);
      return list.length ? list : undefined;
    });
    expect(alarm!.occurrenceCount).toBe(1);
    const { rows } = await h.sql.query(
      'SELECT arming, changed_by FROM zone_arming_changes WHERE zone_id = $1',
      [zoneId],
    );
    expect(rows.map((r) => r.arming)).toEqual(['disarmed', 'armed']);
  });
});

describe('lifecycle', () => {
  it('walks raised → acknowledged → assigned → commented → started → resolved, with history and events', async () => {
    const sensor = randomUUID();
    const camera = randomUUID();
    const zoneId = await createWall(h, '小区东门围栏', [sensor], [camera]);
    await h.client.setDutyRule(
      {
        rule: { compoundId: h.compoundId, zoneId, teamId: 'east-team', escalationTeamIds: ['duty-manager'] },
      },
      { metadata: h.manager },
    );
    await h.perimeterTrigger({ deviceId: sensor });
    const [raised] = await waitFor(async () => {
      const list = await alarmsOfZone(zoneId);
      return list.length ? list : undefined;
    });
    const alarmId = raised!.alarmId!;
    expect(raised).toMatchObject({ assigneeTeamId: 'east-team', escalationLevel: 0 });
    expect(raised!.acknowledgeDeadline).toBeTruthy();
    // Linkage: the zone's camera with a playback window around the occurrence.
    expect(raised!.video).toHaveLength(1);
    expect(raised!.video![0]!.cameraDeviceId).toBe(camera);

    const metadata = h.guard;
    await expect(h.client.startAlarm({ alarmId }, { metadata })).rejects.toThrow(FailedPreconditionError);
    await h.client.acknowledgeAlarm({ alarmId, comment: '收到' }, { metadata });
    await h.client.assignAlarm({ alarmId, assigneeUserId: 'guard-9' }, { metadata });
    await h.client.commentAlarm({ alarmId, comment: '调看录像, 有人翻墙' }, { metadata });
    await h.client.startAlarm({ alarmId }, { metadata });
    const { alarm } = await h.client.resolveAlarm(
      { alarmId, resolution: AlarmResolution.ALARM_RESOLUTION_REAL, comment: '已移交派出所' },
      { metadata },
    );
    expect(alarm).toMatchObject({
      state: AlarmState.ALARM_STATE_RESOLVED,
      resolution: AlarmResolution.ALARM_RESOLUTION_REAL,
      assigneeUserId: 'guard-9',
      assigneeTeamId: 'east-team',
    });
    expect(alarm!.acknowledgeDeadline).toBeFalsy();
    const T = AlarmTransition;
    expect(alarm!.history!.map((e) => [e.transition, e.actor])).toEqual([
      [T.ALARM_TRANSITION_RAISED, 'system'],
      [T.ALARM_TRANSITION_ACKNOWLEDGED, 'guard-7'],
      [T.ALARM_TRANSITION_ASSIGNED, 'guard-7'],
      [T.ALARM_TRANSITION_COMMENTED, 'guard-7'],
      [T.ALARM_TRANSITION_STARTED, 'guard-7'],
      [T.ALARM_TRANSITION_RESOLVED, 'guard-7'],
    ]);
    expect(alarm!.history![3]!.comment).toBe('调看录像, 有人翻墙');
    await expect(h.client.commentAlarm({ alarmId, comment: 'late' }, { metadata })).rejects.toThrow(
      /resolved/,
    );

    const events = await waitFor(() => {
      const of = h.alarmEvents.filter((e) => e.alarmId === alarmId);
      return of.length === 6 ? of : undefined;
    });
    expect(events.map((e) => e.transition)).toEqual(alarm!.history!.map((e) => e.transition));
    expect(events.at(-1)).toMatchObject({
      actor: 'guard-7',
      comment: '已移交派出所',
      state: AlarmState.ALARM_STATE_RESOLVED,
    });
  });
});

describe('image holds', () => {
  it('holds the snapshots of an open alarm, the new ones of each recurrence, and releases all on resolution', async () => {
    const sensor = randomUUID();
    const zoneId = await createWall(h, '地下车库管道', [sensor]);
    const first = `snapshots/${uniqueName('a')}.jpg`;
    const second = `snapshots/${uniqueName('b')}.jpg`;
    await h.perimeterTrigger({ deviceId: sensor, images: [first] });
    await h.perimeterTrigger({ deviceId: sensor, images: [first, second] });
    const alarm = await waitFor(async () => {
      const [open] = await alarmsOfZone(zoneId);
      return open?.occurrenceCount === 2 ? open : undefined;
    });
    expect(alarm.snapshotKeys).toEqual([first, second]);
    const holds = await waitFor(() => {
      const of = h.holdEvents.filter((e) => e.alarmId === alarm.alarmId);
      return of.length === 2 ? of : undefined;
    });
    expect(holds.map((e) => [e.kind, e.objectKeys])).toEqual([
      [ImageHoldKind.IMAGE_HOLD_KIND_HOLD, [first]],
      [ImageHoldKind.IMAGE_HOLD_KIND_HOLD, [second]],
    ]);

    await h.client.resolveAlarm(
      { alarmId: alarm.alarmId, resolution: AlarmResolution.ALARM_RESOLUTION_FALSE_ALARM, comment: '猫' },
      { metadata: h.guard },
    );
    const release = await waitFor(() =>
      h.holdEvents.find(
        (e) => e.alarmId === alarm.alarmId && e.kind === ImageHoldKind.IMAGE_HOLD_KIND_RELEASE,
      ),
    );
    expect(release.objectKeys).toEqual([first, second]);
  });
});

describe('a poison event', () => {
  let dlq: Subscription;
  const dead: string[] = [];

  afterAll(async () => {
    await dlq?.close();
  });

  it('goes to the DLQ with the reason, and the next trigger is still consumed', async () => {
    const key = uniqueName('poison-device');
    dlq = await h.bus.subscribe({
      group: uniqueName('alarms-dlq-watch'),
      topics: [dlqTopic(topics.devicePerimeterTriggered.name)],
      handler: async (message) => {
        // Every test file's service dead-letters the same poison: only this one's count.
        if (message.key === key && message.headers[HEADER.dlqConsumerGroup] === h.serviceName)
          dead.push(String(message.headers[HEADER.dlqReason] ?? ''));
      },
    });
    await h.bus.publish(topics.devicePerimeterTriggered.name, [
      { key, value: new Uint8Array([0xff, 0xff, 0xff]) },
    ]);
    // Decodes, but belongs to no compound: refused as permanent, not retried.
    await h.bus.publish(topics.devicePerimeterTriggered.name, [
      {
        key,
        value: anfang.device.v1.PerimeterTriggered.encode({
          meta: { eventId: randomUUID(), occurredAt: timestampFromDate(new Date()) },
          device: { deviceId: key },
          state: ACTIVE,
        }).finish(),
      },
    ]);
    const sensor = randomUUID();
    await h.perimeterTrigger({ deviceId: sensor });
    await waitFor(() => dead.length === 2, { timeoutMs: 30_000, message: 'poison did not reach the DLQ' });
    expect(dead.every((reason) => reason.length > 0)).toBe(true);
    await waitFor(() => alarmOfDevice(sensor));
  });
});
