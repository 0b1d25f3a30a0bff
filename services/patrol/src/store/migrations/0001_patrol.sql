-- Planning: checkpoints, guards, routes, recurring schedules.
CREATE TABLE checkpoints (
  checkpoint_id uuid PRIMARY KEY,
  compound_id text NOT NULL,
  name text NOT NULL,
  zone_id text NOT NULL DEFAULT '',
  device_id text,
  tag_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT checkpoint_reader_or_tag CHECK ((device_id IS NULL) <> (tag_id IS NULL))
);
-- A check-in names only the reader or the tag, so each must identify one checkpoint.
CREATE UNIQUE INDEX checkpoints_device ON checkpoints (device_id) WHERE device_id IS NOT NULL;
CREATE UNIQUE INDEX checkpoints_tag ON checkpoints (tag_id) WHERE tag_id IS NOT NULL;
CREATE INDEX checkpoints_compound ON checkpoints (compound_id, name);

CREATE TABLE guards (
  guard_id uuid PRIMARY KEY,
  compound_id text NOT NULL,
  name text NOT NULL,
  tag_id text,
  user_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT guard_identifiable CHECK (tag_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE UNIQUE INDEX guards_tag ON guards (compound_id, tag_id) WHERE tag_id IS NOT NULL;
CREATE UNIQUE INDEX guards_user ON guards (compound_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX guards_compound ON guards (compound_id, name);

CREATE TABLE routes (
  route_id uuid PRIMARY KEY,
  compound_id text NOT NULL,
  name text NOT NULL,
  -- [{checkpointId, minutesFromPrevious, toleranceMinutes, stayMinutes}] in walking order
  stops jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routes_compound ON routes (compound_id, name);

CREATE TABLE schedules (
  schedule_id uuid PRIMARY KEY,
  compound_id text NOT NULL,
  route_id uuid NOT NULL REFERENCES routes,
  guard_id uuid NOT NULL REFERENCES guards,
  shift_name text NOT NULL DEFAULT '',
  weekdays smallint[] NOT NULL,
  start_minute integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
  utc_offset_minutes integer NOT NULL,
  valid_from date NOT NULL,
  valid_until date,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_compound ON schedules (compound_id, created_at);

-- Rounds keep a copy of the route's stops as planned, so reports on past rounds do not change
-- when a route is edited.
CREATE TABLE rounds (
  round_id uuid PRIMARY KEY,
  schedule_id uuid NOT NULL REFERENCES schedules,
  route_id uuid NOT NULL,
  guard_id uuid NOT NULL,
  compound_id text NOT NULL,
  shift_name text NOT NULL,
  planned_start timestamptz NOT NULL,
  planned_end timestamptz NOT NULL,
  plan jsonb NOT NULL,
  status text NOT NULL DEFAULT 'scheduled',
  closed_at timestamptz,
  -- The last evaluation: StopResult[] and the counts reports aggregate.
  stop_results jsonb NOT NULL DEFAULT '[]',
  stops_total integer NOT NULL,
  stops_checked integer NOT NULL DEFAULT 0,
  stops_on_time integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (schedule_id, planned_start)
);
CREATE INDEX rounds_compound ON rounds (compound_id, planned_start DESC, round_id DESC);
CREATE INDEX rounds_guard ON rounds (guard_id, planned_start);
CREATE INDEX rounds_open ON rounds (planned_end) WHERE closed_at IS NULL;

-- Every check-in consumed, once (event id), attributed or not.
CREATE TABLE check_ins (
  event_id text PRIMARY KEY,
  compound_id text NOT NULL,
  device_id text NOT NULL,
  method smallint NOT NULL,
  checkpoint_tag_id text NOT NULL,
  guard_tag_id text NOT NULL,
  guard_user_id text NOT NULL,
  checkpoint_id uuid,
  guard_id uuid,
  round_id uuid REFERENCES rounds,
  -- 'checkpoint' or 'guard' when the reader/tag or the guard is not known; NULL otherwise
  unknown text,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX check_ins_round ON check_ins (round_id, occurred_at) WHERE round_id IS NOT NULL;
CREATE INDEX check_ins_unattributed ON check_ins (guard_id, occurred_at) WHERE round_id IS NULL;
CREATE INDEX check_ins_unknown ON check_ins (compound_id, occurred_at) WHERE unknown IS NOT NULL;

CREATE TABLE violations (
  violation_id uuid PRIMARY KEY,
  -- round id + finding key, or the check-in's event id for an unknown guard or tag
  violation_key text NOT NULL UNIQUE,
  compound_id text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  severity text NOT NULL,
  round_id uuid REFERENCES rounds,
  route_id uuid,
  guard_id uuid,
  checkpoint_id uuid,
  expected_sequence integer NOT NULL DEFAULT 0,
  actual_sequence integer NOT NULL DEFAULT 0,
  expected_at timestamptz,
  actual_at timestamptz,
  deviation_seconds integer NOT NULL DEFAULT 0,
  check_in_event_ids text[] NOT NULL DEFAULT '{}',
  detail text NOT NULL,
  fingerprint text NOT NULL,
  raised_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX violations_round ON violations (round_id) WHERE round_id IS NOT NULL;
CREATE INDEX violations_compound ON violations (compound_id, raised_at DESC, violation_id DESC);
