/**
 * Registers the simulated devices with device-ingest's registry (DeviceRegistryService over
 * gRPC), idempotently. Secrets are made here and kept in a local state file before they are sent,
 * so a device is never registered with a secret the simulator does not know:
 *   known secret, device registered   → reused as is;
 *   known secret, device missing      → RegisterDevice with that secret (a fresh database);
 *   unknown secret, device registered → RotateDeviceSecret to a new one;
 *   unknown secret, device missing    → RegisterDevice with a new one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DeviceRegistryService } from '@anfang/contracts';
import { callerInterceptor } from '@anfang/platform/auth';
import { AlreadyExistsError, NotFoundError, createGrpcClient } from '@anfang/platform/grpc';
import { registryDevice, type SimDevice } from './catalog.ts';

export interface SimulatorState {
  /** deviceId → secret */
  secrets: Record<string, string>;
}

export async function loadState(path: string): Promise<SimulatorState> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<SimulatorState>;
    return { secrets: parsed.secrets ?? {} };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { secrets: {} };
    throw new Error(`simulator state ${path} is unreadable: ${(err as Error).message}`, { cause: err });
  }
}

export async function saveState(path: string, state: SimulatorState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
  await rename(tmp, path);
}

export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

export interface SetupResult {
  readonly reused: number;
  readonly registered: number;
  readonly rotated: number;
  readonly failed: { deviceId: string; key: string; error: string }[];
}

/** The simulator registers devices as a provisioning service of every compound. */
const INSTALLER = { subject: 'svc:simulator', role: 'service', compounds: 'all' } as const;

export async function setupDevices(options: {
  readonly registry: string;
  /** CALLER_TOKEN_KEY of device-ingest: the simulator signs its registry calls with it. */
  readonly callerTokenKey: string;
  readonly statePath: string;
  readonly devices: readonly SimDevice[];
  /** Rotate every secret even when the state file knows it. */
  readonly rotateSecrets?: boolean;
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}): Promise<{ result: SetupResult; secrets: Map<string, string> }> {
  const state = await loadState(options.statePath);
  const client = createGrpcClient(DeviceRegistryService.definition, options.registry, {
    deadlineMs: 10_000,
    interceptors: [callerInterceptor(INSTALLER, options.callerTokenKey)],
  });
  const counts = { reused: 0, registered: 0, rotated: 0 };
  const failed: SetupResult['failed'] = [];
  const secrets = new Map<string, string>();
  let dirty = 0;
  try {
    await client.waitForReady(30_000);
    const queue = [...options.devices];
    const worker = async (): Promise<void> => {
      for (let device = queue.shift(); device !== undefined; device = queue.shift()) {
        if (options.signal?.aborted) return;
        try {
          const known = options.rotateSecrets ? undefined : state.secrets[device.deviceId];
          const exists = await client
            .getDevice({ deviceId: device.deviceId })
            .then(() => true)
            .catch((err: unknown) => {
              if (err instanceof NotFoundError) return false;
              throw err;
            });
          let secret = known;
          if (exists && known !== undefined) {
            counts.reused += 1;
          } else if (exists) {
            secret = newSecret();
            state.secrets[device.deviceId] = secret;
            await saveState(options.statePath, state);
            await client.rotateDeviceSecret({ deviceId: device.deviceId, secret });
            counts.rotated += 1;
          } else {
            secret ??= newSecret();
            state.secrets[device.deviceId] = secret;
            dirty += 1;
            try {
              await client.registerDevice({ device: registryDevice(device), secret });
              counts.registered += 1;
            } catch (err) {
              // Registered meanwhile (another simulator): take it over with our secret.
              if (!(err instanceof AlreadyExistsError)) throw err;
              await client.rotateDeviceSecret({ deviceId: device.deviceId, secret });
              counts.rotated += 1;
            }
          }
          secrets.set(device.deviceId, secret!);
          if (dirty >= 200) {
            dirty = 0;
            await saveState(options.statePath, state);
          }
        } catch (err) {
          failed.push({
            deviceId: device.deviceId,
            key: device.key,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, () => worker()));
    await saveState(options.statePath, state);
  } finally {
    client.close();
  }
  options.log?.(
    `devices: ${counts.reused} reused, ${counts.registered} registered, ${counts.rotated} secrets rotated, ${failed.length} failed`,
  );
  for (const f of failed.slice(0, 5)) options.log?.(`  ${f.key} (${f.deviceId}): ${f.error}`);
  return { result: { ...counts, failed }, secrets };
}
