/**
 * The single-site mode `./anfang start` runs: the service on the embedded bus (Postgres log) with
 * the in-process cache, as the runner configures it. A plate read of a registered vehicle opens
 * the barrier; a read without a device goes to the DLQ with the reason and the consumer goes on.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTopics, anfang, dlqTopic, topics, VehicleAccessService } from '@anfang/contracts';
import { mintCallerMetadata } from '@anfang/platform/auth';
import {
  consume,
  createBus,
  createEventPublisher,
  HEADER,
  type Bus,
  type Subscription,
} from '@anfang/platform/bus';
import { createGrpcClient } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@anfang/testing';
import vehicleAccessService from '../src/service.ts';
import { randomCompoundId } from './harness.ts';

const { BarrierDecision: D, BarrierReason: R } = anfang.vehicle.v1;
const { Direction } = anfang.common.v1;

let busDb: TestDatabase;
let db: TestDatabase;
let bus: Bus;
let service: RunningService;
let watch: Subscription;
let dlq: Subscription;
const name = uniqueName('vehicle-access-embedded');
const key = randomBytes(32).toString('base64');
const compoundId = randomCompoundId();
const passages: anfang.vehicle.v1.VehiclePassageRecorded[] = [];
const dead: { deviceless: string; reason: string }[] = [];

beforeAll(async () => {
  busDb = await createTestDatabase('va-embedded-bus');
  db = await createTestDatabase('va-embedded');
  bus = await createBus({ kind: 'embedded', connectionString: busDb.url });
  await bus.ensureTopics(allTopics());
  watch = await consume(bus, {
    group: `${name}-watch`,
    topics: [topics.vehiclePassageRecorded],
    handler: async (event) => {
      passages.push(event.payload);
    },
  });
  dlq = await bus.subscribe({
    group: `${name}-dlq`,
    topics: [dlqTopic(topics.devicePlateRead.name)],
    handler: async (message) => {
      if (!message.value) return;
      const read = topics.devicePlateRead.payload.decode(message.value);
      const reason = message.headers[HEADER.dlqReason];
      dead.push({
        deviceless: read.sourceObjectId,
        reason: typeof reason === 'string' ? reason : String(reason),
      });
    },
  });
  service = await vehicleAccessService.start(
    {
      OTEL_SERVICE_NAME: name,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      OTEL_METRICS_EXPORTER: 'none',
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      DATABASE_URL: db.url,
      BUS_KIND: 'embedded',
      BUS_DATABASE_URL: busDb.url,
      CACHE_KIND: 'memory',
      DATA_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      CALLER_TOKEN_KEY: key,
    },
    { ownsProcess: false },
  );
});

afterAll(async () => {
  await service?.stop('test done');
  await watch?.close();
  await dlq?.close();
  await bus?.close();
  await db?.drop();
  await busDb?.drop();
});

describe('embedded mode', () => {
  it('decides plate reads from the embedded bus and dead-letters a read without a device', async () => {
    const client = createGrpcClient(VehicleAccessService.definition, `127.0.0.1:${service.ports.grpc}`, {
      deadlineMs: 20_000,
    });
    try {
      const metadata = await mintCallerMetadata(
        { subject: 'm', role: 'community_manager', compounds: [compoundId] },
        key,
      );
      const carParkId = `${compoundId}-gate`;
      const deviceId = randomUUID();
      await client.setCarPark({ carPark: { carParkId, compoundId, name: '北门' } }, { metadata });
      await client.setLane(
        { lane: { deviceId, carParkId, direction: Direction.DIRECTION_IN } },
        { metadata },
      );
      await client.createVehicle({ vehicle: { compoundId, plateNumber: '鲁C66666' } }, { metadata });

      const deviceIngest = createEventPublisher({ bus, producer: 'device-ingest' });
      const deviceless = randomUUID();
      await deviceIngest.publish(
        topics.devicePlateRead,
        { device: { deviceId: '' }, sourceObjectId: deviceless, hasPlate: true, plateNumber: '鲁C66666' },
        { key: 'no-device' },
      );
      const readId = await deviceIngest.publish(topics.devicePlateRead, {
        device: { deviceId },
        sourceObjectId: randomUUID(),
        hasPlate: true,
        plateNumber: '鲁C66666',
        confidence: 0.9,
      });

      const passage = await waitFor(() => passages.find((p) => p.sourceEventId === readId), {
        timeoutMs: 30_000,
      });
      expect(passage).toMatchObject({
        decision: D.BARRIER_DECISION_OPEN,
        reason: R.BARRIER_REASON_REGISTERED,
      });
      const letter = await waitFor(() => dead.find((d) => d.deviceless === deviceless), {
        timeoutMs: 30_000,
      });
      expect(letter.reason).toMatch(/plate read without a device id/);
    } finally {
      client.close();
    }
  });
});
