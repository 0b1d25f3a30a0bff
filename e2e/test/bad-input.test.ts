/**
 * The bad-input campaign against the whole platform in local mode: malformed and mutated payloads
 * on every device protocol (signed HTTP/JSON, GA/T 1400, Hikvision ISAPI, Dahua ITSAPI), each sent
 * with the real credentials of a registered device so that the content — not the sender — is what
 * is refused, and on the gateway's public API with a valid session. Nothing may answer 5xx or go
 * unanswered, every device payload is refused with a reason and kept in device-ingest's quarantine,
 * and every service stays ready. Then the authentication and authorisation attacks. The CI profile
 * sends 1,000 payloads, `ANFANG_CAMPAIGN=full` 10,000.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistryService } from '@anfang/contracts';
import { CALLER_METADATA_KEY, mintCallerToken, type Caller } from '@anfang/platform/auth';
import {
  PermissionDeniedError,
  UnauthenticatedError,
  createGrpcClient,
  Metadata,
} from '@anfang/platform/grpc';
import {
  DigestSession,
  accessControllerEvent,
  alertXml,
  digestAuthorization,
  emptyRealmDigest,
  faceListBody,
  genericEvent,
  openDeviceKit,
  registerGat1400,
  signedHeaders,
  tollgateInfo,
  type DeviceKit,
  type DeviceRuntime,
  type FaceAccess,
  type FaceSighting,
  type PerimeterTrigger,
  type PlateCapture,
  perimeterAlert,
} from '@anfang/simulator';
import type { PlatformStatus } from '@anfang/runner';
import { waitFor } from '@anfang/testing';
import {
  campaignSize,
  generateCases,
  validCases,
  type Case,
  type Protocol,
  type Templates,
} from './campaign/generator.ts';
import { startLocalPlatform, type LocalPlatform } from './support/platform.ts';

interface Outcome {
  readonly status: number;
  readonly refused: boolean;
  readonly reason: string;
}

let platform: LocalPlatform;
let kit: DeviceKit;
let adminToken = '';

const gatewayFetch = (path: string, init: RequestInit = {}) =>
  fetch(`${platform.httpUrl('gateway')}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });

async function login(username: string, password: string): Promise<string> {
  const response = await gatewayFetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

beforeAll(async () => {
  platform = await startLocalPlatform({
    prefix: 'bad',
    // The campaign comes from one address and one account at a rate no person reaches.
    env: { GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '1000000', GATEWAY_RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000' },
  });
  kit = await openDeviceKit({
    target: platform.deviceUrl(),
    registry: platform.grpcAddress('device-ingest'),
    callerTokenKey: platform.callerTokenKey,
    statePath: join(platform.dataDir, 'kit-state.json'),
    compounds: 3,
  });
  adminToken = await login('admin', platform.adminPassword);
}, 480_000);

afterAll(async () => {
  kit?.close();
  await platform?.stop();
});

/** The four senders, one registered device each, with what each one sends when all is well. */
function senders() {
  const generic = kit.device('unitDoor', (rt) => rt.device.protocol === 'generic');
  const gat = kit.device('captureCamera');
  const isapiDoor = kit.device('faceGate', (rt) => rt.device.protocol === 'isapi');
  const isapiSensor = kit.device('perimeter', (rt) => rt.device.protocol === 'isapi');
  const its = kit.device('plateCamera', (rt) => rt.device.protocol === 'itsapi');
  const face = (rt: DeviceRuntime) =>
    kit.event<FaceAccess>(rt, {
      type: 'faceAccess',
      personRef: 'R0001',
      personName: '张三',
      liveness: 'live',
      passed: true,
      similarity: 0.93,
    });
  const templates: Templates = {
    generic: { events: [genericEvent(face(generic))!] },
    gatFaces: faceListBody(
      kit.event<FaceSighting>(gat, { type: 'faceSighting', faces: 1, withPerson: false, gender: '1' }),
    ),
    isapiXml: alertXml(
      perimeterAlert(
        kit.event<PerimeterTrigger>(isapiSensor, {
          type: 'perimeter',
          state: 'active',
          target: 'human',
          regionId: '1',
        }),
      ),
    ),
    isapiJson: accessControllerEvent(face(isapiDoor)),
    itsapi: tollgateInfo(
      kit.event<PlateCapture>(its, {
        type: 'plate',
        plate: '鲁C12345',
        plateColour: 'blue',
        vehicleColour: 'white',
        vehicleKind: 'sedan',
        brand: 'Volkswagen',
        list: 'none',
        confidence: 92,
        lane: 1,
      }),
    ),
    gateway: [
      {
        method: 'POST',
        path: '/v1/compounds',
        body: { compound: { compoundId: '370303001001099', name: '测试小区', buildingsCount: 3 } },
      },
      {
        method: 'POST',
        path: '/v1/alarm/zones',
        body: { zone: { compoundId: kit.compounds[0]!.code, name: 'x' } },
      },
      {
        method: 'POST',
        path: '/v1/devices',
        body: { device: { compoundId: kit.compounds[0]!.code, name: 'x' } },
      },
      { method: 'GET', path: '/v1/compounds' },
      { method: 'GET', path: '/v1/devices' },
      { method: 'GET', path: '/v1/alarm/alarms' },
      { method: 'GET', path: '/v1/patrol/violations' },
    ],
  };
  return { generic, gat, isapiDoor, isapiSensor, its, templates };
}

