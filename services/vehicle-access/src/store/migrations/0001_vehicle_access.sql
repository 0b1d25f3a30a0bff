-- Registered vehicles. plate_key is the confusion-tolerant lookup key (plate.ts): the barrier
-- decision looks vehicles up by (compound, key) on every read.
CREATE TABLE vehicles (
  vehicle_id uuid PRIMARY KEY,
  compound_id text NOT NULL,
  plate_number text NOT NULL,
  plate_key text NOT NULL,
  plate_confusable boolean NOT NULL DEFAULT false,
  plate_color smallint NOT NULL DEFAULT 0,
  vehicle_type smallint NOT NULL DEFAULT 0,
  vehicle_color smallint NOT NULL DEFAULT 0,
  owner_person_id text NOT NULL DEFAULT '',
  parking_space text NOT NULL DEFAULT '',
  valid_from timestamptz,
  valid_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vehicles_compound_plate ON vehicles (compound_id, plate_key);

CREATE TABLE visitor_authorisations (
  authorisation_id uuid PRIMARY KEY,
  compound_id text NOT NULL,
  plate_number text NOT NULL,
  plate_key text NOT NULL,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  authorised_by text NOT NULL,
  authorised_by_role text NOT NULL,
  host_person_id text NOT NULL DEFAULT '',
  -- Personal data: encrypted with the platform cipher (aad names the row), masked on output.
  visitor_phone_enc text,
  note text NOT NULL DEFAULT '',
  -- Millisecond precision: page tokens carry JavaScript times.
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  revoked_at timestamptz,
  CHECK (window_start < window_end)
);
CREATE INDEX visitor_authorisations_lookup ON visitor_authorisations (compound_id, plate_key, window_end)
  WHERE revoked_at IS NULL;
CREATE INDEX visitor_authorisations_compound ON visitor_authorisations (compound_id, created_at DESC);

CREATE TABLE watchlist_entries (
  entry_id uuid PRIMARY KEY,
  plate_number text NOT NULL,
  plate_key text NOT NULL,
  plate_color smallint NOT NULL DEFAULT 0,
  reason text NOT NULL,
  priority smallint NOT NULL,
  valid_from timestamptz,
  valid_until timestamptz,
  action smallint NOT NULL,
  disposition_id text UNIQUE,
  device_ids text[] NOT NULL DEFAULT '{}',
  created_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX watchlist_entries_plate ON watchlist_entries (plate_key);

CREATE TABLE compound_policies (
  compound_id text PRIMARY KEY,
  unknown_vehicle text NOT NULL CHECK (unknown_vehicle IN ('hold', 'open')),
  anti_passback boolean NOT NULL,
  min_confidence real NOT NULL CHECK (min_confidence > 0 AND min_confidence <= 1),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE car_parks (
  car_park_id text PRIMARY KEY,
  compound_id text NOT NULL,
  name text NOT NULL,
  capacity integer NOT NULL DEFAULT 0 CHECK (capacity >= 0),
  max_stay_minutes integer NOT NULL DEFAULT 0 CHECK (max_stay_minutes >= 0)
);
CREATE INDEX car_parks_compound ON car_parks (compound_id);

CREATE TABLE lanes (
  device_id text PRIMARY KEY,
  car_park_id text NOT NULL REFERENCES car_parks (car_park_id),
  direction text NOT NULL CHECK (direction IN ('in', 'out', 'both')),
  name text NOT NULL DEFAULT ''
);

-- Every plate read with its decision. passage_id is derived from the PlateRead event id, so a
-- redelivered read maps to the same passage.
CREATE TABLE passages (
  passage_id uuid PRIMARY KEY,
  source_event_id text NOT NULL UNIQUE,
  compound_id text NOT NULL,
  car_park_id text NOT NULL DEFAULT '',
  device_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  direction text NOT NULL CHECK (direction IN ('in', 'out')),
  plate_number text NOT NULL DEFAULT '',
  plate_number_raw text NOT NULL DEFAULT '',
  plate_key text NOT NULL DEFAULT '',
  decision text NOT NULL,
  reason text NOT NULL,
  vehicle_id uuid,
  visitor_authorisation_id uuid,
  watchlist_entry_id uuid,
  paired_passage_id uuid,
  released_by text,
  release_reason text,
  released_at timestamptz,
  -- The passage as published (VehiclePassageRecorded, protobuf): images, video links, colours.
  record bytea NOT NULL
);
CREATE INDEX passages_compound_time ON passages (compound_id, occurred_at DESC, passage_id DESC);
CREATE INDEX passages_plate ON passages (compound_id, plate_key, occurred_at DESC);

-- Vehicles inside a car park now: one row per unpaired entry. Kept in the transaction that
-- records the passage, so occupancy is always the count of these rows.
CREATE TABLE presence (
  car_park_id text NOT NULL,
  plate_key text NOT NULL,
  compound_id text NOT NULL,
  in_passage_id uuid NOT NULL,
  plate_number text NOT NULL,
  entered_at timestamptz NOT NULL,
  kind text NOT NULL CHECK (kind IN ('registered', 'visitor', 'other')),
  visitor_authorisation_id uuid,
  PRIMARY KEY (car_park_id, plate_key)
);
CREATE INDEX presence_compound ON presence (compound_id);
