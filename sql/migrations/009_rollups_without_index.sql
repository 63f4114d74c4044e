-- 009: meter_hourly and meter_daily lose their primary keys. meter_hourly's ART index took ~37
-- bytes a row on disk against ~6.6 for its compressed columns (measured on a 2,000-meter store:
-- the file went from 187 MB to 57 MB), and DuckDB holds an index in memory once it is used: at
-- 100k meters and the two years of hours retention keeps (1.75 G rows) that is ~65 GB of disk and
-- far more than a worker's memory; meter_daily, kept for ever, would grow the same way. The
-- store's append is the only writer and keeps (meter_id, hour) and (meter_id, day) unique itself
-- (src/store/readingStore.ts: add into the keys it holds, insert the others), reading only the
-- batch's time range, which the zone maps find.

create table meter_hourly_unindexed (
  meter_id    varchar   not null,
  hour        timestamp not null,    -- hour START, local
  kwh         double    not null,
  covered_min integer   not null
);
insert into meter_hourly_unindexed select * from meter_hourly order by hour, meter_id;
drop table meter_hourly;
alter table meter_hourly_unindexed rename to meter_hourly;

create table meter_daily_unindexed (
  meter_id    varchar not null,
  day         date    not null,
  kwh         double  not null,
  covered_min integer not null,      -- minutes of the day the readings cover (1440 = complete)
  n_readings  integer not null
);
insert into meter_daily_unindexed select * from meter_daily order by day, meter_id;
drop table meter_daily;
alter table meter_daily_unindexed rename to meter_daily;
