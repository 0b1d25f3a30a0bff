/**
 * The embedded log's schema, in its own Postgres schema `bus` so it can share a database.
 * Created idempotently under an advisory lock (several processes may start at once).
 *
 * Offsets: `bus.partitions.next_offset` is the per-partition counter. `bus.append` takes the
 * partition rows it writes to with `UPDATE ... RETURNING` (a row lock held until COMMIT), in a
 * fixed order (topic, partition) so concurrent appends cannot deadlock, then inserts the
 * messages. A second writer to the same partition waits for the first to commit or roll back
 * before it gets its offsets, so within a partition offsets become visible strictly in order
 * and without gaps (a rollback returns the counter too): a reader that sees offset N+1 has
 * already been able to see N, and never commits past a message still in flight.
 */
export const BUS_SCHEMA_VERSION = 1;

/** Any constant: the advisory lock key under which the schema is created. */
export const SCHEMA_LOCK_KEY = 0x616e_6275; // 'anbu'
export const SWEEP_LOCK_KEY = 0x616e_6273; // 'anbs'

export const NOTIFY_TOPIC_CHANNEL = 'anfang_bus';
export const NOTIFY_GROUP_CHANNEL = 'anfang_bus_group';

export const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS bus;

CREATE TABLE IF NOT EXISTS bus.schema_version (
  version int PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS bus.topics (
  name text PRIMARY KEY,
  partitions int NOT NULL CHECK (partitions > 0),
  retention_ms bigint NOT NULL,
  compacted boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS bus.partitions (
  topic text NOT NULL REFERENCES bus.topics (name) ON DELETE CASCADE,
  partition int NOT NULL,
  next_offset bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, partition)
);

-- No foreign key: appends stay cheap; bus.append checks the partition exists.
CREATE TABLE IF NOT EXISTS bus.messages (
  topic text NOT NULL,
  partition int NOT NULL,
  "offset" bigint NOT NULL,
  key text NOT NULL,
  value bytea NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  ts bigint NOT NULL,
  PRIMARY KEY (topic, partition, "offset")
);

-- Committed position per (group, topic, partition): the next offset the group reads.
CREATE TABLE IF NOT EXISTS bus.offsets (
  group_id text NOT NULL,
  topic text NOT NULL,
  partition int NOT NULL,
  "offset" bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Live members of a group (one per subscription), kept alive by heartbeats.
CREATE TABLE IF NOT EXISTS bus.members (
  group_id text NOT NULL,
  member_id text NOT NULL,
  topics text[] NOT NULL,
  session_ms int NOT NULL,
  joined_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, member_id)
);

-- Who reads a partition for a group: one member at a time, until the lease expires.
CREATE TABLE IF NOT EXISTS bus.leases (
  group_id text NOT NULL,
  topic text NOT NULL,
  partition int NOT NULL,
  member_id text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, topic, partition)
);
CREATE INDEX IF NOT EXISTS leases_member ON bus.leases (group_id, member_id);

CREATE OR REPLACE FUNCTION bus.append(
  p_topics text[], p_partitions int[], p_keys text[], p_values bytea[], p_headers jsonb, p_ts bigint[]
) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  v_base bigint;
  b_topics text[] := '{}';
  b_partitions int[] := '{}';
  b_bases bigint[] := '{}';
BEGIN
  FOR r IN
    SELECT x.t, x.p, count(*)::bigint AS n
    FROM unnest(p_topics, p_partitions) AS x(t, p)
    GROUP BY x.t, x.p
    ORDER BY x.t, x.p
  LOOP
    UPDATE bus.partitions SET next_offset = next_offset + r.n
    WHERE topic = r.t AND partition = r.p
    RETURNING next_offset - r.n INTO v_base;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'bus: topic % has no partition %', r.t, r.p USING ERRCODE = 'undefined_object';
    END IF;
    b_topics := b_topics || r.t;
    b_partitions := b_partitions || r.p;
    b_bases := b_bases || v_base;
  END LOOP;

  INSERT INTO bus.messages (topic, partition, "offset", key, value, headers, ts)
  SELECT m.t, m.p, b.base + row_number() OVER (PARTITION BY m.t, m.p ORDER BY m.i) - 1,
         m.k, m.v, coalesce(p_headers -> (m.i::int - 1), '{}'::jsonb), m.ts
  FROM unnest(p_topics, p_partitions, p_keys, p_values, p_ts) WITH ORDINALITY AS m(t, p, k, v, ts, i)
  JOIN unnest(b_topics, b_partitions, b_bases) AS b(t, p, base) ON b.t = m.t AND b.p = m.p;

  PERFORM pg_notify('${NOTIFY_TOPIC_CHANNEL}', d.t) FROM (SELECT DISTINCT unnest(p_topics) AS t) AS d;
END
$fn$;

INSERT INTO bus.schema_version (version) VALUES (${BUS_SCHEMA_VERSION}) ON CONFLICT DO NOTHING;
`;
