-- detector: batch_days
-- family: workshop
-- problem_type: 疑似散乱污生产（间歇生产日用电远超同类户）
-- runs: day
-- needs: peers
-- title: 间歇生产：部分日子用电远高于其余日子和同类户（日数据也能判断，含已在生产的作坊）
-- sentence_rank: 5 (production days against idle ones and the street)
-- summary_zh: 近 {evidence.window_days:0} 日中 {evidence.on_days:0} 日为生产日，日均 {level_kwh_day:kwh} kWh，为{evidence.peer_scope:text}同类户中位的 {evidence.peer_ratio:1} 倍；另有 {evidence.off_days:0} 日仅约 {baseline_kwh_day:kwh} kWh，生产日与停工日交替 {evidence.switches:0} 次（按批次间歇生产）
-- grain: one row per meter and episode; decided per complete local day from that day's past only
--   (causal). Works on daily values (the daily rollup) of meters that have no hourly data.
-- why: a workshop that works in batches runs its machines on some days and stands on the others,
--   with no weekly rhythm, so working_week (three quiet weekends) does not see it, and one already
--   running when a daily feed starts never changes, so step_up does not either. What a daily value
--   does show is days of two kinds: production days far above the street's meters of its category,
--   and idle days at a fraction of them, alternating again and again. Homes draw smoothly from day
--   to day (heat pumps and heavy households follow the weather; a vacation is one quiet block,
--   two changes), and an EV charged on some days alternates but its charging days stay within
--   35 kWh of the others (measured on two all-daily draws of the shape library; 4.2 times an
--   ordinary home's energy at most).
--   Real homes do alternate: of 1,500 London households on daily values, 10 had heavy days (40-100
--   kWh, electric heating on cold days, mostly in winter) among ordinary ones, 22 leads over 31,565
--   household-months, their heavy days at most 79 kWh above the others. A production day must be
--   min_surplus_kwh above an idle one (12.5 kW of machines for 8 hours): none of them is. The
--   street comparison is a second guard, at 3 times: a street's shops draw 45-85 kWh a day (the
--   library's streets), so a batch workshop in a shop (145 kWh on production days, 30 on idle
--   ones, 20 kVA) stands at 3.1 times them; 5 times left two such shops on two all-daily draws
--   unraised and kept out no meter (London, the library's four seasons: no case more or less).
-- shapes: existing and new batch workshops on daily feeds (production on random days, or a few
--   days a week at any rhythm) of about 12 kW or more; not night-only or every-day workshops (no idle days: daily_capacity
--   finds those large for their contract; the others need hourly data).
-- param: categories varchar[] = ['resident','commercial'] [-] (resident|commercial|industrial|other) meter categories screened
-- param: window_days integer = 14 [d] (7..42) trailing window the days are judged over
-- param: min_days integer = 12 [d] (1..42) covered days the window needs
-- param: on_share double = 0.6 [1] (0..1) a production day draws at least this share of the window's 90th-percentile day
-- param: off_share double = 0.25 [1] (0..1) an idle day draws at most this share of the window's 90th-percentile day
-- param: min_on_days integer = 4 [d] (1..42) production days in the window, at least
-- param: min_off_days integer = 3 [d] (1..42) idle days in the window, at least
-- param: min_off_weekdays integer = 2 [d] (0..14) idle days from Monday to Friday in the window, at least: a business closed at weekends has its idle days there, and its week is working_week's to judge, with a week's tests (SimBench's weekday-only shops, G1, on daily feeds: 5 raised as batches on one draw at 3.6-6.8 × their street's shops, where no batch workshop was lost for this over thirteen all-daily draws of the library)
-- param: min_switches integer = 4 [1] (1..) changes between production and idle days in the window (days in between skipped), at least: a vacation or a start within the window is one or two
-- param: min_peer_ratio double = 3 [1] (1..) production days' median ÷ the street-and-category median daily energy, at least (a shop street's median is 45-85 kWh)
-- param: min_level_kwh double = 40 [kWh] (0..) production days' median daily energy, at least
-- param: min_surplus_kwh double = 100 [kWh] (0..) production days' median − idle days' median, at least: 12.5 kW of machines for 8 hours (real London households with heavy days, electric heating on cold ones, swing up to 79 kWh)
-- param: min_day_coverage double = 0.75 [1] (0..1) share of a day the readings must cover for the day to count
-- param: episode_gap_days integer = 7 [d] (1..) quiet days that end an episode
-- implicit: last_complete_day date — the last local day the data watermark has passed
-- implicit: judge_from_day date — the first day judged (1970-01-01 = all); earlier days' flags are kept (src/core/incremental.ts)
-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,
--   window_start timestamp, window_end timestamp, score double, baseline_kwh_day double,
--   level_kwh_day double, reference_kwh_day double, evidence json
--   (level, baseline, reference and evidence as the meter drew on the episode's last flagged day;
--   start, detection and score as in every day detector: src/core/incremental.ts)

