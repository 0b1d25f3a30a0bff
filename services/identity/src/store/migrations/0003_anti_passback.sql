-- Anti-passback (防反传): directional doors, groups that enforce it, and where each person is.
ALTER TABLE doors ADD COLUMN direction text NOT NULL DEFAULT 'both' CHECK (direction IN ('in', 'out', 'both'));
ALTER TABLE door_groups ADD COLUMN anti_passback boolean NOT NULL DEFAULT false;

-- A person's last recorded pass through an IN or OUT door of an anti-passback group.
CREATE TABLE presence (
  person_id      uuid NOT NULL,
  door_group_id  uuid NOT NULL REFERENCES door_groups (door_group_id) ON DELETE CASCADE,
  inside         boolean NOT NULL,
  changed_at     timestamptz NOT NULL,
  PRIMARY KEY (person_id, door_group_id)
);
