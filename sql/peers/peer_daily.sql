-- peers: peer_daily
-- title: 同街道同类别用户的对照水平（每户每日）
-- grain: one row per meter of this store and complete local day; causal like the detectors it
--   feeds (a day's row uses that day's past only), so a row never changes once its day is complete
--   unless late readings arrive for it.
-- why: step_up and industrial_profile compare a meter with the other meters of its street and
--   category. With several workers each holds only its partitions' meters, so each worker computes
--   these rows for its own meters, publishes them, and reads everyone else's into peer_daily: the
--   peer medians then cover the whole deployment. The parameters are industrial_profile's (bound
--   from its settings), so the peer level and the meter's own level are measured the same way.
-- param: window_days integer = 14 [d] industrial_profile's trailing window
-- param: work_start_hour integer = 9 [h] industrial_profile's working-hours band start (local)
-- param: work_end_hour integer = 17 [h] industrial_profile's working-hours band end (local, exclusive)
-- implicit: last_complete_day date — the last local day the data watermark has passed
-- implicit: since_day date — first day to compute (the worker's incremental refresh; 1970-01-01 = all)
-- output: meter_id varchar, day date, kwh_day double, profiled boolean, work_kw double

with daily_levels as (
  -- step_up's peer input: the day's energy scaled to a full day, from days at least half covered
  select meter_id, day, kwh * 1440.0 / covered_min as kwh_day
  from meter_daily
  where covered_min >= 720
    and day between $since_day and $last_complete_day
),

hourly_kw as (
  select meter_id, cast(hour as date) as day, hour(hour) as hod, isodow(hour) as dow,
         kwh * 60.0 / covered_min as kw
  from meter_hourly
  where covered_min >= 45
    -- a day's window reaches window_days - 1 days back
    and cast(hour as date) between $since_day - ($window_days - 1) and $last_complete_day
),

day_profiles as (
  select meter_id, day, date_diff('day', date '2000-01-01', day) as day_no, any_value(dow) <= 5 as is_workday,
         avg(kw) filter (where hod >= $work_start_hour and hod < $work_end_hour) as work_kw
  from hourly_kw
  group by meter_id, day
  having count(*) >= 20
),

window_levels as (
  -- industrial_profile's peer input: the working-hours draw over its trailing window
  select meter_id, day,
         median(work_kw) filter (where is_workday) over w as work_kw_median
  from day_profiles
  window w as (partition by meter_id order by day_no range between ($window_days - 1) preceding and current row)
),

peer_rows as (
  select coalesce(d.meter_id, w.meter_id) as meter_id, coalesce(d.day, w.day) as day,
         d.kwh_day, w.meter_id is not null as profiled, w.work_kw_median as work_kw
  from daily_levels d
  full outer join window_levels w on w.meter_id = d.meter_id and w.day = d.day
)

select meter_id, day, kwh_day, profiled, work_kw from peer_rows
where day >= $since_day
