-- detector: industrial_profile
-- family: workshop
-- problem_type: 疑似散乱污生产（工业用电特征）
-- runs: day
-- needs: peers
-- title: 非工业户呈工业用电特征
-- sentence_rank: 2 (the working and night kW, the peers and the hours to visit)
-- summary_zh: 工作日白天持续约 {evidence.work_kw:kwh} kW 平稳负荷、夜间 {evidence.night_kw:kwh} kW，为{evidence.peer_scope:text}同类用户的 {evidence.peer_ratio:0} 倍[，合同容量 {evidence.contract_kva:0} kVA（高峰用到 {evidence.capacity_pct:0}%）]，呈工业生产用电特征[；用电时段 {evidence.draw_hours:hours}]
-- grain: one row per meter and episode; decided per complete local day over the trailing
--   window_days of hourly data (causal). Needs hourly-or-finer readings.
-- why: machines draw a flat daytime plateau on working days and little at night, with a high
--   load factor and far above what the same street's meters of the same category draw.
-- shapes: a flat daytime plateau on working days (day shift, no long break); lunch breaks, cycling,
--   night work and two shifts break its flatness test, which is why sustained_draw exists.
-- param: categories varchar[] = ['resident','commercial','other'] [-] (resident|commercial|industrial|other) meter categories screened
-- param: window_days integer = 14 [d] (1..) trailing window the profile is measured over
-- param: work_start_hour integer = 9 [h] (0..23) start of the working-hours band (local)
-- param: work_end_hour integer = 17 [h] (1..24) end of the working-hours band (local, exclusive)
-- param: min_plateau_kw double = 3 [kW] (0..) median working-hours draw on working days, at least
-- param: night_end_hour integer = 6 [h] (1..23) night is 00:00 to this hour (local)
-- param: min_day_night_ratio double = 2.5 [1] (0..) working-hours draw ÷ night draw for a plateau day
-- param: max_day_cv double = 0.35 [1] (0..) coefficient of variation of hourly draw within working hours (flatness)
-- param: min_workdays integer = 6 [d] (1..) plateau working days in the window, at least
-- param: min_peer_ratio double = 4 [1] (0..) draw ÷ median draw of the same street and category, at least
-- param: min_peer_percentile double = 0.9 [1] (0..1) rank of the draw among the same street and category's meters (0 = lowest, 1 = highest), at least: far above the peer median is not enough where the group is as varied as a campus's buildings
-- param: min_score double = 0.6 [1] (0..1) profile score needed to raise a lead
-- param: episode_gap_days integer = 7 [d] (1..) quiet days that end an episode
-- param: min_hour_covered_min double = 45 [min] (0..60) readings must cover this much of an hour for the hour to count
-- param: min_day_hours integer = 20 [h] (1..24) counted hours a day needs to be profiled
-- param: min_night_kw double = 0.05 [kW] (0..) floor of the night draw in ratios (a dark night is not a zero divisor)
-- param: min_peer_kw double = 0.1 [kW] (0..) floor of the peer draw in ratios
-- implicit: last_complete_day date — the last local day the data watermark has passed
-- implicit: judge_from_day date — the first day judged (1970-01-01 = all); earlier days' flags are kept (src/core/incremental.ts)
-- param: draw_share double = 0.5 [1] (0..1) an hour of day counts as drawing (the hours to visit) at this share of the meter's busiest hour
-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,
--   window_start timestamp, window_end timestamp, score double, baseline_kwh_day double,
--   level_kwh_day double, reference_kwh_day double, evidence json
--   (level, baseline, reference and evidence as the meter drew on the episode's last flagged day;
--   start, detection and score as in every day detector: src/core/incremental.ts)

with plateau_days as (
  select *,
         dow <= 5 as is_workday,
         work_kw >= $min_plateau_kw
           and work_kw >= $min_day_night_ratio * greatest(night_kw, $min_night_kw)
           and work_sd_kw <= $max_day_cv * work_kw as is_plateau
  from kept_day_profiles($min_hour_covered_min, $min_day_hours, $work_start_hour, $work_end_hour, $night_end_hour, $judge_from_day - ($window_days - 1), $last_complete_day)
),

plateau_meters as (
  -- a meter with fewer plateau working days than min_workdays in all its history can never have
  -- that many in one window: its windows are not computed (its peer values come from peer_daily)
  select meter_id from plateau_days
  group by meter_id
  having count(*) filter (where is_workday and is_plateau) >= $min_workdays
),

window_profiles as (
  select meter_id, day, day_no,
         count(*) filter (where is_workday) over w as workdays,
         count(*) filter (where is_workday and is_plateau) over w as plateau_workdays,
         median(work_kw) filter (where is_workday) over w as work_kw_median,
         median(work_kw) filter (where not is_workday) over w as rest_kw_median,
         median(night_kw) over w as night_kw_median,
         median(work_sd_kw / nullif(work_kw, 0)) filter (where is_workday) over w as work_cv_median,
         avg(mean_kw) over w as mean_kw,
         quantile_cont(peak_kw, 0.95) over w as high_kw,
         min(day) filter (where is_workday and is_plateau) over w as first_plateau_day
  from plateau_days
  semi join plateau_meters using (meter_id)
  window w as (partition by meter_id order by day_no range between ($window_days - 1) preceding and current row)
),

