/**
 * Consumes `anfang.device.command.v1` (group = the service name, deduplicated by event id) and
 * queues each command for its device. A command without id, device or kind, or for a device the
 * registry does not know, is recorded as rejected (with its status event) rather than retried;
 * a database failure is retried through the topic's retry companion.
 */
import { topics } from '@anfang/contracts';
import { consume, type Bus, type EventDedupe, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { commandKindOf, type CommandStore } from '../store/commands.ts';
import type { DeviceDirectory } from '../ingest/types.ts';

export interface CommandConsumerDeps {
  readonly bus: Bus;
  readonly commands: CommandStore;
  readonly directory: DeviceDirectory;
  readonly dedupe: EventDedupe;
  readonly logger: Logger;
  /** Consumer group: the service name. */
  readonly group: string;
  readonly start?: 'earliest' | 'latest';
  /** Called once a command is queued (a push transport delivers it at once). */
  readonly onQueued?: (deviceId: string) => void;
}

export function startCommandConsumer(deps: CommandConsumerDeps): Promise<Subscription> {
  const log = deps.logger.child({ component: 'command-consumer' });
  return consume(deps.bus, {
    group: deps.group,
    topics: [topics.deviceCommand],
    dedupe: deps.dedupe,
    ...(deps.start ? { start: deps.start } : {}),
    handler: async (event) => {
      const command = event.payload;
      const problem = !command.commandId
        ? 'no command id'
        : !command.deviceId
          ? 'no device id'
          : !commandKindOf(command)
            ? 'no command'
            : !deps.directory.byId(command.deviceId)
              ? `unknown device ${command.deviceId}`
              : undefined;
      if (problem) {
        log.warn(
          { commandId: command.commandId, deviceId: command.deviceId, problem },
          'device command rejected',
        );
        if (command.commandId) await deps.commands.reject(command, problem);
        return;
      }
      const device = deps.directory.byId(command.deviceId)!;
      await deps.commands.enqueue(command, { compoundId: device.compoundId });
      deps.onQueued?.(device.deviceId);
    },
  });
}
