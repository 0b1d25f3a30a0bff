-- Up Migration
-- The 一标三实 registry, access control and the audit log. Personal data (ID numbers, phone
-- numbers, names of visitors and watchlist subjects) are stored encrypted (*_enc, the platform
-- cipher) with a blind index (*_idx) for equality lookups; never in clear text.

CREATE TABLE addresses (
  code         text PRIMARY KEY,
  level        smallint NOT NULL CHECK (level BETWEEN 1 AND 7),
  name         text NOT NULL,
  parent_code  text REFERENCES addresses (code),
  -- The compound the node belongs to; null above compound level.
  compound_id  text,
  full_name    text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_parent ON addresses (parent_code);

CREATE TABLE houses (
  house_id     uuid PRIMARY KEY,
  room_code    text NOT NULL UNIQUE REFERENCES addresses (code),
  compound_id  text NOT NULL,
  use          text NOT NULL CHECK (use IN ('owner_occupied', 'rented', 'vacant', 'commercial')),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX houses_compound ON houses (compound_id);

CREATE TABLE persons (
  person_id            uuid PRIMARY KEY,
  compound_id          text NOT NULL,
  name_enc             text NOT NULL,
  id_number_enc        text NOT NULL,
  id_number_idx        text NOT NULL,
  phone_enc            text,
  phone_idx            text,
  kind                 text NOT NULL CHECK (kind IN ('owner', 'family', 'tenant', 'floating', 'staff')),
  house_id             uuid REFERENCES houses (house_id),
  permit_valid_from    timestamptz,
  permit_valid_to      timestamptz,
  enrolment_image_key  text,
  removed_at           timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  CHECK (kind <> 'floating' OR (permit_valid_from IS NOT NULL AND permit_valid_to IS NOT NULL))
);
-- One registration of a person per compound: imports and repeated registrations find it.
CREATE UNIQUE INDEX persons_compound_id_number ON persons (compound_id, id_number_idx) WHERE removed_at IS NULL;
CREATE INDEX persons_phone ON persons (compound_id, phone_idx) WHERE phone_idx IS NOT NULL;
CREATE INDEX persons_permit ON persons (compound_id, permit_valid_to) WHERE kind = 'floating';

CREATE TABLE organisations (
  organisation_id    uuid PRIMARY KEY,
  compound_id        text NOT NULL,
  name               text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('organisation', 'shop')),
  address_code       text NOT NULL REFERENCES addresses (code),
  credit_code        text,
  contact_person_id  uuid REFERENCES persons (person_id),
  created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rentals (
  rental_id           uuid PRIMARY KEY,
  house_id            uuid NOT NULL REFERENCES houses (house_id),
  landlord_person_id  uuid NOT NULL REFERENCES persons (person_id),
  tenant_person_id    uuid NOT NULL REFERENCES persons (person_id),
  valid_from          timestamptz NOT NULL,
  valid_to            timestamptz NOT NULL CHECK (valid_to > valid_from),
  created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE doors (
  door_id       uuid PRIMARY KEY,
  compound_id   text NOT NULL,
  address_code  text NOT NULL REFERENCES addresses (code),
  kind          text NOT NULL CHECK (kind IN ('compound_gate', 'unit_door', 'car_park')),
  name          text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX doors_compound ON doors (compound_id);

-- A reader belongs to one door.
CREATE TABLE door_devices (
  device_id  text PRIMARY KEY,
  door_id    uuid NOT NULL REFERENCES doors (door_id) ON DELETE CASCADE
);

CREATE TABLE door_groups (
  door_group_id  uuid PRIMARY KEY,
  compound_id    text NOT NULL,
  name           text NOT NULL
);

CREATE TABLE door_group_doors (
  door_group_id  uuid NOT NULL REFERENCES door_groups (door_group_id) ON DELETE CASCADE,
  door_id        uuid NOT NULL REFERENCES doors (door_id) ON DELETE CASCADE,
  PRIMARY KEY (door_group_id, door_id)
);
CREATE INDEX door_group_doors_door ON door_group_doors (door_id);

CREATE TABLE visitors (
  visitor_id     uuid PRIMARY KEY,
  compound_id    text NOT NULL,
  name_enc       text NOT NULL,
  id_number_enc  text,
  id_number_idx  text,
  phone_enc      text,
  visits         integer NOT NULL DEFAULT 0,
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now()
);
-- Repeat visitors are recognised by their ID number within a compound.
CREATE UNIQUE INDEX visitors_compound_id_number ON visitors (compound_id, id_number_idx) WHERE id_number_idx IS NOT NULL;

CREATE TABLE visitor_passes (
  pass_id           uuid PRIMARY KEY,
  visitor_id        uuid NOT NULL REFERENCES visitors (visitor_id),
  compound_id       text NOT NULL,
  destination_code  text NOT NULL,
  host_person_id    uuid REFERENCES persons (person_id),
  channel           text NOT NULL CHECK (channel IN ('guard_room', 'kiosk', 'resident_invite')),
  valid_from        timestamptz NOT NULL,
  valid_to          timestamptz NOT NULL CHECK (valid_to > valid_from),
  door_ids          uuid[] NOT NULL,
  checked_out_at    timestamptz,
  created_by        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visitor_passes_visitor ON visitor_passes (visitor_id, valid_to);

-- A credential belongs to a person, or to a visitor pass (the visitor's ID card or pass QR).
-- lookup_idx is the blind index of what a reader presents (card number, ID number, template
-- id, PIN reference within the compound, NFC token); a PIN's secret digits are in pin_hash.
CREATE TABLE credentials (
  credential_id     uuid PRIMARY KEY,
  person_id         uuid REFERENCES persons (person_id),
  pass_id           uuid REFERENCES visitor_passes (pass_id),
  kind              text NOT NULL CHECK (kind IN ('card', 'id_card', 'face', 'pin', 'qr', 'nfc')),
  lookup_idx        text,
  masked            text NOT NULL,
  pin_hash          text,
  face_template_id  text,
  face_image_key    text,
  valid_from        timestamptz,
  valid_to          timestamptz,
  revoked_at        timestamptz,
  revoked_reason    text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK ((person_id IS NULL) <> (pass_id IS NULL)),
  CHECK (kind = 'qr' OR lookup_idx IS NOT NULL),
  CHECK (kind <> 'pin' OR pin_hash IS NOT NULL)
);
-- Revoked credentials are found too, so that a refusal can say "revoked" rather than "unknown".
CREATE INDEX credentials_lookup ON credentials (lookup_idx, created_at DESC);
CREATE INDEX credentials_person ON credentials (person_id);
-- A card, face template, PIN reference or NFC token identifies one person at a time; ID cards
-- may also sit on visitor passes of the same person.
CREATE UNIQUE INDEX credentials_unique_active ON credentials (lookup_idx)
  WHERE revoked_at IS NULL AND person_id IS NOT NULL;

CREATE TABLE grants (
  grant_id        uuid PRIMARY KEY,
  person_id       uuid NOT NULL REFERENCES persons (person_id),
  door_group_id   uuid NOT NULL REFERENCES door_groups (door_group_id),
  role            text NOT NULL CHECK (role IN ('resident', 'property_staff', 'community_manager', 'police')),
  valid_from      timestamptz NOT NULL,
  valid_to        timestamptz,
  -- {weekdays: int[], startMinute, endMinute} or null.
  schedule        jsonb,
  revoked_at      timestamptz,
  revoked_reason  text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grants_person ON grants (person_id);

CREATE TABLE watchlist_entries (
  entry_id          uuid PRIMARY KEY,
  watchlist_id      text NOT NULL,
  disposition_id    text,
  id_number_enc     text,
  id_number_idx     text,
  face_template_id  text,
  person_id         uuid REFERENCES persons (person_id),
  face_threshold    real NOT NULL,
  priority          smallint NOT NULL,
  -- Stops matching after this (police dispositions carry a validity); null: until removed.
  valid_to          timestamptz,
  created_by        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  removed_at        timestamptz,
  CHECK (id_number_idx IS NOT NULL OR face_template_id IS NOT NULL OR person_id IS NOT NULL)
);
CREATE INDEX watchlist_id_number ON watchlist_entries (id_number_idx) WHERE removed_at IS NULL;
CREATE INDEX watchlist_face ON watchlist_entries (face_template_id) WHERE removed_at IS NULL;
CREATE INDEX watchlist_person ON watchlist_entries (person_id) WHERE removed_at IS NULL;
-- A police disposition is one active entry: a repeated command finds it.
CREATE UNIQUE INDEX watchlist_disposition ON watchlist_entries (disposition_id)
  WHERE removed_at IS NULL AND disposition_id IS NOT NULL;

-- Consecutive refusals at one reader since its last pass (the alarm threshold counts these).
CREATE TABLE reader_failures (
  device_id   text PRIMARY KEY,
  failures    integer NOT NULL,
  record_ids  text[] NOT NULL,
  first_at    timestamptz NOT NULL,
  last_at     timestamptz NOT NULL
);

-- Who read which personal data unmasked, when and why (SPEC §5). Written in the transaction
-- that reads the data.
CREATE TABLE audit_log (
  audit_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  actor_subject  text NOT NULL,
  actor_role     text NOT NULL,
  purpose        text NOT NULL,
  action         text NOT NULL,
  subject_kind   text NOT NULL,
  subject_id     text NOT NULL,
  fields         text[] NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_kind, subject_id, at);
