/**
 * The topic catalogue: every Kafka topic Anfang uses, in one module. Nothing else spells a
 * topic name. Each entry names its key (the entity whose order matters), its payload type,
 * partitions and retention, and whether it has `.retry`/`.dlq` companions.
 *
 * Topics are created up front from {@link allTopics} (no auto-creation in production). Names are
 * `anfang.<domain>.<event>.v<N>`: the domain is the proto package's domain, the event is
 * kebab-case (no `_`: Kafka folds `.` and `_` together in metric names), the version follows
 * the payload's proto package version.
 */
import type { MessageCodec } from './codec.ts';
import { eventCodecs } from './generated/codecs.ts';
import type { anfang } from './generated/proto.js';
import { TOPIC_NAME_PATTERN } from './ids.ts';

export type { MessageCodec } from './codec.ts';

/** What the message key is: the entity whose order matters. */
export type TopicKey =
  'device' | 'compound' | 'person' | 'house' | 'vehicle' | 'alarm' | 'round' | 'disposition';

/** An event payload: every message on a catalogue topic has `EventMeta meta = 1`. */
export interface EventPayload {
  meta?: anfang.common.v1.EventMeta.$Properties | null;
}

export interface TopicDefinition<T = EventPayload, I = T> {
  /** `anfang.<domain>.<event>.v1` */
  readonly name: string;
  readonly description: string;
  /** The services that publish it (kebab-case service names); nobody else does. */
  readonly producers: readonly string[];
  /** Services expected to consume it (consumer group = service name). Documentation, not enforcement. */
  readonly consumers: readonly string[];
  /** What the message key is: the entity whose order matters. */
  readonly key: TopicKey;
  /** The message key for a payload (use it; do not build keys by hand). */
  keyOf(message: I): string;
  readonly payload: MessageCodec<T, I>;
  readonly partitions: number;
  /** Time retention in ms; -1 = forever (compacted topics). */
  readonly retentionMs: number;
  /** Log-compacted: the topic keeps the latest message per key. */
  readonly compacted: boolean;
  /** Consumers of this topic can fail, so it has `.retry` and `.dlq` companions. */
  readonly companions: boolean;
  /** Carries personal information (faces, ID numbers, names, PINs): restrict ACLs, never log payloads. */
  readonly personalData: boolean;
}

/** What the bus needs to create a topic (structurally `TopicSpec` of @anfang/platform/bus). */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Time retention in ms; -1 = forever. */
  readonly retentionMs: number;
  /** Log-compacted (latest value per key) instead of time-retained. */
  readonly compacted?: boolean;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Retention of ordinary event topics. */
export const EVENT_RETENTION_MS = 7 * DAY;
/** Retention of command topics: commands expire well before. */
export const COMMAND_RETENTION_MS = 1 * DAY;
/**
 * Retention of `.dlq` companions: 30 days, so a poison message survives a holiday week and an
 * investigation (same rule as @anfang/platform/bus `expandTopicSpecs`).
 */
export const DLQ_RETENTION_MS = 30 * DAY;

// Partition counts, sized for a city (several districts of ~475 compounds, ~50k devices each):
// high-volume device streams 24, medium 12, low-volume 6, rare business events 3. Partitions
// can be added later but that moves keys, so err on the generous side for keyed streams.
const HIGH = 24;
const MEDIUM = 12;
const LOW = 6;
const RARE = 3;

type Codec<N extends keyof typeof eventCodecs> = (typeof eventCodecs)[N];
type Msg<N extends keyof typeof eventCodecs> = Codec<N> extends MessageCodec<infer T, unknown> ? T : never;
type Init<N extends keyof typeof eventCodecs> = Codec<N> extends MessageCodec<unknown, infer I> ? I : never;

interface TopicInput<N extends keyof typeof eventCodecs> {
  readonly name: string;
  readonly description: string;
  readonly producers: readonly string[];
  readonly consumers: readonly string[];
  readonly key: TopicKey;
  readonly keyOf: (message: Init<N>) => string | null | undefined;
  readonly payload: N;
  readonly partitions: number;
  readonly retentionMs?: number;
  readonly compacted?: boolean;
  readonly companions?: boolean;
  readonly personalData?: boolean;
}

