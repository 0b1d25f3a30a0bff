-- Each compound's standing at the end of each day (the last record of the day wins), with the
-- town/street and programme group it had then, so the trend of a past day does not move when a
-- compound is re-assigned or deleted later. About 5,000 rows a day for a district.
CREATE TABLE daily_standings (
  day date NOT NULL,
  compound_id text NOT NULL,
  town_street text NOT NULL,
  programme_group text NOT NULL,
  level text NOT NULL,
  uploading_real_time boolean NOT NULL,
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (day, compound_id)
);
CREATE INDEX daily_standings_town ON daily_standings (town_street, day);
CREATE INDEX daily_standings_group ON daily_standings (programme_group, day);
