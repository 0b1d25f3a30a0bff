/**
 * The GA/T 1400 router over real HTTP on loopback, with a recording pipeline, directory and
 * quarantine (unit level; test/gat1400.test.ts runs the real service).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { anfang, topics } from '@anfang/contracts';
import { createMemoryCache } from '@anfang/platform/cache';
import { createLogger } from '@anfang/platform/log';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RegisteredDevice } from '../../domain/device.ts';
import {
  faceBatch,
  faceObject,
  GAT_IDS,
  motorVehicleBatch,
  motorVehicleObject,
  personBatch,
  personObject,
} from '@anfang/gat1400/fixtures';
import type {
  AcceptContext,
  AcceptedEvent,
  DeviceDirectory,
  IngestPipeline,
  NormalisedEvent,
  QuarantineInput,
} from '../../ingest/types.ts';
import { digestAuthorization } from '@anfang/gat1400';
import { createGat1400Router } from './gat1400.ts';

const { Direction, DeviceType, Module } = anfang.common.v1;
const SECRET = 'k3y-of-the-camera';

function device(gat1400Id: string, over: Partial<RegisteredDevice> = {}): RegisteredDevice {
  return {
    deviceId: `0195f3a2-0000-7000-8000-${gat1400Id.slice(-12)}`,
    gat1400Id,
    name: `camera ${gat1400Id.slice(-6)}`,
    deviceType: DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA,
    module: Module.MODULE_FACE_RECOGNITION_GATES,
    compoundId: '370303001001',
    zoneId: '',
    direction: Direction.DIRECTION_IN,
    vendor: 'hikvision',
    model: 'iDS-2CD7A46G0',
    serialNumber: '',
    protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_GAT1400,
    ipAddress: '127.0.0.1',
    active: true,
    ...over,
  };
}

const devices = [
  device(GAT_IDS.faceCamera),
  device(GAT_IDS.plateCamera, { deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA }),
  device(GAT_IDS.collectionSystem),
];

const directory: DeviceDirectory = {
  byId: (id) => devices.find((d) => d.deviceId === id),
  byGat1400Id: (id) => devices.find((d) => d.gat1400Id === id),
  byAddress: () => undefined,
  secretOf: async (id) => (devices.some((d) => d.deviceId === id) ? SECRET : undefined),
};

interface Accepted {
  device: RegisteredDevice;
  events: readonly NormalisedEvent[];
  context: AcceptContext;
}
const accepted: Accepted[] = [];
const heartbeats: string[] = [];
const kept: QuarantineInput[] = [];
let failAccept = false;
const seen = new Set<string>();

const pipeline: IngestPipeline = {
  accept: async (d, events, context) => {
    if (failAccept) throw new Error('bus down');
    accepted.push({ device: d, events, context });
    return events.map((e): AcceptedEvent => {
      const eventId = `${d.deviceId}/${e.sourceKey}`;
      const created = !seen.has(eventId);
      seen.add(eventId);
      return { eventId, created };
    });
  },
  heartbeat: async (d) => {
    heartbeats.push(d.gat1400Id);
    return [];
  },
  acknowledgeCommand: async () => ({ outcome: 'not-found' }),
};

let clock = 0;
let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(
    '/VIID',
    createGat1400Router(
      {
        directory,
        pipeline,
        quarantine: { keep: async (input) => (kept.push(input), `q${kept.length}`) },
        cache: createMemoryCache({ keyPrefix: 'test', now: () => clock }),
        logger: createLogger({ service: 'device-ingest-test', level: 'silent' }),
        limits: { maxBodyBytes: 64 * 1024, replayWindowMs: 300_000 },
        platformId: GAT_IDS.platform,
        now: () => new Date(Date.parse('2025-03-14T00:30:20Z') + clock),
      },
      { registrationTtlMs: 60_000, nonceTtlMs: 10_000 },
    ),
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  accepted.length = 0;
  heartbeats.length = 0;
  kept.length = 0;
  failAccept = false;
});

const JSON_TYPES = ['application/VIID+JSON', 'application/json;charset=UTF-8', 'application/x+JSON'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GA/T answers are asserted field by field
type Answer = Record<string, any>;

async function post(path: string, body: unknown, headers: Record<string, string> = {}, raw?: string) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/VIID+JSON', ...headers },
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Answer };
}

type DigestOptions = {
  qopStyle?: 'quoted' | 'bare' | 'none';
  realm?: string;
  nonce?: string;
  secret?: string;
};

/** A Digest exchange: the unauthenticated request is challenged, the answer is sent. */
async function digestPost(operation: 'Register' | 'UnRegister', id: string, opts: DigestOptions = {}) {
  const path = `/VIID/System/${operation}`;
  const body = { [`${operation}Object`]: { DeviceID: id } };
  const first = await post(path, body, { 'user-identify': id });
  expect(first.status).toBe(401);
  const challenge = first.headers.get('www-authenticate') ?? '';
  const authorization = digestAuthorization({
    username: id,
    secret: opts.secret ?? SECRET,
    method: 'POST',
    uri: path,
    challenge,
    ...opts,
  });
  return {
    challenge,
    authorization,
    second: await post(path, body, { 'user-identify': id, authorization }),
  };
}

