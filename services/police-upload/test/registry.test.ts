/**
 * The community registry extensions end to end, with the real identity and vehicle-access
 * services: a resident registered in identity reaches an entitled platform as a PersonInfo (the
 * ID number only where configured) with their house as a HouseInfo, a vehicle registered in
 * vehicle-access as a CarInfo; a platform not entitled to a kind receives none of it; an update
 * is the same id again, a removal the same id with RecordStatus 2. Nothing personal is stored in
 * clear in police-upload's outbox. A platform given the extensions after a resident, their house
 * and a vehicle exist is back-filled with them, once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, IdentityService, VehicleAccessService } from '@anfang/contracts';
import { startGat1400Peer, type Gat1400Peer } from '@anfang/gat1400-peer';
import identityService from '@anfang/identity';
import vehicleAccessService from '@anfang/vehicle-access';
import { mintCallerMetadata, type Caller } from '@anfang/platform/auth';
import { createGrpcClient, type GrpcClient } from '@anfang/platform/grpc';
import type { RunningService } from '@anfang/platform/service';
import {
  createTestDatabase,
  createTestRedisNamespace,
  serviceTestEnv,
  TEST_CALLER_TOKEN_KEY,
  uniqueName,
  type TestDatabase,
} from '@anfang/testing';
import { LOWER_ID, startHarness, type Harness } from './harness.ts';

const { AddressLevel } = anfang.common.v1;
const { PersonKind } = anfang.identity.v1;
/** The second platform: persons only, no ID numbers. */
const OTHER_PLATFORM = '37030300005030009002';
/** The third platform: given the registry extensions only after the records exist. */
const LATE_PLATFORM = '37030300005030009003';
/** A valid GB 11643 number. */
const ID_NUMBER = '370303199001011239';
const DATA_KEYS = `k1:${randomBytes(32).toString('base64')}`;

let h: Harness;
let other: Gat1400Peer;
const stops: (() => Promise<unknown>)[] = [];
let identity: GrpcClient<typeof IdentityService.definition>;
let vehicles: GrpcClient<typeof VehicleAccessService.definition>;

const as = async (role: Caller['role'], compounds: Caller['compounds'] = [h.compoundId]) => ({
  metadata: await mintCallerMetadata({ subject: `user-${role}`, role, compounds }, TEST_CALLER_TOKEN_KEY, {
    ttlSeconds: 600,
  }),
});

async function startService(
  module: { start: (env: NodeJS.ProcessEnv, o: { ownsProcess: boolean }) => Promise<RunningService> },
  name: string,
  extra: Record<string, string> = {},
): Promise<RunningService> {
  const db: TestDatabase = await createTestDatabase(`pu-${name}`);
  const redis = createTestRedisNamespace(`pu-${name}`);
  const service = await module.start(
    serviceTestEnv({
      service: uniqueName(name),
      databaseUrl: db.url,
      bucket: 'unused',
      redisUrl: redis.url,
      extra: { DATA_KEYS, ...extra },
    }),
    { ownsProcess: false },
  );
  stops.push(
    () => service.stop('test done'),
    () => redis.drop(),
    () => db.drop(),
  );
  return service;
}

const room = () => `${h.compoundId}003020501`;

beforeAll(async () => {
  h = await startHarness('police-upload-registry', {
    extra: { DATA_KEYS },
    platform: {
      objectKinds: ['faces'],
      extensions: ['personInfos', 'houseInfos', 'carInfos'],
      includeIdNumbers: true,
    },
  });
  other = await startGat1400Peer({ platformId: OTHER_PLATFORM, users: { [LOWER_ID]: h.password } });
  stops.push(() => other.close());
  await h.client.updatePlatform(
    {
      platform: {
        platformId: OTHER_PLATFORM,
        baseUrl: other.url,
        username: LOWER_ID,
        passwordRef: 'peer-password',
        compounds: [h.compoundId],
        objectKinds: ['faces'],
        extensions: ['personInfos'],
        keepaliveIntervalS: 1,
        enabled: true,
      },
    },
    { metadata: h.police },
  );
  await other.waitFor(() => other.isRegistered(LOWER_ID), 10_000, 'police-upload to register');

  const id = await startService(identityService, 'identity', {
    BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
  });
  identity = createGrpcClient(IdentityService.definition, `127.0.0.1:${id.ports.grpc}`, {
    deadlineMs: 20_000,
  });
  const va = await startService(vehicleAccessService, 'vehicle-access');
  vehicles = createGrpcClient(VehicleAccessService.definition, `127.0.0.1:${va.ports.grpc}`, {
    deadlineMs: 20_000,
  });
  stops.push(async () => {
    identity.close();
    vehicles.close();
  });

  // The compound's standard-address tree down to one room.
  const c = h.compoundId;
  const tree: [string, number, string, string][] = [
    ['370303', AddressLevel.ADDRESS_LEVEL_DISTRICT, '张店区', ''],
    [c.slice(0, 9), AddressLevel.ADDRESS_LEVEL_TOWN, '车站街道', '370303'],
    [c.slice(0, 12), AddressLevel.ADDRESS_LEVEL_COMMITTEE, '安乐街社区', c.slice(0, 9)],
    [c, AddressLevel.ADDRESS_LEVEL_COMPOUND, '天晓小区', c.slice(0, 12)],
    [`${c}003`, AddressLevel.ADDRESS_LEVEL_BUILDING, '3号楼', c],
    [`${c}00302`, AddressLevel.ADDRESS_LEVEL_UNIT, '2单元', `${c}003`],
    [room(), AddressLevel.ADDRESS_LEVEL_ROOM, '501', `${c}00302`],
  ];
  const admin = await as('district_admin', 'all');
  for (const [code, level, name, parentCode] of tree)
    await identity.upsertAddress({ code, level, name, parentCode }, admin);
}, 180_000);

