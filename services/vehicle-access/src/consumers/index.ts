/**
 * The service's one subscription: plate reads and police commands in a single consumer group
 * member. Two members of one group with different topic lists would be assigned each other's
 * partitions (Kafka's assignors assume every member subscribes alike) and never read them.
 */
import { topics, type anfang } from '@anfang/contracts';
import { consume, PermanentError, type Bus, type EventDedupe, type Subscription } from '@anfang/platform/bus';
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
  return consume(bus, {
    group: options.group,
    topics: [topics.devicePlateRead, topics.policeCommand],
    dedupe: options.dedupe,
    partitionsConcurrently: options.concurrency,
    handler: async (event) => {
      // Passage, hit and result ids derive from the event id: without one nothing is idempotent.
      if (!event.eventId) throw new PermanentError(`${event.topic.name} message without an event id`);
      // The topic decides the payload type (the union of consumed events does not narrow on it).
      if (event.topic === topics.devicePlateRead)
        await options.plateReads.handle(event.payload as anfang.device.v1.PlateRead, event.eventId);
      else await options.policeCommands(event.payload as anfang.police.v1.PoliceCommand, event.eventId);
    },
  });
}
