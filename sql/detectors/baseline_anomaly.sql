-- detector: baseline_anomaly
-- family: workshop
-- problem_type: 疑似散乱污生产（用电持续异常）
-- runs: day
-- needs: peers
-- summary_zh: {episode_start:date}起多个时段用电持续显著高于自身同时段基线，日均多用 {evidence.median_excess_kwh:kwh} kWh[；用电时段 {evidence.draw_hours:hours}]
-- title: 同时段用电持续显著高于自身基线
-- sentence_rank: 7 (only the excess over the meter's own hours)
-- grain: one row per meter and episode; decided per complete local day (causal). Needs hourly data.
-- why: each hour of the week is compared with the SAME hour of the week over the preceding weeks,
--   with a robust band (median ± MAD), so daily and weekly rhythms are not anomalies; only a
--   sustained excess over many hours and days is. The reference is the larger of the recent median
--   and the meter's long-run upper level for that hour, so a reopening after a shutdown, or a
--   return from holiday, is not an anomaly (checked on real buildings: Cambridge 2019-2021). A day
--   counts only when the meter then uses well above what an ordinary meter of its street and
--   category uses: a building whose load doubles at term start, or after new equipment, is still
--   an ordinary building among its peers; a flat that starts drawing like a workshop is not.
-- shapes: any new load that shows in many hours of the week against the same hours before (day,
--   night, shifts, cycling); needs weeks of the meter's own history, so not existing workshops. A
--   flat's new load that shows only in a household's peaks is new occupants, and is left; so is an
--   empty flat's that shows in its evening and not between the peaks (new occupants in summer,
--   cooling at night; fixtures/district-shapes-summer.json).
-- param: categories varchar[] = ['resident','commercial','other'] [-] (resident|commercial|industrial|other) meter categories screened
-- param: baseline_weeks integer = 6 [wk] (1..) weeks of the same hour-of-week forming the baseline
-- param: min_baseline_weeks integer = 3 [wk] (1..) baseline values needed to judge an hour
-- param: history_weeks integer = 52 [wk] (1..) long-run window of the same hour-of-week: the meter's own earlier level
-- param: history_quantile double = 0.9 [1] (0..1) quantile of the long-run window taken as that earlier level
-- param: min_excess_ratio double = 1 [1] (0..) excess over the reference level, as a multiple of it (a building's term start is not a doubling)
-- param: z_min double = 6 [1] (0..) robust z-score (excess ÷ 1.4826·MAD) of an anomalous hour
-- param: min_excess_kw double = 2 [kW] (0..) draw above the baseline median of an anomalous hour, at least
-- param: min_hours integer = 6 [h] (1..24) anomalous hours that make a day anomalous
-- param: household_hours_categories varchar[] = ['resident'] [-] (resident|commercial|industrial|other) for these categories an anomalous day needs household_min_offpeak_hours of its anomalous hours outside a household's morning and evening peaks: new occupants of an empty flat exceed the empty flat's baseline in their peaks alone (a family at 1.5 × its street, raised on a library district of another seed), a workshop's hours run through the day or the night
-- param: household_min_offpeak_hours integer = 3 [h] (0..24) anomalous hours outside those peaks, at least
-- param: empty_flat_max_kw double = 0.1 [kW] (0..) a baseline at most this over the anomalous hours is an empty flat's: an anomalous day of these categories in it with occupant_min_evening_hours of the evening peak and none between the peaks is a family moving in, whose summer nights add air conditioning outside the peaks (a new occupant of a summer library district was raised), where a workshop moving in draws by day or, at night, without an evening at home
-- param: occupant_min_evening_hours integer = 3 [h] (0..24) anomalous evening-peak hours of such a day, at least
-- param: morning_peak_start_hour integer = 6 [h] (0..23) a household's morning peak starts (local)
-- param: morning_peak_end_hour integer = 9 [h] (0..24) and ends
-- param: evening_peak_start_hour integer = 17 [h] (0..23) a household's evening peak starts (local)
-- param: evening_peak_end_hour integer = 23 [h] (0..24) and ends
-- param: min_peer_ratio double = 1.5 [1] (0..) the anomalous day's energy ÷ median daily energy of the same street and category, at least
-- param: confirm_days integer = 7 [d] (1..) trailing window for "sustained"
-- param: min_anomalous_days integer = 4 [d] (1..) anomalous days in the confirm window, at least
-- param: episode_gap_days integer = 7 [d] (1..) quiet days that end an episode
-- param: min_hour_covered_min double = 45 [min] (0..60) readings must cover this much of an hour for the hour to count
-- param: mad_floor_kw double = 0.05 [kW] (0..) added to the scaled MAD so a perfectly regular hour is not an infinite z
-- param: evidence_baseline_days integer = 28 [d] (1..) days before the episode whose median is shown as the meter's ordinary day
-- param: evidence_min_day_coverage double = 0.75 [1] (0..1) share of a day the readings must cover to count in that ordinary day
-- param: full_score_excess double = 4 [1] (1..) daily excess, as a multiple of min_excess_kw · min_hours, that scores 1.0 (0.5 at 1×)
-- implicit: last_complete_day date — the last local day the data watermark has passed
-- implicit: judge_from_day date — the first day judged (1970-01-01 = all); earlier days' anomalous days are kept (src/core/incremental.ts)
-- keep: day_anomalies
-- param: draw_share double = 0.5 [1] (0..1) an hour of day counts as drawing (the hours to visit) at this share of the meter's busiest hour
-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,
--   window_start timestamp, window_end timestamp, score double, baseline_kwh_day double,
--   level_kwh_day double, reference_kwh_day double, evidence json

with candidate_hours as (
  -- only an hour drawing at least min_excess_kw can exceed its baseline by that much, so baselines
  -- are computed for these hours alone, not for every hour of every meter (most household hours
  -- never qualify). An incremental close judges only its new days: earlier days' anomalous days
  -- are kept (keep: day_anomalies), so the confirm window is not recomputed
  select h.meter_id, h.hour, h.day, h.hour_of_week, h.kw
  from hourly_levels_between($min_hour_covered_min, $judge_from_day, $last_complete_day) h
  semi join screened_meters($categories) using (meter_id)
  where h.kw >= $min_excess_kw
),

history_hours as (
  -- the stored hours a candidate's baseline reads: the same hour of each earlier week. A close of up
  -- to a week judges at most 7 × 24 × history_weeks of them, within the connection's
  -- dynamic_or_filter_threshold (src/store/db.ts), so the join below becomes an IN filter by which
  -- DuckDB skips the hourly table's other row groups: a close reads those hours of the district, not
  -- every stored hour (a weekday test on the row cannot skip any: at 100k meters × 60 days it read all
  -- 144 M rows, 2.6 s; now 13 M, 0.65 s; with a year stored it would read 876 M). A full re-judge
  -- reads every hour anyway.
  select distinct c.hour - to_days(7 * cast(k as integer)) as hour
  from (select distinct hour from candidate_hours) c,
       range(1, greatest($baseline_weeks, $history_weeks) + 1) w(k)
),

candidate_history as (
  -- the same hours of the week before, for the candidates' meters alone: read from the stored hours
  -- (zone maps skip days outside the window) and cut to the candidates' (meter, hour of week) before
  -- the join below, which otherwise built its hash table on every stored hour (4.7 s of a 5 s close
  -- at 20k meters); only the hours of history_hours are read
  select p.meter_id, p.hour, p.hour_of_week, p.kw
  from hourly_levels_between($min_hour_covered_min, $judge_from_day - greatest($baseline_weeks, $history_weeks) * 7, $last_complete_day) p
  semi join history_hours using (hour)
  semi join candidate_hours c using (meter_id, hour_of_week)
),

hour_of_week_baselines as (
  -- the same hour of the week in earlier weeks: the recent baseline (median, MAD) over
  -- baseline_weeks and the long-run upper level over history_weeks, strictly before the hour
  select c.meter_id, c.hour, c.day, c.kw, hour(c.hour) as hod,
         median(p.kw) filter (where epoch(p.hour) >= epoch(c.hour) - $baseline_weeks * 7 * 86400) as base_kw,
         mad(p.kw) filter (where epoch(p.hour) >= epoch(c.hour) - $baseline_weeks * 7 * 86400) as mad_kw,
         count(p.kw) filter (where epoch(p.hour) >= epoch(c.hour) - $baseline_weeks * 7 * 86400) as base_weeks,
         quantile_cont(p.kw, $history_quantile) filter (where epoch(p.hour) >= epoch(c.hour) - $history_weeks * 7 * 86400) as history_kw
  from candidate_hours c
  join candidate_history p
    on p.meter_id = c.meter_id
   and p.hour_of_week = c.hour_of_week
   and p.hour < c.hour
   and epoch(p.hour) >= epoch(c.hour) - greatest($baseline_weeks, $history_weeks) * 7 * 86400
  group by c.meter_id, c.hour, c.day, c.kw, hod
),

anomalous_hours as (
  select meter_id, day, hod, kw, base_kw,
         (kw - base_kw) / (1.4826 * mad_kw + $mad_floor_kw) as robust_z
  from hour_of_week_baselines
  where base_weeks >= $min_baseline_weeks
    and kw - base_kw >= $min_excess_kw
    and kw - greatest(base_kw, history_kw) >= $min_excess_ratio * greatest(base_kw, history_kw)
    and (kw - base_kw) / (1.4826 * mad_kw + $mad_floor_kw) >= $z_min
),

day_anomalies as (
  -- a day with many anomalous hours, on which the meter uses far more than its peers: its own and
  -- their days both from peer_daily, so they are measured by one coverage rule; both are judged per
  -- day, so the kept rows need no peer rows of older days
  select a.* exclude (offpeak_anomalous_hours, workday_anomalous_hours, evening_anomalous_hours)
  from (
    select meter_id, day, date_diff('day', date '2000-01-01', day) as day_no,
           count(*) as anomalous_hours,
           count(*) filter (where not in_household_peaks(hod, $morning_peak_start_hour, $morning_peak_end_hour, $evening_peak_start_hour, $evening_peak_end_hour)) as offpeak_anomalous_hours,
           count(*) filter (where between_household_peaks(hod, $morning_peak_end_hour, $evening_peak_start_hour)) as workday_anomalous_hours,
           count(*) filter (where hod >= $evening_peak_start_hour and hod < $evening_peak_end_hour) as evening_anomalous_hours,
           sum(kw - base_kw) as excess_kwh,
           sum(base_kw) as base_kwh_in_hours,
           median(robust_z) as median_z
    from anomalous_hours
    group by meter_id, day
    having count(*) >= $min_hours
  ) a
  join meter_groups() g using (meter_id)
  join peer_daily own on own.meter_id = a.meter_id and own.day = a.day
  -- the street's level, or the district pool's for a small street (peer_day_levels' two halves side
  -- by side: see that macro)
  left join street_day_levels($judge_from_day) sp on sp.peer_street = g.peer_street and sp.category = g.category and sp.day = a.day
  left join pool_day_levels($judge_from_day) pp on g.peer_street = '*' and pp.category = g.category and pp.day = a.day
  where own.kwh_day >= $min_peer_ratio * coalesce(sp.peer_kwh_day, pp.peer_kwh_day)
    -- new occupants of an empty flat exceed its baseline in a household's peaks alone
    and (not list_contains($household_hours_categories, g.category)
         or a.offpeak_anomalous_hours >= $household_min_offpeak_hours
            -- a family moving into an empty flat in summer: its peaks and the night it cools
            and not (a.base_kwh_in_hours <= $empty_flat_max_kw * a.anomalous_hours
                     and a.workday_anomalous_hours = 0
                     and a.evening_anomalous_hours >= $occupant_min_evening_hours))
),

sustained_days as (
  select *,
         count(*) over w as anomalous_days,
         min(day) over w as first_anomalous_day,
         median(excess_kwh) over w as median_excess_kwh
  from day_anomalies
  window w as (partition by meter_id order by day_no range between ($confirm_days - 1) preceding and current row)
),

confirmed_days as (
  select *, day_no as episode_clock, median_excess_kwh as peak_excess_kwh from sustained_days where anomalous_days >= $min_anomalous_days
),

episodes as (
  -- evidence as it stood on the first confirmed day (what a live worker would have seen); the peak excess over the episode
  select * from day_episodes(confirmed_days, $episode_gap_days)
),

baseline_daily as (
  -- the meter's ordinary day before the episode, to put the excess in proportion
  select e.meter_id, e.episode_no, median(d.kwh_day) as base_kwh_day
  from episodes e
  join daily_levels($evidence_min_day_coverage * 1440) d
    on d.meter_id = e.meter_id
   and d.day < e.first_anomalous_day
   and d.day >= e.first_anomalous_day - $evidence_baseline_days
  group by all
),

leads as (
  select e.meter_id,
         cast(null as varchar) as site_case_no,
         cast(e.first_anomalous_day as timestamp) as episode_start,
         cast(e.day + 1 as timestamp) as detected_at,
         cast(e.first_anomalous_day as timestamp) as window_start,
         cast(e.last_day + 1 as timestamp) as window_end,
         -- 0.5 at the minimum sustained excess; 1.0 when the daily excess reaches full_score_excess × that
         least(1.0, 0.5 + 0.5 * (e.peak_excess_kwh / ($min_excess_kw * $min_hours) - 1) / ($full_score_excess - 1)) as score,
         coalesce(b.base_kwh_day, 0) as baseline_kwh_day,
         coalesce(b.base_kwh_day, 0) + e.median_excess_kwh as level_kwh_day,
         cast(null as double) as reference_kwh_day,
         to_json({
           anomalous_days: e.anomalous_days,
           median_excess_kwh: e.median_excess_kwh,
           median_robust_z: e.median_z,
           flagged_days: e.flagged_days
         }) as evidence
  from episodes e
  left join baseline_daily b using (meter_id, episode_no)
)

select * from lead_with_draw_hours(leads, $draw_share, $judge_from_day)
