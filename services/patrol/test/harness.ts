/**
 * The patrol service started as a module against the real local infrastructure (its own test
 * database, Kafka with the catalogue topics), a signed caller, a device-ingest stand-in that
 * publishes PatrolCheckedIn events on the real topic, and a recorder of the violation events.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { allTopics, anfang, PatrolService, topics } from '@anfang/contracts';
import { mintCallerMetadata, type Caller } from '@anfang/platform/auth';
import { createBus, createEventPublisher, type Bus } from '@anfang/platform/bus';
import { createGrpcClient, type GrpcClient } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestDatabase,
  ensureTopics,
  infraEnv,
  serviceTestEnv,
  uniqueName,
  watchTopics,
} from '@anfang/testing';
import patrolService from '../src/service.ts';

export type PatrolClient = GrpcClient<typeof PatrolService.definition>;
export type ViolationEvent = anfang.patrol.v1.PatrolViolationChanged;
type Metadata = Awaited<ReturnType<typeof mintCallerMetadata>>;

export interface Harness {
  /** The service's database, for what no RPC shows (e.g. that a resent event is stored once). */
  readonly sql: pg.Pool;
  readonly client: PatrolClient;
  /** The test's own connection to Kafka. */
  readonly bus: Bus;
  readonly key: string;
  /** Metadata of a community manager of the harness' compound. */
  readonly manager: Metadata;
  readonly compoundId: string;
  /** OTEL_SERVICE_NAME of the service under test: its producer name and consumer group. */
  readonly serviceName: string;
  /** Every violation event of the compound since start, in arrival order. */
  readonly violations: ViolationEvent[];
  metadataFor(caller: Caller): Promise<Metadata>;
  /** Another replica of the service: same database, same consumer group, its own scheduler. */
  startReplica(): Promise<RunningService>;
  checkIn(input: CheckInInput): Promise<string>;
  close(): Promise<void>;
}

export interface CheckInInput {
  readonly at: Date;
  readonly checkpointTagId?: string;
  /** A fixed reader: the device is the checkpoint. */
  readonly deviceId?: string;
  readonly guardTagId?: string;
  readonly guardUserId?: string;
  /** Given to resend the same event (a device retrying). */
  readonly eventId?: string;
}

const { CheckInMethod } = anfang.device.v1;

export async function startHarness(label: string, extra: Record<string, string> = {}): Promise<Harness> {
  const infra = infraEnv();
  const db = await createTestDatabase(label);
  await ensureTopics(allTopics());
  const key = randomBytes(32).toString('base64');
  const compoundId = `37030300${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const serviceName = uniqueName('patrol');

  const bus: Bus = await createBus({
    kind: 'kafka',
    brokers: infra.kafkaBrokers,
    clientId: uniqueName(label),
  });
  // Every test file's service consumes every check-in on the shared topic (its own group):
  // only this one's events count here.
  const watcher = await watchTopics(bus, {
    label,
    topics: [topics.patrolViolation],
    producer: serviceName,
    compoundId,
  });
  const violations: ViolationEvent[] = watcher.events(topics.patrolViolation);
  const deviceIngest = createEventPublisher({ bus, producer: 'device-ingest' });

  const env = serviceTestEnv({
    // A group of its own: parallel test files and a running platform must not share messages.
    service: serviceName,
    databaseUrl: db.url,
    bucket: 'unused',
    extra: { CALLER_TOKEN_KEY: key, PATROL_SCHEDULER_INTERVAL_MS: '300', ...extra },
  });
  const replicas: RunningService[] = [];
  const startReplica = async (): Promise<RunningService> => {
    const replica = await patrolService.start(env, { ownsProcess: false });
    replicas.push(replica);
    return replica;
  };
  const service = await startReplica();
  const client: PatrolClient = createGrpcClient(PatrolService.definition, `127.0.0.1:${service.ports.grpc}`, {
    deadlineMs: 20_000,
  });
  const metadataFor = (caller: Caller) => mintCallerMetadata(caller, key, { ttlSeconds: 600 });
  const manager = await metadataFor({
    subject: 'manager-1',
    role: 'community_manager',
    compounds: [compoundId],
  });

  const sql = db.pool(2);
  return {
    sql,
    client,
    bus,
    key,
    manager,
    compoundId,
    serviceName,
    violations,
    metadataFor,
    startReplica,
    async checkIn(input) {
      const eventId = input.eventId ?? randomUUID();
      await deviceIngest.publish(
        topics.devicePatrolCheckedIn,
        {
          device: { deviceId: input.deviceId ?? WAND_DEVICE_ID, addressCode: compoundId },
          sourceObjectId: eventId,
          method: input.deviceId
            ? CheckInMethod.CHECK_IN_METHOD_CONTACT
            : CheckInMethod.CHECK_IN_METHOD_CONTACTLESS,
          checkpointTagId: input.checkpointTagId ?? '',
          guardTagId: input.guardTagId ?? '',
          guardUserId: input.guardUserId ?? '',
        },
        { eventId, occurredAt: input.at, compoundId },
      );
      return eventId;
    },
    async close() {
      client.close();
      for (const replica of replicas) await replica.stop('test done');
      await watcher.close();
      await bus.close();
      await db.drop();
    },
  };
}

/** The guard wand that reads checkpoint tags (not itself a checkpoint). */
const WAND_DEVICE_ID = randomUUID();

export const MINUTE_MS = 60_000;

/** A time of day in China Standard Time, "HH:MM", and the UTC instant it stands for today. */
export function localStart(instant: Date): { startTime: string; start: Date; date: string } {
  const minute = Math.floor(instant.getTime() / MINUTE_MS) * MINUTE_MS;
  const local = new Date(minute + 480 * MINUTE_MS).toISOString();
  return { startTime: local.slice(11, 16), start: new Date(minute), date: local.slice(0, 10) };
}
