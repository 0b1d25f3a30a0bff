import type { SubscribeOptions, Subscription } from './types.ts';

/**
 * A consumer group subscribes once per bus, with every topic it consumes: two subscriptions of
 * one group are two members of it, and Kafka's assignor splits the partitions of the topics
 * they share between them as if they were one set, so a member subscribed to other topics
 * than its peer is given partitions it never reads — their messages are lost to the group. The
 * second `subscribe` of a group is refused while the first is open.
 */
export function oneSubscriptionPerGroup(
  subscribe: (options: SubscribeOptions) => Promise<Subscription>,
): (options: SubscribeOptions) => Promise<Subscription> {
  const open = new Set<string>();
  return async (options) => {
    const { group } = options;
    if (open.has(group))
      throw new Error(
        `bus: consumer group ${group} already has a subscription on this bus; subscribe once with all its topics`,
      );
    open.add(group);
    let subscription: Subscription;
    try {
      subscription = await subscribe(options);
    } catch (error) {
      open.delete(group);
      throw error;
    }
    let closing: Promise<void> | undefined;
    return {
      close() {
        closing ??= subscription.close().finally(() => open.delete(group));
        return closing;
      },
    };
  };
}
