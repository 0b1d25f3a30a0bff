/**
 * Starts identity against the real local infrastructure (its own database, Kafka, Redis) and
 * gives tests a client, caller tokens per role, a compound with doors to work in, a publisher
 * of device events and a log of what identity published.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { anfang, IdentityService, allTopics, topics } from '@anfang/contracts';
import { mintCallerMetadata, type Caller, type Role } from '@anfang/platform/auth';
import { createBus, createEventPublisher, HEADER, type Bus, type EventPublisher } from '@anfang/platform/bus';
import { createGrpcClient, type GrpcClient, type Metadata } from '@anfang/platform/grpc';
import { createLogger } from '@anfang/platform/log';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestDatabase,
  ensureTopics,
  infraEnv,
  kafkaClient,
  serviceTestEnv,
  type TestDatabase,
} from '@anfang/testing';
import identityService from '../src/service.ts';

const { AddressLevel } = anfang.common.v1;
const { DoorKind, PersonKind } = anfang.identity.v1;

export const COMPOUND = '370303001001007';
export const BUILDING = '370303001001007003';
export const UNIT = '37030300100100700302';
export const OTHER_UNIT = '37030300100100700301';
export const ROOM = '370303001001007003020501';
export const OTHER_ROOM = '370303001001007003010101';

type Consumer = ReturnType<ReturnType<typeof kafkaClient>['consumer']>;

export interface PublishedEvents {
  readonly records: anfang.identity.v1.AccessRecorded[];
  readonly alarms: anfang.identity.v1.AccessAlarmRaised[];
  readonly hits: anfang.identity.v1.PersonWatchlistHit[];
  /** Results of police commands whose disposition id is in `dispositions`. */
  readonly commandResults: anfang.police.v1.PoliceCommandResult[];
  readonly dispositions: Set<string>;
}

export interface Harness {
  readonly client: GrpcClient<typeof IdentityService.definition>;
  readonly callerKey: string;
  /** Caller metadata for a role (scoped to the test compound unless told otherwise). */
  as(role: Role, extra?: Partial<Caller>): Promise<{ metadata: Metadata }>;
  readonly events: PublishedEvents;
  /** Publishes as device-ingest (device events) — and as police-upload (police commands). */
  readonly devices: EventPublisher;
  readonly db: TestDatabase;
  /** Its DATA_KEYS: what opens the sealed fields of its registry events. */
  readonly dataKeys: string;
  /** The instance's service name, which is its consumer group. */
  readonly group: string;
  /** Another instance over the same database, Redis and keys (a second replica); stopped with the first. */
  startReplica(): Promise<GrpcClient<typeof IdentityService.definition>>;
  stop(): Promise<void>;
}

/**
 * Reads identity's topics from their beginning into `events`, keeping only what this instance
 * published about the given devices (fresh UUIDs per test, so history on the shared topics
 * never interferes).
 */
