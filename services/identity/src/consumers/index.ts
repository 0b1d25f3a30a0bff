/**
 * identity's one consumer group (= service name) over every topic it reads: Kafka assigns a
 * group's partitions from one subscription, so the topics are consumed together and dispatched
 * here. Undecodable events go to the topic's DLQ, failing ones through its `.retry` (the
 * platform's `consume`).
 */
import { anfang, topics } from '@anfang/contracts';
import { consume, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import type { CredentialPresented, DeviceEventHandlers, FaceCaptured } from './device-events.ts';
import type { PoliceCommand, PoliceCommandHandler } from './police-commands.ts';

const { CommandStatus } = anfang.device.v1;
/** Delivery outcomes after which a reader may lack part of its list. */
const LOST = new Set<number>([
  CommandStatus.COMMAND_STATUS_FAILED,
  CommandStatus.COMMAND_STATUS_EXPIRED,
  CommandStatus.COMMAND_STATUS_REJECTED,
]);

export function startConsumers(options: {
  readonly bus: Bus;
  readonly group: string;
  readonly devices: DeviceEventHandlers;
  readonly police: PoliceCommandHandler;
  /** A device command's delivery ended without success (access-list updates are then resent). */
  readonly commandLost: (commandId: string) => Promise<unknown>;
  readonly logger: Logger;
}): Promise<Subscription> {
  const { devices, police, commandLost } = options;
  const log = options.logger.child({ component: 'consumers' });
  return consume(options.bus, {
    group: options.group,
    topics: [
      topics.deviceFaceCaptured,
      topics.deviceCredentialPresented,
      topics.policeCommand,
      topics.deviceCommandStatus,
    ],
    handler: async (event) => {
      const name = event.topic.name;
      if (name === topics.deviceFaceCaptured.name)
        await devices.face(event.payload as FaceCaptured, event.eventId);
      else if (name === topics.deviceCredentialPresented.name)
        await devices.credential(event.payload as CredentialPresented, event.eventId);
      else if (name === topics.deviceCommandStatus.name) {
        const status = event.payload as anfang.device.v1.DeviceCommandStatusChanged;
        if (LOST.has(status.status)) await commandLost(status.commandId);
      } else await police(event.payload as PoliceCommand, event.eventId);
      log.debug({ eventId: event.eventId, topic: name }, 'event handled');
    },
  });
}
