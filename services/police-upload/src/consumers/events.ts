/**
 * The service's one subscription (group: the service name) over every topic it consumes:
 * - face captures and access records with pictures → Faces (and Persons when a capture has a
 *   whole-person picture), vehicle passages (with InOut) and
 *   plate reads of cameras without a barrier → MotorVehicles, enqueued once per entitled
 *   platform; the stable object id makes a redelivered event a no-op;
 * - registry changes and online/offline → the device catalogue (APEs, the DoorDevices extension);
 * - person, house and vehicle registry changes → the PersonInfos, HouseInfos and CarInfos
 *   extensions (./registry.ts);
 * - the same objects as SubscribeNotifications for every active subscription they match;
 * - vehicle and person watchlist hits of a police disposition → a DispositionNotification to
 *   the disposition's ReceiveAddr, through the same outbox (retried like any upload);
 * - police command results → recorded with the command; one that comes after the platform was
 *   answered "being applied" is pushed to it as the disposition's new status.
 * An event that cannot become an object is skipped when it is not uploadable by nature (a
 * spoof), and sent to the DLQ when it is malformed.
 */
import { anfang, topics } from '@anfang/contracts';
import {
  consumeBatch,
  fromTimestamp,
  PermanentError,
  type Bus,
  type EventOf,
  type Subscription,
} from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { deviceObjects, deviceRecord, isBarrierCamera, type DeviceRecord } from '../domain/devices.ts';
import { dispositionNotification, personDispositionNotification } from '../domain/notifications.ts';
import {
  faceFromAccess,
  faceFromCapture,
  isEntitled,
  motorVehicleFromPassage,
  motorVehicleFromPlateRead,
  personFromCapture,
  type BuildContext,
  type BuildResult,
} from '../domain/objects.ts';
import { matches, subscribeNotification } from '../domain/subscriptions.ts';
import { isRegistryTopic, REGISTRY_TOPICS, registryUploads, snapshotRecord } from './registry.ts';
import type { CommandStore } from '../store/commands.ts';
import type { DeviceStore } from '../store/devices.ts';
import type { SubscriptionStore } from '../store/subscriptions.ts';
import type { OutboxEntry, OutboxStore } from '../store/outbox.ts';
import type { Platform } from '../store/platforms.ts';
import type { EntitlementStore, RegistryRecord } from '../store/registry.ts';
import type { PictureReader } from '../upload/pictures.ts';

const { DeviceStatus } = anfang.device.v1;

const TOPICS = [
  topics.deviceFaceCaptured,
  topics.identityAccessRecorded,
  topics.vehiclePassageRecorded,
  topics.devicePlateRead,
  topics.deviceRegistry,
  topics.deviceStatusChanged,
  topics.vehicleWatchlistHit,
  topics.identityPersonWatchlistHit,
  topics.policeCommandResult,
  ...REGISTRY_TOPICS,
] as const;
type Event = EventOf<(typeof TOPICS)[number]>;

