-- The latest event of each record of the registry topics (identity's persons and houses,
-- vehicle-access's registered vehicles) as this service consumed it: what a platform newly
-- entitled to an extension or a compound is back-filled from (UpdatePlatform). The payload is
-- the event as published (protobuf), so the name and ID number stay sealed as identity sealed
-- them. One row per record: the topics are compacted by record, and so is this.
CREATE TABLE registry_record (
  topic        text NOT NULL,
  record_id    text NOT NULL,
  compound_id  text NOT NULL,
  event_id     text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  payload      bytea NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, record_id)
);
CREATE INDEX registry_record_compound ON registry_record (topic, compound_id);
