/**
 * Scenarios of SPEC, played on the whole platform in local mode: devices are the simulator's
 * (real protocol requests from their own addresses and credentials), people act through the
 * gateway's REST API with a signed-in session, and what they see is read back the same way.
 * One platform for the file; each scenario uses devices of its own.
 *
 * The install is namespaced: its own databases and bucket, and (INSTALL_NAMESPACE) its own
 * consumer groups and cache keys, so other installs on the same Kafka and Redis — another
 * checkout's tests — cannot take its partitions or its dedupe marks.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openDeviceKit,
  sendIsapiEvent,
  type DeviceKit,
  type FaceAccess,
  type PerimeterTrigger,
  sendGenericEvents,
} from '@anfang/simulator';
import { waitFor } from '@anfang/testing';
import { startLocalPlatform, type LocalPlatform } from './support/platform.ts';

let platform: LocalPlatform;
let kit: DeviceKit;
let token = '';

async function rest<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${platform.httpUrl('gateway')}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

// ANFANG_E2E_SCENARIOS=0 skips the file (a quick run of the other e2e files).
const enabled = process.env.ANFANG_E2E_SCENARIOS !== '0';

beforeAll(async () => {
  if (!enabled) return;
  platform = await startLocalPlatform({ prefix: 'scn' });
  kit = await openDeviceKit({
    target: platform.deviceUrl(),
    registry: platform.grpcAddress('device-ingest'),
    callerTokenKey: platform.callerTokenKey,
    statePath: join(platform.dataDir, 'kit-state.json'),
    compounds: 2,
  });
  const login = await fetch(`${platform.httpUrl('gateway')}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: platform.adminPassword }),
  });
  token = ((await login.json()) as { token: string }).token;
}, 480_000);

afterAll(async () => {
  kit?.close();
  await platform?.stop();
});

interface Alarm {
  alarmId: string;
  state: string;
  source: string;
  category: string;
  zoneId?: string;
  occurrenceCount: number;
  snapshotKeys?: string[];
  history?: {
    transition: string;
    state: string;
    actor: string;
    assigneeUserId?: string;
    resolution?: string;
  }[];
}

interface Hold {
  alarmId?: string;
  objectKeys?: string[];
  releasedAt?: string;
}

describe.runIf(enabled)('scenarios', () => {
  it(
    'a perimeter intrusion burst opens one alarm, acknowledged, assigned and resolved with its history; its images are held until then',
    { timeout: 180_000 },
    async () => {
      const sensor = kit.device(
        'perimeter',
        (rt) => rt.device.protocol === 'isapi' && rt.device.compound === kit.compounds[0],
      );
      const compoundId = sensor.device.compound.code;
      const { zone } = await rest<{ zone: { zoneId: string } }>('POST', '/v1/alarm/zones', {
        zone: {
          compoundId,
          name: '北墙 e2e',
          kind: 'ZONE_KIND_WALL',
          sensorDeviceIds: [sensor.device.deviceId],
        },
      });
      await rest('POST', `/v1/alarm/zones/${zone.zoneId}:arming`, {
        arming: 'ARMING_STATE_ARMED',
        reason: 'night',
      });

      // A burst: four triggers within seconds, each with its detection picture.
      for (let i = 0; i < 4; i++) {
        const delivery = await sendIsapiEvent(
          sensor,
          kit.io,
          kit.event<PerimeterTrigger>(sensor, {
            type: 'perimeter',
            state: 'active',
            target: 'human',
            regionId: '1',
          }),
        );
        expect(delivery, delivery.reason).toMatchObject({ accepted: 1, status: 200 });
      }

      const alarm = await waitFor(
        async () => {
          const { alarms = [] } = await rest<{ alarms?: Alarm[] }>(
            'GET',
            `/v1/alarm/alarms?compoundId=${compoundId}`,
          );
          const mine = alarms.filter((a) => a.zoneId === zone.zoneId);
          return mine.length > 0 && mine.every((a) => a.occurrenceCount >= 4) ? mine : undefined;
        },
        { timeoutMs: 60_000, message: 'no alarm with four occurrences for the zone' },
      );
      expect(alarm).toHaveLength(1);
      const [opened] = alarm as [Alarm];
      expect(opened).toMatchObject({ state: 'ALARM_STATE_NEW', occurrenceCount: 4 });
      expect(opened.snapshotKeys?.length ?? 0).toBeGreaterThanOrEqual(4);

      const holdOf = async () => {
        const { holds = [] } = await rest<{ holds?: Hold[] }>(
          'GET',
          `/v1/video/holds?compoundId=${compoundId}&includeReleased=true`,
        );
        return holds.find((h) => h.alarmId === opened.alarmId);
      };
      const held = await waitFor(
        async () => {
          const hold = await holdOf();
          return hold && (hold.objectKeys?.length ?? 0) >= opened.snapshotKeys!.length ? hold : undefined;
        },
        { timeoutMs: 60_000, message: 'the alarm images are not held' },
      );
      expect(held.releasedAt).toBeUndefined();
      expect(held.objectKeys).toEqual(expect.arrayContaining(opened.snapshotKeys!));

      const id = opened.alarmId;
      await rest('POST', `/v1/alarm/alarms/${id}:acknowledge`, { comment: '收到' });
      await rest('POST', `/v1/alarm/alarms/${id}:assign`, { assigneeUserId: 'guard-7', comment: '去北墙' });
      await rest('POST', `/v1/alarm/alarms/${id}:start`, { comment: '到场' });
      expect((await holdOf())?.releasedAt).toBeUndefined();
      await rest('POST', `/v1/alarm/alarms/${id}:resolve`, {
        resolution: 'ALARM_RESOLUTION_REAL',
        comment: '翻墙者已离开',
      });

      const { alarm: closed } = await rest<{ alarm: Alarm }>('GET', `/v1/alarm/alarms/${id}`);
      expect(closed.state).toBe('ALARM_STATE_RESOLVED');
      expect(closed.history?.map((h) => h.transition)).toEqual([
        'ALARM_TRANSITION_RAISED',
        'ALARM_TRANSITION_RECURRED',
        'ALARM_TRANSITION_RECURRED',
        'ALARM_TRANSITION_RECURRED',
        'ALARM_TRANSITION_ACKNOWLEDGED',
        'ALARM_TRANSITION_ASSIGNED',
        'ALARM_TRANSITION_STARTED',
        'ALARM_TRANSITION_RESOLVED',
      ]);
      expect(closed.history?.find((h) => h.transition === 'ALARM_TRANSITION_ASSIGNED')?.assigneeUserId).toBe(
        'guard-7',
      );
      expect(closed.history?.at(-1)?.resolution).toBe('ALARM_RESOLUTION_REAL');
      await waitFor(async () => ((await holdOf())?.releasedAt ? true : undefined), {
        timeoutMs: 60_000,
        message: 'the hold was not released when the alarm was resolved',
      });
    },
  );

  it('a face spoof at a unit door is refused and alarmed', { timeout: 120_000 }, async () => {
    const door = kit.device(
      'unitDoor',
      (rt) => rt.device.protocol === 'generic' && rt.device.compound === kit.compounds[1],
    );
    const compoundId = door.device.compound.code;
    const delivery = await sendGenericEvents(door, kit.io, [
      kit.event<FaceAccess>(door, {
        type: 'faceAccess',
        personRef: '',
        personName: '',
        liveness: 'spoof',
        passed: false,
        similarity: 0.2,
      }),
    ]);
    expect(delivery).toMatchObject({ accepted: 1 });
    const spoof = await waitFor(
      async () => {
        const { alarms = [] } = await rest<{ alarms?: Alarm[] }>(
          'GET',
          `/v1/alarm/alarms?compoundId=${compoundId}`,
        );
        return alarms.find((a) => /spoof/i.test(a.category) || /SPOOF/.test(a.source));
      },
      { timeoutMs: 60_000, message: 'no spoof alarm' },
    );
    expect(spoof.state).toBe('ALARM_STATE_NEW');
  });
});
