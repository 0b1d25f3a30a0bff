/**
 * @anfang/contracts: the generated protobuf types and codecs, gRPC service definitions, the
 * topic catalogue and the id/time conventions every service shares. See README.md.
 */

// Generated from protos/ (run `pnpm --filter @anfang/contracts codegen`).
export {
  anfang,
  google,
  eventCodecs,
  type EventTypeName,
  PROTO_INPUTS_SHA256,
  PROTO_FILES,
} from './generated/index.ts';
export * from './generated/services.ts';

export {
  messageCodec,
  type MessageCodec,
  type MessageOf,
  type InitOf,
  type ProtoMessageClass,
} from './codec.ts';
export {
  defineService,
  type HttpRule,
  type MethodSpec,
  type MethodHandler,
  type MethodDefinitionOf,
  type ServiceSpec,
  type ServiceHandlers,
  type ServiceClient,
  type ClientMethod,
  type UnaryClientMethod,
  type ServerStreamingClientMethod,
  type ClientStreamingClientMethod,
  type BidiStreamingClientMethod,
} from './grpc.ts';
export {
  topics,
  allTopics,
  topicDefinitions,
  topicByName,
  resolveTopic,
  topicSpecs,
  retryTopic,
  dlqTopic,
  EVENT_RETENTION_MS,
  COMMAND_RETENTION_MS,
  DLQ_RETENTION_MS,
  type TopicDefinition,
  type TopicSpec,
  type TopicKey,
  type TopicHandle,
  type TopicMessage,
  type TopicInit,
  type TopicRole,
  type Topics,
  type EventPayload,
} from './topics.ts';
export {
  fileDescriptorSet,
  fileDescriptorProtos,
  reflectionPackageDefinition,
  descriptorJSON,
  reflectionRoot,
} from './reflection.ts';
export {
  timestampFromMillis,
  timestampFromDate,
  timestampNow,
  timestampToMillis,
  timestampToDate,
  type TimestampLike,
} from './time.ts';
export {
  UUID_PATTERN,
  GAT1400_ID_PATTERN,
  TOPIC_NAME_PATTERN,
  EVENT_ID_NAMESPACE,
  isUuid,
  isGat1400Id,
  parseGat1400Id,
  deterministicEventId,
  type Gat1400IdParts,
} from './ids.ts';
