/**
 * The tests' side of device commands on the real Kafka: publishes DeviceCommands as a requesting
 * service would, and hears every command status event from the topic's end on (a group of its
 * own, so no other install's consumer shares its partitions).
 */
import { randomUUID } from 'node:crypto';
import { topics, type anfang } from '@anfang/contracts';
import { consume, createBus, createEventPublisher, type Bus, type Subscription } from '@anfang/platform/bus';
import { createLogger } from '@anfang/platform/log';
import { infraEnv } from '@anfang/testing';

type DeviceCommandInput = Parameters<typeof topics.deviceCommand.payload.encode>[0];

export interface CommandWatch {
  /** Publishes a DeviceCommand (`anfang.device.command.v1`) as `producer`. */
  send(producer: string, command: DeviceCommandInput): Promise<void>;
  close(): Promise<void>;
}

export async function watchCommandStatuses(
  label: string,
  onStatus: (event: anfang.device.v1.DeviceCommandStatusChanged) => void,
): Promise<CommandWatch> {
  const bus: Bus = await createBus({
    kind: 'kafka',
    brokers: infraEnv().kafkaBrokers,
    clientId: label,
    logger: createLogger({ service: label, level: 'warn' }),
  });
  let watch: Subscription;
  try {
    watch = await consume(bus, {
      group: `${label}-${randomUUID()}`,
      topics: [topics.deviceCommandStatus],
      start: 'latest',
      handler: async (event) => onStatus(event.payload),
    });
  } catch (err) {
    await bus.close();
    throw err;
  }
  return {
    async send(producer, command) {
      await createEventPublisher({ bus, producer }).publish(topics.deviceCommand, command);
    },
    async close() {
      await watch.close();
      await bus.close();
    },
  };
}
