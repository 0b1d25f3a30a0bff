/**
 * Personal data through the gateway and a real identity: masked for everyone by default,
 * unmasked only for the roles that may ask, with a purpose, and every unmasked read audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let manager: string;
let personId: string;
const ID = '370303199001011239';

beforeAll(async () => {
  h = await startHarness('gateway-masking', {}, { identity: true });
  manager = (await h.user('community_manager', [h.compoundA])).token;
  const created = await h.request<{ person: { personId: string } }>('POST', '/v1/persons', {
    token: manager,
    body: {
      compoundId: h.compoundA,
      name: '张三丰',
      idNumber: ID,
      phone: '13812345678',
      kind: 'PERSON_KIND_FLOATING',
      permitValidFrom: '2026-01-01T00:00:00Z',
      permitValidTo: '2027-01-01T00:00:00Z',
    },
  });
  expect([created.status, created.body]).toEqual([200, expect.anything()]);
  personId = created.body.person.personId;
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('masking', () => {
  it('shows names, ID numbers and phones masked by default', async () => {
    const guard = (await h.user('guard', [h.compoundA])).token;
    const r = await h.request<{ person: Record<string, unknown> }>('GET', `/v1/persons/${personId}`, {
      token: guard,
    });
    expect(r.status).toBe(200);
    expect(r.body.person).toMatchObject({
      name: '张**',
      idNumber: '370***********1239',
      phone: '138****5678',
    });
    expect(JSON.stringify(r.body)).not.toContain(ID);
  });

  it('refuses reveal to a role that has no need, and without a purpose', async () => {
    const guard = (await h.user('guard', [h.compoundA])).token;
    const byGuard = await h.request('GET', `/v1/persons/${personId}?reveal=true`, {
      token: guard,
      headers: { 'x-anfang-purpose': 'curiosity' },
    });
    expect(byGuard.status).toBe(403);
    expect(byGuard.body).toMatchObject({ code: 'REVEAL_NOT_ALLOWED' });
    const noPurpose = await h.request('GET', `/v1/persons/${personId}?reveal=true`, { token: manager });
    expect(noPurpose.status).toBe(400);
  });

  it('reveals to a community manager with a purpose and to the police, and audits each read', async () => {
    const revealed = await h.request<{ person: Record<string, unknown> }>(
      'GET',
      `/v1/persons/${personId}?reveal=true`,
      {
        token: manager,
        headers: { 'x-anfang-purpose': encodeURIComponent('核查流动人口登记') },
      },
    );
    expect(revealed.status).toBe(200);
    expect(revealed.body.person).toMatchObject({
      name: '张三丰',
      idNumber: ID,
      phone: '13812345678',
      revealed: true,
    });
    const police = (await h.user('police', 'all')).token;
    const byPolice = await h.request<{ person: Record<string, unknown> }>(
      'GET',
      `/v1/persons/${personId}?reveal=true`,
      {
        token: police,
        headers: { 'x-anfang-purpose': 'case 2026-117' },
      },
    );
    expect(byPolice.body.person).toMatchObject({ idNumber: ID });

    const auditor = (await h.user('auditor', [])).token;
    const reads = await h.request<{ entries: { role: string; purpose: string; target: string }[] }>(
      'GET',
      '/v1/audit?action=personal-data.read',
      { token: auditor },
    );
    expect(reads.body.entries.map((e) => [e.role, e.purpose])).toEqual(
      expect.arrayContaining([
        ['community_manager', '核查流动人口登记'],
        ['police', 'case 2026-117'],
      ]),
    );
    expect(reads.body.entries.every((e) => e.target.includes(personId))).toBe(true);
  });
});
