-- Stored access records (SPEC §3: who passed which door when, searchable; §5: kept no longer
-- than needed). Written in the transaction that publishes the AccessRecorded event.
CREATE TABLE access_records (
  record_id          uuid PRIMARY KEY,
  occurred_at        timestamptz NOT NULL,
  -- Empty when the reader is mapped to no door of any compound (such records are not searchable).
  compound_id        text NOT NULL,
  door_id            uuid,
  device_id          text NOT NULL,
  device             bytea NOT NULL,
  person_id          uuid,
  role               smallint NOT NULL,
  credential_type    smallint NOT NULL,
  credential_masked  text NOT NULL,
  allowed            boolean NOT NULL,
  reason             text NOT NULL,
  direction          smallint NOT NULL,
  snapshot_key       text,
  path               smallint NOT NULL,
  visitor_pass_id    uuid
);
CREATE INDEX access_records_compound ON access_records (compound_id, occurred_at DESC, record_id DESC);
CREATE INDEX access_records_person ON access_records (person_id, occurred_at DESC, record_id DESC)
  WHERE person_id IS NOT NULL;
-- Retention prunes the oldest first.
CREATE INDEX access_records_occurred ON access_records (occurred_at);
