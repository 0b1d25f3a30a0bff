/**
 * What a scenario file needs around the platform: the simulator's devices (registered through
 * device-ingest's registry), an admin session at the gateway, the police's upper platform
 * registered with police-upload, and a watcher of the access decisions identity publishes.
 */
import { join } from 'node:path';
import type { anfang } from '@anfang/contracts';
import { topics } from '@anfang/contracts';
import {
  openDeviceKit,
  sendGenericEvents,
  type CardAccess,
  type DeviceKit,
  type DeviceRuntime,
  type FaceAccess,
} from '@anfang/simulator';
import { waitFor } from '@anfang/testing';
import { watch, type Watcher } from './bus.ts';
import { signIn, type Rest } from './gateway.ts';
import { startLocalPlatform, type LocalPlatform } from './platform.ts';
import {
  connectUpperPlatform,
  upperPlatformEnv,
  upperPlatformPassword,
  type UpperPlatform,
} from './upper.ts';

export type AccessRecorded = anfang.identity.v1.AccessRecorded;

export interface World {
  readonly platform: LocalPlatform;
  readonly kit: DeviceKit;
  readonly upper: UpperPlatform;
  readonly access: Watcher<typeof topics.identityAccessRecorded>;
  /** The admin's session (sign in again with `signInAdmin` after a session store was flushed). */
  rest: Rest;
  signInAdmin(): Promise<Rest>;
  /** Waits for the first access decision at a device that `match` accepts. */
  accessRecord(
    device: DeviceRuntime,
    match: (r: AccessRecorded) => boolean,
    what: string,
  ): Promise<AccessRecorded>;
  /** Every access decision at a device that `match` accepts, so far. */
  accessRecords(device: DeviceRuntime, match: (r: AccessRecorded) => boolean): AccessRecorded[];
  presentCard(
    rt: DeviceRuntime,
    cardNo: string,
    credential?: CardAccess['credential'],
  ): ReturnType<typeof sendGenericEvents>;
  showFace(
    rt: DeviceRuntime,
    personRef: string,
    liveness?: FaceAccess['liveness'],
  ): ReturnType<typeof sendGenericEvents>;
  close(): Promise<void>;
}

export async function openWorld(options: {
  readonly prefix: string;
  readonly compounds: number;
  readonly env?: Record<string, string>;
}): Promise<World> {
  // Before the platform: the group has joined long before the first decision.
  const access = await watch([topics.identityAccessRecorded]);
  const closers: (() => Promise<void>)[] = [() => access.close()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    const password = upperPlatformPassword();
    const platform = await startLocalPlatform({
      prefix: options.prefix,
      env: { ...upperPlatformEnv(password), ...options.env },
    });
    closers.push(() => platform.stop());
    const kit = await openDeviceKit({
      target: platform.deviceUrl(),
      registry: platform.grpcAddress('device-ingest'),
      callerTokenKey: platform.callerTokenKey,
      statePath: join(platform.dataDir, 'kit-state.json'),
      compounds: options.compounds,
    });
    closers.push(async () => kit.close());
    const signInAdmin = () => signIn(platform, 'admin', platform.adminPassword);
    const rest = await signInAdmin();
    const upper = await connectUpperPlatform(
      platform,
      rest,
      password,
      kit.compounds.map((c) => c.code),
    );
    closers.push(() => upper.peer.close());
    // By event id: the outbox relay publishes at least once (a kill between publishing and
    // marking sends the same event again), and consumers dedupe by id — so does this.
    const decided = (device: DeviceRuntime, match: (r: AccessRecorded) => boolean) => {
      const seen = new Set<string>();
      return access.events
        .filter((e) => !seen.has(e.eventId) && seen.add(e.eventId))
        .map((e) => e.payload as AccessRecorded)
        .filter((r) => r.device?.deviceId === device.device.deviceId && match(r));
    };
    return {
      platform,
      kit,
      upper,
      access,
      rest,
      signInAdmin,
      accessRecord: (device, match, what) =>
        waitFor(() => decided(device, match)[0], { timeoutMs: 60_000, message: `no access record: ${what}` }),
      accessRecords: decided,
      presentCard: (rt, cardNo, credential = 'card') =>
        sendGenericEvents(rt, kit.io, [
          kit.event<CardAccess>(rt, { type: 'cardAccess', credential, cardNo, valid: true }),
        ]),
      showFace: (rt, personRef, liveness = 'live') =>
        sendGenericEvents(rt, kit.io, [
          kit.event<FaceAccess>(rt, {
            type: 'faceAccess',
            personRef,
            personName: '',
            liveness,
            passed: liveness === 'live' && personRef !== '',
            similarity: personRef ? 0.93 : 0.2,
          }),
        ]),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
