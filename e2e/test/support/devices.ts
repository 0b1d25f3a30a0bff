/**
 * Devices as an installer adds them and as their firmware keeps in touch: a generic-HTTP device
 * of a compound registered through the gateway (with the secret the installer sets on it), and
 * the heartbeats of a set of devices, any of which can be taken off the network and back.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { anfang } from '@anfang/contracts';
import {
  registryDevice,
  sendGenericHeartbeat,
  type Compound,
  type DeviceKit,
  type DeviceRuntime,
  type SimDevice,
} from '@anfang/simulator';
import type { Rest } from './gateway.ts';

export interface DeviceSpec {
  readonly name: string;
  readonly kind: DeviceRuntime['device']['kind'];
  readonly deviceType: keyof typeof anfang.common.v1.DeviceType;
  readonly module: keyof typeof anfang.common.v1.Module;
}

/**
 * Registers a generic-HTTP device at the compound's own address (not a building's), as the
 * simulator's catalogue registers its own (`registryDevice`), and returns it ready to send. Its
 * id is new, so it is this install's alone: the kit's devices have the same ids in every install
 * on the shared topics, where another install's heartbeats and timeouts of them are seen too.
 */
export async function installGenericDevice(
  rest: Rest,
  compound: Compound,
  spec: DeviceSpec,
  /** 1–9: the device's loopback address, above the kit's in the compound's block. */
  slot: number,
): Promise<DeviceRuntime> {
  const deviceId = randomUUID();
  const serialNumber = `AGE2E${randomBytes(5).toString('hex').toUpperCase()}`;
  const secret = randomBytes(24).toString('base64url');
  const device: SimDevice = {
    deviceId,
    key: `${compound.seq}/e2e-${slot}`,
    name: `${compound.name}${spec.name}`,
    kind: spec.kind,
    protocol: 'generic',
    deviceType: anfang.common.v1.DeviceType[spec.deviceType],
    module: anfang.common.v1.Module[spec.module],
    direction: anfang.common.v1.Direction.DIRECTION_UNSPECIFIED,
    vendor: 'Anfang-Generic',
    model: 'FaceTerminal-G1',
    serialNumber,
    gat1400Id: '',
    ipAddress: `127.${1 + Math.floor(compound.seq / 256)}.${compound.seq % 256}.${250 - slot}`,
    macAddress: '',
    compound,
    zoneId: 'e2e',
  };
  await rest('POST', '/v1/devices', { device: registryDevice(device), secret });
  return {
    device,
    secret,
    skewMs: 0,
    driftMsPerHour: 0,
    offlineUntil: 0,
    serial: 1,
    nextHeartbeatAt: 0,
    registered: false,
    digest: undefined,
    backlog: [],
  };
}

/** Decommissions devices installed by `installGenericDevice`: the shared registry topic keeps the last word. */
export async function uninstall(rest: Rest, devices: readonly DeviceRuntime[]): Promise<void> {
  for (const rt of devices)
    await rest('POST', `/v1/devices/${rt.device.deviceId}:decommission`, { reason: 'e2e scenario over' });
}

export interface Heartbeats {
  /** Devices sending no heartbeat (off the network) until taken out again. */
  readonly silent: Set<DeviceRuntime>;
  stop(): Promise<void>;
}

/** Generic-HTTP heartbeats of `devices` every `intervalMs` until stopped, but from the silent ones. */
export function heartbeating(
  kit: DeviceKit,
  devices: readonly DeviceRuntime[],
  intervalMs: number,
  silentAtFirst: readonly DeviceRuntime[] = [],
): Heartbeats {
  const silent = new Set(silentAtFirst);
  let beating = true;
  let wake = () => {};
  const loop = (async () => {
    while (beating) {
      await Promise.all(
        devices.filter((rt) => !silent.has(rt)).map((rt) => sendGenericHeartbeat(rt, kit.io)),
      );
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs);
      });
    }
  })();
  return {
    silent,
    async stop() {
      beating = false;
      wake();
      await loop;
    },
  };
}
