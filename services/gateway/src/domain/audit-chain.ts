/**
 * The audit log's hash chain: each row's hash is SHA-256 over the previous row's hash and the
 * row's content in a fixed, unambiguous encoding (JSON of an array in column order), so that
 * changing, inserting or deleting a row breaks every hash after it.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  readonly subject: string;
  readonly subjectName: string;
  readonly role: string;
  readonly scope: string;
  /** `http.post /v1/alarm/alarms/{alarm_id}:acknowledge`, `auth.login`, `personal-data.read`… */
  readonly action: string;
  /** The RPC or resource acted on, with its ids. */
  readonly target: string;
  /** `ok`, or the status/reason of the refusal or failure. */
  readonly outcome: string;
  readonly address: string;
  readonly userAgent: string;
  readonly purpose: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface AuditRow extends AuditEntry {
  readonly seq: number;
  readonly at: Date;
  readonly prevHash: string;
  readonly hash: string;
}

export function hashRow(prevHash: string, seq: number, at: Date, entry: AuditEntry): string {
  const content = JSON.stringify([
    seq,
    at.toISOString(),
    entry.subject,
    entry.subjectName,
    entry.role,
    entry.scope,
    entry.action,
    entry.target,
    entry.outcome,
    entry.address,
    entry.userAgent,
    entry.purpose,
    canonical(entry.details),
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

/** JSON with sorted keys, so that jsonb's own key order does not change the hash. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  return value;
}

export interface ChainCheck {
  readonly ok: boolean;
  readonly rows: number;
  /** The first row whose hash or link does not match. */
  readonly brokenAt?: number;
  readonly reason?: string;
}

/**
 * Checks a run of consecutive rows starting after `anchor` (the genesis, or the last pruned row).
 * Returns the state to continue from, so that a long log is verified page by page.
 */
export function verifyRows(
  anchor: { seq: number; hash: string },
  rows: readonly AuditRow[],
): { check: ChainCheck; last: { seq: number; hash: string } } {
  let last = anchor;
  for (const row of rows) {
    if (row.seq !== last.seq + 1)
      return {
        check: { ok: false, rows: 0, brokenAt: row.seq, reason: `row ${last.seq + 1} is missing` },
        last,
      };
    if (row.prevHash !== last.hash)
      return {
        check: { ok: false, rows: 0, brokenAt: row.seq, reason: 'link to the previous row broken' },
        last,
      };
    if (hashRow(row.prevHash, row.seq, row.at, row) !== row.hash)
      return {
        check: { ok: false, rows: 0, brokenAt: row.seq, reason: 'row content does not match its hash' },
        last,
      };
    last = { seq: row.seq, hash: row.hash };
  }
  return { check: { ok: true, rows: rows.length }, last };
}
