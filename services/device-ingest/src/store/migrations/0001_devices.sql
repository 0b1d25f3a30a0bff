-- Up Migration
-- The device registry (src/store/registry.ts). Enum columns hold the proto enum numbers
-- (anfang.common.v1.DeviceType, Module, Direction; anfang.device.v1.DeviceProtocol).
CREATE TABLE devices (
  device_id          text PRIMARY KEY CHECK (device_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  -- List order and page tokens (registration order).
  seq                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  gat1400_id         text CHECK (gat1400_id ~ '^[0-9]{20}$'),
  name               text NOT NULL CHECK (name <> ''),
  device_type        smallint NOT NULL CHECK (device_type > 0),
  module             smallint NOT NULL CHECK (module > 0),
  compound_id        text NOT NULL,
  -- anfang.common.v1.StandardAddress as camelCase JSON (codes and names of every level).
  address            jsonb NOT NULL,
  zone_id            text NOT NULL DEFAULT '',
  direction          smallint NOT NULL DEFAULT 0,
  vendor             text NOT NULL DEFAULT '',
  model              text NOT NULL DEFAULT '',
  serial_number      text NOT NULL DEFAULT '',
  protocol           smallint NOT NULL CHECK (protocol > 0),
  ip_address         inet,
  -- The device's shared secret, AES-256-GCM under the data key ring (@anfang/platform/crypto),
  -- bound to the row by the associated data `device:<device_id>:secret`.
  secret_ciphertext  text NOT NULL CHECK (secret_ciphertext LIKE 'v1.%'),
  lifecycle          text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active', 'decommissioned')),
  registered_at      timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  decommissioned_at  timestamptz,
  decommission_reason text NOT NULL DEFAULT '',
  revision           bigint NOT NULL DEFAULT 1,
  -- Lower-cased text the list filter searches.
  search_text        text NOT NULL DEFAULT '',
  CHECK ((lifecycle = 'decommissioned') = (decommissioned_at IS NOT NULL))
);

-- A GA/T 1400 id names one device in service; a replacement may take over a retired one's id.
CREATE UNIQUE INDEX devices_gat1400_id_active ON devices (gat1400_id)
  WHERE gat1400_id IS NOT NULL AND lifecycle = 'active';
-- Vendor pushes are matched by address and serial: the pair must be unambiguous.
CREATE UNIQUE INDEX devices_address_serial_active ON devices (ip_address, serial_number)
  WHERE ip_address IS NOT NULL AND lifecycle = 'active';
CREATE INDEX devices_compound ON devices (compound_id, seq);
CREATE INDEX devices_lifecycle ON devices (lifecycle, seq);

-- The device directories of every replica reload a device when it changes (src/devices/).
CREATE FUNCTION devices_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('device_registry', NEW.device_id);
  RETURN NULL;
END;
$$;
CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE ON devices
  FOR EACH ROW EXECUTE FUNCTION devices_notify();
