-- Cameras: the operator's registry, completed from device-ingest's registry topic.
CREATE TABLE cameras (
  camera_id              uuid PRIMARY KEY,
  compound_id            text NOT NULL,
  name                   text NOT NULL,
  zone_group             text NOT NULL
    CHECK (zone_group IN ('public_areas', 'buildings', 'key_rooms', 'panorama', 'throwing')),
  device_id              text UNIQUE,
  rtsp_url               text NOT NULL DEFAULT '',
  gb28181_id             text NOT NULL DEFAULT '',
  position               text NOT NULL DEFAULT '',
  frontend_storage_days  integer NOT NULL DEFAULT 0 CHECK (frontend_storage_days >= 0),
  decommissioned         boolean NOT NULL DEFAULT false,
  registry_revision      bigint NOT NULL DEFAULT 0,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  UNIQUE (compound_id, name)
);

-- Every indexed image, partitioned by day of capture (UTC): expiry trims the oldest partitions
-- and drops them once empty; a search by camera and time touches only the days it covers.
-- Partitions are created on demand by the writer (src/store/partitions.ts). object_key sorts
-- byte-wise (COLLATE "C"), the order object stores list in, so reconciliation merges the two.
CREATE TABLE media_index (
  object_key    text COLLATE "C" NOT NULL,
  captured_at   timestamptz NOT NULL,
  compound_id   text NOT NULL,
  device_id     text NOT NULL DEFAULT '',
  event_type    text NOT NULL,
  event_id      text NOT NULL,
  image_class   text NOT NULL CHECK (image_class IN ('faces', 'vehicles', 'alarms', 'general')),
  plate_number  text NOT NULL DEFAULT '',
  person_id     text NOT NULL DEFAULT '',
  content_type  text NOT NULL DEFAULT '',
  -- NULL until known: the producer did not report it and the enricher has not asked the store yet.
  size_bytes    bigint,
  sha256        text NOT NULL DEFAULT '',
  indexed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (object_key, captured_at)
) PARTITION BY RANGE (captured_at);
CREATE INDEX media_index_camera ON media_index (compound_id, device_id, captured_at DESC, object_key DESC);
CREATE INDEX media_index_compound ON media_index (compound_id, captured_at DESC, object_key DESC);
CREATE INDEX media_index_class ON media_index (image_class, captured_at);
CREATE INDEX media_index_compound_class ON media_index (compound_id, image_class, captured_at);
CREATE INDEX media_index_plate ON media_index (plate_number, captured_at DESC) WHERE plate_number <> '';
CREATE INDEX media_index_person ON media_index (person_id, captured_at DESC) WHERE person_id <> '';
CREATE INDEX media_index_unsized ON media_index (captured_at) WHERE size_bytes IS NULL;

-- Objects and bytes per compound and class, kept in step with every insert and delete so the
-- dashboard never counts millions of rows.
CREATE TABLE storage_figures (
  compound_id  text NOT NULL,
  image_class  text NOT NULL,
  objects      bigint NOT NULL DEFAULT 0,
  bytes        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (compound_id, image_class)
);

-- Back-end retention per class; a class without a row uses the configured default.
CREATE TABLE retention_policies (
  image_class  text PRIMARY KEY CHECK (image_class IN ('faces', 'vehicles', 'alarms', 'general')),
  days         integer NOT NULL CHECK (days >= 30),
  updated_by   text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Legal holds: one per open alarm (from perimeter-alarms) or per police case request.
CREATE TABLE holds (
  hold_id         uuid PRIMARY KEY,
  compound_id     text NOT NULL,
  alarm_id        text UNIQUE,
  case_id         text NOT NULL DEFAULT '',
  reason          text NOT NULL,
  placed_by       text NOT NULL,
  placed_at       timestamptz NOT NULL,
  released_at     timestamptz,
  released_by     text NOT NULL DEFAULT '',
  release_reason  text NOT NULL DEFAULT ''
);
CREATE INDEX holds_compound ON holds (compound_id, placed_at DESC);

CREATE TABLE held_objects (
  hold_id     uuid NOT NULL REFERENCES holds ON DELETE CASCADE,
  object_key  text COLLATE "C" NOT NULL,
  PRIMARY KEY (hold_id, object_key)
);
CREATE INDEX held_objects_key ON held_objects (object_key);

-- Every deleted object or index row, and why.
CREATE TABLE deletions (
  object_key   text COLLATE "C" NOT NULL,
  compound_id  text NOT NULL,
  image_class  text NOT NULL,
  captured_at  timestamptz,
  size_bytes   bigint,
  reason       text NOT NULL CHECK (reason IN ('retention', 'orphan_object', 'missing_object')),
  deleted_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deletions_at ON deletions (deleted_at);
CREATE INDEX deletions_key ON deletions (object_key);

CREATE TABLE reconciliation_runs (
  run_id               uuid PRIMARY KEY,
  started_at           timestamptz NOT NULL,
  finished_at          timestamptz,
  objects_listed       bigint NOT NULL DEFAULT 0,
  rows_compared        bigint NOT NULL DEFAULT 0,
  orphan_objects       bigint NOT NULL DEFAULT 0,
  objects_indexed      bigint NOT NULL DEFAULT 0,
  objects_deleted      bigint NOT NULL DEFAULT 0,
  missing_objects      bigint NOT NULL DEFAULT 0,
  rows_removed         bigint NOT NULL DEFAULT 0,
  error                text NOT NULL DEFAULT '',
  sample_orphan_keys   text[] NOT NULL DEFAULT '{}',
  sample_missing_keys  text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at DESC);
