/**
 * `GET /v1/compounds/{compound_id}/access-records` through the gateway to a real identity: the
 * route comes from the proto annotation, filters and pages bind from the query, names are masked
 * unless the police reveal them with a purpose (audited), and role and scope are enforced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KNOWN_CARD,
  STAFF_NAME,
  recordPass,
  seedAccessSite,
  type AccessSite,
  type RestCall,
} from './access-seed.ts';
import { startHarness, type Harness } from './harness.ts';

interface AccessRecord {
  recordId: string;
  occurredAt: string;
  doorId?: string;
  doorName?: string;
  personId?: string;
  personName?: string;
  decision: string;
  reason: string;
  revealed?: boolean;
}
interface Page {
  records?: AccessRecord[];
  page?: { nextPageToken?: string };
}

let h: Harness;
let site: AccessSite;
let guardA: string;
const allowed: string[] = [];
const denied: string[] = [];

const path = () => `/v1/compounds/${h.compoundA}/access-records`;

beforeAll(async () => {
  h = await startHarness('gateway-access-records', {}, { identity: true });
  const staff = (await h.user('property_staff', [h.compoundA])).token;
  guardA = (await h.user('guard', [h.compoundA])).token;
  const call: RestCall = async (as, method, target, body) => {
    const r = await h.request(method, target, { token: as === 'admin' ? h.adminToken : staff, body });
    if (r.status !== 200) throw new Error(`${method} ${target}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  site = await seedAccessSite(call, h.compoundA);
  for (let i = 0; i < 5; i++) {
    if (i % 2 === 0) allowed.push(await recordPass(call, site, KNOWN_CARD));
    else denied.push(await recordPass(call, site, 'DEAD0000'));
  }
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('access records through the gateway', () => {
  it('pages every record once, newest first, with names masked', async () => {
    const seen: AccessRecord[] = [];
    let token = '';
    do {
      const r = await h.request<Page>(
        'GET',
        `${path()}?page.pageSize=2${token ? `&page.pageToken=${encodeURIComponent(token)}` : ''}`,
        { token: guardA },
      );
      expect(r.status).toBe(200);
      expect(r.body.records!.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.records!);
      token = r.body.page?.nextPageToken ?? '';
    } while (token);
    expect(seen.map((r) => r.recordId).sort()).toEqual([...allowed, ...denied].sort());
    const times = seen.map((r) => Date.parse(r.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const pass = seen.find((r) => r.recordId === allowed[0])!;
    expect(pass).toMatchObject({
      doorId: site.doorId,
      doorName: site.doorName,
      personId: site.personId,
      decision: 'ACCESS_DECISION_ALLOWED',
      reason: 'ACCESS_REASON_GRANTED',
    });
    expect(pass.personName).not.toBe(STAFF_NAME);
    expect(pass.personName).toContain('*');
  });

  it('filters by decision, door and time window from the query', async () => {
    const refused = await h.request<Page>('GET', `${path()}?decision=ACCESS_DECISION_DENIED`, {
      token: guardA,
    });
    expect(refused.body.records!.map((r) => r.recordId).sort()).toEqual([...denied].sort());
    expect(refused.body.records!.every((r) => r.reason === 'ACCESS_REASON_UNKNOWN_CREDENTIAL')).toBe(true);
    const atDoor = await h.request<Page>('GET', `${path()}?doorId=${site.doorId}&personId=${site.personId}`, {
      token: guardA,
    });
    expect(atDoor.body.records!.map((r) => r.recordId).sort()).toEqual([...allowed].sort());
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await h.request<Page>('GET', `${path()}?window.startTime=${future}`, { token: guardA });
    expect([none.status, none.body.records ?? []]).toEqual([200, []]);
    const bad = await h.request('GET', `${path()}?decision=SOMETIMES`, { token: guardA });
    expect(bad.status).toBe(400);
  });

  it('enforces role and scope, and lets an auditor of the compound read masked', async () => {
    const managerB = (await h.user('community_manager', [h.compoundB])).token;
    expect((await h.request('GET', path(), { token: managerB })).status).toBe(403);
    const operator = (await h.user('platform_operator', 'all')).token;
    expect((await h.request('GET', path(), { token: operator })).status).toBe(403);
    const auditor = (await h.user('auditor', [h.compoundA])).token;
    const read = await h.request<Page>('GET', `${path()}?decision=ACCESS_DECISION_ALLOWED`, {
      token: auditor,
    });
    expect(read.status).toBe(200);
    expect(read.body.records!.every((r) => r.personName !== STAFF_NAME && !r.revealed)).toBe(true);
    const reveal = await h.request('GET', `${path()}?reveal=true`, {
      token: auditor,
      headers: { 'x-anfang-purpose': 'audit' },
    });
    expect(reveal.status).toBe(403);
  });

  it('reveals names to the police with a purpose and audits the read', async () => {
    const police = (await h.user('police', [h.compoundA])).token;
    const r = await h.request<Page>('GET', `${path()}?reveal=true&decision=ACCESS_DECISION_ALLOWED`, {
      token: police,
      headers: { 'x-anfang-purpose': encodeURIComponent('案件核查 2026-88') },
    });
    expect(r.status).toBe(200);
    expect(r.body.records![0]).toMatchObject({ personName: STAFF_NAME, revealed: true });
    const auditor = (await h.user('auditor', [])).token;
    const reads = await h.request<{ entries: { role: string; purpose: string; target: string }[] }>(
      'GET',
      '/v1/audit?action=personal-data.read',
      { token: auditor },
    );
    expect(reads.body.entries.map((e) => [e.role, e.purpose])).toContainEqual(['police', '案件核查 2026-88']);
  });
});
