/**
 * The service's one subscription: plate reads and police commands in a single consumer group
 * member. Two members of one group with different topic lists would be assigned each other's
 * partitions (Kafka's assignors assume every member subscribes alike) and never read them.
 * Through the bus's batch handler: a partition's plate reads are decided in one transaction
 * (a failing batch is split by the bus, so only the read at fault is retried); police commands
 * are applied one at a time.
 */
import { topics, type anfang } from '@anfang/contracts';
import {
  consumeBatch,
  PermanentError,
  type Bus,
  type EventDedupe,
  type Subscription,
} from '@anfang/platform/bus';
import type { DecisionPipeline } from './plate-reads.ts';
import type { PoliceCommandHandler } from './police-commands.ts';

export async function startConsumers(
  bus: Bus,
  options: {
    readonly group: string;
    readonly dedupe: EventDedupe;
    readonly concurrency: number;
    readonly plateReads: DecisionPipeline;
    readonly policeCommands: PoliceCommandHandler;
  },
): Promise<Subscription> {
  return consumeBatch(bus, {
    group: options.group,
    topics: [topics.devicePlateRead, topics.policeCommand],
    dedupe: options.dedupe,
    partitionsConcurrently: options.concurrency,
    handler: async (events) => {
      const failed = new Map<number, unknown>();
      const reads: { read: anfang.device.v1.PlateRead; eventId: string }[] = [];
      for (const [n, event] of events.entries()) {
        // Passage, hit and result ids derive from the event id: without one nothing is idempotent.
        if (!event.eventId) {
          failed.set(n, new PermanentError(`${event.topic.name} message without an event id`));
          continue;
        }
        // The topic decides the payload type (the union of consumed events does not narrow on it).
        if (event.topic === topics.devicePlateRead) {
          const read = event.payload as anfang.device.v1.PlateRead;
          if (!read.device?.deviceId) failed.set(n, new PermanentError('plate read without a device id'));
          else reads.push({ read, eventId: event.eventId });
        } else {
          try {
            await options.policeCommands(event.payload as anfang.police.v1.PoliceCommand, event.eventId);
          } catch (error) {
            failed.set(n, error);
          }
        }
      }
      if (reads.length > 0) await options.plateReads.handleMany(reads);
      return { failed };
    },
  });
}
