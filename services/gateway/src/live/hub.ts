/**
 * Live updates for browsers: this replica's consumer of the alarm, device status, access,
 * vehicle passage and compliance level topics turns each event into proto3 JSON (personal data
 * masked), keeps the most recent ones for reconnects, and hands each to the viewers whose scope
 * holds its compound. Every replica reads every event with a consumer group of its own
 * (`<service>.live.<instance>`, from the latest offset): a shared group would split the events
 * between replicas and each browser would see only some.
 */
import { randomUUID } from 'node:crypto';
import { reflectionRoot, topics, type TopicDefinition } from '@anfang/contracts';
import { consume, type Bus, type Subscription } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { maskJson } from '../domain/masking.ts';
import { inScope, type Principal } from '../domain/principal.ts';
import { messageToJson, timestampToJson } from '../domain/proto-json.ts';

export const LIVE_TYPES = {
  alarm: topics.alarmLifecycle,
  'device-status': topics.deviceStatusChanged,
  access: topics.identityAccessRecorded,
  passage: topics.vehiclePassageRecorded,
  level: topics.complianceLevelChanged,
} as const;

export type LiveType = keyof typeof LIVE_TYPES;

export interface LiveEvent {
  /** Increasing within this replica's run: `<run>-<n>`, for Last-Event-ID. */
  readonly id: string;
  readonly seq: number;
  readonly type: LiveType;
  readonly compoundId: string;
  readonly data: string;
}

export interface Viewer {
  readonly principal: Principal;
  readonly types: ReadonlySet<LiveType>;
  /** Only this compound, when set. */
  readonly compoundId?: string;
  send(event: LiveEvent): void;
  /** Ends the viewer's stream (shutdown). */
  end(): void;
}

export interface LiveHub {
  /** Registers a viewer; returns the buffered events after `lastEventId` it may see, and the unsubscribe. */
  join(viewer: Viewer, lastEventId?: string): { missed: LiveEvent[]; leave(): void };
  /** Hands an event to the viewers (the consumer does; tests may too). */
  publish(
    type: LiveType,
    compoundId: string,
    payload: Record<string, unknown>,
    meta: { eventId: string; occurredAt?: string },
  ): LiveEvent;
  viewers(): number;
  /** Ends every viewer's stream, so that the HTTP server can close. */
  close(): void;
}

export function sees(viewer: Viewer, event: LiveEvent): boolean {
  if (!viewer.types.has(event.type)) return false;
  if (viewer.compoundId !== undefined && viewer.compoundId !== event.compoundId) return false;
  // Events of no single compound go to viewers with every compound only.
  if (event.compoundId === '') return viewer.principal.compounds === 'all';
  return inScope(viewer.principal, event.compoundId);
}

export function createLiveHub(options: { bufferSize: number }): LiveHub {
  const run = randomUUID().slice(0, 8);
  const viewers = new Set<Viewer>();
  const buffer: LiveEvent[] = [];
  let seq = 0;
  return {
    join(viewer, lastEventId) {
      viewers.add(viewer);
      let missed: LiveEvent[] = [];
      const match = lastEventId ? /^([0-9a-f]{8})-(\d+)$/.exec(lastEventId) : null;
      if (match && match[1] === run) {
        const after = Number(match[2]);
        missed = buffer.filter((e) => e.seq > after && sees(viewer, e));
      }
      return { missed, leave: () => viewers.delete(viewer) };
    },
    publish(type, compoundId, payload, meta) {
      seq += 1;
      const event: LiveEvent = {
        id: `${run}-${seq}`,
        seq,
        type,
        compoundId,
        data: JSON.stringify({
          type,
          compoundId,
          eventId: meta.eventId,
          occurredAt: meta.occurredAt,
          payload,
        }),
      };
      buffer.push(event);
      if (buffer.length > options.bufferSize) buffer.shift();
      for (const viewer of viewers) if (sees(viewer, event)) viewer.send(event);
      return event;
    },
    viewers: () => viewers.size,
    close() {
      for (const viewer of viewers) viewer.end();
      viewers.clear();
    },
  };
}

/** Feeds the hub from the bus; the subscription closes with the hub's consumer. */
export async function consumeLive(
  bus: Bus,
  hub: LiveHub,
  options: { group: string; logger: Logger },
): Promise<Subscription> {
  const root = reflectionRoot();
  const byTopic = new Map<string, LiveType>(
    Object.entries(LIVE_TYPES).map(([type, topic]) => [topic.name, type as LiveType]),
  );
  const definitions = Object.values(LIVE_TYPES) as readonly TopicDefinition<unknown>[];
  return consume(bus, {
    group: options.group,
    topics: definitions,
    start: 'latest',
    handler: async (event) => {
      const type = byTopic.get(event.topic.name);
      if (!type) return;
      const messageType = root.lookupType(event.topic.payload.typeName);
      const payload = maskJson(messageType, messageToJson(messageType, event.payload));
      const occurred = event.meta.occurredAt;
      hub.publish(type, event.meta.compoundId ?? '', payload, {
        eventId: event.eventId,
        ...(occurred ? { occurredAt: timestampToJson(occurred) } : {}),
      });
    },
  }).then((subscription) => {
    options.logger.debug({ group: options.group }, 'live consumer started');
    return subscription;
  });
}
