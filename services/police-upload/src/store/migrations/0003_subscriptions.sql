-- Subscriptions (订阅) from upper platforms: what to push to ReceiveAddr, how often.
CREATE TABLE subscription (
  subscribe_id       text PRIMARY KEY,
  platform_id        text NOT NULL REFERENCES upper_platform ON DELETE CASCADE,
  title              text NOT NULL DEFAULT '',
  -- Envelope names subscribed to (faces, motorVehicles), from SubscribeDetail.
  kinds              text[] NOT NULL,
  -- GA/T device ids (ResourceURI); empty = every device of this platform.
  resources          text[] NOT NULL DEFAULT '{}',
  receive_addr       text NOT NULL,
  report_interval_s  integer NOT NULL DEFAULT 0,
  with_images        boolean NOT NULL DEFAULT true,
  begins_at          timestamptz,
  ends_at            timestamptz,
  status             text NOT NULL CHECK (status IN ('active', 'cancelled')),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Objects a platform accepted, kept as long as the source topics keep events (7 days): a
-- redelivered or replayed event finds its object here and is not sent again.
CREATE TABLE upload_sent (
  platform_id  text NOT NULL,
  kind         text NOT NULL,
  object_id    text NOT NULL,
  sent_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (platform_id, kind, object_id)
);
CREATE INDEX upload_sent_age ON upload_sent (sent_at);
