-- Up Migration
-- Requests refused for a client mistake (src/store/quarantine.ts): the payload is in the object
-- store under object_key (null when it could not be stored), the rest here for inspection.
CREATE TABLE quarantine (
  id              text PRIMARY KEY,
  received_at     timestamptz NOT NULL,
  protocol        text NOT NULL,
  reason          text NOT NULL,
  http_status     integer NOT NULL,
  device_id       text,
  remote_address  text NOT NULL,
  path            text NOT NULL,
  content_type    text NOT NULL,
  size_bytes      bigint NOT NULL,
  object_key      text
);
CREATE INDEX quarantine_received_at ON quarantine (received_at);
CREATE INDEX quarantine_device ON quarantine (device_id, received_at) WHERE device_id IS NOT NULL;
