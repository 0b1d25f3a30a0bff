/**
 * Alarms in Postgres. Every change — a trigger raising or recurring an alarm, an operator's
 * action, an escalation — commits with its history row and its AlarmChanged event (and image
 * hold/release) in the outbox, so what dashboards see is exactly what was recorded.
 */
import { randomUUID } from 'node:crypto';
import { anfang, isUuid, timestampFromDate, topics } from '@anfang/contracts';
import {
  markProcessed,
  outboxEventPublisher,
  withTransaction,
  type ClientBase,
  type Pool,
} from '@anfang/platform/pg';
import { appendBounded, effectiveArming, floodKey, mergesInto, type Arming } from '../domain/flood.ts';
import {
  acknowledgeDeadline,
  applyAction,
  escalate,
  historyEntry,
  type Action,
  type AlarmState,
  type EscalationPolicy,
  type HistoryEntry,
  type LifecycleState,
  type Priority,
  type Resolution,
  type Transition,
} from '../domain/lifecycle.ts';
import {
  PRIORITY_TO_PROTO,
  SOURCE_TO_PROTO,
  type SourceKind,
  type Trigger,
  type TriggerImage,
} from '../domain/sources.ts';

const {
  AlarmState: ProtoState,
  AlarmTransition: ProtoTransition,
  AlarmResolution: ProtoResolution,
} = anfang.alarm.v1;
const { ImageHoldKind } = anfang.alarm.v1;

/** The source events named on an alarm (the latest ones). */
const MAX_SOURCE_EVENT_IDS = 20;
/** Snapshots kept on one alarm: a night of chattering must not grow a row without bound. */
const MAX_IMAGES = 50;
const SYSTEM = 'system';

export interface AlarmRecord extends LifecycleState {
  readonly alarmId: string;
  readonly compoundId: string;
  readonly source: SourceKind;
  readonly category: string;
  readonly title: string;
  readonly priority: Priority;
  readonly zoneId: string;
  readonly deviceIds: readonly string[];
  readonly cameraIds: readonly string[];
  readonly images: readonly TriggerImage[];
  readonly occurrenceCount: number;
  readonly firstOccurredAt: Date;
  readonly lastOccurredAt: Date;
  readonly escalationTeamIds: readonly string[];
  readonly sourceEventIds: readonly string[];
  readonly raisedAt: Date;
}

export type IngestOutcome = 'raised' | 'recurred' | 'suppressed' | 'ignored' | 'duplicate';

export interface AlarmStoreOptions {
  readonly producer: string;
  /** Consumer group: the key of processed event ids. */
  readonly group: string;
  readonly floodWindowMs: number;
  readonly escalation: EscalationPolicy;
  readonly playback: { readonly beforeMs: number; readonly afterMs: number };
}

export class AlarmNotFoundError extends Error {
  override readonly name = 'AlarmNotFoundError';
}

export interface AlarmStore {
  /** Applies one source event (once per event id). */
  ingest(input: {
    eventId: string;
    compoundId: string;
    occurredAt: Date;
    trigger: Trigger;
  }): Promise<IngestOutcome>;
  /** An operator's action; throws AlarmNotFoundError or the domain's LifecycleError. */
  act(
    alarmId: string,
    action: Action,
    actor: string,
    authorise: (alarm: AlarmRecord) => void,
  ): Promise<AlarmRecord>;
  /** Escalates up to `limit` alarms whose acknowledge deadline passed; returns how many. */
  escalateDue(now: Date, limit: number): Promise<number>;
  get(alarmId: string): Promise<AlarmRecord | undefined>;
  history(alarmId: string): Promise<HistoryEntry[]>;
  list(query: { compoundId: string; states: readonly AlarmState[]; limit: number }): Promise<AlarmRecord[]>;
  /** Open alarms nobody acknowledged yet, per compound, with the oldest one's raise time. */
  unacknowledged(): Promise<{ compoundId: string; count: number; oldestRaisedAt: Date }[]>;
}

