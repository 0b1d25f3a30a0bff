-- Offline allow lists (item 9): what each reader may let in while it cannot reach the platform.
-- Card numbers are kept sealed beside their blind index, so the lists can carry them to readers;
-- cards issued before this migration are reissued to reach the lists (the blind index is one-way).
ALTER TABLE credentials ADD COLUMN value_enc text;

-- The list each reader holds: its version (readers report it back) and a fingerprint per entry,
-- so that an access change sends only what changed.
CREATE TABLE access_lists (
  device_id    text PRIMARY KEY,
  compound_id  text NOT NULL,
  version      bigint NOT NULL DEFAULT 0,
  -- True until the reader has been sent a full list (new reader, or a lost update).
  needs_full   boolean NOT NULL DEFAULT true,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_lists_compound ON access_lists (compound_id);

CREATE TABLE access_list_entries (
  device_id      text NOT NULL REFERENCES access_lists (device_id) ON DELETE CASCADE,
  credential_id  uuid NOT NULL,
  -- Blind index of the entry as sent (never the card number itself).
  fingerprint    text NOT NULL,
  PRIMARY KEY (device_id, credential_id)
);

-- Compounds whose lists may have changed. Triggers mark them on every write that can change a
-- list, whichever code path makes it; the sync claims and clears them.
CREATE TABLE access_list_dirty (
  compound_id  text PRIMARY KEY,
  since        timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION mark_access_list_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed record;
  compound text;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
  CASE TG_TABLE_NAME
    WHEN 'credentials' THEN
      SELECT p.compound_id INTO compound FROM persons p WHERE p.person_id = changed.person_id;
    WHEN 'grants' THEN
      SELECT g.compound_id INTO compound FROM door_groups g WHERE g.door_group_id = changed.door_group_id;
    WHEN 'door_group_doors' THEN
      SELECT g.compound_id INTO compound FROM door_groups g WHERE g.door_group_id = changed.door_group_id;
    WHEN 'door_devices' THEN
      SELECT d.compound_id INTO compound FROM doors d WHERE d.door_id = changed.door_id;
    ELSE
      -- persons, doors: the row has its compound.
      compound := changed.compound_id;
  END CASE;
  IF compound IS NOT NULL THEN
    INSERT INTO access_list_dirty (compound_id) VALUES (compound) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER access_list_credentials AFTER INSERT OR UPDATE OR DELETE ON credentials
  FOR EACH ROW EXECUTE FUNCTION mark_access_list_dirty();
CREATE TRIGGER access_list_grants AFTER INSERT OR UPDATE OR DELETE ON grants
  FOR EACH ROW EXECUTE FUNCTION mark_access_list_dirty();
CREATE TRIGGER access_list_door_group_doors AFTER INSERT OR UPDATE OR DELETE ON door_group_doors
  FOR EACH ROW EXECUTE FUNCTION mark_access_list_dirty();
CREATE TRIGGER access_list_door_devices AFTER INSERT OR UPDATE OR DELETE ON door_devices
  FOR EACH ROW EXECUTE FUNCTION mark_access_list_dirty();
CREATE TRIGGER access_list_doors AFTER DELETE ON doors
  FOR EACH ROW EXECUTE FUNCTION mark_access_list_dirty();
-- A person removed (or moved) changes the lists of their compound.
CREATE TRIGGER access_list_persons AFTER UPDATE OF removed_at, compound_id ON persons
  FOR EACH ROW EXECUTE FUNCTION mark_access_list_dirty();

-- The access-list commands sent, so that one that failed or expired before reaching its reader
-- resends that reader's whole list. Kept as long as a command can live (pruned by the sync).
CREATE TABLE access_list_commands (
  command_id  uuid PRIMARY KEY,
  device_id   text NOT NULL,
  sent_at     timestamptz NOT NULL
);
CREATE INDEX access_list_commands_sent ON access_list_commands (sent_at);