async function watchIdentityTopics(
  producer: string,
  ours: (deviceId: string) => boolean,
  events: PublishedEvents,
): Promise<Consumer> {
  const consumer = kafkaClient().consumer({ groupId: `identity-test-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({
    topics: [
      topics.identityAccessRecorded.name,
      topics.identityAccessAlarm.name,
      topics.identityPersonWatchlistHit.name,
      topics.policeCommandResult.name,
    ],
    fromBeginning: true,
  });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      // Other identity instances (parallel test files, a benchmark) decide the same device events.
      if (!message.value || message.headers?.[HEADER.producer]?.toString() !== producer) return;
      if (topic === topics.identityAccessRecorded.name) {
        const record = topics.identityAccessRecorded.payload.decode(message.value);
        if (ours(record.device?.deviceId ?? '')) events.records.push(record);
      } else if (topic === topics.identityAccessAlarm.name) {
        const alarm = topics.identityAccessAlarm.payload.decode(message.value);
        if (ours(alarm.device?.deviceId ?? '')) events.alarms.push(alarm);
      } else if (topic === topics.identityPersonWatchlistHit.name) {
        const hit = topics.identityPersonWatchlistHit.payload.decode(message.value);
        if (ours(hit.device?.deviceId ?? '')) events.hits.push(hit);
      } else {
        const result = topics.policeCommandResult.payload.decode(message.value);
        if (events.dispositions.has(result.dispositionId)) events.commandResults.push(result);
      }
    },
  });
  return consumer;
}

/** identity's environment over a test database: fresh keys, callers signed with `callerKey`. */
export function identityTestEnv(databaseUrl: string, callerKey: string, extra: Record<string, string> = {}) {
  return serviceTestEnv({
    service: 'identity',
    databaseUrl,
    bucket: 'unused',
    extra: { BLIND_INDEX_KEY: randomBytes(32).toString('base64'), CALLER_TOKEN_KEY: callerKey, ...extra },
  });
}

export async function startIdentity(label: string, devices: ReadonlySet<string>): Promise<Harness> {
  await ensureTopics(allTopics());
  const db = await createTestDatabase(label);
  const callerKey = randomBytes(32).toString('base64url');
  // Its own consumer group (= service name): test files share the device topics.
  const serviceName = `identity-${randomUUID().slice(0, 8)}`;
  let service: RunningService | undefined;
  let bus: Bus | undefined;
  let consumer: Consumer | undefined;
  try {
    const env = identityTestEnv(db.url, callerKey, {
      OTEL_SERVICE_NAME: serviceName,
      // Visits that ended over a day ago are deleted within the second.
      IDENTITY_VISITOR_RETENTION_DAYS: '1',
      IDENTITY_RETENTION_SWEEP_MS: '500',
    });
    service = await identityService.start(env, { ownsProcess: false });
    const replicas: RunningService[] = [];
    const client = createGrpcClient(IdentityService.definition, `127.0.0.1:${service.ports.grpc}`, {
      deadlineMs: 15_000,
    });
    bus = await createBus({
      kind: 'kafka',
      brokers: infraEnv().kafkaBrokers,
      clientId: `${label}-devices`,
      logger: createLogger({ service: 'identity-test', level: 'warn' }),
    });
    const events: PublishedEvents = {
      records: [],
      alarms: [],
      hits: [],
      commandResults: [],
      dispositions: new Set(),
    };
    consumer = await watchIdentityTopics(serviceName, (id) => devices.has(id), events);
    const running = service;
    const openBus = bus;
    const openConsumer = consumer;
    return {
      client,
      callerKey,
      db,
      dataKeys: env.DATA_KEYS!,
      events,
      devices: createEventPublisher({ bus, producer: 'device-ingest' }),
      as: async (role, extra = {}) => ({
        metadata: await mintCallerMetadata(
          {
            subject: extra.subject ?? `user-${role}`,
            role,
            compounds: extra.compounds ?? [COMPOUND],
            ...extra,
          },
          callerKey,
        ),
      }),
      group: serviceName,
      async startReplica() {
        const replica = await identityService.start(env, { ownsProcess: false });
        replicas.push(replica);
        return createGrpcClient(IdentityService.definition, `127.0.0.1:${replica.ports.grpc}`, {
          deadlineMs: 15_000,
        });
      },
      async stop() {
        client.close();
        for (const replica of replicas) await replica.stop('test done');
        await openConsumer.disconnect().catch(() => undefined);
        await openBus.close();
        await running.stop('test done');
        await db.drop();
      },
    };
  } catch (error) {
    await consumer?.disconnect().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await service?.stop('start failed').catch(() => undefined);
    await db.drop();
    throw error;
  }
}

export interface Site {
  readonly gateDevice: string;
  readonly unitDevice: string;
  readonly otherUnitDevice: string;
  readonly gateDoor: string;
  readonly unitDoor: string;
  readonly otherUnitDoor: string;
  readonly residentsGroup: string;
}

/** The address tree down to two rooms, a compound gate, two unit doors and a residents' group. */
export async function seedSite(h: Pick<Harness, 'client' | 'as'>, devices: Set<string>): Promise<Site> {
  const admin = await h.as('district_admin', { compounds: 'all' });
  const staff = await h.as('property_staff');
  const tree: [string, number, string, string][] = [
    ['370303', AddressLevel.ADDRESS_LEVEL_DISTRICT, '张店区', ''],
    ['370303001', AddressLevel.ADDRESS_LEVEL_TOWN, '车站街道', '370303'],
    ['370303001001', AddressLevel.ADDRESS_LEVEL_COMMITTEE, '安乐街社区', '370303001'],
    [COMPOUND, AddressLevel.ADDRESS_LEVEL_COMPOUND, '天晓小区', '370303001001'],
    [BUILDING, AddressLevel.ADDRESS_LEVEL_BUILDING, '3号楼', COMPOUND],
    [UNIT, AddressLevel.ADDRESS_LEVEL_UNIT, '2单元', BUILDING],
    [OTHER_UNIT, AddressLevel.ADDRESS_LEVEL_UNIT, '1单元', BUILDING],
    [ROOM, AddressLevel.ADDRESS_LEVEL_ROOM, '501', UNIT],
    [OTHER_ROOM, AddressLevel.ADDRESS_LEVEL_ROOM, '101', OTHER_UNIT],
  ];
  for (const [code, level, name, parentCode] of tree)
    await h.client.upsertAddress({ code, level, name, parentCode }, admin);

  const site = {
    gateDevice: randomUUID(),
    unitDevice: randomUUID(),
    otherUnitDevice: randomUUID(),
    gateDoor: randomUUID(),
    unitDoor: randomUUID(),
    otherUnitDoor: randomUUID(),
    residentsGroup: randomUUID(),
  };
  for (const id of [site.gateDevice, site.unitDevice, site.otherUnitDevice]) devices.add(id);
  const doors: [string, string, number, string, string][] = [
    [site.gateDoor, COMPOUND, DoorKind.DOOR_KIND_COMPOUND_GATE, '东门人行道闸', site.gateDevice],
    [site.unitDoor, UNIT, DoorKind.DOOR_KIND_UNIT_DOOR, '3号楼2单元门', site.unitDevice],
    [site.otherUnitDoor, OTHER_UNIT, DoorKind.DOOR_KIND_UNIT_DOOR, '3号楼1单元门', site.otherUnitDevice],
  ];
  for (const [doorId, addressCode, kind, name, deviceId] of doors)
    await h.client.upsertDoor(
      { door: { doorId, compoundId: COMPOUND, addressCode, kind, name, deviceIds: [deviceId] } },
      staff,
    );
  await residentsDoors(h, site, [site.gateDoor, site.unitDoor]);
  return site;
}

async function residentsDoors(
  h: Pick<Harness, 'client' | 'as'>,
  site: Site,
  doorIds: string[],
): Promise<void> {
  await h.client.upsertDoorGroup(
    {
      doorGroup: { doorGroupId: site.residentsGroup, compoundId: COMPOUND, name: '3号楼2单元住户', doorIds },
    },
    await h.as('property_staff'),
  );
}

/**
 * A bank of `count` readers on one more door of the residents' group (a gate with many lanes):
 * device-keyed events to them spread over every partition. Returns the readers' device ids.
 */
export async function seedReaderBank(
  h: Pick<Harness, 'client' | 'as'>,
  site: Site,
  count: number,
): Promise<string[]> {
  const readers = Array.from({ length: count }, () => randomUUID());
  const doorId = randomUUID();
  await h.client.upsertDoor(
    {
      door: {
        doorId,
        compoundId: COMPOUND,
        addressCode: COMPOUND,
        kind: DoorKind.DOOR_KIND_COMPOUND_GATE,
        name: '南门闸机组',
        deviceIds: readers,
      },
    },
    await h.as('property_staff'),
  );
  await residentsDoors(h, site, [site.gateDoor, site.unitDoor, doorId]);
  return readers;
}

/** A checksum-valid ID number (GB 11643) for a serial 0..999. */
export function testIdNumber(serial: number): string {
  const body = `11010519900101${String(serial).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * weights[i]!;
  return body + '10X98765432'[sum % 11]!;
}

/** A resident of ROOM with a card, granted the residents' group. */
export async function seedResident(
  h: Pick<Harness, 'client' | 'as'>,
  site: Site,
  serial: number,
  card: string,
) {
  const staff = await h.as('property_staff');
  const person = present(
    (
      await h.client.createPerson(
        {
          compoundId: COMPOUND,
          name: '张三丰',
          idNumber: testIdNumber(serial),
          phone: `1381234${String(serial).padStart(4, '0')}`,
          kind: PersonKind.PERSON_KIND_OWNER,
          roomCode: ROOM,
        },
        staff,
      )
    ).person,
    'person',
  );
  const credential = present(
    (
      await h.client.issueCredential(
        {
          personId: person.personId,
          type: anfang.common.v1.CredentialType.CREDENTIAL_TYPE_CARD,
          value: card,
        },
        staff,
      )
    ).credential,
    'credential',
  );
  const grant = present(
    (
      await h.client.createGrant(
        {
          grant: {
            personId: person.personId,
            doorGroupId: site.residentsGroup,
            role: anfang.identity.v1.PersonRole.PERSON_ROLE_RESIDENT,
          },
        },
        staff,
      )
    ).grant,
    'grant',
  );
  return { person, credential, grant };
}

/** A message field the call must have returned (generated types make every field optional). */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`response without ${what}`);
  return value;
}
