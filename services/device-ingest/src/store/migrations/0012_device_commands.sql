-- Up Migration
-- Commands queued per device (src/store/commands.ts), delivered on the device's next contact.
CREATE TABLE device_commands (
  command_id    text PRIMARY KEY,
  device_id     text NOT NULL,
  kind          text NOT NULL,
  -- anfang.device.v1.DeviceCommand as proto3 JSON (what the device receives)
  command       jsonb NOT NULL,
  status        text NOT NULL CHECK (status IN ('queued', 'delivered', 'succeeded', 'failed', 'expired', 'rejected')),
  attempts      integer NOT NULL DEFAULT 0,
  detail        text NOT NULL DEFAULT '',
  requested_by  text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  delivered_at  timestamptz,
  finished_at   timestamptz,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX device_commands_open ON device_commands (device_id, created_at) WHERE status IN ('queued', 'delivered');
CREATE INDEX device_commands_expiry ON device_commands (expires_at) WHERE status IN ('queued', 'delivered');