const register = (id: string, opts: DigestOptions = {}) => digestPost('Register', id, opts);

describe('System', () => {
  it('challenges, then registers with Digest; a keepalive is a heartbeat', async () => {
    const { challenge, second } = await register(GAT_IDS.faceCamera);
    expect(challenge).toMatch(
      /^Digest realm="\d{20}", qop="auth", nonce="[0-9a-f]{32}", opaque="[0-9a-f]{16}"/,
    );
    expect(second.status).toBe(200);
    expect(second.body.ResponseStatusObject).toMatchObject({
      Id: GAT_IDS.faceCamera,
      RequestURL: '/VIID/System/Register',
      StatusCode: 0,
      LocalTime: expect.stringMatching(/^\d{14}$/),
    });
    const k = await post(
      '/VIID/System/Keepalive',
      { KeepaliveObject: { DeviceID: GAT_IDS.faceCamera } },
      { 'user-identify': GAT_IDS.faceCamera },
    );
    expect(k.status).toBe(200);
    expect(k.body.ResponseStatusObject.StatusCode).toBe(0);
    expect(heartbeats).toEqual([GAT_IDS.faceCamera, GAT_IDS.faceCamera]);
  });

  it('accepts unquoted qop, no qop (RFC 2069) and an empty realm', async () => {
    expect((await register(GAT_IDS.faceCamera, { qopStyle: 'bare' })).second.status).toBe(200);
    expect((await register(GAT_IDS.faceCamera, { qopStyle: 'none' })).second.status).toBe(200);
    expect((await register(GAT_IDS.faceCamera, { realm: '' })).second.status).toBe(200);
  });

  it('accepts an empty nonce once, and refuses its replay', async () => {
    const { authorization, second } = await register(GAT_IDS.faceCamera, { nonce: '' });
    expect(second.status).toBe(200);
    const replay = await post(
      '/VIID/System/Register',
      { RegisterObject: { DeviceID: GAT_IDS.faceCamera } },
      { authorization },
    );
    expect(replay.status).toBe(401);
  });

  it('uses each nonce once and lets it expire', async () => {
    const { authorization, second } = await register(GAT_IDS.faceCamera);
    expect(second.status).toBe(200);
    const body = { RegisterObject: { DeviceID: GAT_IDS.faceCamera } };
    const replay = await post('/VIID/System/Register', body, { authorization });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('www-authenticate')).toMatch(/stale=true/);

    const first = await post('/VIID/System/Register', body);
    const late = digestAuthorization({
      username: GAT_IDS.faceCamera,
      secret: SECRET,
      method: 'POST',
      uri: '/VIID/System/Register',
      challenge: first.headers.get('www-authenticate') ?? '',
    });
    clock += 11_000;
    expect((await post('/VIID/System/Register', body, { authorization: late })).status).toBe(401);
  });

  it('refuses a wrong secret (401 + new challenge, quarantined) and an unknown device (403)', async () => {
    const { second } = await register(GAT_IDS.plateCamera, { secret: 'wrong' });
    expect(second.status).toBe(401);
    expect(second.headers.get('www-authenticate')).toMatch(/^Digest /);
    expect(kept.map((k) => k.reason)).toEqual(['bad_signature: digest verification failed']);

    const { second: unknown } = await register('37030300001190009999');
    expect(unknown.status).toBe(403);
    expect(unknown.body.ResponseStatusObject).toMatchObject({
      StatusCode: 4,
      StatusString: expect.stringMatching(/not registered/),
    });
  });

  it('answers 401 to a keepalive or push from an unregistered or expired sender', async () => {
    const id = GAT_IDS.collectionSystem;
    const k = await post(
      '/VIID/System/Keepalive',
      { KeepaliveObject: { DeviceID: id } },
      { 'user-identify': id },
    );
    expect(k.status).toBe(401);
    expect(k.body.ResponseStatusObject.StatusCode).toBe(4);
    expect((await post('/VIID/Faces', faceBatch(faceObject()), { 'user-identify': id })).status).toBe(401);

    expect((await register(id)).second.status).toBe(200);
    expect((await post('/VIID/System/Keepalive', {}, { 'user-identify': id })).status).toBe(200);
    clock += 61_000; // registration TTL
    expect((await post('/VIID/System/Keepalive', {}, { 'user-identify': id })).status).toBe(401);
    expect(heartbeats).toEqual([id, id]);
  });

  it('unregisters only with Digest: an unauthenticated or forged UnRegister leaves the session', async () => {
    const id = GAT_IDS.plateCamera;
    expect((await register(id)).second.status).toBe(200);
    const forged = await digestPost('UnRegister', id, { secret: 'not-the-secret' });
    expect(forged.second.status).toBe(401);
    expect((await post('/VIID/System/Keepalive', {}, { 'user-identify': id })).status).toBe(200);

    expect((await digestPost('UnRegister', id)).second.status).toBe(200);
    expect((await post('/VIID/System/Keepalive', {}, { 'user-identify': id })).status).toBe(401);
  });

  it('tells the time in Beijing local time', async () => {
    const res = await fetch(`${base}/VIID/System/Time`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { SystemTimeObject: Record<string, string> };
    expect(body.SystemTimeObject).toMatchObject({
      VIIDServerID: GAT_IDS.platform,
      TimeZone: 'Asia/Shanghai',
    });
    expect(body.SystemTimeObject.LocalTime).toMatch(/^2025031408\d{4}$/);
  });
});