afterAll(async () => {
  // police-upload first: it unregisters from both peers.
  await h?.close();
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

const hex = (uuid: string) => uuid.replace(/-/g, '').toUpperCase();

describe('community registry extensions', () => {
  it('a resident and their house reach the entitled platform; the ID number only where configured', async () => {
    const staff = await as('property_staff');
    const { person } = await identity.createPerson(
      {
        compoundId: h.compoundId,
        name: '王小明',
        idNumber: ID_NUMBER,
        kind: PersonKind.PERSON_KIND_OWNER,
        roomCode: room(),
      },
      staff,
    );
    const personInfoId = hex(person!.personId!);
    const houseInfoId = hex(person!.houseId!);

    await h.peer.waitFor(() => h.peer.counts('personInfos').has(personInfoId), 20_000, 'the PersonInfo');
    const full = h.peer.received('personInfos').find((r) => r.id === personInfoId)!.object;
    expect(full).toMatchObject({
      CommunityCode: h.compoundId,
      Name: '王小明',
      IDType: '111',
      IDNumber: ID_NUMBER,
      PersonType: '1',
      HouseInfoID: houseInfoId,
      HouseCode: room(),
      RecordStatus: '1',
    });
    await h.peer.waitFor(() => h.peer.counts('houseInfos').has(houseInfoId), 20_000, 'the HouseInfo');
    expect(h.peer.received('houseInfos').find((r) => r.id === houseInfoId)!.object).toMatchObject({
      HouseCode: room(),
      HouseUse: '1',
      RecordStatus: '1',
    });

    // The platform not configured for ID numbers: the same person, no number at all.
    await other.waitFor(() => other.counts('personInfos').has(personInfoId), 20_000, 'the other PersonInfo');
    const bare = other.received('personInfos').find((r) => r.id === personInfoId)!.object;
    expect(bare.Name).toBe('王小明');
    expect(bare).not.toHaveProperty('IDNumber');
    expect(bare).not.toHaveProperty('IDType');
    expect(JSON.stringify(bare)).not.toContain(ID_NUMBER.slice(-4));

    // Never in clear in police-upload's outbox (sealed until sent).
    const { rows } = await h.sql.query<{ t: string | null }>(
      `SELECT string_agg(body::text, '') AS t FROM upload_outbox WHERE kind = 'personInfos'`,
    );
    expect(rows[0]?.t ?? '').not.toContain(ID_NUMBER);
    expect(rows[0]?.t ?? '').not.toContain('王小明');

    // An update is the same id again; a removal the same id with RecordStatus 2.
    await identity.updatePerson(
      { personId: person!.personId, name: '王小明', kind: PersonKind.PERSON_KIND_FAMILY, roomCode: room() },
      staff,
    );
    await h.peer.waitFor(
      () => h.peer.received('personInfos').some((r) => r.id === personInfoId && r.object.PersonType === '2'),
      20_000,
      'the update',
    );
    await identity.removePerson({ personId: person!.personId, reason: 'moved out' }, staff);
    await h.peer.waitFor(
      () =>
        h.peer.received('personInfos').some((r) => r.id === personInfoId && r.object.RecordStatus === '2'),
      20_000,
      'the removal',
    );
    expect(h.peer.counts('personInfos').get(personInfoId)).toBe(3);
    expect(
      h.peer.received('personInfos').find((r) => r.object.RecordStatus === '2')!.object.RemoveTime,
    ).toMatch(/^\d{14}$/);
    // Only what it is entitled to: persons, no houses.
    expect(other.received('houseInfos')).toEqual([]);
    expect(h.peer.rejections.concat(other.rejections)).toEqual([]);
  });

  it('a vehicle registered, changed and removed in vehicle-access arrives as one CarInfo id', async () => {
    const staff = await as('property_staff');
    const { vehicle } = await vehicles.createVehicle(
      { vehicle: { compoundId: h.compoundId, plateNumber: '鲁C7R001', parkingSpace: 'A-001' } },
      staff,
    );
    const carInfoId = hex(vehicle!.vehicleId!);
    await h.peer.waitFor(() => h.peer.counts('carInfos').has(carInfoId), 20_000, 'the CarInfo');
    expect(h.peer.received('carInfos').find((r) => r.id === carInfoId)!.object).toMatchObject({
      CommunityCode: h.compoundId,
      PlateNo: '鲁C7R001',
      ParkingSpaceNo: 'A-001',
      RecordStatus: '1',
    });
    await vehicles.updateVehicle({ vehicle: { ...vehicle, parkingSpace: 'A-002' } }, staff);
    await vehicles.deleteVehicle({ vehicleId: vehicle!.vehicleId }, staff);
    await h.peer.waitFor(
      () => h.peer.received('carInfos').some((r) => r.id === carInfoId && r.object.RecordStatus === '2'),
      20_000,
      'the removal',
    );
    expect(h.peer.received('carInfos').some((r) => r.object.ParkingSpaceNo === 'A-002')).toBe(true);
    expect(h.peer.counts('carInfos').get(carInfoId)).toBe(3);
    // The other platform wants persons only.
    expect(other.received('carInfos')).toEqual([]);
  });

  it('a platform given the extensions after the records exist is back-filled with them, once', async () => {
    const late = await startGat1400Peer({ platformId: LATE_PLATFORM, users: { [LOWER_ID]: h.password } });
    stops.push(() => late.close());
    const lateAs = (extensions: string[]) => ({
      platform: {
        platformId: LATE_PLATFORM,
        baseUrl: late.url,
        username: LOWER_ID,
        passwordRef: 'peer-password',
        compounds: [h.compoundId],
        objectKinds: ['faces'],
        extensions,
        keepaliveIntervalS: 1,
        enabled: true,
      },
    });
    await h.client.updatePlatform(lateAs([]), { metadata: h.police });
    await late.waitFor(() => late.isRegistered(LOWER_ID), 10_000, 'police-upload to register');

    const staff = await as('property_staff');
    const { person } = await identity.createPerson(
      {
        compoundId: h.compoundId,
        name: '李四',
        idNumber: ID_NUMBER,
        kind: PersonKind.PERSON_KIND_TENANT,
        roomCode: room(),
      },
      staff,
    );
    const { vehicle } = await vehicles.createVehicle(
      { vehicle: { compoundId: h.compoundId, plateNumber: '鲁C7R002', parkingSpace: 'B-001' } },
      staff,
    );
    const personInfoId = hex(person!.personId!);
    const houseInfoId = hex(person!.houseId!);
    const carInfoId = hex(vehicle!.vehicleId!);
    // At the entitled platform: consumed, so in police-upload's registry snapshot too.
    await h.peer.waitFor(
      () =>
        h.peer.counts('personInfos').has(personInfoId) &&
        h.peer.counts('houseInfos').has(houseInfoId) &&
        h.peer.counts('carInfos').has(carInfoId),
      20_000,
      'the records at the entitled platform',
    );

    await h.client.updatePlatform(lateAs(['personInfos', 'houseInfos', 'carInfos']), { metadata: h.police });
    await late.waitFor(
      () =>
        late.counts('personInfos').has(personInfoId) &&
        late.counts('houseInfos').has(houseInfoId) &&
        late.counts('carInfos').has(carInfoId),
      20_000,
      'the back-fill',
    );
    const sent = late.received('personInfos').find((r) => r.id === personInfoId)!.object;
    expect(sent).toMatchObject({
      Name: '李四',
      PersonType: '3',
      HouseInfoID: houseInfoId,
      RecordStatus: '1',
    });
    expect(sent).not.toHaveProperty('IDNumber');
    expect(late.received('carInfos').find((r) => r.id === carInfoId)!.object).toMatchObject({
      PlateNo: '鲁C7R002',
      ParkingSpaceNo: 'B-001',
    });
    // The earlier test's resident moved out and its vehicle was removed: not current, not sent.
    expect(late.received('personInfos').map((r) => r.id)).toEqual([personInfoId]);
    expect(late.received('carInfos').map((r) => r.id)).toEqual([carInfoId]);

    // The same entitlements again (once the back-fill is settled): nothing new to send.
    const pending = async () =>
      Number(
        (
          await h.sql.query<{ n: string }>('SELECT count(*) AS n FROM upload_outbox WHERE platform_id = $1', [
            LATE_PLATFORM,
          ])
        ).rows[0]!.n,
      );
    for (const until = Date.now() + 10_000; (await pending()) > 0 && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 50));
    expect(await pending()).toBe(0);
    await h.client.updatePlatform(lateAs(['personInfos', 'houseInfos', 'carInfos']), { metadata: h.police });
    expect(await pending()).toBe(0);
    expect(late.counts('personInfos').get(personInfoId)).toBe(1);
    expect(late.rejections).toEqual([]);
  });
});
