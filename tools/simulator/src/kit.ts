/**
 * The simulator's devices under a test's control: the same catalogue, registration and protocol
 * clients as the traffic model, but every request is made when the test says so. End-to-end
 * scenarios and the bad-input campaign use it so that what reaches device-ingest is what a real
 * device of that kind sends, from its own address, with its own credentials.
 */
import { join } from 'node:path';
import { buildCompounds, buildDevices, readCompoundCsv, type Compound, type DeviceKind } from './catalog.ts';
import type { SimEvent } from './events.ts';
import { setupDevices } from './registry.ts';
import { createTransport, type Transport } from './transport.ts';
import type { DeviceRuntime, ProtocolIo } from './protocols/types.ts';

export interface DeviceKitOptions {
  /** device-ingest's device listener. */
  readonly target: string;
  /** device-ingest's gRPC (the registry). */
  readonly registry: string;
  readonly callerTokenKey: string;
  readonly statePath: string;
  /** How many compounds of the district list (default 1). */
  readonly compounds?: number;
  readonly seed?: string;
}

export interface DeviceKit {
  readonly compounds: readonly Compound[];
  readonly devices: readonly DeviceRuntime[];
  readonly io: ProtocolIo;
  /** The first device of a kind (and protocol), in catalogue order; throws when there is none. */
  device(kind: DeviceKind, where?: (rt: DeviceRuntime) => boolean): DeviceRuntime;
  /**
   * The next capture of a device: its serial, its clock's time and a picture seed, with the
   * event's own fields.
   */
  event<E extends SimEvent>(rt: DeviceRuntime, fields: DistributiveOmit<E, keyof BaseFields>): E;
  close(): void;
}

type BaseFields = Pick<SimEvent, 'device' | 'serial' | 'deviceTime' | 'seed'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Registers the devices of the first compounds and returns them ready to send, clocks exact. */
export async function openDeviceKit(options: DeviceKitOptions): Promise<DeviceKit> {
  const seed = options.seed ?? 'anfang';
  const listed = readCompoundCsv(join(import.meta.dirname, '../data/zhangdian-old-communities.csv'));
  const compounds = buildCompounds(listed, options.compounds ?? 1, seed);
  const catalogue = compounds.flatMap((c) => buildDevices(c, seed));
  const { result, secrets } = await setupDevices({
    registry: options.registry,
    callerTokenKey: options.callerTokenKey,
    statePath: options.statePath,
    devices: catalogue,
  });
  if (result.failed.length > 0)
    throw new Error(
      `${result.failed.length} device(s) could not be registered: ${result.failed[0]!.key} ${result.failed[0]!.error}`,
    );
  const transport: Transport = createTransport({
    target: new URL(options.target),
    maxSockets: 32,
    timeoutMs: 15_000,
  });
  const devices: DeviceRuntime[] = catalogue.map((device, index) => ({
    device,
    secret: secrets.get(device.deviceId)!,
    skewMs: 0,
    driftMsPerHour: 0,
    offlineUntil: 0,
    serial: 1000 + index * 10_000,
    nextHeartbeatAt: 0,
    registered: false,
    digest: undefined,
    backlog: [],
  }));
  return {
    compounds,
    devices,
    io: { transport, now: () => Date.now() },
    device(kind, where = () => true) {
      const found = devices.find((rt) => rt.device.kind === kind && where(rt));
      if (!found) throw new Error(`no ${kind} device matches in ${compounds.length} compound(s)`);
      return found;
    },
    event(rt, fields) {
      rt.serial += 1;
      return {
        ...fields,
        device: rt.device,
        serial: rt.serial,
        deviceTime: new Date(Date.now() + rt.skewMs),
        seed: rt.serial,
      } as never;
    },
    close: () => transport.close(),
  };
}
