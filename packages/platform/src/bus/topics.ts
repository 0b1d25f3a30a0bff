import { dlqTopic, retryTopic, type TopicSpec } from './types.ts';

const DAY = 24 * 3600 * 1000;
/** A DLQ keeps messages at least this long (same rule as the catalogue's DLQ_RETENTION_MS). */
const DLQ_MIN_RETENTION_MS = 30 * DAY;
/** Retry companions of compacted (kept-for-ever) topics keep messages this long. */
const COMPACTED_RETRY_RETENTION_MS = 7 * DAY;

/**
 * The topics (with their companions) that a list of specs stands for. Companions have the
 * topic's partitions (keys keep their order and partition when retried or replayed from the
 * DLQ), are never compacted; retries live as long as the topic's messages, a DLQ at least 30 days.
 * Retention -1 means for ever.
 */
export function expandTopicSpecs(specs: readonly TopicSpec[]): TopicSpec[] {
  const out: TopicSpec[] = [];
  for (const spec of specs) {
    out.push({
      name: spec.name,
      partitions: spec.partitions,
      retentionMs: spec.retentionMs,
      compacted: spec.compacted ?? false,
    });
    if (spec.companions) {
      const retryRetention = spec.compacted ? COMPACTED_RETRY_RETENTION_MS : spec.retentionMs;
      out.push({
        name: retryTopic(spec.name),
        partitions: spec.partitions,
        retentionMs: retryRetention,
        compacted: false,
      });
      out.push({
        name: dlqTopic(spec.name),
        partitions: spec.partitions,
        retentionMs: Math.max(spec.retentionMs, DLQ_MIN_RETENTION_MS),
        compacted: false,
      });
    }
  }
  return out;
}
