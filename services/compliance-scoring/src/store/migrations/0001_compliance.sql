-- Compounds of the district and what they must reach.
CREATE TABLE compounds (
  compound_id text PRIMARY KEY,
  name text NOT NULL,
  town_street text NOT NULL,
  neighbourhood_committee text NOT NULL DEFAULT '',
  standard_address text NOT NULL DEFAULT '',
  category text NOT NULL,
  programme_group text NOT NULL,
  buildings_count integer NOT NULL DEFAULT 0,
  units_count integer NOT NULL DEFAULT 0,
  building_codes text[] NOT NULL DEFAULT '{}',
  target_level text NOT NULL DEFAULT 'compliant',
  construction_status text NOT NULL DEFAULT 'planned',
  construction_started_on date,
  construction_completed_on date,
  visual_platform_enabled boolean NOT NULL DEFAULT false,
  revision bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX compounds_town ON compounds (town_street);

-- Device evidence, from the registry and status topics. Kept for devices of compounds not (yet)
-- registered here, so registering the compound later scores it from what is already known.
CREATE TABLE devices (
  device_id text PRIMARY KEY,
  compound_id text NOT NULL DEFAULT '',
  module integer NOT NULL DEFAULT 0,
  building_code text NOT NULL DEFAULT '',
  active boolean NOT NULL DEFAULT false,
  -- Registry revision of the state held; older registry messages are ignored.
  registry_revision bigint NOT NULL DEFAULT 0,
  online boolean NOT NULL DEFAULT false,
  -- Time of the status transition held; older transitions are ignored.
  status_at timestamptz
);
CREATE INDEX devices_compound ON devices (compound_id);

-- The latest upload-health report per compound and upper platform.
CREATE TABLE upload_health (
  compound_id text NOT NULL,
  platform_id text NOT NULL,
  real_time boolean NOT NULL,
  reported_at timestamptz NOT NULL,
  PRIMARY KEY (compound_id, platform_id)
);

-- The current score of each compound.
CREATE TABLE scores (
  compound_id text PRIMARY KEY REFERENCES compounds (compound_id) ON DELETE CASCADE,
  level text NOT NULL,
  table_id text NOT NULL,
  table_version text NOT NULL,
  uploading_real_time boolean NOT NULL,
  score jsonb NOT NULL,
  computed_at timestamptz NOT NULL
);

-- Every level change.
CREATE TABLE score_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  compound_id text NOT NULL REFERENCES compounds (compound_id) ON DELETE CASCADE,
  previous_level text,
  level text NOT NULL,
  table_id text NOT NULL,
  table_version text NOT NULL,
  missing_for_next_level jsonb NOT NULL,
  trigger_event_id text NOT NULL DEFAULT '',
  changed_at timestamptz NOT NULL
);
CREATE INDEX score_history_compound ON score_history (compound_id, id DESC);
