/**
 * Consumes every topic video-index reads with ONE subscription (group: the service name):
 * events that carry images become index rows (group-committed by the index writer), alarm image
 * holds place and lift holds, and device-ingest's registry completes the camera registry.
 * Undecodable or meaningless events go to the DLQ with the reason (PermanentError); nothing
 * crashes the consumer.
 */
import { anfang, timestampToDate, topics } from '@anfang/contracts';
import { consume, fromTimestamp, PermanentError, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { ZONE_GROUP_OF_MODULE } from '../domain/camera.ts';
import { MalformedEventError, MEDIA_READERS, mediaRows } from '../domain/sources.ts';
import type { CameraStore } from '../store/cameras.ts';
import type { HoldStore } from '../store/holds.ts';
import type { IndexWriter } from '../store/index-writer.ts';

export const MEDIA_TOPICS = [
  topics.deviceFaceCaptured,
  topics.deviceCredentialPresented,
  topics.devicePlateRead,
  topics.devicePerimeterTriggered,
  topics.deviceAnalyticsTriggered,
  topics.identityAccessRecorded,
  topics.identityPersonWatchlistHit,
  topics.vehiclePassageRecorded,
  topics.vehicleWatchlistHit,
  topics.alarmLifecycle,
] as const;

export const CONSUMED_TOPICS = [...MEDIA_TOPICS, topics.alarmImageHold, topics.deviceRegistry] as const;

const { DeviceType, DeviceLifecycle } = { ...anfang.common.v1, ...anfang.device.v1 };
const { ImageHoldKind } = anfang.alarm.v1;

export async function consumeMediaEvents(
  bus: Bus,
  deps: {
    readonly writer: IndexWriter;
    readonly holds: HoldStore;
    readonly cameras: CameraStore;
    /** Full-key prefix of the governed store (`device-ingest/`): other keys cannot be expired. */
    readonly keyPrefix: string;
    /** Counts image references outside the governed folder. */
    readonly foreignKeys: (count: number) => void;
  },
  options: { readonly group: string; readonly concurrency: number; readonly logger: Logger },
): Promise<Subscription> {
  const log = options.logger.child({ component: 'media-events' });

  return consume(bus, {
    group: options.group,
    topics: CONSUMED_TOPICS,
    partitionsConcurrently: options.concurrency,
    handler: async (event) => {
      const compoundId = event.meta.compoundId ?? '';
      const occurredAt = new Date(fromTimestamp(event.meta.occurredAt) ?? Date.now());

      if (event.topic.name === topics.alarmImageHold.name) {
        const hold = event.payload as anfang.alarm.v1.AlarmImageHoldChanged;
        if (!hold.alarmId) throw new PermanentError('alarm_id is missing');
        if (!compoundId)
          throw new PermanentError('meta.compound_id is missing: the hold would belong to nobody');
        const input = {
          alarmId: hold.alarmId,
          compoundId,
          objectKeys: hold.objectKeys,
          at: occurredAt,
          by: event.meta.producer || 'perimeter-alarms',
        };
        if (hold.kind === ImageHoldKind.IMAGE_HOLD_KIND_HOLD) await deps.holds.holdForAlarm(input);
        else if (hold.kind === ImageHoldKind.IMAGE_HOLD_KIND_RELEASE) await deps.holds.releaseForAlarm(input);
        else throw new PermanentError(`unknown hold kind ${hold.kind}`);
        return;
      }

      if (event.topic.name === topics.deviceRegistry.name) {
        const device = (event.payload as anfang.device.v1.DeviceChanged).device;
        if (!device?.deviceId) throw new PermanentError('device.device_id is missing');
        const zoneGroup = ZONE_GROUP_OF_MODULE[device.module ?? 0];
        // Only video cameras belong in the camera registry.
        if (device.deviceType !== DeviceType.DEVICE_TYPE_VIDEO_CAMERA || !zoneGroup) return;
        if (!device.compoundId) throw new PermanentError('device.compound_id is missing');
        await deps.cameras.applyRegistry({
          deviceId: device.deviceId,
          compoundId: device.compoundId,
          name: device.name || device.deviceId,
          zoneGroup,
          gb28181Id: device.gat1400Id ?? '',
          decommissioned:
            device.lifecycle === DeviceLifecycle.DEVICE_LIFECYCLE_DECOMMISSIONED ||
            !!timestampToDate(device.decommissionedAt),
          revision: Number(device.revision ?? 0),
        });
        return;
      }

      const read = MEDIA_READERS.get(event.topic.name);
      if (!read) throw new PermanentError(`no reader for ${event.topic.name}`);
      let rows;
      try {
        rows = mediaRows(read, event.payload, {
          eventId: event.eventId,
          eventType: event.meta.eventType || event.topic.payload.typeName,
          compoundId,
          occurredAt,
        });
      } catch (error) {
        if (error instanceof MalformedEventError) throw new PermanentError(error.message);
        throw error;
      }
      // Images outside the governed folder belong to no retention this service can enforce: they
      // are counted and left to their owner; the rest of the event is indexed.
      const governed = rows.filter((r) => r.objectKey.startsWith(deps.keyPrefix));
      if (governed.length < rows.length) deps.foreignKeys(rows.length - governed.length);
      await deps.writer.add(governed);
      if (governed.length)
        log.debug({ eventId: event.eventId, topic: event.topic.name, images: governed.length }, 'indexed');
    },
  });
}