peer_levels as (
  -- peers over the whole deployment: peer_daily holds every meter's trailing working-hours draw
  -- (sql/peers/peer_daily.sql: each worker adds its own meters' rows and reads everyone else's);
  -- each row ranked in its street group and, for a category with a street too small to be a group,
  -- in the district's pool too (peer_street '*', as meter_groups() places a meter; pooled_meters()
  -- is empty in a district without a small street, and nothing is read for it)
  select p.meter_id, p.day, coalesce(m.street, '') as peer_street,
         median(p.work_kw) over peer_group as peer_work_kw,
         percent_rank() over (peer_group order by p.work_kw) as peer_percentile
  from peer_daily p
  left join meters m using (meter_id)
  where p.profiled and p.day >= $judge_from_day
  window peer_group as (partition by coalesce(m.street, ''), coalesce(m.category, 'other'), p.day)
  union all
  select p.meter_id, p.day, '*' as peer_street,
         median(p.work_kw) over pool as peer_work_kw,
         percent_rank() over (pool order by p.work_kw) as peer_percentile
  from peer_daily p
  join pooled_meters() pm using (meter_id)
  where p.profiled and p.day >= $judge_from_day
  window pool as (partition by pm.category, p.day)
),

peer_comparison as (
  select p.*, g.category, g.peer_street, g.contract_kva, l.peer_work_kw, l.peer_percentile
  from window_profiles p
  join meter_groups() g using (meter_id)
  join peer_levels l on l.meter_id = p.meter_id and l.day = p.day and l.peer_street = g.peer_street
),

profile_scores as (
  select *,
         work_kw_median / greatest(peer_work_kw, $min_peer_kw) as peer_ratio,
         -- each component in 0..1; the score is their mean
         (  plateau_workdays / greatest(workdays, 1)
          + least(1.0, work_kw_median / greatest(night_kw_median, $min_night_kw) / (2 * $min_day_night_ratio))
          + greatest(0.0, 1 - coalesce(rest_kw_median, 0) / nullif(work_kw_median, 0))
          + greatest(0.0, 1 - coalesce(work_cv_median, 1))
          + coalesce(least(1.0, high_kw / nullif(contract_kva, 0)), 0.5)
          + least(1.0, work_kw_median / greatest(peer_work_kw, $min_peer_kw) / (2 * $min_peer_ratio))
         ) / 6.0 as score
  from peer_comparison
),

industrial_days as (
  -- peers include every meter of the street and category; only screened categories raise leads
  select *, day_no as episode_clock, score as peak_score, first_plateau_day as draw_from_day from profile_scores
  semi join screened_meters($categories) using (meter_id)
  where plateau_workdays >= $min_workdays
    and work_kw_median >= $min_plateau_kw
    and peer_ratio >= $min_peer_ratio
    and peer_percentile >= $min_peer_percentile
    and score >= $min_score
),

flagged as (
  -- the hours to visit, as they stood on each flagged day (the plateau's first day is in the window)
  select * from with_draw_hours(industrial_days, $draw_share, $judge_from_day - ($window_days - 1), $last_complete_day)
),

episodes as (
  -- evidence as it stood on the first flagged day (what a live worker would have seen); peak_score over the episode
  select * from day_episodes(flagged, $episode_gap_days)
),

leads as (
  select meter_id,
         cast(null as varchar) as site_case_no,
         cast(first_plateau_day as timestamp) as episode_start,
         cast(day + 1 as timestamp) as detected_at,
         cast(first_plateau_day as timestamp) as window_start,
         cast(last_day + 1 as timestamp) as window_end,
         peak_score as score,
         latest.peer_work_kw * 24 as baseline_kwh_day,
         latest.mean_kw * 24 as level_kwh_day,
         cast(null as double) as reference_kwh_day,
         evidence_with_hours(to_json({
           work_kw: latest.work_kw_median,
           night_kw: latest.night_kw_median,
           rest_day_kw: latest.rest_kw_median,
           work_cv: latest.work_cv_median,
           load_factor: latest.mean_kw / nullif(latest.high_kw, 0),
           capacity_use: latest.high_kw / nullif(latest.contract_kva, 0),
           contract_kva: latest.contract_kva,
           capacity_pct: 100 * latest.high_kw / nullif(latest.contract_kva, 0),
           peer_work_kw: latest.peer_work_kw,
           peer_ratio: latest.peer_ratio,
           peer_scope: peer_scope(latest.peer_street),
           peer_percentile: latest.peer_percentile,
           plateau_workdays: latest.plateau_workdays,
           flagged_days: flagged_days
         }), latest.draw_hours) as evidence
  from episodes
)

select * from leads
