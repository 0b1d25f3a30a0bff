/**
 * Consumes anfang.device.patrol-checked-in.v1 (group: the service name): records each check-in once (by
 * event id) and re-evaluates the round it belongs to. The tap time (meta.occurred_at) decides
 * the round, so a wand uploading hours later is attributed exactly as a live tap.
 */
import { topics } from '@anfang/contracts';
import { consume, fromTimestamp, PermanentError, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import type { RoundStore } from '../store/rounds.ts';

export async function consumeCheckIns(
  bus: Bus,
  rounds: RoundStore,
  options: { readonly group: string; readonly logger: Logger },
): Promise<Subscription> {
  const log = options.logger.child({ component: 'check-ins' });
  return consume(bus, {
    group: options.group,
    topics: [topics.devicePatrolCheckedIn],
    handler: async (event) => {
      const { payload } = event;
      const occurredAt = fromTimestamp(payload.meta?.occurredAt);
      if (occurredAt === undefined) throw new PermanentError('meta.occurred_at (the tap time) is missing');
      const deviceId = payload.device?.deviceId ?? '';
      if (!deviceId && !payload.checkpointTagId)
        throw new PermanentError('neither device.device_id nor checkpoint_tag_id names the checkpoint');
      const outcome = await rounds.recordCheckIn({
        eventId: event.eventId,
        compoundId: payload.meta?.compoundId ?? '',
        deviceId,
        method: payload.method ?? 0,
        checkpointTagId: payload.checkpointTagId ?? '',
        guardTagId: payload.guardTagId ?? '',
        guardUserId: payload.guardUserId ?? '',
        occurredAt: new Date(occurredAt),
      });
      log.debug({ eventId: event.eventId, outcome }, 'check-in recorded');
    },
  });
}
