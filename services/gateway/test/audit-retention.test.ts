/**
 * Audit retention against the gateway's real Postgres: rows past the retention are pruned,
 * younger ones kept, and the hash chain still verifies from the anchor the pruning leaves — while
 * a row removed after the anchor is still found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../src/domain/audit-chain.ts';
import { createAuditStore } from '../src/store/audit.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('gateway-audit-retention');
}, 90_000);

afterAll(async () => {
  await h?.close();
});

const DAY = 86_400_000;

function entry(target: string): AuditEntry {
  return {
    subject: 'u-retention',
    subjectName: '测试',
    role: 'community_manager',
    scope: '370303001001001',
    action: 'http.post /v1/alarm/zones',
    target,
    outcome: 'ok',
    address: '127.0.0.1',
    userAgent: 'test',
    purpose: '',
    details: {},
  };
}

describe('audit retention', () => {
  it('prunes rows older than the retention only, and the chain verifies from the anchor', async () => {
    // Start from an empty log so the aged rows below come first, as they would have.
    await h.sql.query('TRUNCATE audit_log');
    await h.sql.query('DELETE FROM audit_anchor');
    for (const [target, age] of [
      ['aged-200', 200],
      ['aged-181', 181],
      ['aged-179', 179],
    ] as const)
      await createAuditStore(h.sql, { now: () => new Date(Date.now() - age * DAY) }).append(entry(target));
    const auditor = (await h.user('auditor', [])).token;
    const verify = () =>
      h.request<{ ok: boolean; brokenAt?: number }>('GET', '/v1/audit:verify', { token: auditor });
    expect((await verify()).body).toMatchObject({ ok: true });

    expect(await createAuditStore(h.sql).prune(180)).toBe(2);
    const targets = (
      await h.sql.query<{ target: string }>('SELECT target FROM audit_log ORDER BY seq')
    ).rows.map((r) => r.target);
    expect(targets[0]).toBe('aged-179');
    expect(targets).not.toContain('aged-181');
    expect((await verify()).body).toMatchObject({ ok: true });
    // Pruning again finds nothing more; the chain goes on from the anchor.
    expect(await createAuditStore(h.sql).prune(180)).toBe(0);
    expect((await verify()).body).toMatchObject({ ok: true });

    // The anchor is not a free pass: removing the oldest kept row is found.
    await h.sql.query(`DELETE FROM audit_log WHERE target = 'aged-179'`);
    expect((await verify()).body).toMatchObject({ ok: false });
  });
});
