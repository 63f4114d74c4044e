-- detector: resumed_production
-- family: site
-- problem_type: 整改期间疑似私自恢复生产
-- runs: site
-- summary_zh: 责令停产后日均 {baseline_kwh_day:kwh} kWh，{detected_at:datetime} 起用电回到生产水平，日均 {level_kwh_day:kwh} kWh[（停产前日均 {reference_kwh_day:kwh} kWh）]
-- title: 整改期间私自恢复生产
-- sentence_rank: 2 (the draw since the halt against before it)
-- grain: one row per halted site's meter and episode (island of reading intervals whose trailing
--   window draws at production level; islands closer than episode_gap_hours join).
-- why: a site under 责令停产 may keep power for standby, but drawing near its pre-halt production
--   level before it passes acceptance means it resumed. Raw readings, so it fires within hours.
-- param: window_hours double = 3 [h] (0..) trailing window the draw is averaged over
-- param: floor_kw double = 0.5 [kW] (0..) minimum average draw that can count as production
-- param: resume_frac double = 0.5 [1] (0..0.99) share of the pre-halt working draw (production_quantile of interval kW) that counts as production
-- param: pre_days integer = 30 [d] (1..) days before the halt order that give the production level
-- param: done_statuses varchar[] = ['已整改','已验收','已销号'] [-] statuses that end monitoring (passed acceptance)
-- param: episode_gap_hours double = 72 [h] (0..) quiet time that ends an episode
-- param: production_quantile double = 0.9 [1] (0..1) quantile of the pre-halt interval draw taken as the working draw
-- param: min_window_coverage double = 0.75 [1] (0..1) share of the window the readings must cover for it to count
-- param: min_day_covered_min double = 720 [min] (0..1440) readings a day needs for its daily level (the standby level)
-- param: score_at_threshold double = 0.55 [1] (0..1) score at resume_frac of the working draw (1.0 at the full working draw)
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

pre_halt_draw as (
  -- the raw readings of the pre_days before the order; where the store no longer holds them
  -- (older than store.raw_days, migration 008), its hourly rollup: the working draw is an hour's then
  select r.meter_id, r.kwh * 60.0 / r.interval_min as kw, r.kwh, r.interval_min as minutes
  from halted_sites s
  join readings r
    on r.meter_id = s.meter_id
   and r.ts > s.halt_ordered_at - to_days(cast($pre_days as integer))
   and r.ts <= s.halt_ordered_at
  where s.halt_ordered_at - to_days(cast($pre_days as integer)) >= (select coalesce(cast(raw_from as timestamp), timestamp '1970-01-01') from store_retention)
  union all
  select h.meter_id, h.kwh * 60.0 / h.covered_min, h.kwh, h.covered_min
  from halted_sites s
  join meter_hourly h
    on h.meter_id = s.meter_id
   and h.hour >= s.halt_ordered_at - to_days(cast($pre_days as integer))
   and h.hour < s.halt_ordered_at
  where s.halt_ordered_at - to_days(cast($pre_days as integer)) < (select cast(raw_from as timestamp) from store_retention)
),

production_level as (
  select meter_id,
         quantile_cont(kw, $production_quantile) as production_kw,
         sum(kwh) / greatest(sum(minutes) / 1440.0, 1) as production_kwh_day
  from pre_halt_draw
  group by meter_id
),

post_halt_readings as (
  select r.meter_id, s.case_no, s.halt_ordered_at, r.ts, r.interval_min, r.kwh
  from judged_readings() r
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
  select t.*, epoch(t.ts) as episode_clock, t.halt_ordered_at as event_at, t.win_kwh * 60.0 / t.win_min as avg_kw, p.production_kw, p.production_kwh_day
  from trailing_windows t
  join production_level p using (meter_id)
  where (t.win_min >= $min_window_coverage * $window_hours * 60 or t.interval_min >= $window_hours * 60)
    and t.win_kwh * 60.0 / t.win_min >= greatest($floor_kw, $resume_frac * p.production_kw)
),

scored_episodes as (
  -- site_episodes gives the lead columns (episode_start, window_start/end, level and quiet levels)
  select e.*,
         p.production_kwh_day as reference_kwh_day,
         -- score_at_threshold at resume_frac of the working draw; 1.0 once the episode reaches the full pre-halt working draw
         $score_at_threshold + (1 - $score_at_threshold) * least(1.0, greatest(0.0, (e.peak_window_kw / p.production_kw - $resume_frac) / (1 - $resume_frac))) as score,
         e.event_at as halt_ordered_at, p.production_kw, e.first_window_kw, e.peak_window_kw, e.flagged_intervals
  from site_episodes(production_windows, post_halt_readings, $episode_gap_hours * 3600, $window_hours, $min_day_covered_min) e
  join production_level p using (meter_id)
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
