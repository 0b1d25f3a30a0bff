/**
 * The audit log in the gateway's Postgres: append (under a transaction-scoped advisory lock,
 * so the chain stays one line across replicas), search, verify, and prune past the retention.
 */
import { withTransaction, type Pool } from '@anfang/platform/pg';
import {
  GENESIS_HASH,
  hashRow,
  verifyRows,
  type AuditEntry,
  type AuditRow,
  type ChainCheck,
} from '../domain/audit-chain.ts';

const CHAIN_LOCK = 0x6761_7564; // 'gaud'
const VERIFY_PAGE = 5000;

interface Row {
  seq: string;
  at: Date;
  subject: string;
  subject_name: string;
  role: string;
  scope: string;
  action: string;
  target: string;
  outcome: string;
  address: string;
  user_agent: string;
  purpose: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function fromRow(r: Row): AuditRow {
  return {
    seq: Number(r.seq),
    at: r.at,
    subject: r.subject,
    subjectName: r.subject_name,
    role: r.role,
    scope: r.scope,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    address: r.address,
    userAgent: r.user_agent,
    purpose: r.purpose,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface AuditSearch {
  readonly subject?: string;
  readonly action?: string;
  readonly from?: Date;
  readonly to?: Date;
  /** Rows with a smaller seq than this (newest first paging). */
  readonly beforeSeq?: number;
  readonly limit: number;
}

export interface AuditStore {
  append(entry: AuditEntry): Promise<AuditRow>;
  search(query: AuditSearch): Promise<AuditRow[]>;
  verify(): Promise<ChainCheck>;
  /** Deletes rows older than the retention, keeping the chain verifiable from the new anchor. */
  prune(retentionDays: number): Promise<number>;
}

export function createAuditStore(pool: Pool, options: { now?: () => Date } = {}): AuditStore {
  const now = options.now ?? (() => new Date());
  return {
    append: (entry) =>
      withTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
        const head = await client.query<{ seq: string; hash: string }>(
          `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`,
        );
        const anchor = head.rows[0]
          ? head.rows[0]
          : ((await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_anchor'))
              .rows[0] ?? {
              seq: '0',
              hash: GENESIS_HASH,
            });
        const seq = Number(anchor.seq) + 1;
        const at = now();
        const hash = hashRow(anchor.hash, seq, at, entry);
        await client.query(
          `INSERT INTO audit_log (seq, at, subject, subject_name, role, scope, action, target, outcome,
             address, user_agent, purpose, details, prev_hash, hash)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
          [
            seq,
            at,
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
            JSON.stringify(entry.details),
            anchor.hash,
            hash,
          ],
        );
        return { ...entry, seq, at, prevHash: anchor.hash, hash };
      }),

    async search(query) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (query.subject) add('subject = ?', query.subject);
      if (query.action) add('action LIKE ?', `${query.action.replace(/[\\%_]/g, '\\$&')}%`);
      if (query.from) add('at >= ?', query.from);
      if (query.to) add('at < ?', query.to);
      if (query.beforeSeq !== undefined) add('seq < ?', query.beforeSeq);
      params.push(query.limit);
      const result = await pool.query<Row>(
        `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY seq DESC LIMIT $${params.length}`,
        params,
      );
      return result.rows.map(fromRow);
    },

    async verify() {
      const anchorRow = (
        await pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_anchor')
      ).rows[0];
      let last = anchorRow
        ? { seq: Number(anchorRow.seq), hash: anchorRow.hash }
        : { seq: 0, hash: GENESIS_HASH };
      let total = 0;
      for (;;) {
        const page = await pool.query<Row>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [
          last.seq,
          VERIFY_PAGE,
        ]);
        if (page.rows.length === 0) return { ok: true, rows: total };
        const result = verifyRows(last, page.rows.map(fromRow));
        if (!result.check.ok) return { ...result.check, rows: total };
        total += result.check.rows;
        last = result.last;
      }
    },

    prune: (retentionDays) =>
      withTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
        const last = await client.query<{ seq: string; hash: string }>(
          `SELECT seq, hash FROM audit_log WHERE at < $2::timestamptz - make_interval(days => $1)
           ORDER BY seq DESC LIMIT 1`,
          [retentionDays, now()],
        );
        const anchor = last.rows[0];
        if (!anchor) return 0;
        const deleted = await client.query('DELETE FROM audit_log WHERE seq <= $1', [anchor.seq]);
        await client.query(
          `INSERT INTO audit_anchor (id, seq, hash) VALUES (true, $1, $2)
           ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
          [anchor.seq, anchor.hash],
        );
        return deleted.rowCount ?? 0;
      }),
  };
}
