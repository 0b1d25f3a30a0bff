/**
 * The simulator against the real device-ingest (its ServiceModule, in-process) on the real
 * infrastructure: devices are registered through the registry, every protocol's traffic is
 * accepted, the devices show online, an operator's door opening reaches a simulated ISAPI
 * terminal (pushed by device-ingest, over Digest), and a second start reuses the registered devices.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, DeviceRegistryService, allTopics } from '@anfang/contracts';
import { callerInterceptor } from '@anfang/platform/auth';
import { createGrpcClient } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestBucket,
  createTestDatabase,
  createTestRedisNamespace,
  waitFor,
  serviceTestEnv,
  ensureTopics,
  TEST_CALLER_TOKEN_KEY,
} from '@anfang/testing';
import deviceIngestService from '@anfang/device-ingest';
import { startSimulator, type RunningSimulator } from '../src/simulator.ts';
import { buildCompounds, buildDevices, readCompoundCsv } from '../src/catalog.ts';
import { watchCommandStatuses, type CommandWatch } from './command-watch.ts';

let service: RunningService;
let devicePort: number;
let isapiPort: number;
let watch: CommandWatch;
const commandStatuses = new Map<string, number[]>();
let stateDir: string;
let simulator: RunningSimulator | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  await ensureTopics(allTopics());
  const db = await createTestDatabase('simulator');
  const bucket = await createTestBucket('simulator');
  const redis = createTestRedisNamespace('simulator');
  devicePort = await freePort();
  isapiPort = await freePort();
  stateDir = await mkdtemp(join(tmpdir(), 'anfang-simulator-'));
  service = await deviceIngestService.start(
    serviceTestEnv({
      service: 'device-ingest',
      databaseUrl: db.url,
      bucket: bucket.bucket,
      redisUrl: redis.url,
      extra: {
        DEVICE_HTTP_PORT: String(devicePort),
        // Where the simulated ISAPI devices take commands (the runner sets both in embedded mode).
        ISAPI_COMMAND_PORT: String(isapiPort),
        // Its own command consumer group: the shared one would hand commands to other installs.
        INSTALL_NAMESPACE: `sim-${randomBytes(4).toString('hex')}`,
      },
    }),
    { ownsProcess: false },
  );
  watch = await watchCommandStatuses('simulator-test', (e) =>
    commandStatuses.set(e.commandId, [...(commandStatuses.get(e.commandId) ?? []), e.status]),
  );
}, 120_000);

afterAll(async () => {
  await watch?.close();
  await simulator?.stop();
  await service?.stop('test done');
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}, 60_000);

const options = () => ({
  target: `http://127.0.0.1:${devicePort}`,
  registry: `127.0.0.1:${service.ports.grpc}`,
  callerTokenKey: TEST_CALLER_TOKEN_KEY,
  compounds: 2,
  rate: 40,
  // Busy hours all the time: a day per minute.
  timeScale: 1440,
  heartbeatSeconds: 2,
  offlinePerHour: 0,
  statsSeconds: 0,
  statePath: join(stateDir, 'state.json'),
  log: () => undefined,
  isapiCommandPort: isapiPort,
});

const simulatedDevices = () =>
  buildCompounds(
    readCompoundCsv(join(import.meta.dirname, '../data/zhangdian-old-communities.csv')),
    2,
  ).flatMap((c) => buildDevices(c));

describe('simulator against device-ingest', () => {
  it('registers its devices and every protocol is accepted', async () => {
    simulator = await startSimulator(options());
    const stats = await waitFor(
      () => {
        const s = simulator!.stats();
        const ok =
          (['generic', 'gat1400', 'isapi', 'itsapi'] as const).every(
            (p) => s.byProtocol[p].accepted > 0 && s.byProtocol[p].heartbeats > 0,
          ) &&
          // The newer device kinds have spoken too (analytics cameras, kiosks; their refusals would show below).
          (s.byEvent['analytics'] ?? 0) > 0 &&
          (s.byEvent['visitorCheckIn'] ?? 0) > 0;
        return ok ? s : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(stats.sourceAddresses).toBe(true);
    for (const p of Object.values(stats.byProtocol)) {
      expect(p.rejected).toBe(0);
      expect(p.errors).toBe(0);
    }
    expect(stats.lastRejections).toEqual([]);
  }, 120_000);

  it('shows the devices online in the registry', async () => {
    const devices = simulatedDevices();
    const client = createGrpcClient(DeviceRegistryService.definition, `127.0.0.1:${service.ports.grpc}`, {
      interceptors: [
        callerInterceptor({ subject: 'u-guard', role: 'guard', compounds: 'all' }, TEST_CALLER_TOKEN_KEY),
      ],
    });
    try {
      for (const kind of ['captureCamera', 'plateCamera', 'faceGate', 'patrol'] as const) {
        const device = devices.find((d) => d.kind === kind)!;
        await waitFor(
          async () => {
            const s = await client.getDeviceStatus({ deviceId: device.deviceId });
            return s.status === anfang.device.v1.DeviceStatus.DEVICE_STATUS_ONLINE ? s : undefined;
          },
          { timeoutMs: 30_000 },
        );
      }
    } finally {
      client.close();
    }
  }, 60_000);

  it("delivers an operator's door opening to a simulated ISAPI terminal", async () => {
    const S = anfang.device.v1.CommandStatus;
    const door = simulatedDevices().find(
      (d) => d.protocol === 'isapi' && (d.kind === 'unitDoor' || d.kind === 'faceGate'),
    )!;
    const commandId = randomUUID();
    await watch.send('gateway', {
      commandId,
      deviceId: door.deviceId,
      requestedBy: 'guard-1',
      reason: 'visitor at the door',
      openDoor: { doorNo: 1, holdSeconds: 5 },
    });
    await waitFor(() => commandStatuses.get(commandId)?.includes(S.COMMAND_STATUS_SUCCEEDED) || undefined, {
      timeoutMs: 45_000,
      message: `door opening ${commandId}: ${JSON.stringify(commandStatuses.get(commandId))}`,
    });
    expect(commandStatuses.get(commandId)).toEqual([
      S.COMMAND_STATUS_QUEUED,
      S.COMMAND_STATUS_DELIVERED,
      S.COMMAND_STATUS_SUCCEEDED,
    ]);
    expect(simulator!.stats().commands['PUT /ISAPI/AccessControl/RemoteControl/door/n']).toBeGreaterThan(0);
  }, 60_000);

  it('reuses the registered devices and their secrets on a second start', async () => {
    await simulator!.stop();
    const lines: string[] = [];
    simulator = await startSimulator({ ...options(), log: (l) => lines.push(l) });
    expect(lines.find((l) => l.startsWith('devices:'))).toMatch(
      /devices: \d+ reused, 0 registered, 0 secrets rotated, 0 failed/,
    );
    const before = simulator.stats().byProtocol.generic.accepted;
    await waitFor(() => (simulator!.stats().byProtocol.generic.accepted > before ? true : undefined), {
      timeoutMs: 30_000,
    });
    expect(simulator.stats().byProtocol.generic.rejected).toBe(0);
  }, 60_000);
});
