/**
 * Access records: every decided pass or refusal becomes a stored access record and an
 * AccessRecorded event, both written in the transaction that also counts consecutive refusals at the reader (the alarm
 * threshold), raises the access alarm (repeated failures, spoofing), and checks the person
 * watchlists. A device event is marked processed in the same transaction, so a redelivery
 * records nothing twice.
 */
import { randomUUID } from 'node:crypto';
import { anfang, timestampFromMillis, topics } from '@anfang/contracts';
import {
  markProcessed,
  outboxEventPublisher,
  withTransaction,
  type ClientBase,
  type Pool,
} from '@anfang/platform/pg';
import type { Decision } from '../domain/decision.ts';
import { reasons, roles } from '../domain/enums.ts';

const { AccessDecision, AccessAlarmKind, DecisionPath } = anfang.identity.v1;
const { Priority, DeviceRef } = anfang.common.v1;
const MatchKind = anfang.identity.v1.PersonMatchKind;

export type DecisionPathName = 'online' | 'event' | 'device_local';

export interface AccessRecordInput {
  readonly device: anfang.common.v1.DeviceRef.$Properties;
  readonly doorId: string;
  readonly compoundId: string | undefined;
  readonly credentialType: number;
  readonly masked: string;
  readonly decision: Decision;
  readonly direction?: number | null;
  readonly images?: readonly anfang.common.v1.ImageRef.$Properties[];
  readonly liveness?: number | null;
  readonly path: DecisionPathName;
  readonly at: number;
  readonly sourceEventId?: string;
  /** Where the person is now in anti-passback groups (an allowed pass through an IN/OUT door). */
  readonly presence?: {
    readonly personId: string;
    readonly doorGroupIds: readonly string[];
    readonly inside: boolean;
  };
  /** What the watchlists may match: the presented ID number's blind index, a face template. */
  readonly watch?: {
    readonly idNumberIdx?: string;
    readonly faceTemplateId?: string;
    readonly similarity?: number;
  };
}

export interface RecordOutcome {
  /** Undefined when the source event had been recorded before. */
  readonly recordId: string | undefined;
  readonly alarms: number;
  readonly watchlistHits: number;
}

/** A face seen by a capture camera: no door, no decision — only the watchlists look at it. */
export interface SightingInput {
  readonly device: anfang.common.v1.DeviceRef.$Properties;
  readonly compoundId: string | undefined;
  readonly images?: readonly anfang.common.v1.ImageRef.$Properties[];
  readonly at: number;
  readonly sourceEventId?: string;
  readonly faceTemplateId: string;
  readonly similarity: number;
}

export interface AccessRecorder {
  record(input: AccessRecordInput, dedupe?: { group: string; eventId: string }): Promise<RecordOutcome>;
  /** Checks a capture camera's face against the watchlists; returns the hits published. */
  watch(input: SightingInput, dedupe: { group: string; eventId: string }): Promise<number>;
}

const PATH = {
  online: DecisionPath.DECISION_PATH_ONLINE,
  event: DecisionPath.DECISION_PATH_EVENT,
  device_local: DecisionPath.DECISION_PATH_DEVICE_LOCAL,
} as const;

interface WatchRow {
  entry_id: string;
  watchlist_id: string;
  disposition_id: string | null;
  priority: number;
  match_kind: 'face' | 'id_number' | 'credential';
}

