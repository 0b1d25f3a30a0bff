-- Up Migration
-- Last contact, clock and online status per device (src/store/activity.ts). Written by the ingest
-- path (batched last-seen flushes; status and drift transitions under a row lock); read by the
-- registry's GetDeviceStatus. A device without a row has never been seen: offline.
CREATE TABLE device_activity (
  device_id          text PRIMARY KEY,
  last_seen_at       timestamptz NOT NULL,
  last_heartbeat_at  timestamptz,
  clock_offset_ms    bigint,
  clock_sampled_at   timestamptz,
  clock_severity     text NOT NULL DEFAULT 'ok' CHECK (clock_severity IN ('ok', 'warning', 'alarm')),
  status             text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
  status_changed_at  timestamptz NOT NULL DEFAULT now()
);
-- The timeout sweep: online devices silent past the cutoff.
CREATE INDEX device_activity_online_last_seen ON device_activity (last_seen_at) WHERE status = 'online';
