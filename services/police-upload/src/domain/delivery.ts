/**
 * What a platform's answer to a batch means for each object (pure): accepted, rejected as
 * invalid content (to the dead-letter table with the reason — re-sending the same bytes cannot
 * succeed), or to be retried. An object the answer does not mention is retried: nothing is
 * assumed delivered without the receiver saying so.
 */
import { isContentRejection, STATUS, type ParsedStatus } from '@anfang/gat1400';

export type Verdict =
  | { readonly outcome: 'accepted'; readonly code: string; readonly text: string }
  | { readonly outcome: 'rejected'; readonly code: string; readonly text: string }
  | { readonly outcome: 'retry'; readonly code: string; readonly text: string };

export function verdicts(objectIds: readonly string[], statuses: readonly ParsedStatus[]): Verdict[] {
  const byId = new Map(statuses.map((s) => [s.id, s]));
  return objectIds.map((id) => {
    const s = byId.get(id);
    if (!s) return { outcome: 'retry', code: '', text: 'no status for this object in the answer' };
    const code = String(s.code);
    if (s.code === STATUS.OK) return { outcome: 'accepted', code, text: s.text };
    if (isContentRejection(s.code)) return { outcome: 'rejected', code, text: s.text || 'invalid content' };
    return { outcome: 'retry', code, text: s.text };
  });
}

/** Exponential back-off with full jitter's upper half: base·2^(attempt-1), capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
