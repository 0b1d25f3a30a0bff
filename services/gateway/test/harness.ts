/**
 * The gateway started as a module against the real local infrastructure (its own test database,
 * Redis prefix and live consumer group), in front of a real perimeter-alarms (its own database,
 * on the real topics), with a bootstrap admin; a stand-in for device-ingest publishes perimeter
 * triggers. Requests go over HTTP like a browser's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { allTopics, anfang, topics } from '@anfang/contracts';
import { createBus, createEventPublisher, type Bus, type EventPublisher } from '@anfang/platform/bus';
import type { RunningService } from '@anfang/platform/service';
import { createS3ObjectStore, type ObjectStore } from '@anfang/platform/objects';
import {
  createTestBucket,
  createTestDatabase,
  ensureTopics,
  serviceTestEnv,
  uniqueName,
  type TestBucket,
  type TestDatabase,
} from '@anfang/testing';
import { infraEnv } from '@anfang/testing';
import identityService from '@anfang/identity';
import perimeterAlarmsService from '@anfang/perimeter-alarms';
import videoIndexService from '@anfang/video-index';
import gatewayService from '../src/service.ts';

export const ADMIN_PASSWORD = 'first-Boot-Secret-7x9';

export interface Response<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface Harness {
  readonly url: string;
  /** perimeter-alarms' gRPC address (the gateway's upstream). */
  readonly upstreamAddress: string;
  readonly sql: pg.Pool;
  readonly serviceName: string;
  /** Two compounds of one town/street, and one of another. */
  readonly compoundA: string;
  readonly compoundB: string;
  readonly compoundOther: string;
  /** The town/street code of A and B. */
  readonly street: string;
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response<T>>;
  /** Signs in; returns the session token. */
  login(username: string, password: string, totp?: string): Promise<string>;
  /** Creates an account (as admin) and signs it in. */
  user(
    role: string,
    compounds: 'all' | string[],
    areas?: string[],
  ): Promise<{ token: string; username: string; password: string }>;
  adminToken: string;
  perimeterTrigger(compoundId: string, deviceId: string): Promise<void>;
  /** Stores an image as device-ingest does and announces it (needs `video`); its full key. */
  captureImage(compoundId: string, kind: 'face' | 'scene', body: Buffer): Promise<string>;
  /** Restarts nothing; stops everything. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Also start identity (persons, for masking). */
  readonly identity?: boolean;
  /** Also start video-index over its own test bucket (images, for /v1/media). */
  readonly video?: boolean;
}

