import { afterEach, describe, expect, it } from 'vitest';
import { callGat1400, STATUS, wrap } from '@anfang/gat1400';
import { faceObject, GAT_IDS, motorVehicleObject } from '@anfang/gat1400/fixtures';
import { startGat1400Peer, type Gat1400Peer } from './peer.ts';

const LOWER = '37030300005040000001';
const PASSWORD = 'lower-secret';
let peer: Gat1400Peer;

afterEach(async () => peer?.close());

const start = () => startGat1400Peer({ platformId: GAT_IDS.platform, users: { [LOWER]: PASSWORD } });
const call = (path: string, body?: unknown, digest = false) =>
  callGat1400(`${peer.url}/VIID${path}`, {
    body,
    userIdentify: LOWER,
    timeoutMs: 2000,
    ...(digest ? { digest: { username: LOWER, password: PASSWORD } } : {}),
  });
const register = () => call('/System/Register', { RegisterObject: { DeviceID: LOWER } }, true);

describe('gat1400-peer', () => {
  it('registers with Digest only, and keepalives need a registration', async () => {
    peer = await start();
    expect((await call('/System/Keepalive', { KeepaliveObject: { DeviceID: LOWER } })).status).toBe(401);
    expect((await call('/System/Register', { RegisterObject: { DeviceID: LOWER } })).status).toBe(401);
    const wrong = await callGat1400(`${peer.url}/VIID/System/Register`, {
      body: { RegisterObject: { DeviceID: LOWER } },
      userIdentify: LOWER,
      timeoutMs: 2000,
      digest: { username: LOWER, password: 'wrong' },
    });
    expect(wrong.status).toBe(401);
    expect((await register()).status).toBe(200);
    expect((await call('/System/Keepalive', { KeepaliveObject: { DeviceID: LOWER } })).status).toBe(200);
    peer.expireSessions();
    expect((await call('/System/Keepalive', { KeepaliveObject: { DeviceID: LOWER } })).status).toBe(401);
  });

  it('answers one status per object, counts by id, refuses invalid content, fails chosen ids', async () => {
    peer = await start();
    await register();
    const good = faceObject({ serial: 1 });
    const failing = faceObject({ serial: 3 });
    const bad = { ...faceObject({ serial: 5 }), ShotTime: '2025-03-14' };
    peer.failObjects([String(failing.FaceID)], STATUS.DEVICE_BUSY, 1);
    const first = await call('/Faces', wrap('faces', [good, failing, bad]));
    const codes = (
      first.body as { ResponseStatusListObject: { ResponseStatusObject: { StatusCode: number }[] } }
    ).ResponseStatusListObject.ResponseStatusObject.map((s) => s.StatusCode);
    expect(codes).toEqual([0, 2, 8]);
    await call('/Faces', wrap('faces', [good, failing]));
    expect(peer.counts('faces').get(String(good.FaceID))).toBe(2);
    expect(peer.counts('faces').get(String(failing.FaceID))).toBe(1);
    expect(peer.stats()).toMatchObject({ unique: 2, duplicates: 1, invalid: 1 });
    expect(peer.rejections[0]!.reasons).toContain('ShotTime must be yyyyMMddHHmmss');
    await call('/MotorVehicles', wrap('motorVehicles', [motorVehicleObject()]));
    expect(peer.received('motorVehicles')).toHaveLength(1);
  });

  it('receives the community registry extensions strictly: counted by id, masked numbers refused', async () => {
    peer = await start();
    await register();
    const person = {
      PersonInfoID: '0F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
      CommunityCode: '370303001001007',
      Name: '王小明',
      PersonType: '1',
      RecordStatus: '1',
      UpdateTime: '20261129040000',
    };
    const masked = {
      ...person,
      PersonInfoID: '1F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
      IDNumber: '110***********701X',
    };
    const answer = await call('/Community/PersonInfos', wrap('personInfos', [person, masked]));
    const codes = (
      answer.body as { ResponseStatusListObject: { ResponseStatusObject: { StatusCode: number }[] } }
    ).ResponseStatusListObject.ResponseStatusObject.map((s) => s.StatusCode);
    expect(codes).toEqual([0, 8]);
    // An update is the same id again: counted twice under one id.
    await call('/Community/PersonInfos', wrap('personInfos', [{ ...person, PersonType: '2' }]));
    expect(peer.counts('personInfos').get(person.PersonInfoID)).toBe(2);
    const house = {
      HouseInfoID: '2F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
      HouseCode: '370303001001007003020501',
      CommunityCode: '370303001001007',
      HouseUse: '1',
      RecordStatus: '1',
      UpdateTime: '20261129040000',
    };
    const car = {
      CarInfoID: '3F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
      CommunityCode: '370303001001007',
      PlateNo: '鲁C7R001',
      RecordStatus: '2',
      RemoveTime: '20261129040000',
      UpdateTime: '20261129040000',
    };
    await call('/Community/HouseInfos', wrap('houseInfos', [house]));
    await call('/Community/CarInfos', wrap('carInfos', [car]));
    expect(peer.received('houseInfos').map((r) => r.id)).toEqual([house.HouseInfoID]);
    expect(peer.received('carInfos').map((r) => r.id)).toEqual([car.CarInfoID]);
    expect(peer.rejections.map((r) => r.reasons[0])).toEqual([
      'IDNumber must be an 18-character ID number (not masked)',
    ]);
  });

  it('goes down, answers errors, stays silent, and restarts on the same port without sessions', async () => {
    peer = await start();
    await register();
    const port = peer.port;
    await peer.mode('down');
    await expect(call('/System/Time')).rejects.toThrow();
    await peer.mode('error');
    expect((await call('/System/Keepalive', { KeepaliveObject: { DeviceID: LOWER } })).status).toBe(503);
    await peer.mode('silent');
    await expect(call('/System/Time')).rejects.toThrow(/timeout|abort/i);
    await peer.mode('up');
    expect(peer.isRegistered(LOWER)).toBe(true);
    await peer.restart();
    expect(peer.port).toBe(port);
    expect(peer.isRegistered(LOWER)).toBe(false);
    const time = await call('/System/Time');
    expect((time.body as { SystemTimeObject: { LocalTime: string } }).SystemTimeObject.LocalTime).toMatch(
      /^\d{14}$/,
    );
  });
});
