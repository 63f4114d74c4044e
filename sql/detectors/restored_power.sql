-- detector: restored_power
-- family: site
-- problem_type: 关停取缔后恢复用电（疑似死灰复燃）
-- runs: site
-- summary_zh: 停电后日均 {baseline_kwh_day:kwh} kWh，{detected_at:datetime} 起恢复用电，日均 {level_kwh_day:kwh} kWh[（停电前日均 {reference_kwh_day:kwh} kWh）]
-- title: 关停取缔/停电后恢复用电（死灰复燃）
-- sentence_rank: 1 (the draw since the cut against before it)
-- grain: one row per disconnected site's meter and episode. An episode is an island of reading
--   intervals whose trailing window draws above the floor; islands closer than episode_gap_hours join.
-- why: after 停电 (power_cut_at) the meter is expected to read ~0; sustained draw is a rebound.
--   Works on the raw interval readings (not day rollups) so a 15-min feed fires within hours.
-- param: window_hours double = 2 [h] (0..) trailing window the draw is averaged over
-- param: floor_kw double = 0.3 [kW] (0..) average draw in the window that counts as "in use" (above standby trickle)
-- param: pre_cut_frac double = 0.1 [1] (0..) the floor is raised to this share of the site's pre-cut average draw
-- param: pre_days integer = 30 [d] (1..) days before the cut that give the pre-cut production level
-- param: active_frac double = 0.5 [1] (0..1) share of intervals in the window that must draw at least active_floor_share of the floor
-- param: active_floor_share double = 0.5 [1] (0..1) share of the floor an interval must draw to count as active
-- param: episode_gap_hours double = 72 [h] (0..) quiet time that ends an episode
-- param: min_window_coverage double = 0.75 [1] (0..1) share of the window the readings must cover for it to count
-- param: min_day_covered_min double = 720 [min] (0..1440) readings a day needs for its daily level (pre-cut and dark levels)
-- param: score_at_floor double = 0.6 [1] (0..1) score of any draw above the floor after a cut (drawing at all is strong evidence)
-- param: full_score_floor_ratio double = 4 [1] (0..) without a pre-cut level, a first window at this many times the floor scores 1.0
-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,
--   window_start timestamp, window_end timestamp, score double, baseline_kwh_day double,
--   level_kwh_day double, reference_kwh_day double, evidence json

with monitored_sites as (
  -- the latest cut per meter is the one in force
  select meter_id, arg_max(case_no, power_cut_at) as case_no, max(power_cut_at) as power_cut_at
  from sites
  where power_cut_at is not null
  group by meter_id
),

pre_cut_level as (
  select s.meter_id, median(d.kwh_day) as pre_cut_kwh_day
  from monitored_sites s
  join daily_levels($min_day_covered_min) d
    on d.meter_id = s.meter_id
   and d.day >= cast(s.power_cut_at as date) - cast($pre_days as integer)
   and d.day < cast(s.power_cut_at as date)
  group by s.meter_id
),

post_cut_readings as (
  -- only intervals that START at or after the cut
  select r.meter_id, s.case_no, s.power_cut_at, r.ts, r.interval_min, r.kwh,
         r.kwh * 60.0 / r.interval_min as kw
  from judged_readings() r
  join monitored_sites s using (meter_id)
  where r.ts - to_minutes(cast(r.interval_min as bigint)) >= s.power_cut_at
),

trailing_windows as (
  select *,
         sum(kwh) over w as win_kwh,
         sum(interval_min) over w as win_min,
         count(*) over w as win_n,
         count(*) filter (where kw >= $floor_kw * $active_floor_share) over w as win_active
  from post_cut_readings
  window w as (partition by meter_id order by epoch(ts)
               range between ($window_hours * 3600 - 1) preceding and current row)
),

covered_windows as (
  -- a window counts only when readings cover most of it (a long interval covers it alone)
  select t.*, t.win_kwh * 60.0 / t.win_min as avg_kw, p.pre_cut_kwh_day
  from trailing_windows t
  left join pre_cut_level p using (meter_id)
  where t.win_min >= $min_window_coverage * $window_hours * 60 or t.interval_min >= $window_hours * 60
),

rebound_windows as (
  select *, epoch(ts) as episode_clock, power_cut_at as event_at from covered_windows
  where avg_kw >= greatest($floor_kw, $pre_cut_frac * coalesce(pre_cut_kwh_day, 0) / 24.0)
    and win_active >= $active_frac * win_n
),

scored_episodes as (
  -- site_episodes gives the lead columns (episode_start, window_start/end, level and quiet levels)
  select e.*,
         p.pre_cut_kwh_day as reference_kwh_day,
         -- drawing at all after a cut is strong evidence; nearing the old production level makes it certain
         $score_at_floor + (1 - $score_at_floor) * least(1.0, coalesce(e.level_kwh_day / nullif(p.pre_cut_kwh_day, 0),
                                         e.first_window_kw / ($full_score_floor_ratio * $floor_kw))) as score,
         e.event_at as power_cut_at, e.first_window_kw, e.peak_window_kw, e.flagged_intervals
  from site_episodes(rebound_windows, post_cut_readings, $episode_gap_hours * 3600, $window_hours, $min_day_covered_min) e
  left join pre_cut_level p using (meter_id)
)

select meter_id, site_case_no, episode_start, detected_at, window_start, window_end, score,
       baseline_kwh_day, level_kwh_day, reference_kwh_day,
       to_json({
         power_cut_at: strftime(power_cut_at, '%Y-%m-%dT%H:%M:%S+08:00'),
         first_window_kw: first_window_kw,
         peak_window_kw: peak_window_kw,
         flagged_intervals: flagged_intervals,
         window_hours: $window_hours,
         floor_kw: $floor_kw
       }) as evidence
from scored_episodes
