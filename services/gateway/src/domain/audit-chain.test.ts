import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashRow, verifyRows, type AuditEntry, type AuditRow } from './audit-chain.ts';

const entry = (n: number): AuditEntry => ({
  subject: `user:${n}`,
  subjectName: '李四',
  role: 'police',
  scope: 'all',
  action: 'rpc.GetPerson',
  target: `/anfang.identity.v1.IdentityService/GetPerson {"personId":"${n}"}`,
  outcome: 'ok',
  address: '10.0.0.1',
  userAgent: 'test',
  purpose: 'case 42',
  details: { b: 1, a: [2] },
});

function chain(length: number): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const at = new Date(1_700_000_000_000 + seq);
    const hash = hashRow(prev, seq, at, entry(seq));
    rows.push({ ...entry(seq), seq, at, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

describe('audit hash chain', () => {
  it('verifies an intact chain', () => {
    expect(verifyRows({ seq: 0, hash: GENESIS_HASH }, chain(5)).check).toEqual({ ok: true, rows: 5 });
  });

  it('finds a changed, a removed and a re-linked row', () => {
    const changed = chain(5).map((r) => (r.seq === 3 ? { ...r, purpose: 'curiosity' } : r));
    expect(verifyRows({ seq: 0, hash: GENESIS_HASH }, changed).check).toMatchObject({
      ok: false,
      brokenAt: 3,
    });
    const removed = chain(5).filter((r) => r.seq !== 2);
    expect(verifyRows({ seq: 0, hash: GENESIS_HASH }, removed).check).toMatchObject({
      ok: false,
      brokenAt: 3,
    });
    const relinked = chain(5).map((r) => (r.seq === 4 ? { ...r, prevHash: GENESIS_HASH } : r));
    expect(verifyRows({ seq: 0, hash: GENESIS_HASH }, relinked).check).toMatchObject({
      ok: false,
      brokenAt: 4,
    });
  });

  it('does not depend on the key order of details (jsonb reorders keys)', () => {
    const at = new Date();
    expect(hashRow(GENESIS_HASH, 1, at, { ...entry(1), details: { a: [2], b: 1 } })).toBe(
      hashRow(GENESIS_HASH, 1, at, entry(1)),
    );
  });
});
