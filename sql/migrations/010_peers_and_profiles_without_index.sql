-- 010: peer_daily and meter_day_profiles lose their primary keys, as the rollups did in 009. Their
-- ART indexes took ~36 bytes a row on disk against 17 (peer rows) and 37 (profiles) for the columns
-- - about a fifth of a store at steady state - and DuckDB holds an index in memory once it is used:
-- at 100k meters and the 730 days retention keeps, 73 M rows each. They also made loading a
-- partition snapshot build the index row by row. Their writers keep (meter_id, day) unique
-- themselves: day profiles are deleted from a day on and recomputed (src/store/dayProfiles.ts);
-- peer rows delete the keys a batch brings before inserting it (src/store/peers.ts, detectors.ts).

create table peer_daily_unindexed (
  meter_id varchar not null,
  day      date    not null,
  kwh_day  double,                   -- daily energy scaled to a full day; null when under 12 h covered
  profiled boolean not null,         -- the day has an hourly profile (20+ covered hours)
  work_kw  double                    -- median working-hours draw on working days, trailing window
);
insert into peer_daily_unindexed select * from peer_daily order by day, meter_id;
drop table peer_daily;
alter table peer_daily_unindexed rename to peer_daily;

create table meter_day_profiles_unindexed (
  profile_key varchar not null, -- the parameters the row was computed with (min coverage, hours, bands)
  meter_id    varchar not null,
  day         date    not null, -- local day
  day_no      integer not null, -- days since 2000-01-01, for range windows
  dow         integer not null, -- ISO day of week, 1 = Monday
  work_kw     double,           -- mean draw in the working-hours band
  work_sd_kw  double,           -- its standard deviation
  night_kw    double,           -- mean draw 00:00 to night_end_hour
  mean_kw     double,
  peak_kw     double,
  hours_seen  integer not null  -- covered hours of the day
);
insert into meter_day_profiles_unindexed select * from meter_day_profiles order by day, meter_id;
drop table meter_day_profiles;
alter table meter_day_profiles_unindexed rename to meter_day_profiles;
