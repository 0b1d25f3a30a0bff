-- Built-in accounts (standalone sites; a city identity provider's users are not stored).
CREATE TABLE users (
  user_id uuid PRIMARY KEY,
  username text NOT NULL,
  display_name text NOT NULL,
  role text NOT NULL,
  -- NULL: every compound; else the compound ids.
  compounds text[],
  areas text[] NOT NULL DEFAULT '{}',
  password_hash text NOT NULL,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  -- The TOTP secret, encrypted with the data keys; active once totp_enabled.
  totp_secret text,
  totp_enabled boolean NOT NULL DEFAULT false,
  -- The last accepted TOTP time step: a code is accepted once (RFC 6238 §5.2).
  totp_last_step bigint NOT NULL DEFAULT 0,
  failed_attempts integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

-- The audit log: a hash chain (each row's hash covers the previous row's hash and its own
-- content), appended under an advisory lock so that the chain is one line across replicas.
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  subject text NOT NULL,
  subject_name text NOT NULL,
  role text NOT NULL,
  scope text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  outcome text NOT NULL,
  address text NOT NULL,
  user_agent text NOT NULL,
  purpose text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- Pruning keeps the chain verifiable: the hash of the last pruned row is its new anchor.
CREATE TABLE audit_anchor (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq bigint NOT NULL,
  hash text NOT NULL
);
