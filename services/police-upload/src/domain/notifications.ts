/**
 * A watchlist hit of a police disposition → DispositionNotificationObject (pure): the hit vehicle
 * as a MotorVehicleObject, the hit person as a FaceObject (or a PersonObject without a picture),
 * their pictures fetched at send time into it, a 33-char NotificationID derived from the hit
 * event (a re-send is a duplicate), sent to the disposition's ReceiveAddr.
 */
import type { anfang } from '@anfang/contracts';
import { fromTimestamp } from '@anfang/platform/bus';
import { COMMAND_KIND, commandId, formatGat1400Time, stableSerial } from '@anfang/gat1400';
import type { ActiveDisposition } from '../store/commands.ts';
import { dispositionStatus, type StoredDisposition } from './dispositions.ts';
import {
  motorVehicleFromPassage,
  personFromHit,
  type BuildContext,
  type BuildResult,
  type UploadObject,
} from './objects.ts';

const FIELD = { motorVehicles: 'MotorVehicleObject', faces: 'FaceObject', persons: 'PersonObject' } as const;

function notification(
  eventId: string,
  hit: BuildResult,
  occurredAt: Parameters<typeof fromTimestamp>[0],
  disposition: ActiveDisposition,
  ctx: BuildContext,
): BuildResult {
  if (!hit.ok) return hit;
  const field = FIELD[hit.object.kind as keyof typeof FIELD];
  if (!field) return { ok: false, reason: `a ${hit.object.kind} object cannot be a disposition hit` };
  const triggered = fromTimestamp(occurredAt) ?? Date.now();
  const notificationId = commandId(
    ctx.lowerId.slice(0, 12),
    COMMAND_KIND.NOTIFICATION,
    new Date(triggered),
    stableSerial(eventId, 'notification'),
  );
  return {
    ok: true,
    object: {
      ...hit.object,
      kind: 'dispositionNotifications',
      objectId: notificationId,
      targetUrl: disposition.receiveAddr,
      images: hit.object.images.map((i) => ({ ...i, into: field })),
      body: {
        NotificationID: notificationId,
        DispositionID: disposition.dispositionId,
        Title: disposition.title,
        TriggerTime: formatGat1400Time(new Date(triggered)),
        CntObjectID: hit.object.objectId,
        [field]: hit.object.body,
      },
    },
  };
}

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
  return notification(eventId, vehicle, hit.meta?.occurredAt, disposition, ctx);
}

export function personDispositionNotification(
  eventId: string,
  hit: anfang.identity.v1.IPersonWatchlistHit,
  disposition: ActiveDisposition,
  ctx: BuildContext,
): BuildResult {
  return notification(eventId, personFromHit(eventId, hit, ctx), hit.meta?.occurredAt, disposition, ctx);
}

/**
 * The result of setting or withdrawing a disposition came after the platform was answered
 * "accepted, being applied": its new DispositionStatus (with the refusal's reason) goes to the
 * disposition's ReceiveAddr, the NotificationID derived from the command (a re-send is a
 * duplicate).
 */
export function dispositionStatusNotification(
  commandIdOfResult: string,
  disposition: StoredDisposition,
  at: Date,
  ctx: BuildContext,
): UploadObject {
  const notificationId = commandId(
    ctx.lowerId.slice(0, 12),
    COMMAND_KIND.NOTIFICATION,
    at,
    stableSerial(commandIdOfResult, 'status'),
  );
  return {
    kind: 'dispositionNotifications',
    objectId: notificationId,
    sourceEventId: commandIdOfResult,
    compoundId: '',
    deviceId: '',
    capturedAt: at,
    images: [],
    targetUrl: disposition.receiveAddr,
    body: {
      NotificationID: notificationId,
      DispositionID: disposition.dispositionId,
      Title: disposition.title,
      TriggerTime: formatGat1400Time(at),
      DispositionStatus: dispositionStatus(disposition, at),
      ...(disposition.outcome === 'rejected' ? { Reason: disposition.outcomeDetail } : {}),
    },
  };
}
