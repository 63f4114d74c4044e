-- 004: scale-out. Several workers share a readings topic, each holding only its partitions' meters.

-- What each meter contributes to the street-and-category peer comparisons of step_up and
-- industrial_profile (computed by sql/peers/peer_daily.sql). A worker computes the rows of its own
-- meters and publishes them; the rows of every other worker's meters arrive on the peers topic, so
-- peer medians are taken over the whole deployment, exactly as one worker holding everything would.
create table peer_daily (
  meter_id varchar not null,
  day      date    not null,
  kwh_day  double,                   -- daily energy scaled to a full day; null when under 12 h covered
  profiled boolean not null,         -- the day has an hourly profile (20+ covered hours)
  work_kw  double,                   -- median working-hours draw on working days, trailing window
  primary key (meter_id, day)
);

-- Which readings partition a meter's readings arrive on, so a worker can drop the state of a
-- partition it lost in a rebalance.
create table meter_partition (
  meter_id    varchar primary key,
  "partition" integer not null
);
