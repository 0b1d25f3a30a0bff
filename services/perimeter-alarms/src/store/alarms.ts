/**
 * Alarms in Postgres. Every change — a trigger raising or recurring an alarm, an operator's
 * action, an escalation — commits with its history row and its AlarmChanged event (and image
 * hold/release) in the outbox, so what dashboards see is exactly what was recorded.
 */
import { randomUUID } from 'node:crypto';
import { anfang, isUuid, timestampFromDate, topics } from '@anfang/contracts';
import {
  markProcessedMany,
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
  /** The watchlist entry or patrol round it is about ('' when none; see Trigger.episode). */
  readonly episode: string;
  readonly title: string;
  readonly priority: Priority;
  readonly zoneId: string;
  /** What merges into it while it is open (see `floodKey`); moved off once a newer alarm took over. */
  readonly floodKey: string;
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

/** One source event read as a trigger. */
export interface TriggerInput {
  readonly eventId: string;
  readonly compoundId: string;
  readonly occurredAt: Date;
  readonly trigger: Trigger;
}

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
  /**
   * Applies a batch of source events in one transaction, each once per event id, with the
   * outcome of each (by position) exactly as if they had been applied one by one in order.
   */
  ingest(inputs: readonly TriggerInput[]): Promise<IngestOutcome[]>;
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
  episode: string;
  title: string;
  priority: Priority;
  zone_id: string | null;
  flood_key: string;
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
    episode: row.episode,
    title: row.title,
    priority: row.priority,
    zoneId: row.zone_id ?? '',
    floodKey: row.flood_key,
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

/** Appends history rows in the given order, in one statement. */
async function insertHistory(
  tx: ClientBase,
  entries: readonly { alarmId: string; entry: HistoryEntry }[],
): Promise<void> {
  if (entries.length === 0) return;
  await tx.query(
    `INSERT INTO alarm_history (alarm_id, transition, state, actor, at, comment, assignee_user_id,
       assignee_team_id, escalation_level, resolution)
     SELECT alarm_id, transition, state, actor, at, comment, assignee_user_id, assignee_team_id,
       escalation_level, resolution
       FROM jsonb_to_recordset($1::jsonb) AS h(seq int, alarm_id uuid, transition text, state text, actor text,
         at timestamptz, comment text, assignee_user_id text, assignee_team_id text, escalation_level int,
         resolution text)
      ORDER BY seq`,
    [
      JSON.stringify(
        entries.map(({ alarmId, entry }, seq) => ({
          seq,
          alarm_id: alarmId,
          transition: entry.transition,
          state: entry.state,
          actor: entry.actor,
          at: entry.at,
          comment: entry.comment,
          assignee_user_id: entry.assigneeUserId,
          assignee_team_id: entry.assigneeTeamId,
          escalation_level: entry.escalationLevel,
          resolution: entry.resolution ?? null,
        })),
      ),
    ],
  );
}

/**
 * Writes the occurrence side of alarms in one statement: inserts the new ones whole, and for the
 * stored ones updates what an occurrence changes (the lifecycle is only ever changed by `act`
 * and escalation, under the row lock this batch holds).
 */
async function upsertAlarms(tx: ClientBase, alarms: readonly AlarmRecord[]): Promise<void> {
  if (alarms.length === 0) return;
  await tx.query(
    `INSERT INTO alarms (alarm_id, compound_id, state, source, category, episode, title, priority, zone_id,
       flood_key, device_ids, camera_ids, images, occurrence_count, first_occurred_at, last_occurred_at, assignee_user_id,
       assignee_team_id, escalation_team_ids, acknowledge_deadline, escalation_level, source_event_ids,
       raised_at, updated_at)
     SELECT alarm_id, compound_id, state, source, category, episode, title, priority, zone_id, flood_key,
       device_ids,
       camera_ids, images, occurrence_count, first_occurred_at, last_occurred_at, assignee_user_id,
       assignee_team_id, escalation_team_ids, acknowledge_deadline, escalation_level, source_event_ids,
       raised_at, now()
       FROM jsonb_to_recordset($1::jsonb) AS a(alarm_id uuid, compound_id text, state text, source text,
         category text, episode text, title text, priority text, zone_id uuid, flood_key text, device_ids text[],
         camera_ids text[], images jsonb, occurrence_count int, first_occurred_at timestamptz,
         last_occurred_at timestamptz, assignee_user_id text, assignee_team_id text, escalation_team_ids text[],
         acknowledge_deadline timestamptz, escalation_level int, source_event_ids text[], raised_at timestamptz)
     ON CONFLICT (alarm_id) DO UPDATE SET occurrence_count = excluded.occurrence_count,
       first_occurred_at = excluded.first_occurred_at, last_occurred_at = excluded.last_occurred_at,
       device_ids = excluded.device_ids, camera_ids = excluded.camera_ids, images = excluded.images,
       source_event_ids = excluded.source_event_ids, updated_at = now()`,
    [
      JSON.stringify(
        alarms.map((alarm) => ({
          alarm_id: alarm.alarmId,
          compound_id: alarm.compoundId,
          state: alarm.state,
          source: alarm.source,
          category: alarm.category,
          episode: alarm.episode,
          title: alarm.title,
          priority: alarm.priority,
          zone_id: alarm.zoneId || null,
          flood_key: alarm.floodKey,
          device_ids: alarm.deviceIds,
          camera_ids: alarm.cameraIds,
          images: alarm.images,
          occurrence_count: alarm.occurrenceCount,
          first_occurred_at: alarm.firstOccurredAt,
          last_occurred_at: alarm.lastOccurredAt,
          assignee_user_id: alarm.assigneeUserId,
          assignee_team_id: alarm.assigneeTeamId,
          escalation_team_ids: alarm.escalationTeamIds,
          acknowledge_deadline: alarm.acknowledgeDeadline ?? null,
          escalation_level: alarm.escalationLevel,
          source_event_ids: alarm.sourceEventIds,
          raised_at: alarm.raisedAt,
        })),
      ),
    ],
  );
}

/** The alarm after one more occurrence (`added`: its snapshots the alarm does not have yet). */
function recurred(open: AlarmRecord, input: TriggerInput, added: readonly TriggerImage[]): AlarmRecord {
  const { trigger, occurredAt, eventId } = input;
  return {
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
}

const movedKey = (alarm: AlarmRecord): string => `${alarm.floodKey}|${alarm.alarmId}`;

interface Place {
  readonly compoundId: string;
  readonly zoneId: string;
}
const placeKey = (compoundId: string, zoneId: string): string => `${compoundId}|${zoneId}`;

interface Duty {
  readonly teamId: string;
  readonly chain: string[];
}
const NO_DUTY: Duty = { teamId: '', chain: [] };

interface Change {
  readonly alarm: AlarmRecord;
  readonly transition: Transition;
  readonly held: readonly string[];
  readonly causationId: string;
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

  /** The AlarmChanged event of a transition: the alarm's full state after it. */
  function changeEvent(alarm: AlarmRecord, entry: HistoryEntry, causationId?: string) {
    return {
      payload: {
        alarmId: alarm.alarmId,
        transition: TRANSITION_TO_PROTO[entry.transition],
        state: STATE_TO_PROTO[alarm.state],
        source: SOURCE_TO_PROTO[alarm.source],
        category: alarm.category,
        episode: alarm.episode,
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
      options: {
        compoundId: alarm.compoundId,
        occurredAt: entry.at,
        ...(causationId ? { causationId } : {}),
      },
    };
  }

  function holdEvent(alarm: AlarmRecord, kind: 'hold' | 'release', objectKeys: readonly string[]) {
    return {
      payload: {
        alarmId: alarm.alarmId,
        kind: kind === 'hold' ? ImageHoldKind.IMAGE_HOLD_KIND_HOLD : ImageHoldKind.IMAGE_HOLD_KIND_RELEASE,
        objectKeys: [...objectKeys],
      },
      options: { compoundId: alarm.compoundId },
    };
  }

  async function publishChange(tx: ClientBase, alarm: AlarmRecord, entry: HistoryEntry): Promise<void> {
    const event = changeEvent(alarm, entry);
    await outboxEventPublisher(tx, producer).publish(topics.alarmLifecycle, event.payload, event.options);
  }

  /**
   * Per trigger (by position), the zone it names, else the zone whose sensors or cameras include
   * its device. One index-served branch per way of belonging (an OR over them scans every zone),
   * in order of precedence.
   */
  async function zonesOf(
    tx: ClientBase,
    inputs: readonly TriggerInput[],
  ): Promise<(ZoneMatch | undefined)[]> {
    const { rows } = await tx.query<ZoneMatch & { n: string }>(
      `SELECT t.n, z.zone_id, z.arming, z.arming_until, z.camera_device_ids
         FROM unnest($1::text[], $2::uuid[], $3::text[]) WITH ORDINALITY AS t(compound_id, zone_id, device_id, n)
         JOIN LATERAL (
           (SELECT zone_id, arming, arming_until, camera_device_ids, 0 AS precedence, name FROM zones
             WHERE compound_id = t.compound_id AND zone_id = t.zone_id)
           UNION ALL
           (SELECT zone_id, arming, arming_until, camera_device_ids, 1, name FROM zones
             WHERE compound_id = t.compound_id AND sensor_device_ids @> ARRAY[t.device_id])
           UNION ALL
           (SELECT zone_id, arming, arming_until, camera_device_ids, 2, name FROM zones
             WHERE compound_id = t.compound_id AND camera_device_ids @> ARRAY[t.device_id])
           ORDER BY precedence, name LIMIT 1
         ) z ON true`,
      [
        inputs.map((input) => input.compoundId),
        inputs.map((input) => (isUuid(input.trigger.zoneId) ? input.trigger.zoneId : null)),
        inputs.map((input) => input.trigger.deviceId || null),
      ],
    );
    const zones: (ZoneMatch | undefined)[] = inputs.map(() => undefined);
    for (const row of rows) zones[Number(row.n) - 1] = row;
    return zones;
  }

  /** The on-duty team and escalation chain per `compound|zone` (the zone rule over the compound's). */
  async function dutiesOf(tx: ClientBase, places: readonly Place[]): Promise<Map<string, Duty>> {
    const duties = new Map<string, Duty>();
    if (places.length === 0) return duties;
    const { rows } = await tx.query<{
      compound_id: string;
      zone_id: string;
      team_id: string | null;
      chain: string[] | null;
    }>(
      `SELECT t.compound_id, t.zone_id, d.team_id, d.escalation_team_ids AS chain
         FROM unnest($1::text[], $2::text[]) AS t(compound_id, zone_id)
         LEFT JOIN LATERAL (
           SELECT team_id, escalation_team_ids FROM duty_rules
            WHERE compound_id = t.compound_id AND zone_id IN ('', t.zone_id)
            ORDER BY zone_id DESC LIMIT 1
         ) d ON true`,
      [places.map((place) => place.compoundId), places.map((place) => place.zoneId)],
    );
    for (const row of rows)
      duties.set(placeKey(row.compound_id, row.zone_id), {
        teamId: row.team_id ?? '',
        chain: row.chain ?? [],
      });
    return duties;
  }

  function raised(input: TriggerInput, key: string, zone: ZoneMatch | undefined, duty: Duty): AlarmRecord {
    const { trigger, occurredAt, eventId, compoundId } = input;
    const now = new Date();
    return {
      alarmId: randomUUID(),
      compoundId,
      state: 'new',
      source: trigger.source,
      category: trigger.category,
      episode: trigger.episode ?? '',
      title: trigger.title,
      priority: trigger.priority,
      zoneId: zone?.zone_id ?? '',
      floodKey: key,
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
  }

  /**
   * Applies the armed triggers of one batch, grouped by flood key, in one pass over the open
   * alarms of those keys: each trigger merges into its key's alarm or raises a new one, as it
   * would have one by one. Writes are set-based: one upsert of every touched alarm, one insert of
   * every history row, and per alarm ONE AlarmChanged event with its state after the batch (a
   * burst of recurrences is one event naming all of its source events, not one each).
   */
  async function applyArmed(
    tx: ClientBase,
    armed: readonly { input: TriggerInput; key: string; zone: ZoneMatch | undefined }[],
    outcomes: IngestOutcome[],
    positions: ReadonlyMap<TriggerInput, number>,
  ): Promise<void> {
    const keys = [...new Set(armed.map((item) => item.key))];
    // Triggers of one zone arrive on several partitions (one per device) and replicas: the locks
    // make "find the open alarm, else raise one" atomic per flood key; taken in one order, so two
    // batches sharing keys cannot deadlock.
    await tx.query(
      `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) s`,
      [keys],
    );
    const { rows } = await tx.query<AlarmRow>(
      `SELECT * FROM alarms WHERE flood_key = ANY($1::text[]) AND state <> 'resolved' FOR UPDATE`,
      [keys],
    );
    const open = new Map(rows.map((row) => [row.flood_key, recordOf(row)]));
    const outrun = (alarm: AlarmRecord | undefined, occurredAt: Date) =>
      !alarm || !mergesInto(alarm.lastOccurredAt, occurredAt, floodWindowMs);
    const places = new Map<string, Place>();
    for (const { input, key, zone } of armed)
      // Every place where a trigger may raise an alarm (the open alarm's window only widens).
      if (outrun(open.get(key), input.occurredAt)) {
        const place = { compoundId: input.compoundId, zoneId: zone?.zone_id ?? '' };
        places.set(placeKey(place.compoundId, place.zoneId), place);
      }
    const duties = await dutiesOf(tx, [...places.values()]);

    // Per alarm the batch changed: its state after the batch, the transition its event reports
    // (raised if the batch raised it), the snapshots to hold and the latest trigger.
    const changed = new Map<string, Change>();
    const history: { alarmId: string; entry: HistoryEntry }[] = [];
    // Alarms already stored that this batch moves off their key.
    const movedOff: string[] = [];
    const stored = new Set(rows.map((row) => row.alarm_id));
    for (const { input, key, zone } of armed) {
      const current = open.get(key);
      let next: AlarmRecord;
      if (current && !outrun(current, input.occurredAt)) {
        const known = new Set(current.images.map((image) => image.objectKey));
        const added = input.trigger.images.filter((image) => !known.has(image.objectKey));
        next = recurred(current, input, added);
        const before = changed.get(next.alarmId);
        changed.set(next.alarmId, {
          alarm: next,
          transition: before?.transition ?? 'recurred',
          held: [...(before?.held ?? []), ...added.map((image) => image.objectKey)],
          causationId: input.eventId,
        });
        history.push({
          alarmId: next.alarmId,
          entry: historyEntry(next, 'recurred', SYSTEM, input.occurredAt),
        });
        outcomes[positions.get(input)!] = 'recurred';
      } else {
        if (current) {
          // The burst is over but nobody closed the alarm: the new occurrence is a new incident,
          // and the open-alarm index allows one per key, so the old one moves off the key.
          const before = changed.get(current.alarmId);
          if (before)
            changed.set(current.alarmId, { ...before, alarm: { ...current, floodKey: movedKey(current) } });
          if (stored.has(current.alarmId)) movedOff.push(current.alarmId);
        }
        const duty = duties.get(placeKey(input.compoundId, zone?.zone_id ?? '')) ?? NO_DUTY;
        next = raised(input, key, zone, duty);
        changed.set(next.alarmId, {
          alarm: next,
          transition: 'raised',
          held: next.images.map((image) => image.objectKey),
          causationId: input.eventId,
        });
        history.push({ alarmId: next.alarmId, entry: historyEntry(next, 'raised', SYSTEM, next.raisedAt) });
        outcomes[positions.get(input)!] = 'raised';
      }
      open.set(key, next);
    }

    // Before the upsert, which may insert an alarm taking the key.
    if (movedOff.length > 0)
      await tx.query(
        `UPDATE alarms SET flood_key = flood_key || '|' || alarm_id::text WHERE alarm_id = ANY($1::uuid[])`,
        [movedOff],
      );
    const changes = [...changed.values()];
    await upsertAlarms(
      tx,
      changes.map((change) => change.alarm),
    );
    await insertHistory(tx, history);
    const lastEntry = new Map(history.map((item) => [item.alarmId, item.entry]));
    const events = outboxEventPublisher(tx, producer);
    await events.publishMany(
      topics.alarmLifecycle,
      changes.map(({ alarm, transition, causationId }) =>
        changeEvent(alarm, { ...lastEntry.get(alarm.alarmId)!, transition }, causationId),
      ),
    );
    await events.publishMany(
      topics.alarmImageHold,
      changes.filter(({ held }) => held.length > 0).map(({ alarm, held }) => holdEvent(alarm, 'hold', held)),
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
    ingest(inputs) {
      return withTransaction(pool, async (tx): Promise<IngestOutcome[]> => {
        const outcomes: IngestOutcome[] = inputs.map(() => 'duplicate');
        const fresh = await markProcessedMany(
          tx,
          group,
          inputs.map((input) => input.eventId),
        );
        // A redelivery within the batch is a duplicate too: the first one applies.
        const applied = inputs.filter((input) => fresh.delete(input.eventId));
        const positions = new Map(inputs.map((input, n) => [input, n]));
        const zones = await zonesOf(tx, applied);
        const suppressed: { input: TriggerInput; zone: ZoneMatch; arming: Arming }[] = [];
        const armed: { input: TriggerInput; key: string; zone: ZoneMatch | undefined }[] = [];
        applied.forEach((input, n) => {
          const zone = zones[n];
          if (input.trigger.onlyForZoneDevices && !zone) {
            outcomes[positions.get(input)!] = 'ignored';
            return;
          }
          const arming = zone
            ? effectiveArming(zone.arming, zone.arming_until ?? undefined, input.occurredAt)
            : 'armed';
          if (zone && arming !== 'armed') {
            suppressed.push({ input, zone, arming });
            outcomes[positions.get(input)!] = 'suppressed';
            return;
          }
          const key = floodKey({
            compoundId: input.compoundId,
            zoneId: zone?.zone_id,
            deviceId: input.trigger.deviceId,
            category: input.trigger.category,
            episode: input.trigger.episode,
          });
          armed.push({ input, key, zone });
        });
        if (suppressed.length > 0)
          await tx.query(
            `INSERT INTO suppressed_triggers (event_id, zone_id, category, device_id, arming, occurred_at)
             SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
             ON CONFLICT (event_id) DO NOTHING`,
            [
              suppressed.map(({ input }) => input.eventId),
              suppressed.map(({ zone }) => zone.zone_id),
              suppressed.map(({ input }) => input.trigger.category),
              suppressed.map(({ input }) => input.trigger.deviceId),
              suppressed.map(({ arming }) => arming),
              suppressed.map(({ input }) => input.occurredAt),
            ],
          );
        if (armed.length > 0) await applyArmed(tx, armed, outcomes, positions);
        return outcomes;
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
        await insertHistory(tx, [{ alarmId, entry }]);
        await publishChange(tx, updated, entry);
        if (updated.state === 'resolved' && updated.images.length > 0) {
          const release = holdEvent(
            updated,
            'release',
            updated.images.map((image) => image.objectKey),
          );
          await outboxEventPublisher(tx, producer).publish(
            topics.alarmImageHold,
            release.payload,
            release.options,
          );
        }
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
          await insertHistory(tx, [{ alarmId: alarm.alarmId, entry }]);
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