with days as (
  select * from daily_feed_days($min_day_coverage * 1440, $categories, $judge_from_day - ($window_days - 1), $last_complete_day)
),

-- only meters that ever draw a production day's minimum are windowed at all
candidates as (
  select * from days
  where meter_id in (select meter_id from days where kwh_day >= $min_level_kwh)
),

windows as (
  select meter_id, day, day_no, peer_street, category,
         min(day) over w as window_first_day,
         count(*) over w as days_seen,
         quantile_cont(kwh_day, 0.9) over w as top_kwh,
         list(kwh_day) over w as levels,
         list(isodow(day) <= 5) over w as weekdays
  from candidates
  window w as (partition by meter_id order by day_no range between ($window_days - 1) preceding and current row)
),

classified as (
  select * exclude (levels, weekdays),
         list_filter(levels, k -> k >= $on_share * top_kwh) as on_levels,
         list_filter(levels, k -> k <= $off_share * top_kwh) as off_levels,
         len(list_filter(range(1, len(levels) + 1), i -> levels[i] <= $off_share * top_kwh and weekdays[i])) as off_weekdays,
         -- the days in order as production (1) or idle (0), days in between left out
         list_filter(list_transform(levels, k -> case when k >= $on_share * top_kwh then 1
                                                     when k <= $off_share * top_kwh then 0 end), c -> c is not null) as kinds
  from windows
  where day >= $judge_from_day and days_seen >= $min_days
),

judged as (
  select c.* exclude (on_levels, off_levels, kinds),
         len(c.on_levels) as on_days,
         len(c.off_levels) as off_days,
         list_median(c.on_levels) as on_kwh,
         list_median(c.off_levels) as off_kwh,
         len(list_filter(range(2, len(c.kinds) + 1), i -> c.kinds[i] <> c.kinds[i - 1])) as switches,
         p.peer_kwh_day
  from classified c
  join peer_day_levels($judge_from_day) p on p.peer_street = c.peer_street and p.category = c.category and p.day = c.day
  where len(c.on_levels) >= $min_on_days and len(c.off_levels) >= $min_off_days and c.off_weekdays >= $min_off_weekdays
),

flagged as (
  select *, day_no as episode_clock,
         on_kwh / nullif(peer_kwh_day, 0) as peer_ratio,
         -- 0.5 at the peer-ratio threshold, 1.0 at twice it
         least(1.0, 0.5 + 0.5 * (on_kwh / nullif(peer_kwh_day, 0) - $min_peer_ratio) / $min_peer_ratio) as peak_score
  from judged
  where switches >= $min_switches
    and on_kwh >= $min_level_kwh
    and on_kwh >= $min_peer_ratio * peer_kwh_day
    and on_kwh - off_kwh >= $min_surplus_kwh
),

episodes as (
  select * from day_episodes(flagged, $episode_gap_days)
)

select meter_id,
       cast(null as varchar) as site_case_no,
       cast(window_first_day as timestamp) as episode_start,
       cast(day + 1 as timestamp) as detected_at,
       cast(window_first_day as timestamp) as window_start,
       cast(last_day + 1 as timestamp) as window_end,
       peak_score as score,
       latest.off_kwh as baseline_kwh_day,
       latest.on_kwh as level_kwh_day,
       latest.peer_kwh_day as reference_kwh_day,
       to_json({
         window_days: $window_days,
         on_days: latest.on_days,
         off_days: latest.off_days,
         switches: latest.switches,
         on_kwh: latest.on_kwh,
         off_kwh: latest.off_kwh,
         peer_kwh_day: latest.peer_kwh_day,
         peer_ratio: latest.peer_ratio,
         peer_scope: peer_scope(latest.peer_street),
         flagged_days: flagged_days
       }) as evidence
from episodes
