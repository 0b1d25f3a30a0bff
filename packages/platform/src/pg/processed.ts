import type { ClientBase, Pool } from 'pg';

/**
 * Exactly-once effects for consumers: call `markProcessed` inside the transaction that applies
 * the event's effect. It returns true the first time a (group, event id) pair is seen and false
 * for a redelivery — then skip the effect and commit. Because the mark and the effect commit
 * together, a crash between them cannot apply the effect twice or lose it.
 */
export async function markProcessed(client: ClientBase, group: string, eventId: string): Promise<boolean> {
  const result = await client.query(
    `INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2)
     ON CONFLICT (consumer_group, event_id) DO NOTHING`,
    [group, eventId],
  );
  return result.rowCount === 1;
}

/**
 * `markProcessed` for a batch in one statement: the ids (of `eventIds`) seen for the first time,
 * for a consumer that applies a batch of events in one transaction. An id repeated within the
 * batch counts once.
 */
export async function markProcessedMany(
  client: ClientBase,
  group: string,
  eventIds: readonly string[],
): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const { rows } = await client.query<{ event_id: string }>(
    `INSERT INTO processed_events (consumer_group, event_id) SELECT DISTINCT $1, unnest($2::text[])
     ON CONFLICT (consumer_group, event_id) DO NOTHING RETURNING event_id`,
    [group, eventIds],
  );
  return new Set(rows.map((row) => row.event_id));
}

/** Deletes marks older than `olderThanMs` (beyond any redelivery window); returns how many. */
export async function pruneProcessed(pool: Pool | ClientBase, olderThanMs: number): Promise<number> {
  const result = await pool.query(
    `DELETE FROM processed_events WHERE processed_at < now() - make_interval(secs => $1::float8 / 1000)`,
    [olderThanMs],
  );
  return result.rowCount ?? 0;
}
