/**
 * GET /status/devices on the real service (src/service.ts, HTTP_PORT) over the local
 * infrastructure: devices registered through gRPC in two compounds, a signed heartbeat from one
 * (its clock 1.5 s behind), and the per-compound online/offline counts, the compound filter and
 * the clock offset (device − platform, also in GetDeviceStatus) as an operator reads them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampToMillis, topics } from '@anfang/contracts';
import { waitFor } from '@anfang/testing';
import type { DeviceStatusReport } from '../src/http/status-routes.ts';
import { startVendorService, type VendorService } from './isapi-service.ts';
import { signedFetch } from './pipeline-harness.ts';
import { registryClient } from './registry-client.ts';

const { DeviceType, Module } = anfang.common.v1;
const { DeviceProtocol, DeviceStatus } = anfang.device.v1;
const A = '370303001001021';
const B = '370303001001022';
const SECRET = 'status-endpoint-secret-0001';

let svc: VendorService;

beforeAll(async () => {
  svc = await startVendorService('status-endpoint', [topics.deviceStatusChanged], {
    OTEL_METRICS_EXPORTER: 'prometheus',
  });
}, 90_000);

afterAll(async () => {
  await svc?.close();
}, 60_000);

const gate = (name: string, compoundId: string): anfang.device.v1.Device.$Properties => ({
  name,
  deviceType: DeviceType.DEVICE_TYPE_FACE_GATE,
  module: Module.MODULE_PEDESTRIAN_ACCESS,
  compoundId,
  protocol: DeviceProtocol.DEVICE_PROTOCOL_GENERIC_HTTP,
});

async function report(query = ''): Promise<DeviceStatusReport> {
  const res = await fetch(`http://127.0.0.1:${svc.httpPort}/status/devices${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as DeviceStatusReport;
}

describe('GET /status/devices', () => {
  it('lists devices online/offline per compound, filtered by compound', async () => {
    const north = await svc.register(gate('北门闸机', A), SECRET);
    const south = await svc.register(gate('南门闸机', A), SECRET);
    const east = await svc.register(gate('东门闸机', B), SECRET);

    const before = await report();
    expect(before.compounds.map((c) => [c.compoundId, c.online, c.offline])).toEqual([
      [A, 0, 2],
      [B, 0, 1],
    ]);
    expect(before.compounds[0]!.devices).toEqual([
      {
        deviceId: north,
        name: '北门闸机',
        deviceType: 'DEVICE_TYPE_FACE_GATE',
        status: 'offline',
        lastSeenAt: null,
        clockOffsetMs: null,
      },
      expect.objectContaining({ deviceId: south, status: 'offline', lastSeenAt: null }),
    ]);

    // The device directory learns of the registration by NOTIFY; retry until it is accepted.
    const sentAt = Date.now();
    await waitFor(
      async () =>
        (
          await signedFetch(
            `http://127.0.0.1:${svc.devicePort}`,
            { deviceId: north },
            SECRET,
            'POST',
            '/api/v1/device/heartbeat',
            '{}',
            { timestamp: Date.now() - 1500 },
          )
        ).status === 200,
    );

    const after = await waitFor(async () => {
      const r = await report();
      const a = r.compounds.find((c) => c.compoundId === A);
      const n = a?.devices.find((d) => d.deviceId === north);
      return a?.online === 1 && n?.clockOffsetMs != null ? r : undefined;
    });
    const a = after.compounds.find((c) => c.compoundId === A)!;
    expect([a.online, a.offline]).toEqual([1, 1]);
    const n = a.devices.find((d) => d.deviceId === north)!;
    expect(n.status).toBe('online');
    expect(Date.parse(n.lastSeenAt!)).toBeGreaterThanOrEqual(sentAt - 1000);
    // Device − platform: the device's clock is 1.5 s behind.
    expect(n.clockOffsetMs!).toBeLessThanOrEqual(-1500);
    expect(n.clockOffsetMs!).toBeGreaterThan(-4000);
    expect(a.devices.find((d) => d.deviceId === south)!.status).toBe('offline');
    expect(after.compounds.find((c) => c.compoundId === B)).toMatchObject({ online: 0, offline: 1 });

    const onlyB = await report(`?compound=${B}`);
    expect(onlyB.compounds).toHaveLength(1);
    expect(onlyB.compounds[0]).toMatchObject({ compoundId: B, online: 0, offline: 1 });
    expect(onlyB.compounds[0]!.devices.map((d) => d.deviceId)).toEqual([east]);
    expect((await report('?compound=999999999')).compounds).toEqual([]);

    // The same figures as metrics, for the "devices offline" alert (cached up to 15 s).
    await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${svc.httpPort}/metrics`)).text();
        const value = (name: string, compound: string) =>
          new RegExp(`^${name}\\{[^}]*compound_id="${compound}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1];
        return value('anfang_devices_online', A) === '1' &&
          value('anfang_devices_offline', A) === '1' &&
          value('anfang_devices_offline', B) === '1'
          ? true
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect((await fetch(`http://127.0.0.1:${svc.httpPort}/status/devices?compound=a/b`)).status).toBe(400);

    // GetDeviceStatus agrees: the same sign, and when it was measured.
    const registry = registryClient(svc.grpcPort);
    try {
      const status = await registry.getDeviceStatus({ deviceId: north });
      expect(status.status).toBe(DeviceStatus.DEVICE_STATUS_ONLINE);
      expect(status.clockOffsetKnown).toBe(true);
      expect(Number(status.clockOffsetMs)).toBe(n.clockOffsetMs);
      expect(timestampToMillis(status.clockMeasuredAt!)).toBeGreaterThanOrEqual(sentAt - 1000);
    } finally {
      registry.close();
    }
  }, 60_000);
});
