/**
 * Status and clock over the real infrastructure: a heartbeat brings a device online, silence
 * takes it offline (interval 400 ms × 2 misses here), a 2 s clock offset flags drift and queues a
 * time sync, a 6 s one raises a device alarm. Devices changing together share transactions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import type { Pool } from '@anfang/platform/pg';
import { waitFor } from '@anfang/testing';
import { signedFetch, startHarness, type Harness } from './pipeline-harness.ts';

const S = anfang.device.v1.DeviceStatus;
const D = anfang.device.v1.ClockDriftSeverity;
let h: Harness;
/** Drift is judged on the least-delayed sample of this window: a test lets it pass before a later offset. */
const CLOCK_WINDOW_MS = 300;
const pastClockWindow = () => new Promise((r) => setTimeout(r, CLOCK_WINDOW_MS + 50));

beforeAll(async () => {
  h = await startHarness({
    watch: [
      topics.deviceStatusChanged,
      topics.deviceClockDrift,
      topics.deviceAlarmReported,
      topics.deviceCommandStatus,
    ],
    ingest: {
      status: { heartbeatIntervalMs: 400, allowedMisses: 2 },
      sweepIntervalMs: 100,
      clockWindowMs: CLOCK_WINDOW_MS,
    },
  });
}, 90_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const heartbeat = (device: { deviceId: string }, secret: string, timestamp?: number) =>
  signedFetch(
    h.baseUrl,
    device,
    secret,
    'POST',
    '/api/v1/device/heartbeat',
    '{}',
    timestamp ? { timestamp } : {},
  );

/**
 * Counts the transactions opened on the pool: `withTransaction` checks a client out with
 * `connect()`, while plain queries check out through a callback and are not counted.
 */
function countTransactions(pool: Pool): { readonly count: number; stop(): void } {
  const connect = pool.connect;
  let count = 0;
  pool.connect = ((...args: unknown[]) => {
    if (args.length === 0) count++;
    return (connect as (...a: unknown[]) => unknown).apply(pool, args);
  }) as Pool['connect'];
  return {
    get count() {
      return count;
    },
    stop: () => {
      pool.connect = connect;
    },
  };
}

describe('device status and clock', () => {
  it('heartbeat → online; silence → offline', async () => {
    const { device, secret } = await h.addDevice();
    const res = await heartbeat(device, secret);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { timeMs: number; commands: unknown[] };
    expect(body.commands).toEqual([]);
    const online = await waitFor(() => h.watcher.of(topics.deviceStatusChanged, device.deviceId)[0]);
    expect(online.payload.status).toBe(S.DEVICE_STATUS_ONLINE);
    expect(online.payload.reason).toBe(anfang.device.v1.StatusChangeReason.STATUS_CHANGE_REASON_HEARTBEAT);
    const offline = await waitFor(() => h.watcher.of(topics.deviceStatusChanged, device.deviceId)[1], {
      timeoutMs: 15_000,
    });
    expect(offline.payload.previousStatus).toBe(S.DEVICE_STATUS_ONLINE);
    expect(offline.payload.status).toBe(S.DEVICE_STATUS_OFFLINE);
    expect(offline.payload.reason).toBe(
      anfang.device.v1.StatusChangeReason.STATUS_CHANGE_REASON_HEARTBEAT_TIMEOUT,
    );
    const row = await h.core.activityStore.get(device.deviceId);
    expect(row?.status).toBe('offline');
    expect(row?.lastHeartbeatAt).not.toBeNull();
    // Back online on the next contact.
    expect((await heartbeat(device, secret)).status).toBe(200);
    const again = await waitFor(() => h.watcher.of(topics.deviceStatusChanged, device.deviceId)[2]);
    expect(again.payload.status).toBe(S.DEVICE_STATUS_ONLINE);
  }, 40_000);

  it('devices coming online and timing out together share transactions, each with its own event', async () => {
    const crowd = await Promise.all(Array.from({ length: 60 }, () => h.addDevice()));
    const answers = await Promise.all(crowd.map(({ device, secret }) => heartbeat(device, secret)));
    expect(answers.map((r) => r.status)).toEqual(crowd.map(() => 200));
    for (const { device } of crowd) {
      const online = await waitFor(() => h.watcher.of(topics.deviceStatusChanged, device.deviceId)[0]);
      expect(online.payload).toMatchObject({
        status: S.DEVICE_STATUS_ONLINE,
        previousStatus: S.DEVICE_STATUS_OFFLINE,
        reason: anfang.device.v1.StatusChangeReason.STATUS_CHANGE_REASON_HEARTBEAT,
        device: { deviceId: device.deviceId },
      });
      expect(online.payload.lastSeenAt).toBeDefined();
    }
    // Silent from now on: all of them time out (in a sweep or two), and their transitions share
    // transactions — one each would be 60 (the outbox relay's own are among those counted).
    const transactions = countTransactions(h.pool);
    try {
      for (const { device } of crowd) {
        const offline = await waitFor(() => h.watcher.of(topics.deviceStatusChanged, device.deviceId)[1], {
          timeoutMs: 15_000,
        });
        expect(offline.payload).toMatchObject({
          status: S.DEVICE_STATUS_OFFLINE,
          previousStatus: S.DEVICE_STATUS_ONLINE,
          reason: anfang.device.v1.StatusChangeReason.STATUS_CHANGE_REASON_HEARTBEAT_TIMEOUT,
          device: { deviceId: device.deviceId },
        });
      }
      expect(transactions.count).toBeLessThan(20);
    } finally {
      transactions.stop();
    }
    const rows = await h.core.activityStore.list(crowd.map((c) => c.device.deviceId));
    expect(rows.map((r) => r.status)).toEqual(crowd.map(() => 'offline'));
  }, 60_000);

  it('clocks drifting together share transactions; each device gets its drift event and one time sync', async () => {
    const crowd = await Promise.all(Array.from({ length: 40 }, () => h.addDevice()));
    await Promise.all(crowd.map(({ device, secret }) => heartbeat(device, secret)));
    for (const { device } of crowd)
      await waitFor(() => h.watcher.of(topics.deviceStatusChanged, device.deviceId)[0]);
    // The prompt heartbeats' samples would outweigh the offsets below within the window.
    await pastClockWindow();
    const transactions = countTransactions(h.pool);
    try {
      const answers = await Promise.all(
        crowd.map(({ device, secret }) => heartbeat(device, secret, Date.now() - 2000)),
      );
      expect(answers.map((r) => r.status)).toEqual(crowd.map(() => 200));
      for (const { device } of crowd) {
        const drift = await waitFor(() => h.watcher.of(topics.deviceClockDrift, device.deviceId)[0]);
        expect(drift.payload).toMatchObject({
          severity: D.CLOCK_DRIFT_SEVERITY_WARNING,
          previousSeverity: D.CLOCK_DRIFT_SEVERITY_OK,
          resyncQueued: true,
          device: { deviceId: device.deviceId },
        });
        expect(Number(drift.payload.offsetMs)).toBeLessThanOrEqual(-2000);
      }
      // One per device would be 40; the timeouts of the same crowd may add a batch or two.
      expect(transactions.count).toBeLessThan(20);
    } finally {
      transactions.stop();
    }
    const { rows } = await h.pool.query<{ device_id: string; n: string }>(
      `SELECT device_id, count(*) AS n FROM device_commands
        WHERE device_id = ANY($1::text[]) AND kind = 'timeSync' GROUP BY device_id`,
      [crowd.map((c) => c.device.deviceId)],
    );
    expect(rows).toHaveLength(crowd.length);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    const stored = await h.core.activityStore.list(crowd.map((c) => c.device.deviceId));
    expect(stored.map((r) => r.clockSeverity)).toEqual(crowd.map(() => 'warning'));
  }, 60_000);

  it('a 2 s offset flags drift and queues a time sync; 6 s raises an alarm', async () => {
    const { device, secret } = await h.addDevice();
    expect((await heartbeat(device, secret, Date.now() - 2000)).status).toBe(200);
    const drift = await waitFor(() => h.watcher.of(topics.deviceClockDrift, device.deviceId)[0]);
    expect(drift.payload.severity).toBe(D.CLOCK_DRIFT_SEVERITY_WARNING);
    expect(drift.payload.previousSeverity).toBe(D.CLOCK_DRIFT_SEVERITY_OK);
    // Device − platform: the device is 2 s behind.
    expect(Number(drift.payload.offsetMs)).toBeLessThanOrEqual(-2000);
    expect(Number(drift.payload.offsetMs)).toBeGreaterThan(-3000);
    const row = await h.core.activityStore.get(device.deviceId);
    expect(row?.clockOffsetMs).toBe(Number(drift.payload.offsetMs));
    expect(row?.clockSampledAt).toBeInstanceOf(Date);
    expect(drift.payload.resyncQueued).toBe(true);
    const { rows } = await h.pool.query<{ kind: string; status: string }>(
      'SELECT kind, status FROM device_commands WHERE device_id = $1',
      [device.deviceId],
    );
    // Queued by the drift transition; already delivered when the transition committed before
    // this heartbeat's "anything waiting?" read (which lingers for the heartbeats after it).
    expect(rows).toHaveLength(1);
    expect(rows[0]!.kind).toBe('timeSync');
    expect(['queued', 'delivered']).toContain(rows[0]!.status);
    const queued = await waitFor(() => h.watcher.of(topics.deviceCommandStatus, device.deviceId)[0]);
    expect(queued.payload.status).toBe(anfang.device.v1.CommandStatus.COMMAND_STATUS_QUEUED);

    // The next heartbeat (6 s behind, once the 2 s sample is out of the window) gets the time sync
    // and raises the alarm.
    await pastClockWindow();
    const res = await heartbeat(device, secret, Date.now() - 6000);
    const body = (await res.json()) as { commands: { commandId: string; command: { command?: string } }[] };
    expect(body.commands).toHaveLength(1);
    expect(body.commands[0]!.command.command).toBe('timeSync');
    const alarm = await waitFor(() => h.watcher.of(topics.deviceAlarmReported, device.deviceId)[0]);
    expect(alarm.payload.kind).toBe(anfang.device.v1.DeviceAlarmKind.DEVICE_ALARM_KIND_CLOCK_DRIFT);
    expect(alarm.payload.state).toBe(anfang.common.v1.TriggerState.TRIGGER_STATE_ACTIVE);
    const toAlarm = await waitFor(() => h.watcher.of(topics.deviceClockDrift, device.deviceId)[1]);
    expect(toAlarm.payload.severity).toBe(D.CLOCK_DRIFT_SEVERITY_ALARM);
    expect(toAlarm.payload.resyncQueued).toBe(false);
  }, 40_000);
});