interface AlarmRow {
  alarm_id: string;
  compound_id: string;
  state: AlarmState;
  source: SourceKind;
  category: string;
  title: string;
  priority: Priority;
  zone_id: string | null;
  device_ids: string[];
  camera_ids: string[];
  images: TriggerImage[];
  occurrence_count: number;
  first_occurred_at: Date;
  last_occurred_at: Date;
  assignee_user_id: string;
  assignee_team_id: string;
  escalation_team_ids: string[];
  acknowledge_deadline: Date | null;
  escalation_level: number;
  resolution: Resolution | null;
  source_event_ids: string[];
  raised_at: Date;
}

function recordOf(row: AlarmRow): AlarmRecord {
  return {
    alarmId: row.alarm_id,
    compoundId: row.compound_id,
    state: row.state,
    source: row.source,
    category: row.category,
    title: row.title,
    priority: row.priority,
    zoneId: row.zone_id ?? '',
    deviceIds: row.device_ids,
    cameraIds: row.camera_ids,
    images: row.images,
    occurrenceCount: row.occurrence_count,
    firstOccurredAt: row.first_occurred_at,
    lastOccurredAt: row.last_occurred_at,
    assigneeUserId: row.assignee_user_id,
    assigneeTeamId: row.assignee_team_id,
    escalationTeamIds: row.escalation_team_ids,
    acknowledgeDeadline: row.acknowledge_deadline ?? undefined,
    escalationLevel: row.escalation_level,
    resolution: row.resolution ?? undefined,
    sourceEventIds: row.source_event_ids,
    raisedAt: row.raised_at,
  };
}

export const STATE_TO_PROTO: Readonly<Record<AlarmState, anfang.alarm.v1.AlarmState>> = {
  new: ProtoState.ALARM_STATE_NEW,
  acknowledged: ProtoState.ALARM_STATE_ACKNOWLEDGED,
  in_progress: ProtoState.ALARM_STATE_IN_PROGRESS,
  resolved: ProtoState.ALARM_STATE_RESOLVED,
};

export const TRANSITION_TO_PROTO: Readonly<Record<Transition, anfang.alarm.v1.AlarmTransition>> = {
  raised: ProtoTransition.ALARM_TRANSITION_RAISED,
  recurred: ProtoTransition.ALARM_TRANSITION_RECURRED,
  acknowledged: ProtoTransition.ALARM_TRANSITION_ACKNOWLEDGED,
  assigned: ProtoTransition.ALARM_TRANSITION_ASSIGNED,
  started: ProtoTransition.ALARM_TRANSITION_STARTED,
  commented: ProtoTransition.ALARM_TRANSITION_COMMENTED,
  escalated: ProtoTransition.ALARM_TRANSITION_ESCALATED,
  resolved: ProtoTransition.ALARM_TRANSITION_RESOLVED,
};

export const RESOLUTION_TO_PROTO: Readonly<Record<Resolution, anfang.alarm.v1.AlarmResolution>> = {
  real: ProtoResolution.ALARM_RESOLUTION_REAL,
  false_alarm: ProtoResolution.ALARM_RESOLUTION_FALSE_ALARM,
  test: ProtoResolution.ALARM_RESOLUTION_TEST,
};

/** Cameras and the playback window from just before the first to just after the latest occurrence. */
export function videoLinks(
  alarm: AlarmRecord,
  playback: AlarmStoreOptions['playback'],
): anfang.common.v1.IVideoLink[] {
  const window = {
    startTime: timestampFromDate(new Date(alarm.firstOccurredAt.getTime() - playback.beforeMs)),
    endTime: timestampFromDate(new Date(alarm.lastOccurredAt.getTime() + playback.afterMs)),
  };
  return alarm.cameraIds.map((cameraDeviceId) => ({ cameraDeviceId, playback: window }));
}

const ts = (date: Date | undefined) => (date ? timestampFromDate(date) : null);

