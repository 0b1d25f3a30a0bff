/**
 * A vehicle watchlist hit of a police disposition → DispositionNotificationObject (pure): the
 * hit vehicle as a MotorVehicleObject (its pictures fetched at send time into it), a 33-char
 * NotificationID derived from the hit event (a re-send is a duplicate), sent to ReceiveAddr.
 */
import type { anfang } from '@anfang/contracts';
import { fromTimestamp } from '@anfang/platform/bus';
import { COMMAND_KIND, commandId, formatGat1400Time, stableSerial } from '@anfang/gat1400';
import type { ActiveDisposition } from '../store/commands.ts';
import { motorVehicleFromPassage, type BuildContext, type BuildResult } from './objects.ts';

export function dispositionNotification(
  eventId: string,
  hit: anfang.vehicle.v1.IVehicleWatchlistHit,
  disposition: ActiveDisposition,
  ctx: BuildContext,
): BuildResult {
  const vehicle = motorVehicleFromPassage(
    eventId,
    {
      meta: hit.meta ?? null,
      device: hit.device ?? null,
      plateNumber: hit.plateNumber ?? '',
      plateColor: hit.plateColor ?? 0,
      direction: hit.direction ?? 0,
      images: hit.images ?? [],
      sourceEventId: hit.sourceEventId ?? '',
    },
    ctx,
  );
  if (!vehicle.ok) return vehicle;
  const triggered = fromTimestamp(hit.meta?.occurredAt) ?? Date.now();
  const notificationId = commandId(
    ctx.lowerId.slice(0, 12),
    COMMAND_KIND.NOTIFICATION,
    new Date(triggered),
    stableSerial(eventId, 'notification'),
  );
  return {
    ok: true,
    object: {
      ...vehicle.object,
      kind: 'dispositionNotifications',
      objectId: notificationId,
      targetUrl: disposition.receiveAddr,
      images: vehicle.object.images.map((i) => ({ ...i, into: 'MotorVehicleObject' })),
      body: {
        NotificationID: notificationId,
        DispositionID: disposition.dispositionId,
        Title: disposition.title,
        TriggerTime: formatGat1400Time(new Date(triggered)),
        CntObjectID: vehicle.object.objectId,
        MotorVehicleObject: vehicle.object.body,
      },
    },
  };
}