function reasonOf(protocol: Protocol, body: string): string {
  try {
    const doc = JSON.parse(body) as Record<string, unknown>;
    if (protocol === 'generic') {
      const results = (doc['results'] as { status: string; reason?: string }[] | undefined) ?? [];
      return String(doc['error'] ?? results.find((r) => r.status === 'rejected')?.reason ?? '');
    }
    if (protocol === 'gat1400') {
      const list = (doc['ResponseStatusListObject'] as { ResponseStatusObject?: unknown } | undefined)
        ?.ResponseStatusObject;
      const items = (Array.isArray(list) ? list : [list ?? doc['ResponseStatusObject']]) as {
        StatusCode?: unknown;
        StatusString?: string;
      }[];
      return items.find((i) => Number(i?.StatusCode) !== 0)?.StatusString ?? '';
    }
    if (protocol === 'itsapi') return doc['Result'] === false ? String(doc['Reason'] ?? '') : '';
    if (protocol === 'gateway') return String(doc['code'] ?? doc['detail'] ?? '');
  } catch {
    // ISAPI answers XML.
  }
  return /<errorMsg>([^<]*)<\/errorMsg>/.exec(body)?.[1] ?? '';
}

function refusedBy(protocol: Protocol, status: number, body: string): boolean {
  if (status >= 400) return true;
  if (protocol === 'generic') return /"status":"rejected"/.test(body);
  if (protocol === 'gat1400') return reasonOf(protocol, body) !== '';
  if (protocol === 'itsapi') return !/"Result":true/.test(body);
  return false;
}

async function send(s: ReturnType<typeof senders>, c: Case): Promise<Outcome> {
  const io = kit.io;
  let status: number;
  let body: string;
  if (c.protocol === 'gateway') {
    const response = await gatewayFetch(c.path, {
      method: c.method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': c.contentType },
      ...(c.method === 'GET' ? {} : { body: c.body }),
    });
    status = response.status;
    body = await response.text();
  } else {
    const request = { method: 'POST' as const, path: c.path, body: c.body };
    let rt: DeviceRuntime;
    let response;
    switch (c.protocol) {
      case 'generic':
        rt = s.generic;
        response = await io.transport.request({
          ...request,
          sourceAddress: rt.device.ipAddress,
          headers: { 'content-type': c.contentType, ...signedHeaders(rt, 'POST', c.path, c.body, io.now()) },
        });
        break;
      case 'gat1400':
        rt = s.gat;
        if (!rt.registered) await registerGat1400(rt, io);
        response = await io.transport.request({
          ...request,
          sourceAddress: rt.device.ipAddress,
          headers: { 'content-type': c.contentType, 'user-identify': rt.device.gat1400Id },
        });
        if (response.status === 401) rt.registered = false;
        break;
      case 'isapi':
        rt = c.variant === 'json' ? s.isapiDoor : s.isapiSensor;
        rt.digest ??= new DigestSession('admin', rt.secret);
        response = await rt.digest.send(io.transport, {
          ...request,
          sourceAddress: rt.device.ipAddress,
          headers: { 'content-type': c.contentType },
        });
        break;
      default:
        rt = s.its;
        response = await io.transport.request({
          ...request,
          sourceAddress: rt.device.ipAddress,
          headers: {
            'content-type': c.contentType,
            authorization: emptyRealmDigest('admin', rt.secret, 'POST', c.path),
          },
        });
    }
    status = response.status;
    body = response.body.toString('utf8');
  }
  return { status, refused: refusedBy(c.protocol, status, body), reason: reasonOf(c.protocol, body) };
}

