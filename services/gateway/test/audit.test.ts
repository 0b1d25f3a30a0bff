/**
 * The audit log: writes and sign-ins recorded with who, role, scope, what and from where; the
 * hash chain verifies, and a changed or deleted row is found; only auditors search it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('gateway-audit');
}, 90_000);

afterAll(async () => {
  await h?.close();
});

interface Entry {
  seq: number;
  subject: string;
  role: string;
  scope: string;
  action: string;
  target: string;
  outcome: string;
  address: string;
}

describe('audit log', () => {
  it('records writes (also refused ones) and sign-ins, and the chain verifies', async () => {
    const manager = await h.user('community_manager', [h.compoundA]);
    const auditor = (await h.user('auditor', [])).token;
    const created = await h.request('POST', '/v1/alarm/zones', {
      token: manager.token,
      body: {
        zone: {
          compoundId: h.compoundA,
          name: '东侧围墙',
          kind: 'ZONE_KIND_WALL',
          sensorDeviceIds: [randomUUID()],
        },
      },
    });
    expect(created.status).toBe(200);
    const refused = await h.request('POST', '/v1/alarm/zones', {
      token: manager.token,
      body: { zone: { compoundId: h.compoundB, name: '越权', kind: 'ZONE_KIND_WALL' } },
    });
    expect(refused.status).toBe(403);

    const search = await h.request<{ entries: Entry[] }>('GET', '/v1/audit?action=rpc.CreateZone', {
      token: auditor,
    });
    expect(search.status).toBe(200);
    const mine = search.body.entries.filter((e) => e.role === 'community_manager');
    expect(mine.map((e) => e.outcome).sort()).toEqual(['OUT_OF_SCOPE', 'ok']);
    expect(mine[0]).toMatchObject({ scope: h.compoundA, address: expect.stringMatching(/127\.0\.0\.1/) });
    const logins = await h.request<{ entries: Entry[] }>('GET', '/v1/audit?action=auth.login', {
      token: auditor,
    });
    expect(logins.body.entries.some((e) => e.target === manager.username && e.outcome === 'ok')).toBe(true);

    expect((await h.request('GET', '/v1/audit', { token: manager.token })).status).toBe(403);
    const verified = await h.request('GET', '/v1/audit:verify', { token: auditor });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true });
    expect(verified.body.rows).toBeGreaterThan(5);
  });

  it('pages newest first', async () => {
    const auditor = (await h.user('auditor', [])).token;
    const first = await h.request<{ entries: Entry[]; nextPageToken: string }>(
      'GET',
      '/v1/audit?pageSize=2',
      { token: auditor },
    );
    expect(first.body.entries).toHaveLength(2);
    expect(first.body.entries[0]!.seq).toBeGreaterThan(first.body.entries[1]!.seq);
    const second = await h.request<{ entries: Entry[] }>(
      'GET',
      `/v1/audit?pageSize=2&pageToken=${first.body.nextPageToken}`,
      {
        token: auditor,
      },
    );
    expect(second.body.entries[0]!.seq).toBeLessThan(first.body.entries[1]!.seq);
  });

  it('detects a changed row and a deleted row', async () => {
    const auditor = (await h.user('auditor', [])).token;
    const row = await h.sql.query<{ target: string }>(`SELECT target FROM audit_log WHERE seq = 3`);
    await h.sql.query(`UPDATE audit_log SET target = 'somebody else' WHERE seq = 3`);
    const changed = await h.request('GET', '/v1/audit:verify', { token: auditor });
    expect(changed.body).toMatchObject({ ok: false, brokenAt: 3 });
    await h.sql.query(`UPDATE audit_log SET target = $1 WHERE seq = 3`, [row.rows[0]!.target]);
    expect((await h.request('GET', '/v1/audit:verify', { token: auditor })).body).toMatchObject({ ok: true });

    await h.sql.query(`DELETE FROM audit_log WHERE seq = 4`);
    const deleted = await h.request('GET', '/v1/audit:verify', { token: auditor });
    expect(deleted.body).toMatchObject({ ok: false, brokenAt: 5 });
  });
});