describe('objects', () => {
  const sender = GAT_IDS.faceCamera;
  const h = { 'user-identify': sender };
  beforeEach(async () => {
    expect((await register(sender)).second.status).toBe(200);
    expect((await register(GAT_IDS.plateCamera)).second.status).toBe(200);
    accepted.length = 0;
  });

  it('accepts Faces in each Content-Type and answers per object', async () => {
    for (const [i, type] of JSON_TYPES.entries()) {
      const faces = [faceObject({ serial: 10 * i + 1 }), faceObject({ serial: 10 * i + 2 })];
      const res = await post('/VIID/Faces', faceBatch(...faces), { ...h, 'content-type': type });
      expect(res.status, type).toBe(200);
      expect(res.body.ResponseStatusListObject.ResponseStatusObject).toEqual(
        faces.map((f) => expect.objectContaining({ Id: f.FaceID, StatusCode: 0, RequestURL: '/VIID/Faces' })),
      );
    }
    expect(accepted).toHaveLength(3);
    const [first] = accepted;
    expect(first?.device.gat1400Id).toBe(sender);
    expect(first?.context.protocol).toBe('gat1400');
    expect(first?.events.map((e) => e.topic)).toEqual([topics.deviceFaceCaptured, topics.deviceFaceCaptured]);
    expect(first?.events[0]?.images).toHaveLength(2);
  });

  it('accepts the good objects of a batch and answers StatusCode 8 with a reason for the bad one', async () => {
    const good = faceObject({ serial: 7 });
    const bad: Record<string, unknown> = { ...faceObject({ serial: 8 }), ShotTime: '2025/03/14' };
    const res = await post('/VIID/Faces', faceBatch(good, bad), h);
    expect(res.status).toBe(200);
    const list = res.body.ResponseStatusListObject.ResponseStatusObject;
    expect(list[0]).toMatchObject({ Id: good.FaceID, StatusCode: 0 });
    expect(list[1]).toMatchObject({
      Id: bad.FaceID,
      StatusCode: 8,
      StatusString: expect.stringMatching(/ShotTime/),
    });
    expect(accepted.flatMap((a) => a.events.map((e) => e.sourceKey))).toEqual([good.FaceID]);
    expect(kept).toHaveLength(1);
    expect(kept[0]?.reason).toContain(String(bad.FaceID));
  });

  it('maps MotorVehicles and Persons', async () => {
    const v = motorVehicleObject();
    const r1 = await post('/VIID/MotorVehicles', motorVehicleBatch(v), {
      'user-identify': GAT_IDS.plateCamera,
      'content-type': 'application/json;charset=UTF-8',
    });
    expect(r1.status).toBe(200);
    expect(r1.body.ResponseStatusListObject.ResponseStatusObject[0]).toMatchObject({
      Id: v.MotorVehicleID,
      StatusCode: 0,
    });
    const p = personObject();
    const r2 = await post('/VIID/Persons', personBatch(p), h);
    expect(r2.body.ResponseStatusListObject.ResponseStatusObject[0]).toMatchObject({
      Id: p.PersonID,
      StatusCode: 0,
    });
    expect(accepted.map((a) => a.events[0]?.topic)).toEqual([
      topics.devicePlateRead,
      topics.deviceFaceCaptured,
    ]);
    expect(accepted[0]?.events[0]?.payload).toMatchObject({ plateNumber: '鲁C5A7K2', lane: 1 });
  });

  it('quarantines a body that is not JSON with 400 and StatusCode 7', async () => {
    const res = await post('/VIID/Faces', undefined, h, '{"FaceListObject": {"FaceObject": [');
    expect(res.status).toBe(400);
    expect(res.body.ResponseStatusObject).toMatchObject({ StatusCode: 7 });
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({
      protocol: 'gat1400',
      status: 400,
      path: '/VIID/Faces',
      reason: 'malformed: body is not JSON',
    });
    expect(kept[0]?.body.toString()).toBe('{"FaceListObject": {"FaceObject": [');
  });

  it('refuses the wrong envelope with 400 and StatusCode 8', async () => {
    const res = await post('/VIID/Faces', { FaceList: { FaceObject: [faceObject()] } }, h);
    expect(res.status).toBe(400);
    expect(res.body.ResponseStatusObject).toMatchObject({
      StatusCode: 8,
      StatusString: 'body has no FaceListObject object',
    });
  });

  it('refuses an oversized body with 413 and quarantines the fact', async () => {
    const big = faceObject();
    (big.SubImageList as { SubImageInfoObject: { Data: string }[] }).SubImageInfoObject[0]!.Data = 'A'.repeat(
      70_000,
    );
    const res = await post('/VIID/Faces', faceBatch(big), h);
    expect(res.status).toBe(413);
    expect(kept[0]?.status).toBe(413);
  });

  it('answers 503 with StatusCode 1 when the batch could not be stored, so the device retries', async () => {
    failAccept = true;
    const f = faceObject({ serial: 30 });
    const res = await post('/VIID/Faces', faceBatch(f), h);
    expect(res.status).toBe(503);
    expect(res.body.ResponseStatusListObject.ResponseStatusObject[0]).toMatchObject({
      Id: f.FaceID,
      StatusCode: 1,
    });
  });

  it('answers 404 in GA/T form for resources it does not take', async () => {
    const res = await post('/VIID/NonMotorVehicles', {}, h);
    expect(res.status).toBe(404);
    expect(res.body.ResponseStatusObject.StatusCode).toBe(4);
  });
});