async function quarantineByProtocol(): Promise<Record<string, number>> {
  const db = await platform.database('device-ingest');
  try {
    const { rows } = await db.query<{ protocol: string; n: string }>(
      'SELECT protocol, count(*) AS n FROM quarantine GROUP BY protocol',
    );
    return Object.fromEntries(rows.map((r) => [r.protocol, Number(r.n)]));
  } finally {
    await db.end();
  }
}

describe('bad input', () => {
  it(
    'refuses every malformed or mutated payload with a reason, quarantines it, and keeps running',
    { timeout: 900_000 },
    async () => {
      const s = senders();
      // The unmutated documents are accepted: the refusals below are the mutations' doing.
      for (const c of validCases(s.templates)) {
        const outcome = await send(s, c);
        expect(outcome, `${c.protocol} valid document`).toMatchObject({ refused: false });
      }
      const { profile, count } = campaignSize();
      const cases = generateCases(s.templates, count);
      const before = await quarantineByProtocol();

      const tally = new Map<
        string,
        { sent: number; refused: number; accepted: string[]; fiveXx: string[]; noReason: string[] }
      >();
      const errors: string[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < cases.length; i = next++) {
          const c = cases[i]!;
          const t = tally.get(c.protocol) ?? { sent: 0, refused: 0, accepted: [], fiveXx: [], noReason: [] };
          tally.set(c.protocol, t);
          t.sent += 1;
          try {
            const outcome = await send(s, c);
            if (outcome.status >= 500) t.fiveXx.push(`${c.mutation}: ${outcome.status} ${outcome.reason}`);
            else if (!outcome.refused) t.accepted.push(`${c.mutation}: ${outcome.status}`);
            else {
              t.refused += 1;
              if (outcome.reason === '') t.noReason.push(`${c.mutation}: ${outcome.status}`);
            }
          } catch (error) {
            errors.push(`${c.protocol} ${c.mutation}: ${(error as Error).message}`);
          }
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: 8 }, worker));
      const seconds = (Date.now() - started) / 1000;

      // A refusal is answered as soon as it is decided; its quarantine row may commit just after.
      const quarantined = (counts: Record<string, number>) =>
        [...tally].every(([p, t]) => p === 'gateway' || (counts[p] ?? 0) - (before[p] ?? 0) >= t.refused);
      const after = await waitFor(
        async () => {
          const counts = await quarantineByProtocol();
          return quarantined(counts) ? counts : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 500, message: 'quarantine' },
      ).catch(() => quarantineByProtocol());
      const lines = [...tally].map(
        ([p, t]) =>
          `${p.padEnd(8)} sent ${t.sent}  refused ${t.refused}  accepted ${t.accepted.length}  5xx ${t.fiveXx.length}  no-reason ${t.noReason.length}  quarantined +${(after[p] ?? 0) - (before[p] ?? 0)}${
            t.accepted.length + t.fiveXx.length > 0
              ? `\n    ${[...new Set([...t.fiveXx, ...t.accepted])].slice(0, 12).join('\n    ')}`
              : ''
          }`,
      );
      console.log(
        `bad-input campaign (${profile}): ${cases.length} payloads in ${seconds.toFixed(1)} s\n${lines.join('\n')}`,
      );
      for (const [p, t] of tally) {
        expect(t.fiveXx, `${p}: 5xx`).toEqual([]);
        expect(t.accepted, `${p}: accepted`).toEqual([]);
        expect(t.noReason, `${p}: refused without a reason`).toEqual([]);
        if (p !== 'gateway')
          expect((after[p] ?? 0) - (before[p] ?? 0), `${p}: quarantined`).toBeGreaterThanOrEqual(t.refused);
      }
      expect(errors).toEqual([]);

      const status = (await (
        await fetch(new URL('/status', `http://127.0.0.1:${platform.ports.status}/`))
      ).json()) as PlatformStatus;
      expect(status.services.filter((x) => !x.ok)).toEqual([]);
    },
  );
});

