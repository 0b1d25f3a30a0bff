-- Upper platforms (上级平台) this lower platform uploads to. Passwords are never stored: a
-- platform names the secret that holds them (password_ref).
CREATE TABLE upper_platform (
  platform_id          text PRIMARY KEY CHECK (platform_id ~ '^[0-9]{20}$'),
  name                 text NOT NULL DEFAULT '',
  -- Base URL; the GA/T paths (/VIID/...) are appended.
  base_url             text NOT NULL,
  username             text NOT NULL,
  password_ref         text NOT NULL,
  -- PEM of the CA that signs the platform's certificate (https), '' for the system CAs.
  tls_ca_pem           text NOT NULL DEFAULT '',
  -- Entitlements: envelope names (faces, motorVehicles, persons, apes, ...), compounds
  -- (empty = every compound), and whether ID numbers may be sent.
  object_kinds         text[] NOT NULL DEFAULT '{faces,motorVehicles}',
  compounds            text[] NOT NULL DEFAULT '{}',
  include_id_numbers   boolean NOT NULL DEFAULT false,
  -- Regional community extensions wanted (personInfos, houseInfos, carInfos, doorDevices).
  extensions           text[] NOT NULL DEFAULT '{}',
  keepalive_interval_s integer NOT NULL DEFAULT 60 CHECK (keepalive_interval_s BETWEEN 1 AND 3600),
  keepalive_misses     integer NOT NULL DEFAULT 3 CHECK (keepalive_misses BETWEEN 1 AND 100),
  enabled              boolean NOT NULL DEFAULT true,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  updated_by           text NOT NULL DEFAULT ''
);

-- The session with each platform as the replica holding it last saw it (visible to operators).
CREATE TABLE platform_session (
  platform_id        text PRIMARY KEY REFERENCES upper_platform ON DELETE CASCADE,
  state              text NOT NULL DEFAULT 'unregistered',
  registered_at      timestamptz,
  last_keepalive_at  timestamptz,
  last_failure_at    timestamptz,
  failures           integer NOT NULL DEFAULT 0,
  last_error         text NOT NULL DEFAULT '',
  clock_offset_ms    integer,
  clock_checked_at   timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- The durable upload outbox: one row per object and platform until the platform accepts it
-- (then deleted) or rejects it as invalid (then moved to upload_dead_letter). The object id is
-- derived from the source event, so a second enqueue of the same event is a no-op.
CREATE TABLE upload_outbox (
  id               bigserial PRIMARY KEY,
  platform_id      text NOT NULL REFERENCES upper_platform ON DELETE CASCADE,
  kind             text NOT NULL,
  object_id        text NOT NULL,
  source_event_id  text NOT NULL,
  compound_id      text NOT NULL DEFAULT '',
  device_id        text NOT NULL DEFAULT '',
  -- The GA/T object without picture bytes; images lists the object keys to fetch at send time.
  body             jsonb NOT NULL,
  images           jsonb NOT NULL DEFAULT '[]',
  captured_at      timestamptz NOT NULL,
  enqueued_at      timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_status      text NOT NULL DEFAULT '',
  UNIQUE (platform_id, kind, object_id)
);
CREATE INDEX upload_outbox_due ON upload_outbox (platform_id, next_attempt_at, id);
CREATE INDEX upload_outbox_compound ON upload_outbox (platform_id, compound_id, enqueued_at);

-- Objects a platform refused as invalid content, with its reason; operators may retry them.
CREATE TABLE upload_dead_letter (
  id               bigserial PRIMARY KEY,
  platform_id      text NOT NULL REFERENCES upper_platform ON DELETE CASCADE,
  kind             text NOT NULL,
  object_id        text NOT NULL,
  source_event_id  text NOT NULL,
  compound_id      text NOT NULL DEFAULT '',
  device_id        text NOT NULL DEFAULT '',
  body             jsonb NOT NULL,
  images           jsonb NOT NULL DEFAULT '[]',
  captured_at      timestamptz NOT NULL,
  enqueued_at      timestamptz NOT NULL,
  attempts         integer NOT NULL,
  status_code      text NOT NULL,
  reason           text NOT NULL,
  rejected_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (platform_id, kind, object_id)
);
CREATE INDEX upload_dead_letter_platform ON upload_dead_letter (platform_id, rejected_at DESC);
