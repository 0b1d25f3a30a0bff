-- Up Migration
-- Development installs without DATA_KEYS (./anfang start): a data key generated once and kept
-- here, so that secrets survive restarts. It sits beside the data it protects, so it protects
-- nothing against a database leak: production sets DATA_KEYS (chart: from a Secret) and this
-- table stays empty. See src/store/registry-keys.ts.
CREATE TABLE generated_data_key (
  key_id     text PRIMARY KEY,
  key_base64 text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
