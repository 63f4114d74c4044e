-- detector: resumed_production
-- family: site
-- title: 整改期间私自恢复生产
-- grain: one row per halted site's meter and episode (island of reading intervals whose trailing
--   window draws at production level; islands closer than episode_gap_hours join).
-- why: a site under 责令停产 may keep power for standby, but drawing near its pre-halt production
--   level before it passes acceptance means it resumed. Raw readings, so it fires within hours.
-- param: window_hours double = 3 [h] trailing window the draw is averaged over
-- param: floor_kw double = 0.5 [kW] minimum average draw that can count as production
-- param: resume_frac double = 0.5 [1] share of the pre-halt working draw (p90 of interval kW) that counts as production
-- param: pre_days integer = 30 [d] days before the halt order that give the production level
-- param: done_statuses varchar[] = ['已整改','已验收','已销号'] [-] statuses that end monitoring (passed acceptance)
-- param: episode_gap_hours double = 72 [h] quiet time that ends an episode
-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,
--   window_start timestamp, window_end timestamp, score double, baseline_kwh_day double,
--   level_kwh_day double, reference_kwh_day double, evidence json

with halted_sites as (
  -- sites ordered to stop that still have power (a cut site is restored_power's job)
  select meter_id, arg_max(case_no, halt_ordered_at) as case_no, max(halt_ordered_at) as halt_ordered_at
  from sites
  where halt_ordered_at is not null
    and power_cut_at is null
    and not list_contains($done_statuses, coalesce(status, ''))
  group by meter_id
),

production_level as (
  select s.meter_id,
         quantile_cont(r.kwh * 60.0 / r.interval_min, 0.9) as production_kw,
         sum(r.kwh) / greatest(sum(r.interval_min) / 1440.0, 1) as production_kwh_day
  from halted_sites s
  join readings r
    on r.meter_id = s.meter_id
   and r.ts > s.halt_ordered_at - to_days(cast($pre_days as integer))
   and r.ts <= s.halt_ordered_at
  group by s.meter_id
),

post_halt_readings as (
  select r.meter_id, s.case_no, s.halt_ordered_at, r.ts, r.interval_min, r.kwh
  from readings r
  join halted_sites s using (meter_id)
  where r.ts - to_minutes(cast(r.interval_min as bigint)) >= s.halt_ordered_at
),

trailing_windows as (
  select *,
         sum(kwh) over w as win_kwh,
         sum(interval_min) over w as win_min
  from post_halt_readings
  window w as (partition by meter_id order by epoch(ts)
               range between ($window_hours * 3600 - 1) preceding and current row)
),

production_windows as (
  select t.*, t.win_kwh * 60.0 / t.win_min as avg_kw, p.production_kw, p.production_kwh_day
  from trailing_windows t
  join production_level p using (meter_id)
  where (t.win_min >= 0.75 * $window_hours * 60 or t.interval_min >= $window_hours * 60)
    and t.win_kwh * 60.0 / t.win_min >= greatest($floor_kw, $resume_frac * p.production_kw)
),

episode_breaks as (
  select *,
         case when epoch(ts) - epoch(lag(ts) over (partition by meter_id order by ts)) <= $episode_gap_hours * 3600
              then 0 else 1 end as starts_episode
  from production_windows
),

episode_numbered as (
  select *, sum(starts_episode) over (partition by meter_id order by ts rows unbounded preceding) as episode_no
  from episode_breaks
),

episodes as (
  select meter_id, episode_no,
         any_value(case_no) as case_no,
         any_value(halt_ordered_at) as halt_ordered_at,
         any_value(production_kw) as production_kw,
         any_value(production_kwh_day) as production_kwh_day,
         min(ts) as detected_at,
         max(ts) as last_flagged,
         arg_min(avg_kw, ts) as first_window_kw,
         max(avg_kw) as peak_window_kw,
         count(*) as flagged_intervals
  from episode_numbered
  group by meter_id, episode_no
),

episode_energy as (
  select e.*,
         e.detected_at - to_seconds(cast($window_hours * 3600 as bigint)) as window_start,
         sum(r.kwh) as episode_kwh,
         -- a daily average spans at least one day, or a first afternoon would read as twice its energy
         greatest(epoch(e.last_flagged) - epoch(e.detected_at) + $window_hours * 3600, 86400) / 86400.0 as episode_days
  from episodes e
  join post_halt_readings r
    on r.meter_id = e.meter_id
   and r.ts > e.detected_at - to_seconds(cast($window_hours * 3600 as bigint))
   and r.ts <= e.last_flagged
  group by all
),

standby_level as (
  -- what the halted site drew between the order and the episode (停产后日均)
  select e.meter_id, e.episode_no, median(d.kwh * 1440.0 / d.covered_min) as standby_kwh_day
  from episodes e
  join meter_daily d
    on d.meter_id = e.meter_id
   and d.day > cast(e.halt_ordered_at as date)
   and d.day < cast(e.detected_at - interval 1 second as date)
   and d.covered_min >= 720
  group by all
),

scored_episodes as (
  select e.meter_id,
         e.case_no as site_case_no,
         e.detected_at as episode_start,
         e.detected_at,
         e.window_start,
         e.last_flagged as window_end,
         e.episode_kwh / e.episode_days as level_kwh_day,
         coalesce(s.standby_kwh_day, 0) as baseline_kwh_day,
         e.production_kwh_day as reference_kwh_day,
         -- 0.55 at the threshold; 1.0 once the episode reaches the full pre-halt working draw
         0.55 + 0.45 * least(1.0, greatest(0.0, (e.peak_window_kw / e.production_kw - $resume_frac) / (1 - $resume_frac))) as score,
         e.halt_ordered_at, e.production_kw, e.first_window_kw, e.peak_window_kw, e.flagged_intervals
  from episode_energy e
  left join standby_level s using (meter_id, episode_no)
)

select meter_id, site_case_no, episode_start, detected_at, window_start, window_end, score,
       baseline_kwh_day, level_kwh_day, reference_kwh_day,
       to_json({
         halt_ordered_at: strftime(halt_ordered_at, '%Y-%m-%dT%H:%M:%S+08:00'),
         production_kw: production_kw,
         first_window_kw: first_window_kw,
         peak_window_kw: peak_window_kw,
         flagged_intervals: flagged_intervals,
         window_hours: $window_hours
       }) as evidence
from scored_episodes
