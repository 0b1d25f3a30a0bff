/**
 * Test harness for the vendor push routers: the real device listener app on loopback with the
 * ISAPI and ITSAPI mounts, a directory of registered devices, and a recording pipeline and
 * quarantine. `trust proxy` is on so a test can speak from any address with X-Forwarded-For.
 */
import { anfang } from '@anfang/contracts';
import { createMemoryCache } from '@anfang/platform/cache';
import { listen, type HttpServer } from '@anfang/platform/http';
import { createLogger } from '@anfang/platform/log';
import type { RegisteredDevice } from '../../domain/device.ts';
import type {
  AcceptContext,
  AcceptedEvent,
  DeviceDirectory,
  IngestPipeline,
  NormalisedEvent,
  QuarantineInput,
} from '../../ingest/types.ts';
import { createDeviceApp } from '../device-listener.ts';
import { createIsapiRouter } from './isapi.ts';
import { createItsapiRouter } from './itsapi.ts';
import type { ProtocolDeps, ProtocolRouterFactory } from './types.ts';

export function device(overrides: Partial<RegisteredDevice> = {}): RegisteredDevice {
  return {
    deviceId: 'dev-anpr-1',
    gat1400Id: '',
    name: '东门车辆入口',
    deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_PLATE_CAMERA,
    module: anfang.common.v1.Module.MODULE_VEHICLE_ACCESS,
    compoundId: '370303001001',
    zoneId: '',
    direction: anfang.common.v1.Direction.DIRECTION_IN,
    vendor: 'hikvision',
    model: 'DS-TCG225',
    serialNumber: 'DS-TCG225-E20240101AACH123456789',
    protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI,
    ipAddress: '10.21.3.41',
    active: true,
    ...overrides,
  };
}

export interface Harness {
  readonly url: string;
  readonly devices: RegisteredDevice[];
  readonly secrets: Map<string, string>;
  readonly accepted: {
    device: RegisteredDevice;
    events: readonly NormalisedEvent[];
    context: AcceptContext;
  }[];
  readonly heartbeats: { device: RegisteredDevice; context: AcceptContext }[];
  readonly quarantined: QuarantineInput[];
  /** Make the next `accept` calls fail (the bus is down). */
  failAccept: boolean;
  post(
    path: string,
    body: Buffer | string,
    headers: Record<string, string>,
    from?: string,
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function startHarness(
  devices: RegisteredDevice[],
  factories: { isapi?: ProtocolRouterFactory; itsapi?: ProtocolRouterFactory } = {},
): Promise<Harness> {
  const seen = new Set<string>();
  const harness = {
    devices,
    secrets: new Map<string, string>(),
    accepted: [],
    heartbeats: [],
    quarantined: [],
    failAccept: false,
  } as unknown as Harness & { url: string; server: HttpServer };
  const directory: DeviceDirectory = {
    byId: (id) => devices.find((d) => d.deviceId === id),
    byGat1400Id: () => undefined,
    // As the registry's directory: by address and serial, or by an address with one device only.
    byAddress: (ip, serial) => {
      const at = devices.filter((d) => d.ipAddress === ip);
      if (serial === undefined) return at.length === 1 ? at[0] : undefined;
      return at.find((d) => d.serialNumber.toLowerCase() === serial.toLowerCase());
    },
    secretOf: (id) => Promise.resolve(harness.secrets.get(id)),
  };
  const pipeline: IngestPipeline = {
    accept(dev, events, context): Promise<AcceptedEvent[]> {
      if (harness.failAccept) return Promise.reject(new Error('bus unavailable'));
      harness.accepted.push({ device: dev, events, context });
      return Promise.resolve(
        events.map((e) => {
          const id = `${dev.deviceId}/${e.topic.name}/${e.sourceKey}`;
          const created = !seen.has(id);
          seen.add(id);
          return { eventId: id, created };
        }),
      );
    },
    heartbeat(dev, context) {
      harness.heartbeats.push({ device: dev, context });
      return Promise.resolve([]);
    },
  };
  const deps: ProtocolDeps = {
    directory,
    pipeline,
    quarantine: {
      keep(input) {
        harness.quarantined.push(input);
        return Promise.resolve(`q-${harness.quarantined.length}`);
      },
    },
    cache: createMemoryCache({ keyPrefix: 'test' }),
    logger: createLogger({ service: 'device-ingest-test', level: 'silent' }),
    limits: { maxBodyBytes: 256 * 1024, replayWindowMs: 300_000 },
    platformId: '37030300005030000001',
    now: () => new Date(),
  };
  const app = createDeviceApp(deps, {
    trustProxy: true,
    mounts: [
      { protocol: 'isapi', prefix: '/ISAPI', factory: factories.isapi ?? createIsapiRouter },
      { protocol: 'itsapi', prefix: '/NotificationInfo', factory: factories.itsapi ?? createItsapiRouter },
    ],
  });
  const server = await listen(app, 0, '127.0.0.1');
  harness.url = `http://127.0.0.1:${server.port}`;
  harness.post = (path, body, headers, from = '10.21.3.41') =>
    fetch(`${harness.url}${path}`, {
      method: 'POST',
      headers: { ...headers, 'x-forwarded-for': from },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
  harness.close = () => server.close(100);
  return harness;
}
