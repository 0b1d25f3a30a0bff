-- Pictures read when the object was enqueued (base64, in the order of `images`), so that the
-- drain after an outage is claim, POST and settle without an object-store read per object. NULL:
-- read at send time, as before (a platform's pictures held here are bounded by
-- POLICE_UPLOAD_ENQUEUED_PICTURE_BYTES; picture_bytes is what a row holds). Stored out of line
-- and uncompressed: JPEG in base64 does not compress, so trying costs CPU for nothing.
ALTER TABLE upload_outbox
  ADD COLUMN pictures jsonb,
  ADD COLUMN picture_bytes integer NOT NULL DEFAULT 0;
ALTER TABLE upload_outbox ALTER COLUMN pictures SET STORAGE EXTERNAL;
CREATE INDEX upload_outbox_picture_bytes ON upload_outbox (platform_id) INCLUDE (picture_bytes)
  WHERE picture_bytes > 0;
