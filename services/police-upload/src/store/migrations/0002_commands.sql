-- Notifications go to the ReceiveAddr the upper platform gave, not to its base URL.
ALTER TABLE upload_outbox ADD COLUMN target_url text NOT NULL DEFAULT '';
ALTER TABLE upload_dead_letter ADD COLUMN target_url text NOT NULL DEFAULT '';

-- Dispositions (布控) received from upper platforms: the latest state of each.
CREATE TABLE disposition (
  disposition_id  text PRIMARY KEY,
  platform_id     text NOT NULL REFERENCES upper_platform ON DELETE CASCADE,
  title           text NOT NULL DEFAULT '',
  target          text NOT NULL,
  -- A plate number (not an ID number: person dispositions are not stored here in clear).
  target_feature  text NOT NULL,
  receive_addr    text NOT NULL,
  status          text NOT NULL CHECK (status IN ('active', 'withdrawn')),
  begins_at       timestamptz,
  ends_at         timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Every command from an upper platform and its result.
CREATE TABLE police_command (
  command_id          text PRIMARY KEY,
  platform_id         text NOT NULL,
  kind                text NOT NULL,
  disposition_id      text NOT NULL DEFAULT '',
  request             jsonb NOT NULL,
  received_at         timestamptz NOT NULL DEFAULT now(),
  outcome             text NOT NULL DEFAULT 'pending',
  detail              text NOT NULL DEFAULT '',
  watchlist_entry_id  text NOT NULL DEFAULT '',
  result_at           timestamptz
);
CREATE INDEX police_command_disposition ON police_command (disposition_id);
