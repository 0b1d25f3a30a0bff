/**
 * The typed event publisher over a transaction's outbox: events written with the state change
 * that causes them (status and drift transitions, command status), so a committed change is
 * always published (CONTRIBUTING § Events). Meta, headers and trace context are filled exactly
 * as for a direct publish.
 */
import { createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import { outboxSink, type ClientBase } from '@anfang/platform/pg';

export function outboxPublisher(client: ClientBase, producer: string): EventPublisher {
  const sink = outboxSink(client);
  const bus = { kind: 'outbox', publish: sink.publish } as unknown as Bus;
  return createEventPublisher({ bus, producer });
}
