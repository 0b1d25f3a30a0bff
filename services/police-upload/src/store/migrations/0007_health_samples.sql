-- What each replica's senders saw of each (platform, compound) during one health interval: the
-- platform's answers and the capture → accepted latencies. A health report, from whichever
-- replica, sums every replica's samples of the recent window, so success rate and latency cover
-- all of them (a replica's memory holds only the objects it sent itself).
CREATE TABLE upload_health_sample (
  id               bigserial PRIMARY KEY,
  platform_id      text NOT NULL REFERENCES upper_platform ON DELETE CASCADE,
  compound_id      text NOT NULL,
  -- The process that flushed it (operators see which replicas send).
  replica          text NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  accepted         integer NOT NULL,
  failed           integer NOT NULL,
  -- Accepted objects counted per latency bucket (upload/metrics.ts: LATENCY_BUCKETS_MS).
  latency_buckets  integer[] NOT NULL
);
CREATE INDEX upload_health_sample_recent ON upload_health_sample (recorded_at);