async function insertHistory(tx: ClientBase, alarmId: string, entry: HistoryEntry): Promise<void> {
  await tx.query(
    `INSERT INTO alarm_history (alarm_id, transition, state, actor, at, comment, assignee_user_id,
       assignee_team_id, escalation_level, resolution)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      alarmId,
      entry.transition,
      entry.state,
      entry.actor,
      entry.at,
      entry.comment,
      entry.assigneeUserId,
      entry.assigneeTeamId,
      entry.escalationLevel,
      entry.resolution ?? null,
    ],
  );
}

async function saveLifecycle(tx: ClientBase, alarm: AlarmRecord, at: Date): Promise<void> {
  await tx.query(
    `UPDATE alarms SET state = $2, assignee_user_id = $3, assignee_team_id = $4, acknowledge_deadline = $5,
       escalation_level = $6, resolution = $7, updated_at = $8
     WHERE alarm_id = $1`,
    [
      alarm.alarmId,
      alarm.state,
      alarm.assigneeUserId,
      alarm.assigneeTeamId,
      alarm.acknowledgeDeadline ?? null,
      alarm.escalationLevel,
      alarm.resolution ?? null,
      at,
    ],
  );
}

interface ZoneMatch {
  zone_id: string;
  arming: Arming;
  arming_until: Date | null;
  camera_device_ids: string[];
}

export function createAlarmStore(pool: Pool, options: AlarmStoreOptions): AlarmStore {
  const { producer, group, floodWindowMs, escalation, playback } = options;

  async function publishChange(
    tx: ClientBase,
    alarm: AlarmRecord,
    entry: HistoryEntry,
    causationId?: string,
  ): Promise<void> {
    await outboxEventPublisher(tx, producer).publish(
      topics.alarmLifecycle,
      {
        alarmId: alarm.alarmId,
        transition: TRANSITION_TO_PROTO[entry.transition],
        state: STATE_TO_PROTO[alarm.state],
        source: SOURCE_TO_PROTO[alarm.source],
        category: alarm.category,
        title: alarm.title,
        priority: PRIORITY_TO_PROTO[alarm.priority],
        zoneId: alarm.zoneId,
        deviceIds: [...alarm.deviceIds],
        video: videoLinks(alarm, playback),
        images: alarm.images.map((image) => ({ ...image })),
        occurrenceCount: alarm.occurrenceCount,
        firstOccurredAt: ts(alarm.firstOccurredAt),
        lastOccurredAt: ts(alarm.lastOccurredAt),
        assigneeUserId: alarm.assigneeUserId,
        assigneeTeamId: alarm.assigneeTeamId,
        actor: entry.actor,
        comment: entry.comment,
        acknowledgeDeadline: ts(alarm.acknowledgeDeadline),
        escalationLevel: alarm.escalationLevel,
        resolution: alarm.resolution ? RESOLUTION_TO_PROTO[alarm.resolution] : 0,
        sourceEventIds: [...alarm.sourceEventIds],
      },
      { compoundId: alarm.compoundId, occurredAt: entry.at, ...(causationId ? { causationId } : {}) },
    );
  }

  async function publishHold(
    tx: ClientBase,
    alarm: AlarmRecord,
    kind: 'hold' | 'release',
    objectKeys: readonly string[],
  ): Promise<void> {
    if (objectKeys.length === 0) return;
    await outboxEventPublisher(tx, producer).publish(
      topics.alarmImageHold,
      {
        alarmId: alarm.alarmId,
        kind: kind === 'hold' ? ImageHoldKind.IMAGE_HOLD_KIND_HOLD : ImageHoldKind.IMAGE_HOLD_KIND_RELEASE,
        objectKeys: [...objectKeys],
      },
      { compoundId: alarm.compoundId },
    );
  }

  /** The zone the event names, else the zone whose sensors or cameras include its device. */
  async function zoneOf(
    tx: ClientBase,
    compoundId: string,
    trigger: Trigger,
  ): Promise<ZoneMatch | undefined> {
    // One index-served branch per way of belonging (an OR over them scans every zone), in order
    // of precedence.
    const { rows } = await tx.query<ZoneMatch>(
      `(SELECT zone_id, arming, arming_until, camera_device_ids, 0 AS precedence, name FROM zones
         WHERE compound_id = $1 AND zone_id = $2::uuid)
       UNION ALL
       (SELECT zone_id, arming, arming_until, camera_device_ids, 1, name FROM zones
         WHERE compound_id = $1 AND sensor_device_ids @> ARRAY[$3::text])
       UNION ALL
       (SELECT zone_id, arming, arming_until, camera_device_ids, 2, name FROM zones
         WHERE compound_id = $1 AND camera_device_ids @> ARRAY[$3::text])
       ORDER BY precedence, name LIMIT 1`,
      [compoundId, isUuid(trigger.zoneId) ? trigger.zoneId : null, trigger.deviceId || null],
    );
    return rows[0];
  }

  async function dutyOf(
    tx: ClientBase,
    compoundId: string,
    zoneId: string,
  ): Promise<{ teamId: string; chain: string[] }> {
    const { rows } = await tx.query<{ team_id: string; escalation_team_ids: string[] }>(
      `SELECT team_id, escalation_team_ids FROM duty_rules
        WHERE compound_id = $1 AND zone_id IN ('', $2)
        ORDER BY zone_id DESC LIMIT 1`,
      [compoundId, zoneId],
    );
    return { teamId: rows[0]?.team_id ?? '', chain: rows[0]?.escalation_team_ids ?? [] };
  }

  async function recur(
    tx: ClientBase,
    open: AlarmRecord,
    input: { eventId: string; occurredAt: Date; trigger: Trigger },
  ): Promise<void> {
    const { trigger, occurredAt, eventId } = input;
    const knownKeys = new Set(open.images.map((image) => image.objectKey));
    const added = trigger.images.filter((image) => !knownKeys.has(image.objectKey));
    const updated: AlarmRecord = {
      ...open,
      occurrenceCount: open.occurrenceCount + 1,
      firstOccurredAt: occurredAt < open.firstOccurredAt ? occurredAt : open.firstOccurredAt,
      lastOccurredAt: occurredAt > open.lastOccurredAt ? occurredAt : open.lastOccurredAt,
      deviceIds: trigger.deviceId
        ? appendBounded(open.deviceIds, [trigger.deviceId], MAX_IMAGES)
        : open.deviceIds,
      cameraIds: appendBounded(open.cameraIds, trigger.cameraIds, MAX_IMAGES),
      images: [...open.images, ...added].slice(-MAX_IMAGES),
      sourceEventIds: appendBounded(open.sourceEventIds, [eventId], MAX_SOURCE_EVENT_IDS),
    };
    await tx.query(
      `UPDATE alarms SET occurrence_count = $2, first_occurred_at = $3, last_occurred_at = $4, device_ids = $5,
         camera_ids = $6, images = $7, source_event_ids = $8, updated_at = now()
       WHERE alarm_id = $1`,
      [
        updated.alarmId,
        updated.occurrenceCount,
        updated.firstOccurredAt,
        updated.lastOccurredAt,
        updated.deviceIds,
        updated.cameraIds,
        JSON.stringify(updated.images),
        updated.sourceEventIds,
      ],
    );
    const entry = historyEntry(updated, 'recurred', SYSTEM, occurredAt);
    await insertHistory(tx, updated.alarmId, entry);
    await publishChange(tx, updated, entry, eventId);
    await publishHold(
      tx,
      updated,
      'hold',
      added.map((image) => image.objectKey),
    );
  }

  async function raise(
    tx: ClientBase,
    input: { eventId: string; compoundId: string; occurredAt: Date; trigger: Trigger },
    key: string,
    zone: ZoneMatch | undefined,
  ): Promise<void> {
    const { trigger, occurredAt, eventId, compoundId } = input;
    const zoneId = zone?.zone_id ?? '';
    const duty = await dutyOf(tx, compoundId, zoneId);
    const now = new Date();
    const alarm: AlarmRecord = {
      alarmId: randomUUID(),
      compoundId,
      state: 'new',
      source: trigger.source,
      category: trigger.category,
      title: trigger.title,
      priority: trigger.priority,
      zoneId,
      deviceIds: trigger.deviceId ? [trigger.deviceId] : [],
      cameraIds: appendBounded(zone?.camera_device_ids ?? [], trigger.cameraIds, MAX_IMAGES),
      images: trigger.images.slice(-MAX_IMAGES),
      occurrenceCount: 1,
      firstOccurredAt: occurredAt,
      lastOccurredAt: occurredAt,
      assigneeUserId: '',
      assigneeTeamId: duty.teamId,
      escalationTeamIds: duty.chain,
      // From the moment it is raised, not from the device's clock: nobody could see it earlier.
      acknowledgeDeadline: acknowledgeDeadline(trigger.priority, now, escalation.limits),
      escalationLevel: 0,
      resolution: undefined,
      sourceEventIds: [eventId],
      raisedAt: now,
    };
    await tx.query(
      `INSERT INTO alarms (alarm_id, compound_id, state, source, category, title, priority, zone_id, flood_key,
         device_ids, camera_ids, images, occurrence_count, first_occurred_at, last_occurred_at, assignee_user_id,
         assignee_team_id, escalation_team_ids, acknowledge_deadline, escalation_level, source_event_ids,
         raised_at, updated_at)
       VALUES ($1, $2, 'new', $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, '', $13, $14, $15, 0, $16, $17, $17)`,
      [
        alarm.alarmId,
        compoundId,
        alarm.source,
        alarm.category,
        alarm.title,
        alarm.priority,
        zoneId || null,
        key,
        alarm.deviceIds,
        alarm.cameraIds,
        JSON.stringify(alarm.images),
        occurredAt,
        alarm.assigneeTeamId,
        alarm.escalationTeamIds,
        alarm.acknowledgeDeadline,
        alarm.sourceEventIds,
        now,
      ],
    );
    const entry = historyEntry(alarm, 'raised', SYSTEM, now);
    await insertHistory(tx, alarm.alarmId, entry);
    await publishChange(tx, alarm, entry, eventId);
    await publishHold(
      tx,
      alarm,
      'hold',
      alarm.images.map((image) => image.objectKey),
    );
  }

  async function lockedAlarm(
    tx: ClientBase,
    where: string,
    params: unknown[],
  ): Promise<AlarmRecord | undefined> {
    const { rows } = await tx.query<AlarmRow>(`SELECT * FROM alarms WHERE ${where} FOR UPDATE`, params);
    return rows[0] ? recordOf(rows[0]) : undefined;
  }

  return {
    ingest(input) {
      return withTransaction(pool, async (tx): Promise<IngestOutcome> => {
        if (!(await markProcessed(tx, group, input.eventId))) return 'duplicate';
        const { trigger, compoundId, occurredAt } = input;
        const zone = await zoneOf(tx, compoundId, trigger);
        if (trigger.onlyForZoneDevices && !zone) return 'ignored';
        if (zone) {
          const arming = effectiveArming(zone.arming, zone.arming_until ?? undefined, occurredAt);
          if (arming !== 'armed') {
            await tx.query(
              `INSERT INTO suppressed_triggers (event_id, zone_id, category, device_id, arming, occurred_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
              [input.eventId, zone.zone_id, trigger.category, trigger.deviceId, arming, occurredAt],
            );
            return 'suppressed';
          }
        }
        const key = floodKey({
          compoundId,
          zoneId: zone?.zone_id,
          deviceId: trigger.deviceId,
          category: trigger.category,
        });
        // Triggers of one zone arrive on several partitions (one per device) and replicas: the
        // lock makes "find the open alarm, else raise one" atomic per flood key.
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
        const open = await lockedAlarm(tx, `flood_key = $1 AND state <> 'resolved'`, [key]);
        if (open && mergesInto(open.lastOccurredAt, occurredAt, floodWindowMs)) {
          await recur(tx, open, input);
          return 'recurred';
        }
        if (open) {
          // The burst is over but nobody closed the alarm: the new occurrence is a new incident,
          // and the open-alarm index allows one per key, so the old one moves off the key.
          await tx.query(`UPDATE alarms SET flood_key = flood_key || '|' || alarm_id WHERE alarm_id = $1`, [
            open.alarmId,
          ]);
        }
        await raise(tx, input, key, zone);
        return 'raised';
      });
    },

    act(alarmId, action, actor, authorise) {
      return withTransaction(pool, async (tx) => {
        const alarm = await lockedAlarm(tx, 'alarm_id = $1', [alarmId]);
        if (!alarm) throw new AlarmNotFoundError(`alarm ${alarmId} not found`);
        authorise(alarm);
        const now = new Date();
        const { next, entry } = applyAction(alarm, action, actor, now);
        const updated: AlarmRecord = { ...alarm, ...next };
        await saveLifecycle(tx, updated, now);
        await insertHistory(tx, alarmId, entry);
        await publishChange(tx, updated, entry);
        if (updated.state === 'resolved')
          await publishHold(
            tx,
            updated,
            'release',
            updated.images.map((image) => image.objectKey),
          );
        return updated;
      });
    },

    escalateDue(now, limit) {
      return withTransaction(pool, async (tx) => {
        // SKIP LOCKED: replicas share the due alarms, and an alarm an operator is acknowledging
        // right now is looked at again on the next pass (by then it no longer escalates).
        const { rows } = await tx.query<AlarmRow>(
          `SELECT * FROM alarms WHERE state = 'new' AND acknowledge_deadline <= $1
            ORDER BY acknowledge_deadline LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [now, limit],
        );
        let escalated = 0;
        for (const alarm of rows.map(recordOf)) {
          const next = escalate(alarm, alarm.priority, alarm.escalationTeamIds, now, escalation);
          if (!next) {
            // At the last level: the deadline stops running, the alarm stays unacknowledged.
            await tx.query('UPDATE alarms SET acknowledge_deadline = NULL WHERE alarm_id = $1', [
              alarm.alarmId,
            ]);
            continue;
          }
          const updated: AlarmRecord = { ...alarm, ...next };
          await saveLifecycle(tx, updated, now);
          const entry = historyEntry(updated, 'escalated', SYSTEM, now);
          await insertHistory(tx, alarm.alarmId, entry);
          await publishChange(tx, updated, entry);
          escalated += 1;
        }
        return escalated;
      });
    },

    async get(alarmId) {
      const { rows } = await pool.query<AlarmRow>('SELECT * FROM alarms WHERE alarm_id = $1', [alarmId]);
      return rows[0] ? recordOf(rows[0]) : undefined;
    },

    async history(alarmId) {
      const { rows } = await pool.query<{
        transition: Transition;
        state: AlarmState;
        actor: string;
        at: Date;
        comment: string;
        assignee_user_id: string;
        assignee_team_id: string;
        escalation_level: number;
        resolution: Resolution | null;
      }>('SELECT * FROM alarm_history WHERE alarm_id = $1 ORDER BY entry_id', [alarmId]);
      return rows.map((row) => ({
        transition: row.transition,
        state: row.state,
        actor: row.actor,
        at: row.at,
        comment: row.comment,
        assigneeUserId: row.assignee_user_id,
        assigneeTeamId: row.assignee_team_id,
        escalationLevel: row.escalation_level,
        resolution: row.resolution ?? undefined,
      }));
    },

    async list({ compoundId, states, limit }) {
      const { rows } = await pool.query<AlarmRow>(
        `SELECT * FROM alarms WHERE compound_id = $1 AND (cardinality($2::text[]) = 0 OR state = ANY($2))
          ORDER BY raised_at DESC, alarm_id LIMIT $3`,
        [compoundId, states, limit],
      );
      return rows.map(recordOf);
    },

    async unacknowledged() {
      const { rows } = await pool.query<{ compound_id: string; count: string; oldest: Date }>(
        `SELECT compound_id, count(*) AS count, min(raised_at) AS oldest FROM alarms
          WHERE state = 'new' GROUP BY compound_id`,
      );
      return rows.map((row) => ({
        compoundId: row.compound_id,
        count: Number(row.count),
        oldestRaisedAt: row.oldest,
      }));
    },
  };
}
