/**
 * The registry end to end: the started service module (real Postgres, Kafka, Redis, S3), its
 * gRPC server, the DeviceChanged events on the real topic, and the encrypted column.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { allTopics, anfang, topics, DeviceRegistryService } from '@anfang/contracts';
import { consume, createBus, type Bus, type Subscription } from '@anfang/platform/bus';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  createGrpcClient,
  type GrpcClient,
} from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestBucket,
  createTestDatabase,
  createTestRedisNamespace,
  infraEnv,
  uniqueName,
  waitFor,
  type TestBucket,
  type TestDatabase,
  serviceTestEnv,
} from '@anfang/testing';
import deviceIngestService from '../src/service.ts';
import { registryClient } from './registry-client.ts';

const { DeviceType, Module, Direction } = anfang.common.v1;
const { DeviceProtocol, DeviceLifecycle, DeviceChangeKind, DeviceStatus } = anfang.device.v1;

type Client = GrpcClient<typeof DeviceRegistryService.definition>;
type Changed = anfang.device.v1.DeviceChanged;

let db: TestDatabase;
let bucket: TestBucket;
let service: RunningService;
let client: Client;
let bus: Bus;
let subscription: Subscription;
let raw: pg.Client;
const events: Changed[] = [];
const compoundId = `3703030010${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;

beforeAll(async () => {
  const infra = infraEnv();
  db = await createTestDatabase('device_registry');
  bucket = await createTestBucket('device-registry');
  const redis = createTestRedisNamespace('device-registry');
  bus = await createBus({ kind: 'kafka', brokers: infra.kafkaBrokers, clientId: 'registry-test' });
  await bus.ensureTopics(allTopics());
  subscription = await consume(bus, {
    group: uniqueName('registry-test'),
    topics: [topics.deviceRegistry],
    handler: async (event) => {
      if (event.payload.device?.compoundId === compoundId) events.push(event.payload as Changed);
    },
  });
  service = await deviceIngestService.start(
    serviceTestEnv({
      service: 'device-ingest',
      databaseUrl: db.url,
      bucket: bucket.bucket,
      redisUrl: redis.url,
      extra: { DEVICE_HTTP_PORT: '0' },
    }),
    { ownsProcess: false },
  );
  client = registryClient(service.ports.grpc!, {
    deadlineMs: 20_000,
  });
  raw = new pg.Client({ connectionString: db.url });
  await raw.connect();
});

afterAll(async () => {
  client?.close();
  await raw?.end();
  await service?.stop('test done');
  await subscription?.close();
  await bus?.close();
  await bucket?.drop();
  await db?.drop();
});

const gate = (
  overrides: Partial<anfang.device.v1.Device.$Properties> = {},
): anfang.device.v1.Device.$Properties => ({
  name: '南门人脸闸机-入',
  deviceType: DeviceType.DEVICE_TYPE_FACE_GATE,
  module: Module.MODULE_PEDESTRIAN_ACCESS,
  compoundId,
  address: { compound: { code: compoundId, name: '天晓小区' }, fullName: '张店区车站街道天晓小区南门' },
  zoneId: 'south-gate',
  direction: Direction.DIRECTION_IN,
  vendor: 'Hikvision',
  model: 'DS-K3G411',
  serialNumber: uniqueName('SN'),
  protocol: DeviceProtocol.DEVICE_PROTOCOL_GENERIC_HTTP,
  ...overrides,
});

const gatId = (n: number): string => `${compoundId.slice(0, 8)}0011900${String(n).padStart(5, '0')}`;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('device registry over gRPC', () => {
  it('registers, gets, lists, updates and decommissions a device, publishing every change', async () => {
    const registered = await client.registerDevice({
      device: gate({ gat1400Id: gatId(1), ipAddress: '10.20.0.1' }),
    });
    const device = registered.device!;
    expect(device.deviceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(device.lifecycle).toBe(DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE);
    expect(device.revision).toBe(1);
    expect(device.address?.code).toBe(compoundId);
    expect(registered.secret).toHaveLength(43);

    // The secret is encrypted at rest, bound to the device, never in the clear.
    const { rows } = await raw.query<{ secret_ciphertext: string }>(
      'SELECT secret_ciphertext FROM devices WHERE device_id = $1',
      [device.deviceId],
    );
    expect(rows[0]!.secret_ciphertext).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+$/);
    expect(rows[0]!.secret_ciphertext).not.toContain(registered.secret);
    const dump = await raw.query('SELECT * FROM devices');
    expect(JSON.stringify(dump.rows)).not.toContain(registered.secret);

    const got = await client.getDevice({ deviceId: device.deviceId });
    expect(got.device?.name).toBe('南门人脸闸机-入');
    expect(got.device?.ipAddress).toBe('10.20.0.1');
    expect(JSON.stringify(got)).not.toContain(registered.secret);

    const camera = await client.registerDevice({
      device: gate({
        name: '高空抛物摄像机 3号楼',
        deviceType: DeviceType.DEVICE_TYPE_VIDEO_CAMERA,
        module: Module.MODULE_VIDEO_THROWING,
        direction: Direction.DIRECTION_UNSPECIFIED,
        protocol: DeviceProtocol.DEVICE_PROTOCOL_GAT1400,
        gat1400Id: gatId(2),
      }),
      secret: 'given-secret-0123456789',
    });
    expect(camera.secret).toBe('given-secret-0123456789');

    const byCompound = await client.listDevices({ compoundId });
    expect(byCompound.devices?.map((d) => d.deviceId)).toEqual([device.deviceId, camera.device!.deviceId]);
    expect(byCompound.page?.totalSize).toBe(2);
    const byModule = await client.listDevices({ compoundId, module: Module.MODULE_VIDEO_THROWING });
    expect(byModule.devices?.map((d) => d.deviceId)).toEqual([camera.device!.deviceId]);
    const byText = await client.listDevices({ compoundId, text: 'HIKVISION DS-K3G' });
    expect(byText.devices).toHaveLength(2);
    const byText2 = await client.listDevices({ compoundId, text: '抛物' });
    expect(byText2.devices?.map((d) => d.deviceId)).toEqual([camera.device!.deviceId]);
    const byProtocol = await client.listDevices({
      compoundId,
      protocol: DeviceProtocol.DEVICE_PROTOCOL_GENERIC_HTTP,
    });
    expect(byProtocol.devices?.map((d) => d.deviceId)).toEqual([device.deviceId]);
    const page1 = await client.listDevices({ compoundId, page: { pageSize: 1 } });
    expect(page1.devices).toHaveLength(1);
    const page2 = await client.listDevices({
      compoundId,
      page: { pageSize: 1, pageToken: page1.page!.nextPageToken },
    });
    expect(page2.devices?.map((d) => d.deviceId)).toEqual([camera.device!.deviceId]);
    expect(page2.page?.nextPageToken).toBe('');

    const updated = await client.updateDevice({
      device: { deviceId: device.deviceId, name: '南门人脸闸机-出', direction: Direction.DIRECTION_OUT },
      updateMask: { paths: ['name', 'direction'] },
    });
    expect(updated.device).toMatchObject({
      name: '南门人脸闸机-出',
      direction: Direction.DIRECTION_OUT,
      revision: 2,
    });
    expect(updated.device?.vendor).toBe('Hikvision');
    const stale = await rejection(
      client.updateDevice({
        device: { deviceId: device.deviceId, name: 'x' },
        updateMask: { paths: ['name'] },
        expectedRevision: 1,
      }),
    );
    expect(stale.message).toMatch(/revision 2, not 1/);

    const status = await client.getDeviceStatus({ deviceId: device.deviceId });
    expect(status.status).toBe(DeviceStatus.DEVICE_STATUS_OFFLINE);
    expect(status.clockOffsetKnown).toBe(false);

    const decommissioned = await client.decommissionDevice({ deviceId: device.deviceId, reason: 'replaced' });
    expect(decommissioned.device?.lifecycle).toBe(DeviceLifecycle.DEVICE_LIFECYCLE_DECOMMISSIONED);
    expect(decommissioned.device?.decommissionedAt).toBeTruthy();
    const again = await client.decommissionDevice({ deviceId: device.deviceId });
    expect(again.device?.revision).toBe(decommissioned.device?.revision);
    const afterwards = await rejection(
      client.updateDevice({
        device: { deviceId: device.deviceId, name: 'y' },
        updateMask: { paths: ['name'] },
      }),
    );
    expect(afterwards).toBeInstanceOf(FailedPreconditionError);
    const active = await client.listDevices({
      compoundId,
      lifecycle: DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE,
    });
    expect(active.devices?.map((d) => d.deviceId)).toEqual([camera.device!.deviceId]);

    // Every change is on the registry topic, in order, keyed by device, without the secret.
    const mine = await waitFor(
      () => {
        const list = events.filter((e) => e.device?.deviceId === device.deviceId);
        return list.length >= 3 ? list : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(mine.map((e) => e.change)).toEqual([
      DeviceChangeKind.DEVICE_CHANGE_KIND_CREATED,
      DeviceChangeKind.DEVICE_CHANGE_KIND_UPDATED,
      DeviceChangeKind.DEVICE_CHANGE_KIND_DECOMMISSIONED,
    ]);
    expect(mine[1]!.changedFields).toEqual(['name', 'direction']);
    expect(mine[1]!.meta?.producer).toBe('device-ingest');
    expect(mine[1]!.meta?.compoundId).toBe(compoundId);
    expect(mine.map((e) => Number(e.device?.revision))).toEqual([1, 2, 3]);
    expect(JSON.stringify(mine)).not.toContain(registered.secret);
  });

  it('refuses invalid and conflicting devices with field violations and reasons', async () => {
    const invalid = await rejection(
      client.registerDevice({ device: { name: '', compoundId: 'abc', gat1400Id: '123' }, secret: 'short' }),
    );
    expect(invalid).toBeInstanceOf(InvalidArgumentError);
    const fields = (invalid as InvalidArgumentError).violations.map((v) => v.field);
    expect(fields).toEqual(expect.arrayContaining(['secret']));
    const invalid2 = await rejection(
      client.registerDevice({ device: { name: '', compoundId: 'abc', gat1400Id: '123' } }),
    );
    expect((invalid2 as InvalidArgumentError).violations.map((v) => v.field)).toEqual(
      expect.arrayContaining([
        'device.name',
        'device.device_type',
        'device.module',
        'device.compound_id',
        'device.gat1400_id',
        'device.protocol',
      ]),
    );

    await client.registerDevice({ device: gate({ gat1400Id: gatId(10) }) });
    const taken = await rejection(client.registerDevice({ device: gate({ gat1400Id: gatId(10) }) }));
    expect(taken).toBeInstanceOf(AlreadyExistsError);
    expect(taken.message).toMatch(/gat1400_id .* is already used by device/);

    const first = await client.registerDevice({
      device: gate({ ipAddress: '10.20.0.50', serialNumber: 'SAME' }),
    });
    const sameAddress = await rejection(
      client.registerDevice({ device: gate({ ipAddress: '10.20.0.50', serialNumber: 'SAME' }) }),
    );
    expect(sameAddress.message).toMatch(/ip_address 10\.20\.0\.50/);
    const again = await rejection(
      client.registerDevice({ device: gate({ deviceId: first.device!.deviceId }) }),
    );
    expect(again).toBeInstanceOf(AlreadyExistsError);

    expect(
      await rejection(client.getDevice({ deviceId: '0190f5a4-7c1b-7cc0-8a4e-000000000000' })),
    ).toBeInstanceOf(NotFoundError);
    expect(await rejection(client.getDevice({ deviceId: 'nope' }))).toBeInstanceOf(InvalidArgumentError);
    const badMask = await rejection(
      client.updateDevice({
        device: { deviceId: first.device!.deviceId },
        updateMask: { paths: ['revision'] },
      }),
    );
    expect((badMask as InvalidArgumentError).violations).toEqual([
      { field: 'update_mask', description: 'revision cannot be changed' },
    ]);
  });

  it('rotates a secret: the new one returned once, the old ciphertext replaced', async () => {
    const { device } = await client.registerDevice({ device: gate() });
    const before = await raw.query<{ secret_ciphertext: string }>(
      'SELECT secret_ciphertext FROM devices WHERE device_id = $1',
      [device!.deviceId],
    );
    const rotated = await client.rotateDeviceSecret({ deviceId: device!.deviceId });
    expect(rotated.secret).toHaveLength(43);
    const after = await raw.query<{ secret_ciphertext: string }>(
      'SELECT secret_ciphertext FROM devices WHERE device_id = $1',
      [device!.deviceId],
    );
    expect(after.rows[0]!.secret_ciphertext).not.toBe(before.rows[0]!.secret_ciphertext);
    expect(rotated.device?.revision).toBe(2);
  });

  it('imports CSV with mixed rows: valid ones imported, a per-row report, progress, idempotent re-import', async () => {
    const header =
      'device_id,gat1400_id,name,device_type,module,compound_id,compound_name,direction,vendor,serial_number,protocol,ip_address,secret';
    const good = Array.from({ length: 150 }, (_, i) =>
      [
        '',
        gatId(100 + i),
        `抓拍机 ${i}`,
        'face_capture_camera',
        'face_recognition_inside',
        compoundId,
        '天晓小区',
        '',
        'Uniview',
        `UNV-${i}`,
        'gat1400',
        '',
        '',
      ].join(','),
    );
    const bad = [
      ',,,face_gate,pedestrian_access,' + compoundId + ',,in,,,generic_http,,',
      ',123,坏的,toaster,pedestrian_access,' + compoundId + ',,in,,,generic_http,,',
      `,${gatId(100)},重复,face_capture_camera,face_recognition_inside,${compoundId},,,,,gat1400,,,extra`,
    ];
    const csv = Buffer.from([header, ...good.slice(0, 75), ...bad, ...good.slice(75)].join('\n') + '\n');
    const stream = client.importDevices({
      csv,
    }) as unknown as AsyncIterable<anfang.device.v1.ImportDevicesResponse>;
    const messages: anfang.device.v1.ImportDevicesResponse[] = [];
    for await (const message of stream) messages.push(message);
    const final = messages[messages.length - 1]!;
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages.every((m) => m.total === 153)).toBe(true);
    expect(messages.slice(0, -1).every((m) => !m.done && m.errors.length === 0)).toBe(true);
    const processed = messages.map((m) => m.processed);
    expect([...processed].sort((a, b) => a - b)).toEqual(processed);
    expect(final).toMatchObject({
      done: true,
      processed: 153,
      created: 150,
      updated: 0,
      unchanged: 0,
      failed: 3,
    });
    expect(final.errors.map((e) => e.line)).toEqual([77, 78, 79]);
    expect(final.errors[0]!.violations!.map((v) => v.field)).toEqual(['name']);
    expect(final.errors[1]!.violations!.map((v) => v.field)).toEqual(
      expect.arrayContaining(['device_type', 'gat1400_id']),
    );
    expect(final.errors[2]!.violations!.map((v) => v.field)).toEqual(['row']);
    expect(final.imported).toHaveLength(150);
    expect(
      final.imported.every(
        (d) => d.secret?.length === 43 && d.change === DeviceChangeKind.DEVICE_CHANGE_KIND_CREATED,
      ),
    ).toBe(true);
    const listed = await client.listDevices({
      compoundId,
      module: Module.MODULE_FACE_RECOGNITION_INSIDE,
      page: { pageSize: 1000 },
    });
    expect(listed.devices).toHaveLength(150);

    // Re-import: matched by GA/T id, nothing changes, no secrets handed out again.
    const again: anfang.device.v1.ImportDevicesResponse[] = [];
    for await (const m of client.importDevices({
      csv,
    }) as unknown as AsyncIterable<anfang.device.v1.ImportDevicesResponse>)
      again.push(m);
    expect(again[again.length - 1]).toMatchObject({ created: 0, updated: 0, unchanged: 150, failed: 3 });
    expect(again[again.length - 1]!.imported.every((d) => d.secret === '' && !d.changed)).toBe(true);

    // A changed row (by device id) updates just that device.
    const target = final.imported[0]!;
    const edit = Buffer.from(
      `${header}\n${target.deviceId},${gatId(100)},抓拍机 0 (moved),face_capture_camera,face_recognition_inside,${compoundId},天晓小区,,Uniview,UNV-0,gat1400,,\n`,
    );
    const edited: anfang.device.v1.ImportDevicesResponse[] = [];
    for await (const m of client.importDevices({
      csv: edit,
    }) as unknown as AsyncIterable<anfang.device.v1.ImportDevicesResponse>)
      edited.push(m);
    expect(edited[edited.length - 1]).toMatchObject({ created: 0, updated: 1, failed: 0 });
    expect((await client.getDevice({ deviceId: target.deviceId })).device?.name).toBe('抓拍机 0 (moved)');

    const broken = await rejection(
      (async () => {
        for await (const _ of client.importDevices({
          csv: Buffer.from('name,colour\n'),
        }) as unknown as AsyncIterable<unknown>);
      })(),
    );
    expect(broken).toBeInstanceOf(InvalidArgumentError);
    expect(broken.message).toMatch(/unknown column\(s\) colour/);

    await waitFor(
      () => events.filter((e) => e.device?.module === Module.MODULE_FACE_RECOGNITION_INSIDE).length >= 151,
      {
        timeoutMs: 30_000,
      },
    );
  });

  it('checks the caller on every call: token, role, and compound scope', async () => {
    const port = service.ports.grpc!;
    const otherCompound = `${compoundId.slice(0, -1)}${(Number(compoundId.slice(-1)) + 1) % 10}`;
    const staff = registryClient(
      port,
      {},
      { subject: 'u-staff', role: 'property_staff', compounds: [compoundId] },
    );
    const guard = registryClient(port, {}, { subject: 'u-guard', role: 'guard', compounds: [compoundId] });
    const resident = registryClient(
      port,
      {},
      { subject: 'u-res', role: 'resident', compounds: [compoundId] },
    );
    const anonymous = createGrpcClient(DeviceRegistryService.definition, `127.0.0.1:${port}`);
    try {
      expect(await rejection(anonymous.listDevices({}))).toBeInstanceOf(UnauthenticatedError);
      expect(await rejection(resident.listDevices({ compoundId }))).toBeInstanceOf(PermissionDeniedError);

      const own = (await staff.registerDevice({ device: gate() })).device!;
      const elsewhere = gate({
        compoundId: otherCompound,
        address: { compound: { code: otherCompound, name: '别的小区' }, fullName: '张店区别的小区' },
      });
      const foreign = (await client.registerDevice({ device: elsewhere })).device!;
      expect(
        await rejection(staff.registerDevice({ device: gate({ compoundId: otherCompound }) })),
      ).toBeInstanceOf(PermissionDeniedError);
      expect(await rejection(staff.getDevice({ deviceId: foreign.deviceId! }))).toBeInstanceOf(
        PermissionDeniedError,
      );
      expect(
        await rejection(staff.decommissionDevice({ deviceId: foreign.deviceId!, reason: 'not mine' })),
      ).toBeInstanceOf(PermissionDeniedError);
      expect(
        await rejection(
          staff.updateDevice({
            device: { deviceId: own.deviceId!, compoundId: otherCompound },
            updateMask: { paths: ['compound_id'] },
          }),
        ),
      ).toBeInstanceOf(PermissionDeniedError);

      // Without a compound filter a scoped caller sees only its own compounds.
      const listed = await staff.listDevices({ page: { pageSize: 1000 } });
      expect(listed.devices.every((d) => d.compoundId === compoundId)).toBe(true);
      expect(listed.devices.map((d) => d.deviceId)).toContain(own.deviceId);
      expect(await rejection(staff.listDevices({ compoundId: otherCompound }))).toBeInstanceOf(
        PermissionDeniedError,
      );

      // A guard reads but does not manage.
      expect((await guard.getDeviceStatus({ deviceId: own.deviceId! })).deviceId).toBe(own.deviceId);
      expect(await rejection(guard.rotateDeviceSecret({ deviceId: own.deviceId! }))).toBeInstanceOf(
        PermissionDeniedError,
      );
    } finally {
      for (const c of [staff, guard, resident, anonymous]) c.close();
    }
  });

  it('a town/street officer sees its area only; an auditor reads and never writes', async () => {
    const port = service.ports.grpc!;
    const area = compoundId.slice(0, 10);
    const otherArea = `${compoundId.slice(0, 9)}${(Number(compoundId[9]) + 1) % 10}${compoundId.slice(10)}`;
    const officer = registryClient(
      port,
      {},
      { subject: 'u-street', role: 'street_officer', compounds: [], areas: [area] },
    );
    const auditor = registryClient(port, {}, { subject: 'u-audit', role: 'auditor', compounds: 'all' });
    try {
      const foreign = (
        await client.registerDevice({
          device: gate({
            compoundId: otherArea,
            address: { compound: { code: otherArea, name: '别的街道' }, fullName: '张店区别的街道' },
          }),
        })
      ).device!;
      const listed = await officer.listDevices({ page: { pageSize: 1000 } });
      expect(listed.devices.length).toBeGreaterThan(0);
      expect(listed.devices.every((d) => d.compoundId!.startsWith(area))).toBe(true);
      expect(await rejection(officer.getDevice({ deviceId: foreign.deviceId! }))).toBeInstanceOf(
        PermissionDeniedError,
      );
      expect(await rejection(officer.registerDevice({ device: gate() }))).toBeInstanceOf(
        PermissionDeniedError,
      );

      expect((await auditor.getDevice({ deviceId: foreign.deviceId! })).device?.compoundId).toBe(otherArea);
      expect(await rejection(auditor.registerDevice({ device: gate() }))).toBeInstanceOf(
        PermissionDeniedError,
      );
      expect(await rejection(auditor.rotateDeviceSecret({ deviceId: foreign.deviceId! }))).toBeInstanceOf(
        PermissionDeniedError,
      );
    } finally {
      for (const c of [officer, auditor]) c.close();
    }
  });
});
