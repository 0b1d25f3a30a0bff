/**
 * Commands pushed to a Hikvision device over ISAPI, end to end: device-ingest (its ServiceModule,
 * in-process, on the real Kafka, Postgres, Redis and S3) consumes DeviceCommands from the real
 * topic and calls the simulator's ISAPI device over real HTTP with Digest; the device's state
 * shows the door opened and the access list written (with an enrolment face read from identity's
 * part of the real bucket and uploaded to the terminal), and the status events (queued, delivered,
 * succeeded / failed with the device's reason) are read back from the real status topic.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, allTopics, DeviceRegistryService } from '@anfang/contracts';
import { callerInterceptor } from '@anfang/platform/auth';
import { createGrpcClient } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestBucket,
  createTestDatabase,
  createTestRedisNamespace,
  ensureTopics,
  freePort,
  s3Client,
  serviceTestEnv,
  type TestBucket,
  TEST_CALLER_TOKEN_KEY,
  waitFor,
} from '@anfang/testing';
import deviceIngestService from '@anfang/device-ingest';
import { picture } from '../src/jpeg.ts';
import { watchCommandStatuses, type CommandWatch } from './command-watch.ts';
import { startIsapiDevice, type IsapiDevice } from '../src/protocols/isapi-device.ts';

const S = anfang.device.v1.CommandStatus;
const SECRET = `isapi-${randomBytes(12).toString('hex')}`;
// A loopback address of its own: the registry identifies ISAPI devices by address.
const DEVICE_IP = `127.0.${2 + (randomBytes(1)[0]! % 200)}.${2 + (randomBytes(1)[0]! % 200)}`;
const PERSON = randomUUID();

let service: RunningService;
let bucket: TestBucket;
let device: IsapiDevice;
let refusing: IsapiDevice;
let watch: CommandWatch;
let deviceId: string;
let refusingId: string;
let silentId: string;
const statuses = new Map<string, { status: number; detail: string }[]>();

async function register(ip: string, name: string): Promise<string> {
  const client = createGrpcClient(DeviceRegistryService.definition, `127.0.0.1:${service.ports.grpc}`, {
    interceptors: [
      callerInterceptor(
        { subject: 'installer', role: 'district_admin', compounds: 'all' },
        TEST_CALLER_TOKEN_KEY,
      ),
    ],
  });
  try {
    const res = await client.registerDevice({
      device: {
        name,
        deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_FACE_GATE,
        module: anfang.common.v1.Module.MODULE_PEDESTRIAN_ACCESS,
        compoundId: '370303001001',
        vendor: 'hikvision',
        model: 'DS-K1T671M',
        serialNumber: `DS-K1T671M${randomBytes(4).toString('hex')}`,
        protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI,
        ipAddress: ip,
      },
      secret: SECRET,
    });
    return res.device?.deviceId ?? '';
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  await ensureTopics(allTopics());
  const port = await freePort();
  device = await startIsapiDevice({ host: DEVICE_IP, port, secret: SECRET });
  const refusingIp = `${DEVICE_IP.split('.').slice(0, 3).join('.')}.${(Number(DEVICE_IP.split('.')[3]) % 250) + 1}`;
  refusing = await startIsapiDevice({
    host: refusingIp,
    port,
    secret: SECRET,
    refuseWith: { http: 400, statusCode: 6, subStatusCode: 'badParameters' },
  });
  const db = await createTestDatabase('isapi-commands');
  bucket = await createTestBucket('isapi-commands');
  const redis = createTestRedisNamespace('isapi-commands');
  service = await deviceIngestService.start(
    serviceTestEnv({
      service: 'device-ingest',
      databaseUrl: db.url,
      bucket: bucket.bucket,
      redisUrl: redis.url,
      extra: {
        DEVICE_HTTP_PORT: String(await freePort()),
        ISAPI_COMMAND_PORT: String(port),
        ISAPI_COMMAND_RETRY_MS: '500',
        // A consumer group of its own, starting at the topic's end: the shared command topic
        // holds other runs' commands, and the shared group would hand them to this instance.
        INSTALL_NAMESPACE: `isapi-${randomBytes(4).toString('hex')}`,
      },
    }),
    { ownsProcess: false },
  );
  deviceId = await register(DEVICE_IP, '1号楼单元门');
  refusingId = await register(refusingIp, '2号楼单元门');
  // Registered, but nothing answers at its address: a device that is switched off.
  silentId = await register(
    `${DEVICE_IP.split('.').slice(0, 3).join('.')}.${((Number(DEVICE_IP.split('.')[3]) + 1) % 250) + 1}`,
    '3号楼单元门',
  );
  watch = await watchCommandStatuses('isapi-commands-test', (e) => {
    // Other device-ingest installs on the shared Kafka consume these commands too and reject
    // them (the devices are not theirs): only this install queues them, so rejections are
    // ignored and an accepted command is recognised by its `queued`.
    if (![deviceId, refusingId, silentId].includes(e.deviceId) || e.status === S.COMMAND_STATUS_REJECTED)
      return;
    statuses.set(e.commandId, [...(statuses.get(e.commandId) ?? []), { status: e.status, detail: e.detail }]);
  });
}, 120_000);

afterAll(async () => {
  await watch?.close();
  await service?.stop('test done');
  await device?.close();
  await refusing?.close();
  await bucket?.drop();
}, 60_000);

async function command(target: () => string, body: Record<string, unknown>): Promise<string> {
  const commandId = randomUUID();
  await watch.send('identity', {
    commandId,
    deviceId: target(),
    requestedBy: 'guard-1',
    ...body,
  });
  return commandId;
}

const finalStatus = (commandId: string) =>
  waitFor(
    () =>
      statuses
        .get(commandId)
        ?.find((s) => s.status === S.COMMAND_STATUS_SUCCEEDED || s.status === S.COMMAND_STATUS_FAILED),
    { timeoutMs: 45_000, message: `no final status for ${commandId}` },
  );

describe('ISAPI command push (real HTTP, Digest)', () => {
  it('opens the door on the device and reports queued → delivered → succeeded', async () => {
    // The directory learns the device asynchronously: a command before that is rejected, so retry.
    const id = await waitFor(
      async () => {
        const commandId = await command(() => deviceId, {
          openDoor: { doorNo: 1, holdSeconds: 5 },
          reason: 'visitor',
        });
        // Until the directory has learnt the device, this install rejects its commands: send again.
        const queued = await waitFor(() => statuses.get(commandId)?.[0], { timeoutMs: 5_000 }).catch(
          () => undefined,
        );
        return queued ? commandId : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500 },
    );
    expect(await finalStatus(id)).toEqual({ status: S.COMMAND_STATUS_SUCCEEDED, detail: '' });
    expect(statuses.get(id)!.map((s) => s.status)).toEqual([
      S.COMMAND_STATUS_QUEUED,
      S.COMMAND_STATUS_DELIVERED,
      S.COMMAND_STATUS_SUCCEEDED,
    ]);
    expect(device.state.doorsOpened).toEqual([1]);
    // Every call was challenged, then authenticated: none was refused for its credentials.
    expect(device.state.unauthorized).toBe(0);
  }, 90_000);

  it('writes the access list: person and card, then removes the person', async () => {
    const validity = { startTime: { seconds: 1764288000 }, endTime: { seconds: 1795824000 } };
    const add = await command(() => deviceId, {
      accessListUpdate: {
        listVersion: 1,
        entries: [
          {
            entryId: 'e1',
            operation: anfang.device.v1.AccessListOperation.ACCESS_LIST_OPERATION_UPSERT,
            personId: PERSON,
            credentialType: anfang.common.v1.CredentialType.CREDENTIAL_TYPE_CARD,
            credentialValue: '3712345678',
            validity,
          },
        ],
      },
    });
    expect((await finalStatus(add)).status).toBe(S.COMMAND_STATUS_SUCCEEDED);
    const employeeNo = PERSON.replace(/-/g, '');
    expect(device.state.users.get(employeeNo)).toMatchObject({
      employeeNo,
      Valid: { enable: true, beginTime: '2025-11-28T08:00:00', endTime: '2026-11-28T08:00:00' },
    });
    expect(device.state.cards.get('3712345678')).toBe(employeeNo);

    const remove = await command(() => deviceId, {
      accessListUpdate: {
        listVersion: 2,
        entries: [
          {
            entryId: 'e1',
            operation: anfang.device.v1.AccessListOperation.ACCESS_LIST_OPERATION_REMOVE,
            personId: PERSON,
          },
        ],
      },
    });
    expect((await finalStatus(remove)).status).toBe(S.COMMAND_STATUS_SUCCEEDED);
    expect(device.state.users.has(employeeNo)).toBe(false);
    expect(device.state.cards.size).toBe(0);
  }, 90_000);

  it("enrols a face read from identity's part of the bucket; refuses one it may not read", async () => {
    // Stored by its owner (identity) under its own prefix, named by full bucket key in the command.
    const face = picture('face', 21);
    const objectKey = `identity/enrol/${randomUUID()}.jpg`;
    await s3Client().putObject(bucket.bucket, objectKey, face, face.length, { 'Content-Type': 'image/jpeg' });
    const sha256 = createHash('sha256').update(face).digest('hex');
    const person = randomUUID();
    const entry = (faceImage: Record<string, unknown>) => ({
      accessListUpdate: {
        listVersion: 3,
        entries: [
          {
            entryId: 'f1',
            operation: anfang.device.v1.AccessListOperation.ACCESS_LIST_OPERATION_UPSERT,
            personId: person,
            credentialType: anfang.common.v1.CredentialType.CREDENTIAL_TYPE_FACE,
            faceImage: {
              contentType: 'image/jpeg',
              kind: anfang.common.v1.ImageKind.IMAGE_KIND_FACE,
              ...faceImage,
            },
          },
        ],
      },
    });
    const enrol = await command(() => deviceId, entry({ objectKey, sha256 }));
    expect(await finalStatus(enrol)).toEqual({ status: S.COMMAND_STATUS_SUCCEEDED, detail: '' });
    const employeeNo = person.replace(/-/g, '');
    expect(device.state.faces.get(employeeNo)).toEqual({ bytes: face.length, sha256 });

    // Outside the granted sources (another service's captures): never read, the command fails.
    const foreign = `video-index/snapshots/${randomUUID()}.jpg`;
    await s3Client().putObject(bucket.bucket, foreign, face, face.length, { 'Content-Type': 'image/jpeg' });
    const refused = await command(() => deviceId, entry({ objectKey: foreign }));
    const final = await finalStatus(refused);
    expect(final.status).toBe(S.COMMAND_STATUS_FAILED);
    expect(final.detail).toBe(
      `PUT /ISAPI/Intelligent/FDLib/FDSetUp: face ${foreign} is outside the granted sources (ENROLMENT_FACE_SOURCES: identity/)`,
    );
    // A picture that is not the one the command names (sha256) is not enrolled either.
    const tampered = await command(() => deviceId, entry({ objectKey, sha256: 'f'.repeat(64) }));
    expect((await finalStatus(tampered)).detail).toMatch(/does not match its sha256$/);
    expect(device.state.faces.get(employeeNo)).toEqual({ bytes: face.length, sha256 });
  }, 90_000);

  it("fails a command the device refuses, with the device's reason", async () => {
    const id = await waitFor(
      async () => {
        const commandId = await command(() => refusingId, { timeSync: {} });
        // Until the directory has learnt the device, this install rejects its commands: send again.
        const queued = await waitFor(() => statuses.get(commandId)?.[0], { timeoutMs: 5_000 }).catch(
          () => undefined,
        );
        return queued ? commandId : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500 },
    );
    expect(await finalStatus(id)).toEqual({
      status: S.COMMAND_STATUS_FAILED,
      detail: 'PUT /ISAPI/System/time: HTTP 400 statusCode 6 badParameters',
    });
    expect(refusing.state.calls).toEqual(['PUT /ISAPI/System/time']);
  }, 90_000);

  it('fails a door opening at once when the device is unreachable, and keeps a time sync open', async () => {
    const open = await waitFor(
      async () => {
        const commandId = await command(() => silentId, { openDoor: { doorNo: 1 } });
        // Until the directory has learnt the device, this install rejects its commands: send again.
        const queued = await waitFor(() => statuses.get(commandId)?.[0], { timeoutMs: 5_000 }).catch(
          () => undefined,
        );
        return queued ? commandId : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500 },
    );
    const final = await finalStatus(open);
    expect(final.status).toBe(S.COMMAND_STATUS_FAILED);
    expect(final.detail).toMatch(/^PUT \/ISAPI\/AccessControl\/RemoteControl\/door\/1: unreachable: /);

    const sync = await command(() => silentId, { timeSync: {} });
    await waitFor(() => statuses.get(sync)?.some((s) => s.status === S.COMMAND_STATUS_DELIVERED), {
      timeoutMs: 20_000,
    });
    // Several retry rounds (every 500 ms here) later it is still open: delivered, not final.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(statuses.get(sync)!.map((s) => s.status)).toEqual([
      S.COMMAND_STATUS_QUEUED,
      S.COMMAND_STATUS_DELIVERED,
    ]);
  }, 90_000);
});