export async function consumeEvents(
  bus: Bus,
  deps: {
    readonly group: string;
    readonly outbox: OutboxStore;
    /** Reads the entries' pictures into their rows while their platform's outbox has room. */
    readonly pictures: PictureReader;
    /** Registry events: enqueued under the entitlement lock and kept in the snapshot. */
    readonly entitlements: EntitlementStore;
    readonly commands: CommandStore;
    readonly subscriptions: SubscriptionStore;
    readonly devices: DeviceStore;
    readonly platforms: () => readonly Platform[];
    readonly wake: (platformId: string) => void;
    readonly context: BuildContext;
    readonly logger: Logger;
  },
): Promise<Subscription> {
  const log = deps.logger.child({ component: 'events' });

  type Entry = OutboxEntry;

  /** The outbox rows of one built object: its entitled platforms and matching subscriptions. */
  const entriesOf = (built: BuildResult, platforms: readonly Platform[] = entitled(built)): Entry[] => {
    if (!built.ok) {
      if (built.reason.startsWith('meta.')) throw new PermanentError(built.reason);
      log.debug({ reason: built.reason }, 'not uploaded');
      return [];
    }
    const object = built.object;
    const now = new Date();
    const known = new Set(deps.platforms().map((p) => p.platformId));
    const notifications = deps.subscriptions
      .active()
      .filter((s) => known.has(s.platformId) && matches(s, object, now))
      .map((s) => ({
        platformId: s.platformId,
        object: subscribeNotification(s, object, deps.context, now),
      }));
    return [...platforms.map((p) => ({ platformId: p.platformId, object })), ...notifications];
  };
  /** A device state → its catalogue objects for the entitled platforms. */
  function describe(
    eventId: string,
    device: DeviceRecord,
    occurredAt: Parameters<typeof fromTimestamp>[0],
  ): Entry[] {
    return deviceObjects(eventId, device, new Date(fromTimestamp(occurredAt) ?? Date.now())).flatMap(
      (built) => entriesOf(built),
    );
  }

  function entitled(built: BuildResult): Platform[] {
    return built.ok
      ? deps.platforms().filter((p) => isEntitled(p, built.object.kind, built.object.compoundId))
      : [];
  }

  /** What one event puts in the outbox (the device and command state it changes is written here). */
  async function entriesFor(event: Event): Promise<Entry[]> {
    switch (event.topic.name) {
      case topics.deviceFaceCaptured.name: {
        const payload = event.payload as anfang.device.v1.FaceCaptured;
        return [
          ...entriesOf(faceFromCapture(event.eventId, payload, deps.context)),
          ...entriesOf(personFromCapture(event.eventId, payload, deps.context)),
        ];
      }
      case topics.identityAccessRecorded.name:
        return entriesOf(
          faceFromAccess(event.eventId, event.payload as anfang.identity.v1.AccessRecorded, deps.context),
        );
      case topics.vehiclePassageRecorded.name: {
        const payload = event.payload as anfang.vehicle.v1.VehiclePassageRecorded;
        return entriesOf(motorVehicleFromPassage(event.eventId, payload, deps.context));
      }
      case topics.devicePlateRead.name: {
        const payload = event.payload as anfang.device.v1.PlateRead;
        const deviceId = payload.device?.deviceId;
        if (deviceId && isBarrierCamera(await deps.devices.cached(deviceId))) return [];
        return entriesOf(motorVehicleFromPlateRead(event.eventId, payload, deps.context));
      }
      case topics.deviceRegistry.name: {
        const record = deviceRecord((event.payload as anfang.device.v1.DeviceChanged).device ?? {});
        if ('failure' in record) throw new PermanentError(record.failure);
        const stored = await deps.devices.upsert(record);
        // undefined: an older revision than the one held
        return stored ? describe(event.eventId, stored, event.meta.occurredAt) : [];
      }
      case topics.deviceStatusChanged.name: {
        const payload = event.payload as anfang.device.v1.DeviceStatusChanged;
        if (!payload.device?.deviceId) throw new PermanentError('meta.device.device_id is missing');
        if (
          payload.status !== DeviceStatus.DEVICE_STATUS_ONLINE &&
          payload.status !== DeviceStatus.DEVICE_STATUS_OFFLINE
        )
          return [];
        const stored = await deps.devices.setOnline(
          payload.device.deviceId,
          payload.status === DeviceStatus.DEVICE_STATUS_ONLINE,
        );
        // undefined: not in the registry (yet); its registry event describes it
        return stored ? describe(event.eventId, stored, event.meta.occurredAt) : [];
      }
      case topics.vehicleWatchlistHit.name:
      case topics.identityPersonWatchlistHit.name: {
        const hit = event.payload as
          anfang.vehicle.v1.VehicleWatchlistHit | anfang.identity.v1.PersonWatchlistHit;
        if (!hit.dispositionId) return [];
        const disposition = await deps.commands.active(hit.dispositionId);
        if (!disposition) return []; // withdrawn or expired: no more hits for the platform
        const platform = deps.platforms().find((p) => p.platformId === disposition.platformId);
        if (!platform) return [];
        const built =
          event.topic.name === topics.vehicleWatchlistHit.name
            ? dispositionNotification(
                event.eventId,
                hit as anfang.vehicle.v1.VehicleWatchlistHit,
                disposition,
                deps.context,
              )
            : personDispositionNotification(
                event.eventId,
                hit as anfang.identity.v1.PersonWatchlistHit,
                disposition,
                deps.context,
              );
        return entriesOf(built, [platform]);
      }
      case topics.policeCommandResult.name: {
        const late = await deps.commands.recordResult(event.payload as anfang.police.v1.PoliceCommandResult);
        if (late) deps.wake(late);
        return [];
      }
      default:
        return [];
    }
  }

  return consumeBatch(bus, {
    group: deps.group,
    topics: TOPICS,
    partitionsConcurrently: 8,
    // A partition's events at once: one multi-row insert (one transaction) per batch rather than
    // one per event — at hundreds of captures per second the per-event round trips were the
    // stage that queued.
    handler: async (events) => {
      const failed = new Map<number, unknown>();
      const entries: Entry[] = [];
      const registry: { n: number; event: Event }[] = [];
      for (const [n, event] of events.entries()) {
        if (isRegistryTopic(event.topic.name)) {
          registry.push({ n, event });
          continue;
        }
        try {
          entries.push(...(await entriesFor(event)));
        } catch (err) {
          if (!(err instanceof PermanentError)) throw err;
          failed.set(n, err);
        }
      }
      // The batch's pictures at once: this is the live path, measured capture → upper platform.
      const withPictures = await deps.pictures.attach(entries);
      let enqueued = withPictures;
      if (registry.length > 0) {
        const done = await deps.entitlements.enqueue(withPictures, (platforms) =>
          registryBatch(registry, platforms),
        );
        for (const [n, err] of done.failed) failed.set(n, err);
        enqueued = done.entries;
      } else if (withPictures.length > 0) await deps.outbox.enqueue(withPictures);
      for (const id of new Set(enqueued.map((e) => e.platformId))) deps.wake(id);
      return { failed };
    },
  });

  /** Registry events → their outbox rows for the platforms given and their snapshot rows. */
  function registryBatch(registry: readonly { n: number; event: Event }[], platforms: readonly Platform[]) {
    const entries: Entry[] = [];
    const records: RegistryRecord[] = [];
    const failed = new Map<number, unknown>();
    for (const { n, event } of registry) {
      try {
        const uploads = registryUploads(event.topic.name, event.eventId, event.payload, platforms);
        entries.push(...uploads.flatMap((u) => entriesOf(u.built, u.platforms)));
        const record = snapshotRecord(event.topic.name, event.eventId, event.payload, uploads);
        if (record) records.push(record);
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        failed.set(n, err);
      }
    }
    return { entries, records, failed };
  }
}
