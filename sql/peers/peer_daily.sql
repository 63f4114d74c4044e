-- peers: peer_daily
-- title: 同街道同类别用户的对照水平（每户每日）
-- grain: one row per meter of this store and complete local day; causal like the detectors it
--   feeds (a day's row uses that day's past only), so a row never changes once its day is complete
--   unless late readings arrive for it.
-- why: step_up and industrial_profile compare a meter with the other meters of its street and
--   category. With several workers each holds only its partitions' meters, so each worker computes
--   these rows for its own meters, publishes them, and reads everyone else's into peer_daily: the
--   peer medians then cover the whole deployment.
-- binding: each parameter takes the value of the same-named setting of the detector its bind line
--   names, so a meter and its peers are measured the same way.
-- bind: min_day_coverage step_up
-- bind: window_days industrial_profile
-- bind: work_start_hour industrial_profile
-- bind: work_end_hour industrial_profile
-- bind: night_end_hour industrial_profile
-- bind: min_hour_covered_min industrial_profile
-- bind: min_day_hours industrial_profile
-- param: min_day_coverage double = 0.75 [1] step_up's share of a day the readings must cover
-- param: window_days integer = 14 [d] industrial_profile's trailing window
-- param: work_start_hour integer = 9 [h] industrial_profile's working-hours band start (local)
-- param: work_end_hour integer = 17 [h] industrial_profile's working-hours band end (local, exclusive)
-- param: night_end_hour integer = 6 [h] industrial_profile's end of night (local)
-- param: min_hour_covered_min double = 45 [min] industrial_profile's hour coverage
-- param: min_day_hours integer = 20 [h] industrial_profile's counted hours a profiled day needs
-- implicit: last_complete_day date — the last local day the data watermark has passed
-- implicit: since_day date — first day to compute (the worker's incremental refresh; 1970-01-01 = all)
-- implicit: only_meters varchar[] — compute these meters only (readings arrived late for them); empty = every meter
-- output: meter_id varchar, day date, kwh_day double, profiled boolean, work_kw double

with daily_peer_levels as (
  -- step_up's peer input: the day's energy scaled to a full day, from days covered as step_up requires
  select meter_id, day, kwh_day
  from daily_levels($min_day_coverage * 1440)
  where day between $since_day and $last_complete_day
    and (len($only_meters) = 0 or meter_id in (select unnest($only_meters)))
),

profiles as not materialized (
  -- the kept day profiles the windows read: the days computed and the window before them
  select * from kept_day_profiles($min_hour_covered_min, $min_day_hours, $work_start_hour, $work_end_hour, $night_end_hour,
                                  $since_day - ($window_days - 1), $last_complete_day)
  where len($only_meters) = 0 or meter_id in (select unnest($only_meters))
),

window_levels as (
  -- industrial_profile's peer input: the working-hours draw over its trailing window (a day's window
  -- reaches window_days - 1 days back), for the days computed. Two ways to the same rows, by cost:
  -- a refresh of fewer days than the window (every close) counts each kept day in the windows it
  -- falls in and groups them, where a window function would sort every kept row it reads by meter
  -- (at 100k meters: 1.1 s → 0.2 s); a longer refresh (a full one) windows per meter, as fanning
  -- out 60 days costs 10.6 s against 6.3 s
  select p.meter_id, p.day + cast(k as integer) as day,
         median(p.work_kw) filter (where p.dow <= 5) as work_kw_median
  from profiles p, range(0, $window_days) w(k)
  where $last_complete_day - $since_day < $window_days
    and p.day + cast(k as integer) between $since_day and $last_complete_day
  group by all
  -- a day the meter was not profiled has no row
  having bool_or(k = 0)

  union all

  select meter_id, day,
         median(work_kw) filter (where dow <= 5) over w as work_kw_median
  from profiles
  where $last_complete_day - $since_day >= $window_days
  window w as (partition by meter_id order by day_no range between ($window_days - 1) preceding and current row)
),

peer_rows as (
  select coalesce(d.meter_id, w.meter_id) as meter_id, coalesce(d.day, w.day) as day,
         d.kwh_day, w.meter_id is not null as profiled, w.work_kw_median as work_kw
  from daily_peer_levels d
  full outer join window_levels w on w.meter_id = d.meter_id and w.day = d.day
)

select meter_id, day, kwh_day, profiled, work_kw from peer_rows
where day >= $since_day
