-- Up Migration

-- Transactional outbox: rows are inserted in the producer's own transaction and published to the
-- bus by the relay (src/pg/outbox.ts), then deleted. `id` is the publication order.
CREATE TABLE outbox (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic       text        NOT NULL,
  key         text        NOT NULL,
  value       bytea       NOT NULL,
  headers     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  -- The message timestamp (ms since the epoch), fixed when the row is written.
  message_ts  bigint      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- A queue table: rows are short-lived, so vacuum it often.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 5000,
                        autovacuum_vacuum_insert_scale_factor = 0.0, autovacuum_vacuum_insert_threshold = 5000);

-- Consumers with exactly-once effects record each event id in the same transaction as the effect.
CREATE TABLE processed_events (
  consumer_group text        NOT NULL,
  event_id       text        NOT NULL,
  processed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);

-- Down Migration
DROP TABLE processed_events;
DROP TABLE outbox;
