-- The latest storage report of video-index and patrol report of patrol, per compound; each counts
-- only while recent (the sweep sets expired when it ages past its freshness limit).
CREATE TABLE storage_evidence (
  compound_id            text PRIMARY KEY,
  backend_retention_days integer NOT NULL,
  retention_enforced     boolean NOT NULL,
  -- [{module, cameras, frontendCompliant, shortestFrontendDays}]
  zones                  jsonb NOT NULL,
  reported_at            timestamptz NOT NULL,
  expired                boolean NOT NULL DEFAULT false
);

CREATE TABLE patrol_evidence (
  compound_id      text PRIMARY KEY,
  routes           integer NOT NULL,
  checkpoints      integer NOT NULL,
  window_hours     integer NOT NULL,
  rounds_due       integer NOT NULL,
  rounds_completed integer NOT NULL,
  reported_at      timestamptz NOT NULL,
  expired          boolean NOT NULL DEFAULT false
);
