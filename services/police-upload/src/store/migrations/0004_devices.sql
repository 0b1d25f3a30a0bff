-- The devices of the registry topic that the upper platforms may see (APEs, DoorDevices), with
-- their last known online state: a status change is uploaded with the device's catalogue entry,
-- and whether a plate camera sits at a barrier decides whether its reads are uploaded directly.
-- In the database, not in memory: each replica consumes only some partitions of the topics.
CREATE TABLE registry_device (
  device_id    text PRIMARY KEY,
  gat1400_id   text NOT NULL DEFAULT '',
  name         text NOT NULL DEFAULT '',
  device_type  integer NOT NULL DEFAULT 0,
  module       integer NOT NULL DEFAULT 0,
  compound_id  text NOT NULL DEFAULT '',
  address_code text NOT NULL DEFAULT '',
  place        text NOT NULL DEFAULT '',
  model        text NOT NULL DEFAULT '',
  ip_address   text NOT NULL DEFAULT '',
  active       boolean NOT NULL DEFAULT true,
  -- NULL until a status event says.
  online       boolean,
  revision     bigint NOT NULL DEFAULT 0,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
