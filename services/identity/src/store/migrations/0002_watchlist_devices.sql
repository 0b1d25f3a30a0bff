-- A police disposition may be limited to listed devices (GA/T 1400 Disposition: TollgateList /
-- ApeList): it hits only there. Empty: everywhere.
ALTER TABLE watchlist_entries ADD COLUMN device_ids text[] NOT NULL DEFAULT '{}';
