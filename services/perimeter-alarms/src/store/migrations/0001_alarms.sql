-- Perimeter zones with their sensors and cameras; arming is the zone's current state, every
-- change is kept in zone_arming_changes.
CREATE TABLE zones (
  zone_id            uuid PRIMARY KEY,
  compound_id        text NOT NULL,
  name               text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('wall', 'fence', 'water_edge', 'pipe')),
  sensor_device_ids  text[] NOT NULL DEFAULT '{}',
  camera_device_ids  text[] NOT NULL DEFAULT '{}',
  arming             text NOT NULL DEFAULT 'armed' CHECK (arming IN ('armed', 'disarmed', 'bypassed')),
  arming_until       timestamptz,
  arming_changed_by  text NOT NULL DEFAULT '',
  arming_changed_at  timestamptz NOT NULL DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (compound_id, name)
);
CREATE INDEX zones_sensors ON zones USING gin (sensor_device_ids);
CREATE INDEX zones_cameras ON zones USING gin (camera_device_ids);

CREATE TABLE zone_arming_changes (
  zone_id     uuid NOT NULL,
  arming      text NOT NULL,
  until       timestamptz,
  reason      text NOT NULL,
  changed_by  text NOT NULL,
  changed_at  timestamptz NOT NULL
);
CREATE INDEX zone_arming_changes_zone ON zone_arming_changes (zone_id, changed_at);

-- Triggers of disarmed or bypassed zones: recorded, never alarmed.
CREATE TABLE suppressed_triggers (
  event_id     text PRIMARY KEY,
  zone_id      uuid NOT NULL,
  category     text NOT NULL,
  device_id    text NOT NULL,
  arming       text NOT NULL,
  occurred_at  timestamptz NOT NULL
);
CREATE INDEX suppressed_triggers_zone ON suppressed_triggers (zone_id, occurred_at);

-- On-duty team per compound ('' zone) or per zone, with its escalation chain.
CREATE TABLE duty_rules (
  compound_id          text NOT NULL,
  zone_id              text NOT NULL DEFAULT '',
  team_id              text NOT NULL,
  escalation_team_ids  text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (compound_id, zone_id)
);

CREATE TABLE alarms (
  alarm_id              uuid PRIMARY KEY,
  compound_id           text NOT NULL,
  state                 text NOT NULL CHECK (state IN ('new', 'acknowledged', 'in_progress', 'resolved')),
  source                text NOT NULL,
  category              text NOT NULL,
  title                 text NOT NULL,
  priority              text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  zone_id               uuid,
  flood_key             text NOT NULL,
  device_ids            text[] NOT NULL,
  camera_ids            text[] NOT NULL,
  -- {objectKey, contentType, kind} of each snapshot, the newest kept.
  images                jsonb NOT NULL,
  occurrence_count      integer NOT NULL,
  first_occurred_at     timestamptz NOT NULL,
  last_occurred_at      timestamptz NOT NULL,
  assignee_user_id      text NOT NULL DEFAULT '',
  assignee_team_id      text NOT NULL DEFAULT '',
  escalation_team_ids   text[] NOT NULL DEFAULT '{}',
  acknowledge_deadline  timestamptz,
  escalation_level      integer NOT NULL DEFAULT 0,
  resolution            text CHECK (resolution IN ('real', 'false_alarm', 'test')),
  source_event_ids      text[] NOT NULL,
  raised_at             timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL
);
-- At most one open alarm per flood key: the merge relies on it.
CREATE UNIQUE INDEX alarms_open_flood_key ON alarms (flood_key) WHERE state <> 'resolved';
CREATE INDEX alarms_due ON alarms (acknowledge_deadline) WHERE state = 'new' AND acknowledge_deadline IS NOT NULL;
CREATE INDEX alarms_compound ON alarms (compound_id, raised_at DESC);

-- Immutable: rows are only ever inserted.
CREATE TABLE alarm_history (
  entry_id          bigserial PRIMARY KEY,
  alarm_id          uuid NOT NULL REFERENCES alarms (alarm_id),
  transition        text NOT NULL,
  state             text NOT NULL,
  actor             text NOT NULL,
  at                timestamptz NOT NULL,
  comment           text NOT NULL,
  assignee_user_id  text NOT NULL,
  assignee_team_id  text NOT NULL,
  escalation_level  integer NOT NULL,
  resolution        text
);
CREATE INDEX alarm_history_alarm ON alarm_history (alarm_id, entry_id);