describe('big batches', () => {
  it('takes a multi-megabyte batch of base64 pictures within the configured limit', async () => {
    const app = express();
    const cache = createMemoryCache({ keyPrefix: 'test3' });
    app.use(
      '/VIID',
      createGat1400Router({
        directory,
        pipeline,
        quarantine: { keep: async () => 'q' },
        cache,
        logger: createLogger({ service: 'device-ingest-test', level: 'silent' }),
        limits: { maxBodyBytes: 16 * 1024 * 1024, replayWindowMs: 1 },
        platformId: GAT_IDS.platform,
        now: () => new Date(),
      }),
    );
    await cache.set(
      `gat1400:session:${GAT_IDS.faceCamera}`,
      JSON.stringify({ deviceId: devices[0]!.deviceId, registeredAt: '' }),
      60_000,
    );
    const s = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => s.once('listening', resolve));
    try {
      const picture = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(1024 * 1024, 7)]);
      const faces = [1, 3, 5].map((serial) => {
        const f = faceObject({ serial: 100 + serial });
        (f.SubImageList as { SubImageInfoObject: { Data: string }[] }).SubImageInfoObject[0]!.Data =
          picture.toString('base64');
        return f;
      });
      const body = JSON.stringify(faceBatch(...faces));
      expect(body.length).toBeGreaterThan(4 * 1024 * 1024);
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/VIID/Faces`, {
        method: 'POST',
        headers: { 'content-type': 'application/VIID+JSON', 'user-identify': GAT_IDS.faceCamera },
        body,
      });
      expect(res.status).toBe(200);
      expect(accepted.at(-1)?.events.map((e) => e.images[0]?.bytes.length)).toEqual([
        picture.length,
        picture.length,
        picture.length,
      ]);
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});

describe('mounting', () => {
  it('serves /VIID/… when mounted at the root and passes other paths on', async () => {
    const app = express();
    app.use(
      createGat1400Router({
        directory,
        pipeline,
        quarantine: { keep: async () => 'q' },
        cache: createMemoryCache({ keyPrefix: 'test2' }),
        logger: createLogger({ service: 'device-ingest-test', level: 'silent' }),
        limits: { maxBodyBytes: 1024, replayWindowMs: 1 },
        platformId: GAT_IDS.platform,
        now: () => new Date(),
      }),
    );
    app.post(
      '/ISAPI/Event',
      express.text({ type: () => true }),
      (req, res) => void res.send(`isapi:${String(req.body)}`),
    );
    const s = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => s.once('listening', resolve));
    const b = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${b}/VIID/System/Time`)).status).toBe(200);
      const isapi = await fetch(`${b}/ISAPI/Event`, { method: 'POST', body: 'x' });
      expect(await isapi.text()).toBe('isapi:x');
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});