export function createAccessRecorder(options: {
  readonly pool: Pool;
  readonly producer: string;
  readonly failureThreshold: number;
}): AccessRecorder {
  const { pool, producer, failureThreshold } = options;

  async function countFailure(client: ClientBase, input: AccessRecordInput, recordId: string) {
    const deviceId = input.device.deviceId!;
    if (input.decision.allowed) {
      await client.query('DELETE FROM reader_failures WHERE device_id = $1', [deviceId]);
      return undefined;
    }
    const at = new Date(input.at);
    const { rows } = await client.query<{ failures: number; record_ids: string[]; first_at: Date }>(
      `INSERT INTO reader_failures (device_id, failures, record_ids, first_at, last_at)
       VALUES ($1, 1, ARRAY[$2], $3, $3)
       ON CONFLICT (device_id) DO UPDATE
         SET failures = reader_failures.failures + 1,
             record_ids = (reader_failures.record_ids || $2)[greatest(1, cardinality(reader_failures.record_ids) + 2 - $4):],
             last_at = $3
       RETURNING failures, record_ids, first_at`,
      [deviceId, recordId, at, failureThreshold],
    );
    const row = rows[0]!;
    return row.failures % failureThreshold === 0 ? row : undefined;
  }

  async function watchlistHits(
    client: ClientBase,
    input: {
      readonly deviceId: string;
      readonly personId: string | null;
      readonly idNumberIdx: string | null;
      readonly faceTemplateId: string | null;
      readonly similarity: number;
    },
  ): Promise<WatchRow[]> {
    const { personId, idNumberIdx: idIdx, faceTemplateId: face, similarity } = input;
    if (!personId && !idIdx && !face) return [];
    const { rows } = await client.query<WatchRow>(
      `SELECT entry_id, watchlist_id, disposition_id, priority,
              CASE WHEN $2::text IS NOT NULL AND id_number_idx = $2 THEN 'id_number'
                   WHEN $3::text IS NOT NULL AND face_template_id = $3 THEN 'face'
                   ELSE 'credential' END AS match_kind
         FROM watchlist_entries
        WHERE removed_at IS NULL AND (valid_to IS NULL OR valid_to > now())
          AND (cardinality(device_ids) = 0 OR $5 = ANY(device_ids))
          AND ((id_number_idx = $2)
            OR (face_template_id = $3 AND face_threshold <= $4)
            OR (person_id = $1::uuid))`,
      [personId, idIdx, face, similarity, input.deviceId],
    );
    return rows;
  }

  async function publishHits(
    publisher: ReturnType<typeof outboxEventPublisher>,
    hits: readonly WatchRow[],
    hit: {
      readonly personId: string;
      readonly similarity: number;
      readonly device: anfang.common.v1.DeviceRef.$Properties;
      readonly images: anfang.common.v1.ImageRef.$Properties[];
      readonly sourceEventId: string;
    },
    common: { occurredAt: number; compoundId?: string; causationId?: string },
  ): Promise<void> {
    for (const row of hits)
      await publisher.publish(
        topics.identityPersonWatchlistHit,
        {
          hitId: randomUUID(),
          watchlistId: row.watchlist_id,
          entryId: row.entry_id,
          dispositionId: row.disposition_id ?? '',
          priority: row.priority || Priority.PRIORITY_HIGH,
          matchKind:
            row.match_kind === 'id_number'
              ? MatchKind.PERSON_MATCH_KIND_ID_NUMBER
              : row.match_kind === 'face'
                ? MatchKind.PERSON_MATCH_KIND_FACE
                : MatchKind.PERSON_MATCH_KIND_CREDENTIAL,
          similarity: row.match_kind === 'face' ? hit.similarity : 0,
          personId: hit.personId,
          device: hit.device,
          images: hit.images,
          sourceEventId: hit.sourceEventId,
        },
        common,
      );
  }

  /** The searchable copy of the record (access-records.ts reads it), committed with the event. */
  async function insertRecord(
    client: ClientBase,
    recordId: string,
    input: AccessRecordInput,
    images: readonly anfang.common.v1.ImageRef.$Properties[],
  ) {
    const { decision } = input;
    await client.query(
      `INSERT INTO access_records (record_id, occurred_at, compound_id, door_id, device_id, device, person_id,
         role, credential_type, credential_masked, allowed, reason, direction, snapshot_key, path, visitor_pass_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [
        recordId,
        new Date(input.at),
        input.compoundId ?? '',
        input.doorId || null,
        input.device.deviceId ?? '',
        Buffer.from(DeviceRef.encode(DeviceRef.fromObject(input.device)).finish()),
        decision.personId ?? null,
        decision.role ? roles.toProto(decision.role) : 0,
        input.credentialType,
        input.masked,
        decision.allowed,
        decision.reason,
        input.direction ?? 0,
        images.find((image) => image.objectKey)?.objectKey ?? null,
        PATH[input.path],
        decision.passId ?? null,
      ],
    );
  }

  const commonOf = (input: { at: number; compoundId: string | undefined; sourceEventId?: string }) => ({
    occurredAt: input.at,
    ...(input.compoundId ? { compoundId: input.compoundId } : {}),
    ...(input.sourceEventId ? { causationId: input.sourceEventId } : {}),
  });

  return {
    async record(input, dedupe) {
      return withTransaction(pool, async (client) => {
        if (dedupe && !(await markProcessed(client, dedupe.group, dedupe.eventId)))
          return { recordId: undefined, alarms: 0, watchlistHits: 0 };
        const publisher = outboxEventPublisher(client, producer);
        const recordId = randomUUID();
        const { decision } = input;
        const common = commonOf(input);
        const images = [...(input.images ?? [])];
        await insertRecord(client, recordId, input, images);
        await publisher.publish(
          topics.identityAccessRecorded,
          {
            recordId,
            device: input.device,
            doorId: input.doorId,
            credentialType: input.credentialType,
            credentialId: decision.credentialId ?? '',
            credentialMasked: input.masked,
            decision: decision.allowed
              ? AccessDecision.ACCESS_DECISION_ALLOWED
              : AccessDecision.ACCESS_DECISION_DENIED,
            reason: reasons.toProto(decision.reason),
            personId: decision.personId ?? '',
            role: decision.role ? roles.toProto(decision.role) : 0,
            visitorPassId: decision.passId ?? '',
            direction: input.direction ?? 0,
            images,
            liveness: input.liveness ?? 0,
            path: PATH[input.path],
            sourceEventId: input.sourceEventId ?? '',
          },
          common,
        );

        if (decision.allowed && input.presence)
          // Passes recorded out of order (a late event) do not overwrite a newer one.
          await client.query(
            `INSERT INTO presence (person_id, door_group_id, inside, changed_at)
             SELECT $1, unnest($2::uuid[]), $3, $4
             ON CONFLICT (person_id, door_group_id) DO UPDATE SET inside = EXCLUDED.inside, changed_at = EXCLUDED.changed_at
             WHERE presence.changed_at <= EXCLUDED.changed_at`,
            [input.presence.personId, input.presence.doorGroupIds, input.presence.inside, new Date(input.at)],
          );

        let alarms = 0;
        const streak = await countFailure(client, input, recordId);
        if (streak) {
          alarms++;
          await publisher.publish(
            topics.identityAccessAlarm,
            {
              kind: AccessAlarmKind.ACCESS_ALARM_KIND_REPEATED_FAILURES,
              device: input.device,
              doorId: input.doorId,
              failureCount: streak.failures,
              window: {
                startTime: timestampFromMillis(streak.first_at.getTime()),
                endTime: timestampFromMillis(input.at),
              },
              recordIds: streak.record_ids,
              images,
            },
            common,
          );
        }
        if (decision.reason === 'spoof') {
          alarms++;
          await publisher.publish(
            topics.identityAccessAlarm,
            {
              kind: AccessAlarmKind.ACCESS_ALARM_KIND_SPOOF_ATTEMPT,
              device: input.device,
              doorId: input.doorId,
              failureCount: 1,
              window: {
                startTime: timestampFromMillis(input.at),
                endTime: timestampFromMillis(input.at + 1),
              },
              recordIds: [recordId],
              images,
            },
            common,
          );
        }

        const hits = await watchlistHits(client, {
          deviceId: input.device.deviceId ?? '',
          personId: decision.personId ?? null,
          idNumberIdx: input.watch?.idNumberIdx ?? null,
          faceTemplateId: input.watch?.faceTemplateId ?? null,
          similarity: input.watch?.similarity ?? 0,
        });
        await publishHits(
          publisher,
          hits,
          {
            personId: decision.personId ?? '',
            similarity: input.watch?.similarity ?? 0,
            device: input.device,
            images,
            sourceEventId: input.sourceEventId ?? '',
          },
          common,
        );
        return { recordId, alarms, watchlistHits: hits.length };
      });
    },

    async watch(input, dedupe) {
      return withTransaction(pool, async (client) => {
        if (!(await markProcessed(client, dedupe.group, dedupe.eventId))) return 0;
        const hits = await watchlistHits(client, {
          deviceId: input.device.deviceId ?? '',
          personId: null,
          idNumberIdx: null,
          faceTemplateId: input.faceTemplateId,
          similarity: input.similarity,
        });
        await publishHits(
          outboxEventPublisher(client, producer),
          hits,
          {
            personId: '',
            similarity: input.similarity,
            device: input.device,
            images: [...(input.images ?? [])],
            sourceEventId: input.sourceEventId ?? '',
          },
          commonOf(input),
        );
        return hits.length;
      });
    },
  };
}
