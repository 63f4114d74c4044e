-- 008: retention. Raw interval readings are kept store.raw_days, hourly rollups (and the day
-- profiles and peer rows made from them) store.hourly_days, daily rollups store.daily_days or for
-- ever; older rows are deleted after a day close. This one row says from which local day each is
-- kept, so ingest can refuse a reading from before the raw horizon: with its raw neighbours gone, a
-- repeat could no longer be told from a new reading, and adding it to the rollups again would
-- count it twice. Null: nothing deleted yet.

create table store_retention (
  id          integer primary key check (id = 1),
  raw_from    date, -- raw readings of this day on (a reading's day is that of its interval end less a second)
  hourly_from date, -- meter_hourly, meter_day_profiles and peer_daily from this day on
  daily_from  date  -- meter_daily from this day on
);
insert into store_retention values (1, null, null, null);
