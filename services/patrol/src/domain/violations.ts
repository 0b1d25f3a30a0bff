/**
 * What a new evaluation changes in the stored violations: raise what is new (or raised again),
 * re-publish what stands with other evidence, withdraw what no longer stands. A violation is the
 * same one across evaluations when its key is, so a late-arriving check-in withdraws the missed
 * checkpoint it disproves instead of leaving it beside a new "late" one.
 */
import type { Finding } from './round.ts';

export interface StoredViolation {
  readonly violationId: string;
  readonly key: string;
  readonly status: 'raised' | 'withdrawn';
  /** `evidenceFingerprint` of the finding it was last raised or updated with. */
  readonly fingerprint: string;
}

export type ViolationChange =
  | { readonly action: 'raise'; readonly finding: Finding; readonly existing: StoredViolation | undefined }
  | { readonly action: 'update'; readonly finding: Finding; readonly existing: StoredViolation }
  | { readonly action: 'withdraw'; readonly existing: StoredViolation };

export function evidenceFingerprint(finding: Finding): string {
  return JSON.stringify([
    finding.severity,
    finding.checkpointId,
    finding.expectedSequence,
    finding.actualSequence,
    finding.expectedAt?.getTime() ?? null,
    finding.actualAt?.getTime() ?? null,
    finding.deviationSeconds,
    finding.checkInEventIds,
    finding.detail,
  ]);
}

export function reconcileViolations(
  stored: readonly StoredViolation[],
  findings: readonly Finding[],
): ViolationChange[] {
  const byKey = new Map(stored.map((violation) => [violation.key, violation]));
  const changes: ViolationChange[] = [];
  const standing = new Set<string>();
  for (const finding of findings) {
    standing.add(finding.key);
    const existing = byKey.get(finding.key);
    if (!existing || existing.status === 'withdrawn') changes.push({ action: 'raise', finding, existing });
    else if (existing.fingerprint !== evidenceFingerprint(finding))
      changes.push({ action: 'update', finding, existing });
  }
  for (const existing of stored)
    if (existing.status === 'raised' && !standing.has(existing.key))
      changes.push({ action: 'withdraw', existing });
  return changes;
}
