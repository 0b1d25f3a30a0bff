import { describe, expect, it } from 'vitest';
import type { Finding } from './round.ts';
import { evidenceFingerprint, reconcileViolations, type StoredViolation } from './violations.ts';

const finding = (key: string, deviationSeconds = 0): Finding => ({
  key,
  kind: 'late',
  severity: 'low',
  checkpointId: 'B',
  expectedSequence: 2,
  actualSequence: 2,
  expectedAt: new Date('2026-11-28T22:10:00Z'),
  actualAt: new Date('2026-11-28T22:15:00Z'),
  deviationSeconds,
  checkInEventIds: ['e1'],
  detail: 'late',
});

const stored = (key: string, status: 'raised' | 'withdrawn', from: Finding): StoredViolation => ({
  violationId: `v-${key}`,
  key,
  status,
  fingerprint: evidenceFingerprint(from),
});

describe('reconcileViolations', () => {
  it('raises new findings and leaves unchanged ones alone', () => {
    const same = finding('late:2', 300);
    const changes = reconcileViolations([stored('late:2', 'raised', same)], [same, finding('early:3')]);
    expect(changes.map((c) => [c.action, c.action === 'withdraw' ? c.existing.key : c.finding.key])).toEqual([
      ['raise', 'early:3'],
    ]);
  });

  it('updates a raised violation whose evidence changed', () => {
    const changes = reconcileViolations(
      [stored('late:2', 'raised', finding('late:2', 300))],
      [finding('late:2', 420)],
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]!.action).toBe('update');
  });

  it('withdraws raised violations that no longer stand, never withdrawn ones again', () => {
    const changes = reconcileViolations(
      [stored('missed_checkpoint:2', 'raised', finding('x')), stored('late:3', 'withdrawn', finding('y'))],
      [],
    );
    expect(changes.map((c) => c.action === 'withdraw' && c.existing.key)).toEqual(['missed_checkpoint:2']);
  });

  it('raises a withdrawn violation again, keeping its id', () => {
    const again = finding('late:2', 300);
    const changes = reconcileViolations([stored('late:2', 'withdrawn', again)], [again]);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ action: 'raise', existing: { violationId: 'v-late:2' } });
  });
});
