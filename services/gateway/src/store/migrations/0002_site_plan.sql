-- Where each marker of a compound's 2D site plan stands (property staff place them), as
-- fractions of the plan so the plan can be drawn at any size.
CREATE TABLE site_plan_markers (
  compound_id text NOT NULL,
  -- `<kind>~<ref_id>`: one marker per thing on the plan.
  marker_id text NOT NULL,
  kind text NOT NULL,
  ref_id text NOT NULL,
  label text NOT NULL DEFAULT '',
  x double precision NOT NULL CHECK (x >= 0 AND x <= 1),
  y double precision NOT NULL CHECK (y >= 0 AND y <= 1),
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (compound_id, marker_id)
);
