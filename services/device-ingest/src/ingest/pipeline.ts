/**
 * The IngestPipeline: what every protocol hands its normalised events to.
 *
 * Per event: the id is `deterministicEventId(kind, deviceId, sourceKey)` with `kind` the topic's
 * event name (`face-captured`, `plate-read`, …), the same whichever protocol carried it, so a
 * resend is a duplicate. An id already accepted (dedupe mark in the cache) is answered
 * `created: false` without work. Otherwise: images go to the object store first (ImageRef.object_key
 * is the full bucket key, store prefix included: `device-ingest/captures/…`), then the event is
 * published (meta: id, type, occurred_at = device time, recorded_at = receive time, producer,
 * compound; key = device id), and once `bus.publish` resolved the call resolves and the marks are
 * set (not waited for). Publish first, mark after: two concurrent copies may both publish —
 * consumers dedupe by event id, so that is safe — but an event is never marked without being
 * durable. The events of a call without images are published at once (one publishMany per topic,
 * which the Kafka bus coalesces with other requests' publishes), those with images once their
 * images are stored. Redis: one MGET for the marks (concurrently with the caller's `admission`,
 * the generic nonce), one SET NX script for the new ones.
 */
import { channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { deterministicEventId, type anfang } from '@anfang/contracts';
import { createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import type { Cache } from '@anfang/platform/cache';
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import type { RegisteredDevice } from '../domain/device.ts';
import { captureImageObject } from '../domain/image-keys.ts';
import type { CommandStore } from '../store/commands.ts';
import type { ActivityTracker } from './activity.ts';
import { deviceRef } from './device-ref.ts';
import type {
  AcceptContext,
  AcceptedEvent,
  IngestPipeline,
  NormalisedEvent,
  PendingCommand,
} from './types.ts';

export interface IngestPipelineDeps {
  readonly bus: Bus;
  readonly cache: Cache;
  readonly objects: ObjectStore;
  readonly activity: ActivityTracker;
  readonly commands: CommandStore;
  readonly logger: Logger;
  /** The service name (meta.producer). */
  readonly producer: string;
  /** How long an accepted event id is remembered. Default 8 days (≥ the 7-day topic retention). */
  readonly dedupeTtlMs?: number;
}

export const DEFAULT_DEDUPE_TTL_MS = 8 * 24 * 3600 * 1000;

/** Per topic name, once: the catalogue's few topics, not a split per event. */
const kinds = new Map<string, string>();

/** `anfang.device.plate-read.v1` → `plate-read`. */
export function eventKind(topicName: string): string {
  let kind = kinds.get(topicName);
  if (kind === undefined) {
    const parts = topicName.split('.');
    kind = parts.length >= 4 ? parts[parts.length - 2]! : topicName;
    kinds.set(topicName, kind);
  }
  return kind;
}

export const acceptedKey = (eventId: string): string => `ingest:accepted:${eventId}`;

/**
 * One `accept` call's stages, epoch ms (sub-millisecond): where an acknowledgement's time went.
 * Published on ACCEPT_TIMINGS_CHANNEL when the call ends, and only built while something
 * subscribes (the benchmark's service probe).
 */
export interface AcceptTimings {
  readonly deviceId: string;
  readonly events: number;
  readonly images: number;
  /** The protocol's receive time (after the body was read), ms resolution. */
  readonly received: number;
  readonly start: number;
  /** Dedupe marks read and the caller's admission passed. */
  checked?: number;
  /** Every image stored. */
  stored?: number;
  plainPublished?: number;
  imagesPublished?: number;
  /** The call resolves (the dedupe marks sent, not waited for). */
  end?: number;
}

export const ACCEPT_TIMINGS_CHANNEL = 'anfang.device-ingest.accept';
const acceptTimings = channel(ACCEPT_TIMINGS_CHANNEL);
const epochNow = (): number => performance.timeOrigin + performance.now();

type ImageRefInit = anfang.common.v1.ImageRef.$Properties;

/** Whether a topic's message has a field; one `create({})` per topic, then memoised. */
const fieldsByTopic = new Map<string, Map<string, boolean>>();
const hasField = (event: NormalisedEvent, field: string): boolean => {
  let fields = fieldsByTopic.get(event.topic.name);
  if (!fields) fieldsByTopic.set(event.topic.name, (fields = new Map()));
  let has = fields.get(field);
  if (has === undefined) {
    try {
      has = field in (event.topic.payload.create({}) as object);
    } catch {
      has = false;
    }
    fields.set(field, has);
  }
  return has;
};

export function createIngestPipeline(deps: IngestPipelineDeps): IngestPipeline {
  const { cache, objects, activity, commands } = deps;
  const publisher: EventPublisher = createEventPublisher({ bus: deps.bus, producer: deps.producer });
  const ttl = deps.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const log = deps.logger.child({ component: 'pipeline' });

  async function storeImages(
    device: RegisteredDevice,
    eventId: string,
    event: NormalisedEvent,
  ): Promise<ImageRefInit[]> {
    return Promise.all(
      event.images.map(async (image, index) => {
        const stored = captureImageObject({
          compoundId: device.compoundId,
          occurredAt: event.occurredAt,
          deviceId: device.deviceId,
          eventId,
          index,
          contentType: image.contentType,
          kind: image.kind,
          bytes: image.bytes,
          storePrefix: objects.prefix,
        });
        await objects.put(stored.key, image.bytes, stored.put);
        return stored.ref;
      }),
    );
  }

  return {
    async accept(device, events, context: AcceptContext) {
      const timings: AcceptTimings | undefined = acceptTimings.hasSubscribers
        ? {
            deviceId: device.deviceId,
            events: events.length,
            images: events.reduce((n, e) => n + e.images.length, 0),
            received: context.receivedAt.getTime(),
            start: epochNow(),
          }
        : undefined;
      const ids = events.map((e) =>
        deterministicEventId(eventKind(e.topic.name), device.deviceId, e.sourceKey),
      );
      // One MGET for every mark, concurrently with the caller's admission check (the generic API's
      // nonce), which must pass before anything is stored or published.
      const [marks] = await Promise.all([cache.getMany(ids.map(acceptedKey)), context.admission]);
      if (timings) timings.checked = epochNow();
      const seenInCall = new Set<string>();
      const fresh: number[] = [];
      const results: AcceptedEvent[] = ids.map((eventId, i) => {
        const dup = marks[i] !== null || seenInCall.has(eventId);
        seenInCall.add(eventId);
        if (!dup) fresh.push(i);
        return { eventId, created: !dup };
      });

      if (fresh.length) {
        const ref = deviceRef(device);
        type Built = { event: NormalisedEvent; eventId: string; payload: Record<string, unknown> };
        const build = (i: number): Built => {
          const event = events[i]!;
          const eventId = ids[i]!;
          const payload: Record<string, unknown> = { device: ref, ...event.payload };
          if (payload.sourceObjectId === undefined && hasField(event, 'sourceObjectId'))
            payload.sourceObjectId = event.sourceKey;
          return { event, eventId, payload };
        };
        const publish = (built: readonly Built[]): Promise<unknown> => {
          const byTopic = new Map<string, Built[]>();
          for (const b of built) {
            const list = byTopic.get(b.event.topic.name);
            if (list) list.push(b);
            else byTopic.set(b.event.topic.name, [b]);
          }
          return Promise.all(
            [...byTopic.values()].map((list) =>
              publisher.publishMany(
                list[0]!.event.topic,
                list.map((b) => ({
                  payload: b.payload,
                  options: {
                    key: device.deviceId,
                    eventId: b.eventId,
                    occurredAt: b.event.occurredAt,
                    recordedAt: context.receivedAt,
                    compoundId: device.compoundId,
                  },
                })),
              ),
            ),
          );
        };
        // Events without images are published at once; those with images once their images are
        // stored (images first, always). Both go out concurrently: a plain event never waits for
        // another event's uploads.
        const plain: Built[] = [];
        const withImages: number[] = [];
        for (const i of fresh) {
          if (events[i]!.images.length) withImages.push(i);
          else plain.push(build(i));
        }
        await Promise.all([
          plain.length
            ? publish(plain).then(() => {
                if (timings) timings.plainPublished = epochNow();
              })
            : undefined,
          withImages.length
            ? Promise.all(
                withImages.map(async (i) => {
                  const b = build(i);
                  b.payload[b.event.imageField ?? 'images'] = await storeImages(device, b.eventId, b.event);
                  return b;
                }),
              )
                .then((built) => {
                  if (timings) timings.stored = epochNow();
                  return publish(built);
                })
                .then(() => {
                  if (timings) timings.imagesPublished = epochNow();
                })
            : undefined,
        ]);
        // Durable now. The marks are set but not waited for: the acknowledgement does not depend
        // on them (a missing mark only costs a duplicate publish on a resend, which consumers drop
        // by event id), and a resend's MGET goes after them on the same Redis connection. Waited
        // for, they were one more round trip on every acknowledgement's path.
        const freshIds = fresh.map((i) => ids[i]!);
        void cache.setManyIfAbsent(freshIds.map(acceptedKey), '1', ttl).catch((err: unknown) => {
          log.warn({ err, eventIds: freshIds.slice(0, 10), count: freshIds.length }, 'dedupe marks not set');
        });
      }

      // Event times are not clock samples (a capture is sent seconds after it happened, a
      // buffered one hours later): only the message's own send time is.
      const sampled = !context.deviceTimeOfEvents || fresh.length > 0;
      activity.seen(device, {
        at: context.receivedAt,
        heartbeat: false,
        deviceTime: sampled ? context.deviceTime : undefined,
      });
      if (timings) {
        timings.end = epochNow();
        acceptTimings.publish(timings);
      }
      return results;
    },

    async heartbeat(device, context): Promise<PendingCommand[]> {
      activity.seen(device, { at: context.receivedAt, heartbeat: true, deviceTime: context.deviceTime });
      return commands.deliver(device.deviceId, { now: context.receivedAt, compoundId: device.compoundId });
    },

    async acknowledgeCommand(device, commandId, result, detail, context) {
      activity.seen(device, { at: context.receivedAt, heartbeat: false, deviceTime: context.deviceTime });
      return commands.acknowledge(device.deviceId, commandId, result, detail, context.receivedAt);
    },
  };
}
