/**
 * Day partitions of media_index (UTC days): created on demand before a write needs them, listed
 * for expiry, dropped once empty and past every retention. Replicas serialise creation on an
 * advisory lock; a name cache spares the catalogue a query per write.
 */
import { withTransaction, type Pool } from '@anfang/platform/pg';

const DAY_MS = 86_400_000;
/** Advisory lock key of partition DDL ('vidx' in ASCII). */
const PARTITION_LOCK = 0x76696478;

export interface DayPartition {
  readonly name: string;
  readonly from: Date;
  readonly to: Date;
}

export const dayStart = (at: Date): Date => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

export function partitionName(day: Date): string {
  return `media_index_${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function fromName(name: string): DayPartition | undefined {
  const m = /^media_index_(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return undefined;
  const from = new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`);
  return { name, from, to: new Date(from.getTime() + DAY_MS) };
}

export interface Partitions {
  /** Makes sure every day of these times has its partition. */
  ensure(times: Iterable<Date>): Promise<void>;
  list(): Promise<DayPartition[]>;
  /** Drops the partitions that end at or before `before` and hold no row; returns their names. */
  dropEmpty(before: Date): Promise<string[]>;
}

export function createPartitions(pool: Pool): Partitions {
  const known = new Set<string>();

  const list = async (): Promise<DayPartition[]> => {
    const { rows } = await pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'media_index'::regclass ORDER BY c.relname`,
    );
    return rows.flatMap((r) => fromName(r.name) ?? []);
  };

  return {
    async ensure(times) {
      const missing = new Map<string, Date>();
      for (const at of times) {
        const day = dayStart(at);
        const name = partitionName(day);
        if (!known.has(name)) missing.set(name, day);
      }
      if (missing.size === 0) return;
      await withTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
        for (const [name, day] of missing) {
          const to = new Date(day.getTime() + DAY_MS);
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF media_index
             FOR VALUES FROM ('${day.toISOString()}') TO ('${to.toISOString()}')`,
          );
        }
      });
      for (const name of missing.keys()) known.add(name);
    },

    list,

    async dropEmpty(before) {
      const dropped: string[] = [];
      for (const p of await list()) {
        if (p.to.getTime() > before.getTime()) continue;
        await withTransaction(pool, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
          const { rows } = await client.query(`SELECT 1 FROM ${p.name} LIMIT 1`);
          if (rows.length > 0) return;
          await client.query(`DROP TABLE IF EXISTS ${p.name}`);
          dropped.push(p.name);
        });
        known.delete(p.name);
      }
      return dropped;
    },
  };
}
