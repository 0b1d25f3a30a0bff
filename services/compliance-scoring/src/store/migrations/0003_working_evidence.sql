-- "Working" means more than online: gates and door terminals must produce data within a window,
-- and an upper platform's upload report counts only while it is recent.
ALTER TABLE devices
  ADD COLUMN last_data_at timestamptz,
  -- When the device was first known here: a new device has one window to produce its first data.
  ADD COLUMN first_known_at timestamptz NOT NULL DEFAULT now(),
  -- The producing state scores were last computed with; the sweep flips it and rescores.
  ADD COLUMN producing boolean NOT NULL DEFAULT true;
CREATE INDEX devices_module ON devices (module);

ALTER TABLE upload_health ADD COLUMN expired boolean NOT NULL DEFAULT false;
