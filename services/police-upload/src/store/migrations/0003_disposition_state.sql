-- What GET /VIID/Dispositions answers: the disposition as the platform set it and its status.
ALTER TABLE disposition
  ADD COLUMN category        text NOT NULL DEFAULT '',
  ADD COLUMN priority        smallint NOT NULL DEFAULT 2,
  ADD COLUMN applicant_name  text NOT NULL DEFAULT '',
  ADD COLUMN applicant_org   text NOT NULL DEFAULT '',
  ADD COLUMN reason          text NOT NULL DEFAULT '',
  -- The plate, or the ID number masked: what may be shown (target_feature holds the ciphertext).
  ADD COLUMN feature_shown   text NOT NULL DEFAULT '',
  -- identity's or vehicle-access's result of the latest set: pending, applied, rejected.
  ADD COLUMN outcome         text NOT NULL DEFAULT 'pending',
  ADD COLUMN outcome_detail  text NOT NULL DEFAULT '',
  ADD COLUMN withdrawn_at    timestamptz,
  ADD COLUMN created_at      timestamptz NOT NULL DEFAULT now();
UPDATE disposition SET feature_shown = target_feature WHERE target = 'plate';

-- The platform was answered "accepted, being applied" before the result came: the result is
-- pushed to it when it arrives.
ALTER TABLE police_command ADD COLUMN answered_pending boolean NOT NULL DEFAULT false;
