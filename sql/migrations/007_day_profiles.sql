-- 007: day profiles kept as a rollup. industrial_profile and peer_daily both judge a trailing
-- window of per-day hourly profiles; recomputing that window from every stored hour at each close
-- cost both of them a scan of window_days of hourly rows. The runner keeps the profiles of closed
-- days here (src/store/dayProfiles.ts), computed once per day with the parameters in profile_key,
-- and recomputes from the earliest day whose readings changed (its row in detector_judged).

create table meter_day_profiles (
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
  hours_seen  integer not null, -- covered hours of the day
  primary key (meter_id, day)
);
