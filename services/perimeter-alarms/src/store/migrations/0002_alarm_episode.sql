-- What an alarm is about within its category (a watchlist entry, a patrol round), which was the
-- category's last dotted part before: categories are what operators filter and count by.
ALTER TABLE alarms ADD COLUMN episode text NOT NULL DEFAULT '';
