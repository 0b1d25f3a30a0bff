/**
 * The real services behind the dashboard, started in this process against the local
 * infrastructure: compliance-scoring (levels, coverage), perimeter-alarms (alarms), identity
 * (access records) and the gateway in front of them, each with its own database, consumer group and Redis prefix.
 * Nothing is faked: alarms are raised by publishing a perimeter trigger on the real topic, as
 * device-ingest does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { allTopics, anfang, topics } from '@anfang/contracts';
import { createBus, createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import type { RunningService, ServiceModule } from '@anfang/platform/service';
import { createTestDatabase, infraEnv, serviceTestEnv, uniqueName, type TestDatabase } from '@anfang/testing';
import complianceScoring from '../../../compliance-scoring/src/service.ts';
import identityService from '@anfang/identity';
import perimeterAlarms from '@anfang/perimeter-alarms';
import gateway from '../../src/service.ts';

export interface Stack {
  /** The gateway's address, e.g. http://127.0.0.1:41234. */
  readonly baseUrl: string;
  readonly adminUser: string;
  readonly adminPassword: string;
  /** Publishes a perimeter sensor's active trigger for a compound, as device-ingest would. */
  perimeterTrigger(compoundId: string, deviceId: string): Promise<string>;
  /** Publishes a card presented at a reader with its capture, as device-ingest would; the capture's key. */
  cardPresented(deviceId: string, cardNumber: string): Promise<string>;
  close(): Promise<void>;
}

interface Started {
  readonly service: RunningService;
  readonly db: TestDatabase;
}

async function startOne(
  module: ServiceModule,
  label: string,
  extra: Record<string, string>,
): Promise<Started> {
  const db = await createTestDatabase(label.replace(/-/g, '_'));
  const service = await module.start(
    serviceTestEnv({ service: uniqueName(label), databaseUrl: db.url, bucket: 'unused', extra }),
    { ownsProcess: false },
  );
  return { service, db };
}

function grpcAddress(started: Started): string {
  const port = started.service.ports.grpc;
  if (port === undefined) throw new Error('service serves no gRPC port');
  return `127.0.0.1:${port}`;
}

export async function startStack(): Promise<Stack> {
  const infra = infraEnv();
  const bus: Bus = await createBus({
    kind: 'kafka',
    brokers: infra.kafkaBrokers,
    clientId: uniqueName('web-test'),
  });
  await bus.ensureTopics(allTopics());
  const started: Started[] = [];
  try {
    const compliance = await startOne(complianceScoring, 'web-compliance', {
      COMPLIANCE_CONSUMER_START: 'latest',
    });
    started.push(compliance);
    const alarms = await startOne(perimeterAlarms, 'web-alarms', {});
    started.push(alarms);
    const identity = await startOne(identityService, 'web-identity', {
      BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
    });
    started.push(identity);
    const adminPassword = randomBytes(18).toString('base64url');
    const front = await startOne(gateway, 'web-gateway', {
      GATEWAY_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
      SERVICE_GRPC_ADDR_COMPLIANCE_SCORING: grpcAddress(compliance),
      SERVICE_GRPC_ADDR_PERIMETER_ALARMS: grpcAddress(alarms),
      SERVICE_GRPC_ADDR_IDENTITY: grpcAddress(identity),
    });
    started.push(front);
    const deviceIngest: EventPublisher = createEventPublisher({ bus, producer: 'device-ingest' });
    return {
      baseUrl: `http://127.0.0.1:${front.service.ports.http}`,
      adminUser: 'admin',
      adminPassword,
      async perimeterTrigger(compoundId, deviceId) {
        const eventId = randomUUID();
        await deviceIngest.publish(
          topics.devicePerimeterTriggered,
          {
            device: { deviceId, name: '东侧围墙红外对射' },
            sourceObjectId: eventId,
            sensorKind: anfang.device.v1.PerimeterSensorKind.PERIMETER_SENSOR_KIND_INFRARED,
            state: anfang.common.v1.TriggerState.TRIGGER_STATE_ACTIVE,
            images: [],
          },
          { eventId, compoundId },
        );
        return eventId;
      },
      async cardPresented(deviceId, cardNumber) {
        const eventId = randomUUID();
        const objectKey = `device-ingest/captures/${eventId}.jpg`;
        await deviceIngest.publish(
          topics.deviceCredentialPresented,
          {
            device: { deviceId, deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_FACE_GATE },
            sourceObjectId: eventId,
            card: { cardNumber },
            images: [{ objectKey, kind: anfang.common.v1.ImageKind.IMAGE_KIND_SCENE }],
          },
          { eventId },
        );
        return objectKey;
      },
      async close() {
        await stopAll(started);
        await bus.close();
      },
    };
  } catch (error) {
    await stopAll(started);
    await bus.close();
    throw error;
  }
}

async function stopAll(started: readonly Started[]): Promise<void> {
  // The gateway first, then what it calls.
  for (const { service, db } of [...started].reverse()) {
    await service.stop('test done').catch(() => undefined);
    await db.drop().catch(() => undefined);
  }
}
