/**
 * REST through the gateway to a real perimeter-alarms: transcoding (path, query, body, proto3
 * JSON), problem+json errors, and role × scope enforced at the gateway and again in the service.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let managerA: string;
let managerB: string;
let guardA: string;
let officer: string;
let auditor: string;
let districtAuditor: string;
let zoneA: string;
const sensorA = randomUUID();

beforeAll(async () => {
  h = await startHarness('gateway-api');
  managerA = (await h.user('community_manager', [h.compoundA])).token;
  managerB = (await h.user('community_manager', [h.compoundB])).token;
  guardA = (await h.user('guard', [h.compoundA])).token;
  officer = (await h.user('street_officer', [], [h.street])).token;
  auditor = (await h.user('auditor', [])).token;
  districtAuditor = (await h.user('auditor', [], ['370303'])).token;
  const created = await h.request<{ zone: { zoneId: string; createdAt: string; kind: string } }>(
    'POST',
    '/v1/alarm/zones',
    {
      token: managerA,
      body: {
        zone: {
          compoundId: h.compoundA,
          name: '南侧围墙',
          kind: 'ZONE_KIND_WALL',
          sensorDeviceIds: [sensorA],
        },
      },
    },
  );
  expect(created.status).toBe(200);
  zoneA = created.body.zone.zoneId;
}, 90_000);

afterAll(async () => {
  await h?.close();
});

describe('transcoding', () => {
  it('answers canonical proto3 JSON: enums by name, timestamps in RFC 3339, path variables bound', async () => {
    const r = await h.request<{ zone: Record<string, unknown> }>('GET', `/v1/alarm/zones/${zoneA}`, {
      token: managerA,
    });
    expect(r.status).toBe(200);
    expect(r.body.zone).toMatchObject({
      zoneId: zoneA,
      compoundId: h.compoundA,
      kind: 'ZONE_KIND_WALL',
      name: '南侧围墙',
    });
    expect(r.body.zone.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('binds query parameters, with repeated fields by repetition', async () => {
    const r = await h.request<{ zones: unknown[] }>('GET', `/v1/alarm/zones?compoundId=${h.compoundA}`, {
      token: managerA,
    });
    expect(r.status).toBe(200);
    expect(r.body.zones).toHaveLength(1);
    const snake = await h.request(
      'GET',
      `/v1/alarm/alarms?compound_id=${h.compoundA}&states=ALARM_STATE_NEW&states=ALARM_STATE_ACKNOWLEDGED&limit=5`,
      {
        token: managerA,
      },
    );
    expect(snake.status).toBe(200);
  });

  it('refuses unknown fields, unknown enum names and wrong types with 400 problem+json naming the field', async () => {
    const unknown = await h.request('POST', '/v1/alarm/zones', {
      token: managerA,
      body: { zone: { compoundId: h.compoundA, name: 'x', colour: 'red' } },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(unknown.body).toMatchObject({ status: 400, errors: [{ field: 'zone.colour' }] });
    const badEnum = await h.request('POST', '/v1/alarm/zones', {
      token: managerA,
      body: { zone: { compoundId: h.compoundA, name: 'x', kind: 'ZONE_KIND_MOAT' } },
    });
    expect(badEnum.status).toBe(400);
    const badType = await h.request('GET', `/v1/alarm/alarms?compoundId=${h.compoundA}&limit=lots`, {
      token: managerA,
    });
    expect(badType.status).toBe(400);
  });

  it('maps the service’s gRPC status to HTTP with its reason, and hides internals', async () => {
    const missing = await h.request('GET', `/v1/alarm/zones/${randomUUID()}`, { token: managerA });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 404, title: 'Not Found' });
    expect(JSON.stringify(missing.body)).not.toMatch(/at .*\.ts:\d+/);
    const noRoute = await h.request('GET', '/v1/nothing-here', { token: managerA });
    expect(noRoute.status).toBe(404);
  });

  it('limits the request body size', async () => {
    const r = await h.request('POST', '/v1/alarm/zones', {
      token: managerA,
      body: { zone: { compoundId: h.compoundA, name: 'x'.repeat(2_000_000) } },
    });
    expect(r.status).toBe(413);
  });
});

describe('roles and scopes', () => {
  it('refuses anonymous callers and ended sessions with 401', async () => {
    expect((await h.request('GET', `/v1/alarm/zones?compoundId=${h.compoundA}`)).status).toBe(401);
    expect(
      (await h.request('GET', `/v1/alarm/zones?compoundId=${h.compoundA}`, { token: 'not-a-session' }))
        .status,
    ).toBe(401);
  });

  it('lets each role see exactly its scope', async () => {
    const list = (token: string, compoundId: string) =>
      h.request('GET', `/v1/alarm/zones?compoundId=${compoundId}`, { token }).then((r) => r.status);
    expect(await list(managerA, h.compoundA)).toBe(200);
    expect(await list(managerB, h.compoundA)).toBe(403);
    expect(await list(managerB, h.compoundB)).toBe(200);
    expect(await list(guardA, h.compoundA)).toBe(200);
    expect(await list(guardA, h.compoundB)).toBe(403);
    expect(await list(h.adminToken, h.compoundA)).toBe(200);
    // A town/street office: every compound under its code, none beyond.
    expect(await list(officer, h.compoundA)).toBe(200);
    expect(await list(officer, h.compoundB)).toBe(200);
    expect(await list(officer, h.compoundOther)).toBe(403);
    // The auditor reads what its scope holds, and nothing outside it.
    expect(await list(auditor, h.compoundA)).toBe(403);
    expect(await list(districtAuditor, h.compoundA)).toBe(200);
  });

  it('refuses a write outside the scope or by a role that may not write, before the service sees it', async () => {
    const outside = await h.request('POST', '/v1/alarm/zones', {
      token: managerB,
      body: { zone: { compoundId: h.compoundA, name: '越权', kind: 'ZONE_KIND_WALL' } },
    });
    expect(outside.status).toBe(403);
    expect(outside.body).toMatchObject({ code: 'OUT_OF_SCOPE' });
    const guardWrites = await h.request('POST', '/v1/alarm/zones', {
      token: guardA,
      body: { zone: { compoundId: h.compoundA, name: '越权', kind: 'ZONE_KIND_WALL' } },
    });
    expect(guardWrites.status).toBe(403);
    expect(guardWrites.body).toMatchObject({ code: 'ROLE_NOT_ALLOWED' });
    for (const token of [districtAuditor, officer]) {
      const refused = await h.request('POST', '/v1/alarm/zones', {
        token,
        body: { zone: { compoundId: h.compoundA, name: '越权', kind: 'ZONE_KIND_WALL' } },
      });
      expect([refused.status, refused.body]).toEqual([
        403,
        expect.objectContaining({ code: 'ROLE_NOT_ALLOWED' }),
      ]);
    }
  });

  it('carries role and scope to the service, which checks them again (an alarm by id)', async () => {
    await h.perimeterTrigger(h.compoundA, sensorA);
    const alarm = await waitFor(
      async () => {
        const r = await h.request<{ alarms: { alarmId: string; state: string }[] }>(
          'GET',
          `/v1/alarm/alarms?compoundId=${h.compoundA}`,
          { token: guardA },
        );
        return r.body.alarms?.[0];
      },
      { timeoutMs: 20_000 },
    );
    // By id, the gateway cannot know the compound: the service refuses the other compound's manager.
    expect((await h.request('GET', `/v1/alarm/alarms/${alarm.alarmId}`, { token: managerB })).status).toBe(
      403,
    );
    const ack = await h.request<{ alarm: { state: string } }>(
      'POST',
      `/v1/alarm/alarms/${alarm.alarmId}:acknowledge`,
      {
        token: guardA,
        body: { comment: '已到场' },
      },
    );
    expect(ack.status).toBe(200);
    expect(ack.body.alarm.state).toBe('ALARM_STATE_ACKNOWLEDGED');
  }, 40_000);
});

describe('site plan', () => {
  it('stores marker positions for who places them in scope, shows them to readers, audits writes', async () => {
    const staffA = (await h.user('property_staff', [h.compoundA])).token;
    const path = (compoundId: string, markerId = '') =>
      `/v1/compounds/${compoundId}/site-plan${markerId ? `/markers/${encodeURIComponent(markerId)}` : ''}`;
    const marker = { kind: 'building', refId: `${h.compoundA}001`, label: '1号楼', x: 0.25, y: 0.75 };
    const id = `building~${marker.refId}`;
    const put = await h.request('PUT', path(h.compoundA, id), { token: staffA, body: marker });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ markerId: id, x: 0.25, y: 0.75 });
    const moved = await h.request('PUT', path(h.compoundA, id), {
      token: staffA,
      body: { ...marker, x: 0.5 },
    });
    expect(moved.status).toBe(200);

    const read = await h.request<{
      markers: { markerId: string; x: number; y: number; updatedBy: string }[];
    }>('GET', path(h.compoundA), { token: officer });
    expect(read.status).toBe(200);
    expect(read.body.markers).toEqual([expect.objectContaining({ markerId: id, x: 0.5, y: 0.75 })]);
    expect((await h.request('GET', path(h.compoundB), { token: managerA })).status).toBe(403);

    const refusals = [
      await h.request('PUT', path(h.compoundB, id), { token: staffA, body: marker }),
      await h.request('PUT', path(h.compoundA, id), { token: guardA, body: marker }),
      await h.request('PUT', path(h.compoundA, id), { token: officer, body: marker }),
      await h.request('PUT', path(h.compoundA, id), { token: districtAuditor, body: marker }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 403, 403]);
    const bad = await h.request('PUT', path(h.compoundA, id), { token: staffA, body: { ...marker, x: 1.5 } });
    expect(bad.status).toBe(400);
    const wrongId = await h.request('PUT', path(h.compoundA, 'gate~x'), { token: staffA, body: marker });
    expect(wrongId.status).toBe(400);
    expect(
      (await h.request<{ markers: { x: number }[] }>('GET', path(h.compoundA), { token: managerA })).body
        .markers[0]!.x,
    ).toBe(0.5);

    const audit = await h.request<{ entries: { target: string; outcome: string; role: string }[] }>(
      'GET',
      '/v1/audit?action=http.put%20/v1/compounds&pageSize=100',
      { token: (await h.user('auditor', [])).token },
    );
    const outcomes = audit.body.entries.map((e) => [e.role, e.outcome]);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        ['property_staff', 'ok'],
        ['guard', 'ROLE_NOT_ALLOWED'],
      ]),
    );
  });
});
