/**
 * identity's one consumer group (= service name) over every topic it reads: Kafka assigns a
 * group's partitions from one subscription, so the topics are consumed together and dispatched
 * here. Undecodable events go to the topic's DLQ, failing ones through its `.retry` (the
 * platform's `consume`).
 */
import { topics } from '@anfang/contracts';
import { consume, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import type { CredentialPresented, DeviceEventHandlers, FaceCaptured } from './device-events.ts';
import type { PoliceCommand, PoliceCommandHandler } from './police-commands.ts';

export function startConsumers(options: {
  readonly bus: Bus;
  readonly group: string;
  readonly devices: DeviceEventHandlers;
  readonly police: PoliceCommandHandler;
  readonly logger: Logger;
}): Promise<Subscription> {
  const { devices, police } = options;
  const log = options.logger.child({ component: 'consumers' });
  return consume(options.bus, {
    group: options.group,
    topics: [topics.deviceFaceCaptured, topics.deviceCredentialPresented, topics.policeCommand],
    handler: async (event) => {
      const name = event.topic.name;
      if (name === topics.deviceFaceCaptured.name)
        await devices.face(event.payload as FaceCaptured, event.eventId);
      else if (name === topics.deviceCredentialPresented.name)
        await devices.credential(event.payload as CredentialPresented, event.eventId);
      else await police(event.payload as PoliceCommand, event.eventId);
      log.debug({ eventId: event.eventId, topic: name }, 'event handled');
    },
  });
}