/** Signs in a new account of this role and scope (the admin creates it). */
async function accountOf(role: string, compounds: string[]): Promise<string> {
  const username = `${role}-${Date.now().toString(36)}`;
  const password = `pw-${role}-0123456789`;
  const created = await gatewayFetch('/auth/users', {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, displayName: username, password, role, compounds, areas: [] }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const response = await gatewayFetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const session = (await response.json()) as { token: string; user: { passwordExpired: boolean } };
  if (session.user.passwordExpired) {
    const changed = await gatewayFetch('/auth/password', {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ currentPassword: password, newPassword: `${password}-new` }),
    });
    expect(changed.status).toBe(204);
  }
  return session.token;
}

async function problem(path: string, token?: string): Promise<{ status: number; code: string }> {
  const response = await gatewayFetch(path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await response.text();
  let code: string;
  try {
    code = String((JSON.parse(text) as { code?: unknown }).code ?? '');
  } catch {
    code = text.slice(0, 80);
  }
  return { status: response.status, code };
}

describe('authentication and authorisation attacks', () => {
  it('the gateway refuses no token, a tampered or ended session, a wrong role and a wrong scope', async () => {
    const [mine, other] = kit.compounds;
    expect((await problem('/v1/compounds')).status).toBe(401);
    const tampered = adminToken.slice(0, -2) + (adminToken.endsWith('AA') ? 'BB' : 'AA');
    expect((await problem('/v1/compounds', tampered)).status).toBe(401);
    const ended = await login('admin', platform.adminPassword);
    expect((await problem('/v1/compounds', ended)).status).toBe(200);
    await gatewayFetch('/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${ended}` } });
    expect((await problem('/v1/compounds', ended)).status).toBe(401);

    // The platform operator keeps the installation, not the alarm console.
    const operator = await accountOf('platform_operator', []);
    expect(await problem('/v1/alarm/alarms', operator)).toMatchObject({ status: 403 });
    expect((await problem('/v1/alarm/alarms', operator)).code).not.toBe('PASSWORD_EXPIRED');
    const guard = await accountOf('guard', [mine!.code]);
    expect((await problem(`/v1/alarm/alarms?compoundId=${mine!.code}`, guard)).status).toBe(200);
    expect(await problem(`/v1/alarm/alarms?compoundId=${other!.code}`, guard)).toMatchObject({ status: 403 });
  });

  it('a service refuses a missing, expired, tampered or foreign caller token, a wrong role and a wrong scope', async () => {
    const device = kit.devices[0]!;
    const key = platform.callerTokenKey;
    const call = async (metadata?: Metadata) => {
      const client = createGrpcClient(
        DeviceRegistryService.definition,
        platform.grpcAddress('device-ingest'),
        {
          deadlineMs: 10_000,
        },
      );
      try {
        return await client.getDevice({ deviceId: device.device.deviceId }, metadata ? { metadata } : {});
      } finally {
        client.close();
      }
    };
    const withToken = (token: string) => {
      const metadata = new Metadata();
      metadata.set(CALLER_METADATA_KEY, token);
      return metadata;
    };
    const manager: Caller = {
      subject: 'u:e2e',
      role: 'community_manager',
      compounds: [device.device.compound.code],
    };
    expect((await call(withToken(await mintCallerToken(manager, key)))).device?.deviceId).toBe(
      device.device.deviceId,
    );

    await expect(call()).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(
      call(withToken(await mintCallerToken(manager, key, { ttlSeconds: -60 }))),
    ).rejects.toBeInstanceOf(UnauthenticatedError);
    const good = await mintCallerToken(manager, key);
    const [header, payload, signature] = good.split('.');
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), compounds: '*' }),
    ).toString('base64url');
    await expect(call(withToken(`${header}.${widened}.${signature}`))).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
    await expect(
      call(withToken(await mintCallerToken(manager, 'another-install-key-of-at-least-32-bytes!!'))),
    ).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(
      // A resident has no business in the device registry.
      call(withToken(await mintCallerToken({ ...manager, role: 'resident' }, key))),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      call(withToken(await mintCallerToken({ ...manager, compounds: [kit.compounds[1]!.code] }, key))),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it('device-ingest refuses a replayed signature, a wrong secret and a replayed Digest answer, and quarantines them', async () => {
    const io = kit.io;
    const rt = kit.device('patrol');
    const path = '/api/v1/device/heartbeat';
    const body = Buffer.from('{}');
    const headers = {
      'content-type': 'application/json',
      ...signedHeaders(rt, 'POST', path, body, io.now()),
    };
    const first = await io.transport.request({
      method: 'POST',
      path,
      body,
      headers,
      sourceAddress: rt.device.ipAddress,
    });
    expect(first.status).toBe(200);
    const replay = await io.transport.request({
      method: 'POST',
      path,
      body,
      headers,
      sourceAddress: rt.device.ipAddress,
    });
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body.toString())).toMatchObject({ error: 'replayed' });
    const forged = await io.transport.request({
      method: 'POST',
      path,
      body,
      sourceAddress: rt.device.ipAddress,
      headers: {
        'content-type': 'application/json',
        ...signedHeaders({ ...rt, secret: 'not-the-secret' }, 'POST', path, body, io.now()),
      },
    });
    expect(JSON.parse(forged.body.toString())).toMatchObject({ error: 'bad_signature' });

    // GA/T 1400 Register: the Digest answer to a challenge is good once.
    const camera = kit.device('captureCamera', (c) => c !== kit.device('captureCamera'));
    const register = {
      method: 'POST' as const,
      path: '/VIID/System/Register',
      sourceAddress: camera.device.ipAddress,
    };
    const registerBody = Buffer.from(
      JSON.stringify({ RegisterObject: { DeviceID: camera.device.gat1400Id } }),
    );
    const gatHeaders = { 'content-type': 'application/VIID+JSON', 'user-identify': camera.device.gat1400Id };
    const challenge = await io.transport.request({ ...register, body: registerBody, headers: gatHeaders });
    expect(challenge.status).toBe(401);
    const authorization = digestAuthorization({
      username: camera.device.gat1400Id,
      password: camera.secret,
      method: 'POST',
      uri: register.path,
      challenge: String(challenge.headers['www-authenticate']),
      nc: 1,
    });
    const answered = await io.transport.request({
      ...register,
      body: registerBody,
      headers: { ...gatHeaders, authorization },
    });
    expect(answered.status).toBe(200);
    const replayed = await io.transport.request({
      ...register,
      body: registerBody,
      headers: { ...gatHeaders, authorization },
    });
    expect(replayed.status).toBe(401);

    const db = await platform.database('device-ingest');
    try {
      const { rows } = await db.query<{ reason: string }>(
        'SELECT reason FROM quarantine WHERE device_id = $1',
        [rt.device.deviceId],
      );
      expect(rows.map((r) => r.reason)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^replayed/), expect.stringMatching(/^bad_signature/)]),
      );
    } finally {
      await db.end();
    }
  });
});
