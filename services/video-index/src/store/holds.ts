/**
 * Legal holds: one per open alarm (perimeter-alarms' image-hold events) and one per police case
 * request. An image is held while any hold naming its key is open; expiry skips it.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool, type PoolClient } from '@anfang/platform/pg';

export interface Hold {
  readonly holdId: string;
  readonly compoundId: string;
  readonly alarmId: string;
  readonly caseId: string;
  readonly reason: string;
  readonly placedBy: string;
  readonly placedAt: Date;
  readonly releasedAt: Date | undefined;
  readonly releasedBy: string;
  readonly objectKeys: readonly string[];
}

export interface HoldStore {
  /** An alarm's hold gains these keys (placed on the first). A hold after the release (older news) is ignored. */
  holdForAlarm(input: {
    alarmId: string;
    compoundId: string;
    objectKeys: readonly string[];
    at: Date;
    by: string;
  }): Promise<void>;
  /** Releases the alarm's hold (a release of an unknown alarm is remembered, so a late hold stays released). */
  releaseForAlarm(input: {
    alarmId: string;
    compoundId: string;
    objectKeys: readonly string[];
    at: Date;
    by: string;
  }): Promise<void>;
  placeCaseHold(input: {
    compoundId: string;
    caseId: string;
    reason: string;
    placedBy: string;
    objectKeys: readonly string[];
  }): Promise<Hold>;
  release(holdId: string, by: string, reason: string): Promise<Hold | undefined>;
  get(holdId: string): Promise<Hold | undefined>;
  list(compoundId: string, includeReleased: boolean): Promise<Hold[]>;
  /** Which of these keys an open hold keeps. */
  heldKeys(objectKeys: readonly string[]): Promise<Set<string>>;
}

interface HoldRow {
  hold_id: string;
  compound_id: string;
  alarm_id: string | null;
  case_id: string;
  reason: string;
  placed_by: string;
  placed_at: Date;
  released_at: Date | null;
  released_by: string;
  object_keys: string[] | null;
}

const toHold = (r: HoldRow): Hold => ({
  holdId: r.hold_id,
  compoundId: r.compound_id,
  alarmId: r.alarm_id ?? '',
  caseId: r.case_id,
  reason: r.reason,
  placedBy: r.placed_by,
  placedAt: r.placed_at,
  releasedAt: r.released_at ?? undefined,
  releasedBy: r.released_by,
  objectKeys: r.object_keys ?? [],
});

const SELECT = `SELECT h.*, (SELECT array_agg(object_key ORDER BY object_key) FROM held_objects o
                             WHERE o.hold_id = h.hold_id) AS object_keys FROM holds h`;

export function createHoldStore(pool: Pool): HoldStore {
  const get = async (holdId: string) => {
    const { rows } = await pool.query<HoldRow>(`${SELECT} WHERE h.hold_id = $1`, [holdId]);
    return rows[0] ? toHold(rows[0]) : undefined;
  };

  /** The alarm's hold row, created when missing; returns its id and release time. */
  const alarmHold = async (
    client: PoolClient,
    input: { alarmId: string; compoundId: string; at: Date; by: string },
  ) => {
    await client.query(
      `INSERT INTO holds (hold_id, compound_id, alarm_id, reason, placed_by, placed_at)
       VALUES ($1, $2, $3, 'open alarm', $4, $5) ON CONFLICT (alarm_id) DO NOTHING`,
      [randomUUID(), input.compoundId, input.alarmId, input.by, input.at],
    );
    const { rows } = await client.query<{ hold_id: string; released_at: Date | null }>(
      'SELECT hold_id, released_at FROM holds WHERE alarm_id = $1 FOR UPDATE',
      [input.alarmId],
    );
    return rows[0]!;
  };

  const addKeys = async (client: PoolClient, holdId: string, keys: readonly string[]) => {
    if (keys.length === 0) return;
    await client.query(
      `INSERT INTO held_objects (hold_id, object_key) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
      [holdId, [...new Set(keys)]],
    );
  };

  return {
    async holdForAlarm(input) {
      await withTransaction(pool, async (client) => {
        const hold = await alarmHold(client, input);
        // The release already came (alarm resolved): the keys are recorded, the hold stays lifted.
        await addKeys(client, hold.hold_id, input.objectKeys);
      });
    },

    async releaseForAlarm(input) {
      await withTransaction(pool, async (client) => {
        const hold = await alarmHold(client, input);
        await addKeys(client, hold.hold_id, input.objectKeys);
        if (!hold.released_at)
          await client.query(
            `UPDATE holds SET released_at = $2, released_by = $3, release_reason = 'alarm resolved' WHERE hold_id = $1`,
            [hold.hold_id, input.at, input.by],
          );
      });
    },

    async placeCaseHold(input) {
      const holdId = randomUUID();
      await withTransaction(pool, async (client) => {
        await client.query(
          `INSERT INTO holds (hold_id, compound_id, case_id, reason, placed_by, placed_at)
           VALUES ($1, $2, $3, $4, $5, now())`,
          [holdId, input.compoundId, input.caseId, input.reason, input.placedBy],
        );
        await addKeys(client, holdId, input.objectKeys);
      });
      return (await get(holdId))!;
    },

    async release(holdId, by, reason) {
      await pool.query(
        `UPDATE holds SET released_at = now(), released_by = $2, release_reason = $3
         WHERE hold_id = $1 AND released_at IS NULL`,
        [holdId, by, reason],
      );
      return get(holdId);
    },

    get,

    async list(compoundId, includeReleased) {
      const { rows } = await pool.query<HoldRow>(
        `${SELECT} WHERE h.compound_id = $1 AND ($2 OR h.released_at IS NULL)
         ORDER BY h.released_at IS NOT NULL, h.placed_at DESC LIMIT 1000`,
        [compoundId, includeReleased],
      );
      return rows.map(toHold);
    },

    async heldKeys(objectKeys) {
      if (objectKeys.length === 0) return new Set();
      const { rows } = await pool.query<{ object_key: string }>(
        `SELECT DISTINCT o.object_key FROM held_objects o JOIN holds h USING (hold_id)
         WHERE o.object_key = ANY($1::text[]) AND h.released_at IS NULL`,
        [objectKeys],
      );
      return new Set(rows.map((r) => r.object_key));
    },
  };
}
