/**
 * The service's one subscription (group: the service name) over every topic it consumes:
 * - face captures → Faces, vehicle passages → MotorVehicles (with InOut), enqueued once per
 *   entitled platform; the stable object id makes a redelivered event a no-op;
 * - the same objects as SubscribeNotifications for every active subscription they match;
 * - vehicle watchlist hits of a police disposition → a DispositionNotification to the
 *   disposition's ReceiveAddr, through the same outbox (retried like any upload);
 * - police command results → recorded with the command.
 * An event that cannot become an object is skipped when it is not uploadable by nature (a
 * spoof), and sent to the DLQ when it is malformed.
 */
import type { anfang } from '@anfang/contracts';
import { topics } from '@anfang/contracts';
import { consume, PermanentError, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { dispositionNotification } from '../domain/notifications.ts';
import {
  faceFromCapture,
  isEntitled,
  motorVehicleFromPassage,
  type BuildContext,
  type BuildResult,
} from '../domain/objects.ts';
import { matches, subscribeNotification } from '../domain/subscriptions.ts';
import type { CommandStore } from '../store/commands.ts';
import type { SubscriptionStore } from '../store/subscriptions.ts';
import type { OutboxStore } from '../store/outbox.ts';
import type { Platform } from '../store/platforms.ts';

export async function consumeEvents(
  bus: Bus,
  deps: {
    readonly group: string;
    readonly outbox: OutboxStore;
    readonly commands: CommandStore;
    readonly subscriptions: SubscriptionStore;
    readonly platforms: () => readonly Platform[];
    readonly wake: (platformId: string) => void;
    readonly context: BuildContext;
    readonly logger: Logger;
  },
): Promise<Subscription> {
  const log = deps.logger.child({ component: 'events' });

  const enqueue = async (built: BuildResult, platforms: readonly Platform[]): Promise<void> => {
    if (!built.ok) {
      if (built.reason.startsWith('meta.')) throw new PermanentError(built.reason);
      log.debug({ reason: built.reason }, 'not uploaded');
      return;
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
    const entries = [...platforms.map((p) => ({ platformId: p.platformId, object })), ...notifications];
    if (entries.length === 0) return;
    await deps.outbox.enqueue(entries);
    for (const id of new Set(entries.map((e) => e.platformId))) deps.wake(id);
  };
  const entitled = (built: BuildResult): Platform[] =>
    built.ok ? deps.platforms().filter((p) => isEntitled(p, built.object.kind, built.object.compoundId)) : [];

  return consume(bus, {
    group: deps.group,
    topics: [
      topics.deviceFaceCaptured,
      topics.vehiclePassageRecorded,
      topics.vehicleWatchlistHit,
      topics.policeCommandResult,
    ],
    partitionsConcurrently: 8,
    handler: async (event) => {
      switch (event.topic.name) {
        case topics.deviceFaceCaptured.name: {
          const built = faceFromCapture(
            event.eventId,
            event.payload as anfang.device.v1.FaceCaptured,
            deps.context,
          );
          return enqueue(built, entitled(built));
        }
        case topics.vehiclePassageRecorded.name: {
          const payload = event.payload as anfang.vehicle.v1.VehiclePassageRecorded;
          const built = motorVehicleFromPassage(event.eventId, payload, deps.context);
          return enqueue(built, entitled(built));
        }
        case topics.vehicleWatchlistHit.name: {
          const hit = event.payload as anfang.vehicle.v1.VehicleWatchlistHit;
          if (!hit.dispositionId) return;
          const disposition = await deps.commands.active(hit.dispositionId);
          if (!disposition) return; // withdrawn or expired: no more hits for the platform
          const platform = deps.platforms().find((p) => p.platformId === disposition.platformId);
          if (!platform) return;
          return enqueue(dispositionNotification(event.eventId, hit, disposition, deps.context), [platform]);
        }
        case topics.policeCommandResult.name:
          return deps.commands.recordResult(event.payload as anfang.police.v1.PoliceCommandResult);
      }
    },
  });
}
