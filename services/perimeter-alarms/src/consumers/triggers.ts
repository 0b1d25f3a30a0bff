/**
 * Consumes every alarming topic of the platform with ONE subscription (group: the service
 * name; members of one group subscribing to different topic sets would lose messages), through
 * the bus's batch handler: each partition's fetched events are read as Triggers and applied
 * once by event id, and the partition batches in flight together go in one transaction.
 * Undecodable or meaningless events go to the DLQ one by one with their reason; a batch that
 * fails is split by the bus so only the trigger at fault is retried.
 */
import { topics, type anfang } from '@anfang/contracts';
import {
  consumeBatch,
  fromTimestamp,
  PermanentError,
  type Bus,
  type EventOf,
  type Subscription,
} from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { coalescing } from '@anfang/platform/service';
import {
  accessAlarmTrigger,
  analyticsTrigger,
  clockDriftTrigger,
  deviceAlarmTrigger,
  iotTrigger,
  patrolViolationTrigger,
  perimeterTrigger,
  personWatchlistTrigger,
  statusTrigger,
  vehicleWatchlistTrigger,
  type Trigger,
} from '../domain/sources.ts';
import type { AlarmStore, TriggerInput } from '../store/alarms.ts';

/** Topic name → how its payload reads as a trigger. */
const READERS: ReadonlyMap<string, (payload: unknown) => Trigger | undefined> = new Map([
  [topics.devicePerimeterTriggered.name, (p) => perimeterTrigger(p as anfang.device.v1.IPerimeterTriggered)],
  [topics.deviceAnalyticsTriggered.name, (p) => analyticsTrigger(p as anfang.device.v1.IAnalyticsTriggered)],
  [topics.deviceIotAlarm.name, (p) => iotTrigger(p as anfang.device.v1.IIotAlarm)],
  [topics.deviceAlarmReported.name, (p) => deviceAlarmTrigger(p as anfang.device.v1.IDeviceAlarmReported)],
  [topics.deviceStatusChanged.name, (p) => statusTrigger(p as anfang.device.v1.IDeviceStatusChanged)],
  [topics.deviceClockDrift.name, (p) => clockDriftTrigger(p as anfang.device.v1.IClockDriftChanged)],
  [topics.identityAccessAlarm.name, (p) => accessAlarmTrigger(p as anfang.identity.v1.IAccessAlarmRaised)],
  [
    topics.identityPersonWatchlistHit.name,
    (p) => personWatchlistTrigger(p as anfang.identity.v1.IPersonWatchlistHit),
  ],
  [
    topics.vehicleWatchlistHit.name,
    (p) => vehicleWatchlistTrigger(p as anfang.vehicle.v1.IVehicleWatchlistHit),
  ],
  [topics.patrolViolation.name, (p) => patrolViolationTrigger(p as anfang.patrol.v1.IPatrolViolationChanged)],
]);

export const TRIGGER_TOPICS = [
  topics.devicePerimeterTriggered,
  topics.deviceAnalyticsTriggered,
  topics.deviceIotAlarm,
  topics.deviceAlarmReported,
  topics.deviceStatusChanged,
  topics.deviceClockDrift,
  topics.identityAccessAlarm,
  topics.identityPersonWatchlistHit,
  topics.vehicleWatchlistHit,
  topics.patrolViolation,
] as const;

export async function consumeTriggers(
  bus: Bus,
  alarms: AlarmStore,
  options: { readonly group: string; readonly concurrency: number; readonly logger: Logger },
): Promise<Subscription> {
  const log = options.logger.child({ component: 'triggers' });
  const ingest = coalescing((inputs: readonly TriggerInput[]) => alarms.ingest(inputs), {
    onFailure: 'alone',
  });
  return consumeBatch(bus, {
    group: options.group,
    topics: TRIGGER_TOPICS,
    partitionsConcurrently: options.concurrency,
    handler: async (events) => {
      const failed = new Map<number, unknown>();
      const inputs: TriggerInput[] = [];
      events.forEach((event, n) => {
        try {
          const input = triggerInput(event);
          if (input) inputs.push(input);
        } catch (error) {
          failed.set(n, error);
        }
      });
      const outcomes = await ingest(inputs);
      if (log.isLevelEnabled('debug'))
        inputs.forEach((input, n) =>
          log.debug({ eventId: input.eventId, outcome: outcomes[n] }, 'trigger applied'),
        );
      return { failed };
    },
  });
}

/** The trigger an event stands for, undefined when it raises none; throws for a meaningless one. */
function triggerInput(event: EventOf<(typeof TRIGGER_TOPICS)[number]>): TriggerInput | undefined {
  const read = READERS.get(event.topic.name);
  if (!read) throw new PermanentError(`no trigger reader for ${event.topic.name}`);
  const trigger = read(event.payload);
  if (!trigger) return undefined;
  const compoundId = event.meta.compoundId;
  if (!compoundId) throw new PermanentError('meta.compound_id is missing: the alarm would belong to nobody');
  if (!event.eventId) throw new PermanentError('the event has no id: it could not be applied once');
  const occurredAt = fromTimestamp(event.meta.occurredAt);
  return { eventId: event.eventId, compoundId, occurredAt: new Date(occurredAt ?? Date.now()), trigger };
}
