-- Every (platform, compound) upload health has been reported for, with its last success: a quiet
-- compound is still reported every interval (compliance scoring expires reports after 5 min),
-- also after a restart and from any replica.
CREATE TABLE upload_health_key (
  platform_id      text NOT NULL REFERENCES upper_platform ON DELETE CASCADE,
  compound_id      text NOT NULL,
  last_success_at  timestamptz,
  PRIMARY KEY (platform_id, compound_id)
);
