/**
 * `@anfang/platform/bus`: one bus interface over Kafka and the embedded Postgres log, and typed
 * events over it. See the package README, section "Bus".
 */
export * from './types.ts';
export { createKafkaBus, whileRetriable, type KafkaBus, type KafkaBusOptions } from './kafka.ts';
export { createEmbeddedBus, ensureBusSchema, type EmbeddedBus, type EmbeddedBusOptions } from './embedded.ts';
export { createBus, type BusConfig } from './factory.ts';
export { expandTopicSpecs } from './topics.ts';
export { partitionForKey, murmur2 } from './partitioner.ts';
export { uuidv7 } from './ids.ts';
export { backoffMs, isPermanent } from './dispatch.ts';
export {
  consume,
  consumeBatch,
  createEventPublisher,
  dedupeKey,
  fromTimestamp,
  toTimestamp,
  type AnyTopicDefinition,
  type ConsumedEvent,
  type ConsumeBatchOptions,
  type ConsumeOptions,
  type EventDedupe,
  type EventMeta,
  type EventOf,
  type EventPayload,
  type EventPublisher,
  type EventPublisherOptions,
  type EventTimestamp,
  type MessageCodec,
  type PublishEventOptions,
  type TopicDefinition,
} from './events.ts';
export { ALL_COMPOUNDS, startSnapshotPublisher, type SnapshotPublisher } from './snapshots.ts';
