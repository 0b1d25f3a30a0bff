/**
 * What the platform publishes, seen from outside: a consumer group of the test's own on the
 * shared Kafka. The topics are shared with every other install on the machine, so a test
 * recognises its own events by ids only its install made (persons, passes, alarms).
 */
import {
  consume,
  createBus,
  type AnyTopicDefinition,
  type Bus,
  type EventOf,
  type Subscription,
} from '@anfang/platform/bus';
import { infraEnv, uniqueName } from '@anfang/testing';

export interface Watcher<D extends AnyTopicDefinition> {
  /** Every event received so far, oldest first. */
  readonly events: readonly EventOf<D>[];
  close(): Promise<void>;
}

/**
 * Starts reading `topics` from their end (or, `start: 'earliest'`, from their beginning: on a
 * broker of the test's own, everything there is the test's). Start it before the traffic it
 * should see (a group joins in seconds; the platform's start takes longer).
 */
export async function watch<D extends AnyTopicDefinition>(
  topics: readonly D[],
  options: { readonly start?: 'earliest' | 'latest' } = {},
): Promise<Watcher<D>> {
  const bus: Bus = await createBus({
    kind: 'kafka',
    brokers: infraEnv().kafkaBrokers,
    clientId: uniqueName('e2e-watch'),
  });
  const events: EventOf<D>[] = [];
  let subscription: Subscription | undefined;
  try {
    subscription = await consume(bus, {
      group: uniqueName('e2e-watch'),
      topics,
      start: options.start ?? 'latest',
      handler: async (event) => {
        events.push(event);
      },
    });
  } catch (error) {
    await bus.close();
    throw error;
  }
  return {
    events,
    async close() {
      await subscription?.close();
      await bus.close();
    },
  };
}