function topic<N extends keyof typeof eventCodecs>(input: TopicInput<N>): TopicDefinition<Msg<N>, Init<N>> {
  if (!TOPIC_NAME_PATTERN.test(input.name))
    throw new Error(`topic name ${input.name} does not match anfang.<domain>.<event>.v<N>`);
  const codec = eventCodecs[input.payload] as unknown as MessageCodec<Msg<N>, Init<N>>;
  const compacted = input.compacted ?? false;
  return Object.freeze({
    name: input.name,
    description: input.description,
    producers: Object.freeze([...input.producers]),
    consumers: Object.freeze([...input.consumers]),
    key: input.key,
    keyOf: (message: Init<N>): string => {
      const key = input.keyOf(message);
      if (!key) throw new Error(`${input.name}: message has no ${input.key} key`);
      return key;
    },
    payload: codec,
    partitions: input.partitions,
    retentionMs: input.retentionMs ?? (compacted ? -1 : EVENT_RETENTION_MS),
    compacted,
    companions: input.companions ?? true,
    personalData: input.personalData ?? false,
  });
}

const deviceKey = (m: { device?: { deviceId?: string | null } | null }): string | null | undefined =>
  m.device?.deviceId;

/** Every topic, by a camelCase handle (`<domain><Event>`). */
export const topics = {
  // ---- device-ingest: normalised device events ----------------------------------------------
  deviceFaceCaptured: topic({
    name: 'anfang.device.face-captured.v1',
    description:
      'A face captured by a face gate, unit-door terminal or capture camera, with its liveness result (a failed liveness is a spoofing attempt).',
    producers: ['device-ingest'],
    consumers: ['identity', 'video-index', 'police-upload', 'compliance-scoring'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.FaceCaptured',
    partitions: HIGH,
    personalData: true,
  }),
  deviceCredentialPresented: topic({
    name: 'anfang.device.credential-presented.v1',
    description: 'A card, ID card, PIN, QR code or NFC token presented at a reader.',
    producers: ['device-ingest'],
    consumers: ['identity', 'video-index', 'compliance-scoring'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.CredentialPresented',
    partitions: HIGH,
    personalData: true,
  }),
  devicePlateRead: topic({
    name: 'anfang.device.plate-read.v1',
    description:
      'A plate read by a plate-recognition camera: plate, colours, type, direction, lane, confidence, spoof flag.',
    producers: ['device-ingest'],
    consumers: ['vehicle-access', 'video-index', 'police-upload', 'compliance-scoring'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.PlateRead',
    partitions: HIGH,
    personalData: true,
  }),
  devicePerimeterTriggered: topic({
    name: 'anfang.device.perimeter-triggered.v1',
    description:
      'A perimeter sensor (video detection, magnetic, infrared, microwave, fence) triggered or cleared.',
    producers: ['device-ingest'],
    consumers: ['perimeter-alarms', 'video-index'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.PerimeterTriggered',
    partitions: MEDIUM,
  }),
  deviceAnalyticsTriggered: topic({
    name: 'anfang.device.analytics-triggered.v1',
    description:
      "A camera's video analytics fired (high-altitude throwing, loitering, behaviour anomaly, intrusion, ...).",
    producers: ['device-ingest'],
    consumers: ['perimeter-alarms', 'video-index'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.AnalyticsTriggered',
    partitions: MEDIUM,
  }),
  devicePatrolCheckedIn: topic({
    name: 'anfang.device.patrol-checked-in.v1',
    description: 'A guard checked in at a patrol checkpoint (reader, wand upload or mobile).',
    producers: ['device-ingest'],
    consumers: ['patrol'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.PatrolCheckedIn',
    partitions: LOW,
  }),
  deviceIotReading: topic({
    name: 'anfang.device.iot-reading.v1',
    description: 'A periodic or on-change reading from an IoT sensor.',
    producers: ['device-ingest'],
    consumers: [],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.IotReading',
    partitions: MEDIUM,
  }),
  deviceIotAlarm: topic({
    name: 'anfang.device.iot-alarm.v1',
    description: 'An IoT sensor raised or cleared an alarm (smoke, water leak, manhole, door magnet, ...).',
    producers: ['device-ingest'],
    consumers: ['perimeter-alarms', 'police-upload'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.IotAlarm',
    partitions: LOW,
  }),
  deviceAlarmReported: topic({
    name: 'anfang.device.alarm-reported.v1',
    description:
      'A device raised or cleared an alarm about itself or its door (forced/held open, tamper, clock drift > 5 s, ...).',
    producers: ['device-ingest'],
    consumers: ['perimeter-alarms'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.DeviceAlarmReported',
    partitions: LOW,
  }),
  deviceStatusChanged: topic({
    name: 'anfang.device.status-changed.v1',
    description: 'A device went online or offline.',
    producers: ['device-ingest'],
    consumers: ['compliance-scoring', 'perimeter-alarms', 'police-upload', 'gateway'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.DeviceStatusChanged',
    partitions: MEDIUM,
  }),
  deviceClockDrift: topic({
    name: 'anfang.device.clock-drift.v1',
    description:
      "A device's clock offset crossed a severity threshold (> 1 s warning, > 5 s alarm, back in sync).",
    producers: ['device-ingest'],
    consumers: ['compliance-scoring'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.device.v1.ClockDriftChanged',
    partitions: LOW,
  }),
  deviceRegistry: topic({
    name: 'anfang.device.registry.v1',
    description:
      'The device registry: the latest state of every device (compacted; created, updated, decommissioned).',
    producers: ['device-ingest'],
    consumers: [
      'compliance-scoring',
      'police-upload',
      'video-index',
      'perimeter-alarms',
      'identity',
      'vehicle-access',
      'patrol',
    ],
    key: 'device',
    keyOf: (m) => m.device?.deviceId,
    payload: 'anfang.device.v1.DeviceChanged',
    partitions: MEDIUM,
    compacted: true,
  }),
  deviceCommand: topic({
    name: 'anfang.device.command.v1',
    description:
      'A command for a device (open door/barrier, time sync, access list update, reboot), queued by device-ingest.',
    producers: ['device-ingest', 'identity', 'vehicle-access'],
    consumers: ['device-ingest'],
    key: 'device',
    keyOf: (m) => m.deviceId,
    payload: 'anfang.device.v1.DeviceCommand',
    partitions: MEDIUM,
    retentionMs: COMMAND_RETENTION_MS,
    personalData: true,
  }),
  deviceCommandStatus: topic({
    name: 'anfang.device.command-status.v1',
    description:
      "A device command's delivery status changed (queued, delivered, succeeded, failed, expired, rejected).",
    producers: ['device-ingest'],
    consumers: ['identity', 'vehicle-access'],
    key: 'device',
    keyOf: (m) => m.deviceId,
    payload: 'anfang.device.v1.DeviceCommandStatusChanged',
    partitions: MEDIUM,
  }),

  // ---- identity ------------------------------------------------------------------------------
  identityAccessRecorded: topic({
    name: 'anfang.identity.access-recorded.v1',
    description: 'An access record: a pass or refusal at a door with the credential, decision and reason.',
    producers: ['identity'],
    consumers: ['perimeter-alarms', 'video-index', 'police-upload', 'gateway'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.identity.v1.AccessRecorded',
    partitions: HIGH,
    personalData: true,
  }),
  identityAccessAlarm: topic({
    name: 'anfang.identity.access-alarm.v1',
    description: 'An access pattern that needs attention: repeated failures at a reader, spoofing attempts.',
    producers: ['identity'],
    consumers: ['perimeter-alarms'],
    key: 'device',
    keyOf: deviceKey,
    payload: 'anfang.identity.v1.AccessAlarmRaised',
    partitions: LOW,
  }),
  identityPersonWatchlistHit: topic({
    name: 'anfang.identity.person-watchlist-hit.v1',
    description: 'A face or ID matched a person watchlist entry (重点人员, police dispositions).',
    producers: ['identity'],
    consumers: ['perimeter-alarms', 'police-upload', 'video-index'],
    key: 'person',
    keyOf: (m) => m.personId || m.entryId,
    payload: 'anfang.identity.v1.PersonWatchlistHit',
    partitions: LOW,
    personalData: true,
  }),
  identityPersonRegistry: topic({
    name: 'anfang.identity.person-registry.v1',
    description:
      'A person of the real population registered, changed or moved out/removed, with the house (standard address) they live in; name and ID number sealed (compacted: the latest of each person).',
    producers: ['identity'],
    consumers: ['police-upload'],
    key: 'person',
    keyOf: (m) => m.person?.personId,
    payload: 'anfang.identity.v1.PersonChanged',
    partitions: LOW,
    compacted: true,
    personalData: true,
  }),
  identityHouseRegistry: topic({
    name: 'anfang.identity.house-registry.v1',
    description: 'A real house registered or its use changed (compacted: the latest of each house).',
    producers: ['identity'],
    consumers: ['police-upload'],
    key: 'house',
    keyOf: (m) => m.house?.houseId,
    payload: 'anfang.identity.v1.HouseChanged',
    partitions: LOW,
    compacted: true,
  }),

  // ---- vehicle-access ------------------------------------------------------------------------
  vehiclePassageRecorded: topic({
    name: 'anfang.vehicle.passage-recorded.v1',
    description: 'A vehicle passage (in/out) with its barrier decision, images and pairing.',
    producers: ['vehicle-access'],
    consumers: ['video-index', 'police-upload', 'gateway'],
    key: 'vehicle',
    // The normalised plate; reads without a plate are keyed by their device.
    keyOf: (m) => m.plateNumber || m.device?.deviceId,
    payload: 'anfang.vehicle.v1.VehiclePassageRecorded',
    partitions: MEDIUM,
    personalData: true,
  }),
  vehicleWatchlistHit: topic({
    name: 'anfang.vehicle.watchlist-hit.v1',
    description:
      'A plate on a vehicle watchlist (布控) was read: the most time-critical event in the system.',
    producers: ['vehicle-access'],
    consumers: ['perimeter-alarms', 'police-upload', 'video-index'],
    key: 'vehicle',
    keyOf: (m) => m.plateNumber,
    payload: 'anfang.vehicle.v1.VehicleWatchlistHit',
    partitions: LOW,
    personalData: true,
  }),
  vehicleRegistry: topic({
    name: 'anfang.vehicle.registry.v1',
    description: 'A resident vehicle registered, changed or removed (compacted: the latest of each vehicle).',
    producers: ['vehicle-access'],
    consumers: ['police-upload'],
    key: 'vehicle',
    keyOf: (m) => m.vehicle?.vehicleId,
    payload: 'anfang.vehicle.v1.RegisteredVehicleChanged',
    partitions: LOW,
    compacted: true,
    personalData: true,
  }),

  // ---- perimeter-alarms ----------------------------------------------------------------------
  alarmLifecycle: topic({
    name: 'anfang.alarm.lifecycle.v1',
    description:
      'Every alarm transition (raised, recurred, acknowledged, assigned, started, commented, escalated, resolved) with the full alarm state.',
    producers: ['perimeter-alarms'],
    consumers: ['video-index', 'police-upload', 'gateway'],
    key: 'alarm',
    keyOf: (m) => m.alarmId,
    payload: 'anfang.alarm.v1.AlarmChanged',
    partitions: MEDIUM,
  }),
  alarmImageHold: topic({
    name: 'anfang.alarm.image-hold.v1',
    description:
      'Snapshots of an open alarm are held (kept beyond their retention) or released once the alarm is resolved.',
    producers: ['perimeter-alarms'],
    consumers: ['video-index'],
    key: 'alarm',
    keyOf: (m) => m.alarmId,
    payload: 'anfang.alarm.v1.AlarmImageHoldChanged',
    partitions: LOW,
  }),

  videoStorageEvidence: topic({
    name: 'anfang.video.storage-evidence.v1',
    description:
      "A compound's back-end retention and its cameras' front-end storage per zone group (compacted: the latest of each compound).",
    producers: ['video-index'],
    consumers: ['compliance-scoring'],
    key: 'compound',
    keyOf: (m) => m.compoundId,
    payload: 'anfang.video.v1.StorageEvidenceReported',
    partitions: RARE,
    compacted: true,
  }),

  // ---- patrol --------------------------------------------------------------------------------
  patrolViolation: topic({
    name: 'anfang.patrol.violation.v1',
    description:
      'A patrol violation raised or withdrawn (missed checkpoint, wrong order, early/late, unfinished round, ...).',
    producers: ['patrol'],
    consumers: ['perimeter-alarms'],
    key: 'round',
    keyOf: (m) => m.roundId || m.violationId,
    payload: 'anfang.patrol.v1.PatrolViolationChanged',
    partitions: RARE,
  }),

  patrolEvidence: topic({
    name: 'anfang.patrol.evidence.v1',
    description:
      "A compound's patrol as operated: routes over checkpoints and rounds completed in the recent window (compacted: the latest of each compound).",
    producers: ['patrol'],
    consumers: ['compliance-scoring'],
    key: 'compound',
    keyOf: (m) => m.compoundId,
    payload: 'anfang.patrol.v1.PatrolEvidenceReported',
    partitions: RARE,
    compacted: true,
  }),

  // ---- compliance-scoring --------------------------------------------------------------------
  complianceLevelChanged: topic({
    name: 'anfang.compliance.level-changed.v1',
    description:
      "A compound's compliance level (示范/优质/达标/未达标) changed, with what is missing for the next level.",
    producers: ['compliance-scoring'],
    consumers: ['gateway'],
    key: 'compound',
    keyOf: (m) => m.compoundId,
    payload: 'anfang.compliance.v1.ComplianceLevelChanged',
    partitions: RARE,
  }),

  // ---- police-upload -------------------------------------------------------------------------
  policeCommand: topic({
    name: 'anfang.police.command.v1',
    description:
      'A command from an upper police platform: disposition (布控) set or withdrawn, for identity (persons) and vehicle-access (plates).',
    producers: ['police-upload'],
    consumers: ['identity', 'vehicle-access'],
    key: 'disposition',
    keyOf: (m) => m.dispositionSet?.dispositionId || m.dispositionWithdrawn?.dispositionId || m.commandId,
    payload: 'anfang.police.v1.PoliceCommand',
    partitions: RARE,
    personalData: true,
  }),
  policeCommandResult: topic({
    name: 'anfang.police.command-result.v1',
    description: 'The result of executing a police command, for feedback to the upper platform.',
    producers: ['identity', 'vehicle-access'],
    consumers: ['police-upload'],
    key: 'disposition',
    keyOf: (m) => m.dispositionId || m.commandId,
    payload: 'anfang.police.v1.PoliceCommandResult',
    partitions: RARE,
  }),
  policeUploadReceipt: topic({
    name: 'anfang.police.upload-receipt.v1',
    description:
      "An object's upload to an upper platform finished. No longer published: superseded by anfang.police.upload-batch-receipt.v1 (its v1 payload stays, as v1 changes are additive).",
    producers: ['police-upload'],
    consumers: [],
    key: 'compound',
    keyOf: (m) => m.meta?.compoundId || m.platformId,
    payload: 'anfang.police.v1.UploadReceipt',
    partitions: MEDIUM,
  }),
  policeUploadBatchReceipt: topic({
    name: 'anfang.police.upload-batch-receipt.v1',
    description:
      "An upper platform's answer to one batch: each of its objects of one compound whose upload finished, accepted or rejected as invalid.",
    producers: ['police-upload'],
    consumers: [],
    key: 'compound',
    keyOf: (m) => m.meta?.compoundId || m.platformId,
    payload: 'anfang.police.v1.UploadBatchReceipt',
    partitions: MEDIUM,
  }),
  policeUploadHealth: topic({
    name: 'anfang.police.upload-health.v1',
    description: 'Upload health per compound and upper platform (compacted: the latest report of each).',
    producers: ['police-upload'],
    consumers: ['compliance-scoring'],
    key: 'compound',
    // One key per (compound, platform), so compaction keeps each platform's latest report.
    keyOf: (m) => (m.compoundId ? `${m.compoundId}/${m.platformId ?? ''}` : undefined),
    payload: 'anfang.police.v1.UploadHealthReported',
    partitions: RARE,
    compacted: true,
  }),
} as const;

export type Topics = typeof topics;
export type TopicHandle = keyof Topics;
/** The decoded payload type of a topic, e.g. `TopicMessage<typeof topics.devicePlateRead>`. */
export type TopicMessage<D> = D extends TopicDefinition<infer T, infer _I> ? T : never;
/** The payload properties type a topic encodes from. */
export type TopicInit<D> = D extends TopicDefinition<infer _T, infer I> ? I : never;

const definitions: readonly TopicDefinition[] = Object.freeze(
  Object.values(topics) as unknown as TopicDefinition[],
);
const byName: ReadonlyMap<string, TopicDefinition> = new Map(definitions.map((d) => [d.name, d]));
if (byName.size !== definitions.length) throw new Error('topic catalogue: duplicate topic names');

/** The `.retry` companion of a topic (same convention as @anfang/platform/bus `retryTopic`). */
export const retryTopic = (name: string): string => `${name}.retry`;
/** The `.dlq` companion of a topic (same convention as @anfang/platform/bus `dlqTopic`). */
export const dlqTopic = (name: string): string => `${name}.dlq`;

/** Every topic definition of the catalogue. */
export function topicDefinitions(): readonly TopicDefinition[] {
  return definitions;
}

/** A catalogue topic by exact name (`anfang.device.plate-read.v1`); companions are not topics of their own. */
export function topicByName(name: string): TopicDefinition | undefined {
  return byName.get(name);
}

export type TopicRole = 'main' | 'retry' | 'dlq';

/** Resolves any topic name, companions included, to its catalogue definition and role. */
export function resolveTopic(
  name: string,
): { readonly definition: TopicDefinition; readonly role: TopicRole } | undefined {
  const main = byName.get(name);
  if (main) return { definition: main, role: 'main' };
  for (const role of ['retry', 'dlq'] as const) {
    const suffix = `.${role}`;
    if (name.endsWith(suffix)) {
      const definition = byName.get(name.slice(0, -suffix.length));
      if (definition?.companions) return { definition, role };
    }
  }
  return undefined;
}

/** The specs of one topic and, if it has companions, of its `.retry` and `.dlq`. */
export function topicSpecs(definition: TopicDefinition): TopicSpec[] {
  const specs: TopicSpec[] = [
    {
      name: definition.name,
      partitions: definition.partitions,
      retentionMs: definition.retentionMs,
      compacted: definition.compacted,
    },
  ];
  if (definition.companions) {
    // Companions have the main topic's partitions (keys keep their order when a DLQ is replayed).
    // Retry messages live as long as the main topic's would: a consumer down for days must not
    // lose its retries. Neither companion is compacted.
    specs.push({
      name: retryTopic(definition.name),
      partitions: definition.partitions,
      retentionMs: definition.compacted ? EVENT_RETENTION_MS : definition.retentionMs,
      compacted: false,
    });
    specs.push({
      name: dlqTopic(definition.name),
      partitions: definition.partitions,
      retentionMs: Math.max(definition.retentionMs, DLQ_RETENTION_MS),
      compacted: false,
    });
  }
  return specs;
}

/** Every topic to create, companions included, sorted by name. */
export function allTopics(): TopicSpec[] {
  return definitions.flatMap(topicSpecs).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