export async function startHarness(
  label: string,
  extra: Record<string, string> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  const infra = infraEnv();
  await ensureTopics(allTopics());
  const dbs: TestDatabase[] = [
    await createTestDatabase(`${label}-gw`),
    await createTestDatabase(`${label}-alarms`),
  ];
  const street = `370303${String(100 + Math.floor(Math.random() * 899))}`;
  const committee = `${street}001`;
  const compoundA = `${committee}001`;
  const compoundB = `${committee}002`;
  const compoundOther = `370303${String(Number(street.slice(6)) + 1).padStart(3, '0')}001001`;

  const running: RunningService[] = [];
  const alarms = await perimeterAlarmsService.start(
    serviceTestEnv({ service: uniqueName('perimeter-alarms'), databaseUrl: dbs[1]!.url, bucket: 'unused' }),
    { ownsProcess: false },
  );
  running.push(alarms);
  const upstreams: Record<string, string> = {
    SERVICE_GRPC_ADDR_PERIMETER_ALARMS: `127.0.0.1:${alarms.ports.grpc}`,
  };
  if (options.identity) {
    const db = await createTestDatabase(`${label}-identity`);
    dbs.push(db);
    const identity = await identityService.start(
      serviceTestEnv({
        service: uniqueName('identity'),
        databaseUrl: db.url,
        bucket: 'unused',
        extra: { BLIND_INDEX_KEY: randomBytes(32).toString('base64') },
      }),
      { ownsProcess: false },
    );
    running.push(identity);
    upstreams.SERVICE_GRPC_ADDR_IDENTITY = `127.0.0.1:${identity.ports.grpc}`;
  }
  let bucket: TestBucket | undefined;
  let images: ObjectStore | undefined;
  if (options.video) {
    const db = await createTestDatabase(`${label}-video`);
    dbs.push(db);
    bucket = await createTestBucket(`${label}-video`);
    const video = await videoIndexService.start(
      serviceTestEnv({ service: uniqueName('video-index'), databaseUrl: db.url, bucket: bucket.bucket }),
      { ownsProcess: false },
    );
    running.push(video);
    upstreams.SERVICE_GRPC_ADDR_VIDEO_INDEX = `127.0.0.1:${video.ports.grpc}`;
    images = await createS3ObjectStore({
      url: infra.s3.endpoint,
      accessKey: infra.s3.accessKey,
      secretKey: infra.s3.secretKey,
      region: infra.s3.region,
      bucket: bucket.bucket,
      prefix: 'device-ingest/',
    });
  }
  const serviceName = uniqueName('gateway');
  const gateway = await gatewayService.start(
    serviceTestEnv({
      service: serviceName,
      databaseUrl: dbs[0]!.url,
      bucket: 'unused',
      extra: {
        ...upstreams,
        GATEWAY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
        GATEWAY_LIVE_HEARTBEAT_MS: '1000',
        ...extra,
      },
    }),
    { ownsProcess: false },
  );
  running.push(gateway);
  const url = `http://127.0.0.1:${gateway.ports.http}`;
  const sql = dbs[0]!.pool(2);
  const bus: Bus = await createBus({
    kind: 'kafka',
    brokers: infra.kafkaBrokers,
    clientId: uniqueName(label),
  });
  const deviceIngest: EventPublisher = createEventPublisher({ bus, producer: 'device-ingest' });

  const request: Harness['request'] = async (method, path, options = {}) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      // not JSON (HTML, NDJSON): the text
    }
    return { status: response.status, body: body as never, headers: response.headers };
  };
  const login = async (username: string, password: string, totp?: string) => {
    const r = await request<{ token: string }>('POST', '/auth/login', {
      body: { username, password, ...(totp ? { totp } : {}) },
    });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token;
  };
  const adminToken = await login('admin', ADMIN_PASSWORD);
  return {
    url,
    upstreamAddress: `127.0.0.1:${alarms.ports.grpc}`,
    sql,
    serviceName,
    compoundA,
    compoundB,
    compoundOther,
    street,
    request,
    login,
    adminToken,
    async user(role, compounds, areas = []) {
      const username = uniqueName(role).replace(/-/g, '.');
      const password = `pw-${randomUUID()}`;
      const r = await request('POST', '/auth/users', {
        token: adminToken,
        body: { username, displayName: `测试${role}`, password, role, compounds, areas },
      });
      if (r.status !== 201) throw new Error(`create ${role}: ${r.status} ${JSON.stringify(r.body)}`);
      return { token: await login(username, password), username, password };
    },
    async perimeterTrigger(compoundId, deviceId) {
      const eventId = randomUUID();
      await deviceIngest.publish(
        topics.devicePerimeterTriggered,
        {
          device: { deviceId, zoneId: '', name: '围墙红外对射' },
          sourceObjectId: eventId,
          sensorKind: anfang.device.v1.PerimeterSensorKind.PERIMETER_SENSOR_KIND_INFRARED,
          state: anfang.common.v1.TriggerState.TRIGGER_STATE_ACTIVE,
          images: [],
        },
        { eventId, compoundId },
      );
    },
    async captureImage(compoundId, kind, body) {
      if (!images) throw new Error('start the harness with { video: true }');
      const eventId = randomUUID();
      const key = `captures/${compoundId}/${new Date().toISOString().slice(0, 10)}/${eventId}-0.jpg`;
      await images.put(key, body, { contentType: 'image/jpeg' });
      const image = {
        objectKey: images.prefix + key,
        contentType: 'image/jpeg',
        kind:
          kind === 'face'
            ? anfang.common.v1.ImageKind.IMAGE_KIND_FACE
            : anfang.common.v1.ImageKind.IMAGE_KIND_SCENE,
      };
      const device = { deviceId: randomUUID(), name: '东门抓拍' };
      if (kind === 'face')
        await deviceIngest.publish(
          topics.deviceFaceCaptured,
          {
            device,
            sourceObjectId: eventId,
            liveness: anfang.common.v1.SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE,
            images: [image],
          },
          { eventId, compoundId },
        );
      else
        await deviceIngest.publish(
          topics.devicePerimeterTriggered,
          {
            device: { ...device, zoneId: '' },
            sourceObjectId: eventId,
            sensorKind: anfang.device.v1.PerimeterSensorKind.PERIMETER_SENSOR_KIND_INFRARED,
            state: anfang.common.v1.TriggerState.TRIGGER_STATE_ACTIVE,
            images: [image],
          },
          { eventId, compoundId },
        );
      return images.prefix + key;
    },
    async close() {
      for (const service of running.reverse()) await service.stop('test done');
      await bus.close();
      await images?.close();
      for (const db of dbs) await db.drop();
      await bucket?.drop();
    },
  };
}
