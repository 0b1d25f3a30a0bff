/**
 * Consumes what the police platform receives (group: the service name, one subscription for all
 * its topics): face captures → Faces, vehicle passages → MotorVehicles (with InOut). Each object
 * is enqueued once per entitled platform; the stable object id makes a redelivered event a
 * no-op. An event that cannot become an object is skipped with the reason when it is not
 * uploadable by nature (a spoof), and sent to the DLQ when it is malformed.
 */
import { topics } from '@anfang/contracts';
import { consume, PermanentError, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import {
  faceFromCapture,
  isEntitled,
  motorVehicleFromPassage,
  type BuildContext,
  type BuildResult,
} from '../domain/objects.ts';
import type { OutboxStore } from '../store/outbox.ts';
import type { Platform } from '../store/platforms.ts';

export async function consumeCaptures(
  bus: Bus,
  deps: {
    readonly group: string;
    readonly outbox: OutboxStore;
    readonly platforms: () => readonly Platform[];
    readonly wake: (platformId: string) => void;
    readonly context: BuildContext;
    readonly logger: Logger;
  },
): Promise<Subscription> {
  const log = deps.logger.child({ component: 'captures' });
  return consume(bus, {
    group: deps.group,
    topics: [topics.deviceFaceCaptured, topics.vehiclePassageRecorded],
    partitionsConcurrently: 4,
    handler: async (event) => {
      let built: BuildResult;
      if (event.topic.name === topics.deviceFaceCaptured.name)
        built = faceFromCapture(
          event.eventId,
          event.payload as Parameters<typeof faceFromCapture>[1],
          deps.context,
        );
      else
        built = motorVehicleFromPassage(
          event.eventId,
          event.payload as Parameters<typeof motorVehicleFromPassage>[1],
          deps.context,
        );
      if (!built.ok) {
        if (built.reason.startsWith('meta.')) throw new PermanentError(built.reason);
        log.debug({ eventId: event.eventId, reason: built.reason }, 'not uploaded');
        return;
      }
      const object = built.object;
      const targets = deps.platforms().filter((p) => isEntitled(p, object.kind, object.compoundId));
      if (targets.length === 0) return;
      await deps.outbox.enqueue(targets.map((p) => ({ platformId: p.platformId, object })));
      for (const p of targets) deps.wake(p.platformId);
    },
  });
}
