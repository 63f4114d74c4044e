-- detector: working_week
-- family: workshop
-- problem_type: 疑似散乱污生产（工作日用电远高于周末及同类户）
-- runs: day
-- needs: peers
-- title: 工作日用电远高于周末和同类户（日数据也能判断，含已在生产的作坊）
-- sentence_rank: 4 (the weekdays against the street and the weekends)
-- summary_zh: 近 {evidence.window_days:0} 日工作日日均 {level_kwh_day:kwh} kWh，为{evidence.peer_scope:text}同类户中位的 {evidence.peer_ratio:1} 倍，{evidence.low_weekends:0} 个周末各有一天仅约 {baseline_kwh_day:kwh} kWh（按工作周生产）
-- grain: one row per meter and episode; decided per complete local day from that day's past only
--   (causal). Works on daily values (the daily rollup) of meters that have no hourly data.
-- why: on a daily feed nothing shows a workshop's hours, and one that ran before the data started
--   never changes, so neither sustained_draw nor step_up can see it; daily_capacity sees only those
--   large for their contract. What a daily value does show is the working week: a workshop stops
--   on Sunday (or the whole weekend) while homes use more at weekends, not less. A meter whose
--   weekday energy is far above its street's meters of its category and whose weekends drop to
--   under half of it, three weekends running, while its weekdays stay high, works a working week.
--   Heat pumps, EV charging and heavy households draw as much at weekends (measured on the shape
--   library: weekend ÷ weekday ≥ 0.7). But real households can use more on weekdays: of 1,500
--   London homes on daily values, 27 looked like a working week at 2.5 × their street (51 leads over
--   31,565 household-months, some homes for years), weekdays 20-35 kWh above the weekends. Hence
--   the weekday surplus of min_surplus_kwh (a 5 kW machine for 8 hours) and weekends at 0.4 of the
--   weekdays: 3 leads remain, all one home 42-57 kWh a weekday above its weekends. With those,
--   the street comparison is a second guard, at 2 ×: in summer and in a winter without central
--   heating a street's flats draw 20-26 kWh a day, so a day-shift flat (55 kWh a weekday, 9-14 at
--   weekends) stood at 2.3 × them and was not raised at 2.5 ×; 2 × found 4 more workshops over five
--   draws of the library (four seasons and a spring one), raised no meter more there, and left the
--   London leads as they were (3, also with every home registered at 6 or 8 kVA; stop 42). Tried
--   and not kept: weekends at 0.5 for a meter at capacity_share of its contract (a heated flat
--   keeps its heating on Sundays: 48 kWh a weekday, 20 on Sundays, on 4 kVA) found 2 more over those
--   draws and raised 2 more London homes registered at 8 kVA.
-- shapes: existing day-shift and batch workshops on daily feeds, six-day (Sunday off) and
--   five-day weeks, of 5 kW or more; on resident meters, plants that keep a base load on at
--   weekends: large ones whose weekdays stand large_surplus_kwh over their weekends, and those
--   whose weekdays hold heavy_contract_share of the contract, with weekends at up to
--   large_weekend_share / heavy_weekend_share of the weekdays; not seven-day or night-only
--   workshops (no weekly rhythm: daily_capacity finds those that are large for their contract; the others need hourly data),
--   and not 2-3 kW ones (a daily value cannot tell them from those households) unless they stand
--   at a quarter of a small contract through the day (capacity_share). A new working week
--   with a lower surplus (weekdays doubled from the window before) raised 10 London homes: not used.
-- param: categories varchar[] = ['resident','commercial'] [-] (resident|commercial|industrial|other) meter categories screened
-- param: window_days integer = 21 [d] (7..42) trailing window the week is judged over
-- param: min_weekdays integer = 12 [d] (1..30) covered weekdays the window needs
-- param: min_low_weekends integer = 3 [1] (1..6) complete weekends in the window whose quieter day is low (every one of three: a household away or an EV left uncharged now and then does not do that)
-- param: weekend_share double = 0.4 [1] (0..1) a weekend's quieter day at most this share of the weekday median (0.5 raised two real London households that use less at weekends)
-- param: large_surplus_kwh double = 100 [kWh] (0..) a weekend's quieter day this far under the weekday median is low at large_weekend_share: 12.5 kW of machines stopped for 8 hours. Real plants keep a base on at weekends (a Cambridge building's curve in the shape library: 625 kWh a weekday, 255 at weekends, 0.41 of them, missed on an all-daily draw), while no London home's weekdays stand more than 56 kWh over all three of its weekends' quieter days
-- param: large_weekend_share double = 0.6 [1] (0..1) a weekend's quieter day at most this share of the weekday median when it is large_surplus_kwh under it (London homes reach 0.48-0.6 at 40-56 kWh under)
-- param: heavy_contract_share double = 0.45 [1] (0..1) a weekday median of at least this share of the contract (kVA × 24 h) lets a weekend's quieter day be low at heavy_weekend_share: a flat holding half its contract through every weekday holds machines (heat pumps stay under it and draw the same at weekends, heavy households reach 0.2-0.35). Real buildings' curves in flats of the shape library (0.45-0.55 of 8-10 kVA, weekends at 0.5-0.6 of the weekdays) were missed on all-daily draws; with the large-surplus line, 11 more found over thirteen of them, no false case. London homes registered at 6 or 8 kVA: no home more (of the 4 that reach it at 6 kVA, 3 are raised by daily_capacity there already and the fourth fails the other tests; at 8 kVA one, raised already)
-- param: heavy_weekend_share double = 0.6 [1] (0..1) a weekend's quieter day at most this share of such weekdays
-- param: base_load_categories varchar[] = ['resident'] [-] (resident|commercial|industrial|other) meter categories whose weekends may keep a base load (large_weekend_share, heavy_weekend_share): a shop's or an office's week is a business's, and on SimBench's district delivered as daily values, the two lines raised 22 shops over five of six draws when they judged shops too
-- param: max_quiet_weekday_share double = 0.15 [1] (0..1) share of the window's weekdays as quiet as a low weekend day, at most
-- param: min_peer_ratio double = 2 [1] (1..) weekday median ÷ the street-and-category median daily energy, at least (a street's flats draw 20-26 kWh a day in summer)
-- param: min_level_kwh double = 20 [kWh] (0..) weekday median daily energy, at least
-- param: min_surplus_kwh double = 40 [kWh] (0..) weekday median − the low weekend days' median, at least: a 5 kW machine for 8 hours (real London households that use more on weekdays reach 56 kWh, most stay under 30)
-- param: capacity_share double = 0.25 [1] (0..1) a weekday median of at least this share of the contract (kVA × 24 h) needs only capacity_min_surplus_kwh: the surplus is there for households whose supply allows them large days (the London homes that use more on weekdays draw 20-56 kWh on 14-23 kVA supplies, under 0.17 of them), while a 4-6 kVA flat holding a machine through its weekdays stands at 0.25-0.4 (on the shape library with every feed daily, 15 workshops already running were missed, several for a surplus of 16-38 kWh). Not lower: the London homes registered at 8 kVA give 3 leads at 0.25 (the one home the surplus raises anyway) and 9 at 0.2, at 6 kVA 10 and 23 (stop 42), where 0.2 would find two more six-day flats of the library (0.23 and 0.245 of 10 and 4 kVA). A meter without a contract keeps min_surplus_kwh
-- param: capacity_min_surplus_kwh double = 15 [kWh] (0..) the surplus for such a meter: 2 kW through a working day
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
  select *, isodow(day) as dow
  from daily_feed_days($min_day_coverage * 1440, $categories, $judge_from_day - ($window_days - 1), $last_complete_day)
),

-- only meters that ever draw the minimum on a weekday are judged day by day (the self-join below)
candidates as (
  select * from days
  where meter_id in (select meter_id from days where dow <= 5 and kwh_day >= $min_level_kwh)
),

weekday_windows as (
  select c.meter_id, c.day, c.day_no, any_value(c.peer_street) as peer_street, any_value(c.category) as category, any_value(c.contract_kva) as contract_kva,
         min(x.day) as window_first_day,
         median(x.kwh_day) filter (where x.dow <= 5) as weekday_kwh,
         count(*) filter (where x.dow <= 5) as weekdays,
         list(x.kwh_day) filter (where x.dow <= 5) as weekday_levels
  from candidates c
  join candidates x on x.meter_id = c.meter_id and x.day_no > c.day_no - $window_days and x.day_no <= c.day_no
  where c.day >= $judge_from_day
  group by c.meter_id, c.day, c.day_no
),

-- each weekend's quieter day, keyed by its Saturday
weekends as (
  select meter_id, day_no - (dow - 6) as saturday_no, min(kwh_day) as quiet_kwh
  from candidates
  where dow >= 6
  group by all
),

-- the most a low weekend day may draw: weekend_share of the weekdays; on a meter that may keep a
-- base load, large_weekend_share of them when that is large_surplus_kwh under them, and
-- heavy_weekend_share when the weekdays hold heavy_contract_share of the contract
low_levels as (
  -- (greatest skips the lines a meter does not reach: null)
  select *, greatest($weekend_share * weekday_kwh,
                     case when list_contains($base_load_categories, category) then
                       greatest(least($large_weekend_share * weekday_kwh, weekday_kwh - $large_surplus_kwh),
                                case when weekday_kwh >= $heavy_contract_share * contract_kva * 24 then $heavy_weekend_share * weekday_kwh end)
                     end) as low_day_kwh
  from weekday_windows
),

judged as (
  -- weekdays as quiet as a weekend: a workshop works its weekdays; an EV charged on some days
  -- only, or a household away now and then, is quiet on weekdays as often as at weekends
  select w.* exclude (weekday_levels),
         len(list_filter(w.weekday_levels, k -> k <= w.low_day_kwh)) as quiet_weekdays,
         count(e.saturday_no) filter (where e.quiet_kwh <= w.low_day_kwh) as low_weekends,
         median(e.quiet_kwh) filter (where e.quiet_kwh <= w.low_day_kwh) as weekend_kwh
  from low_levels w
  -- weekends complete inside the window (its Sunday on or before the judged day)
  left join weekends e on e.meter_id = w.meter_id and e.saturday_no > w.day_no - $window_days and e.saturday_no + 1 <= w.day_no
  group by all
),

with_peers as (
  select j.*, p.peer_kwh_day, j.weekday_kwh / nullif(p.peer_kwh_day, 0) as peer_ratio
  from judged j
  join (
    -- the peer group's median over the same window's weekdays
    select j2.meter_id, j2.day, median(p.peer_kwh_day) as peer_kwh_day
    from judged j2
    join peer_day_levels($judge_from_day - ($window_days - 1)) p on p.peer_street = j2.peer_street and p.category = j2.category
     and p.day >= j2.window_first_day and p.day <= j2.day and isodow(p.day) <= 5
    group by all
  ) p using (meter_id, day)
),

flagged as (
  select *, day_no as episode_clock,
         -- 0.5 at the thresholds, 1.0 at twice the peer ratio with a weekend at half the low line
         least(1.0, 0.5 + 0.25 * least(1.0, (peer_ratio - $min_peer_ratio) / $min_peer_ratio)
                        + 0.25 * least(1.0, greatest(0.0, (low_day_kwh - weekend_kwh) / nullif(low_day_kwh, 0)) * 2)) as peak_score
  from with_peers
  where weekdays >= $min_weekdays
    and weekday_kwh >= $min_level_kwh
    and low_weekends >= $min_low_weekends
    and quiet_weekdays <= $max_quiet_weekday_share * weekdays
    and peer_ratio >= $min_peer_ratio
    and weekday_kwh - weekend_kwh >= case when weekday_kwh >= $capacity_share * nullif(contract_kva, 0) * 24 then $capacity_min_surplus_kwh else $min_surplus_kwh end
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
       latest.weekend_kwh as baseline_kwh_day,
       latest.weekday_kwh as level_kwh_day,
       latest.peer_kwh_day as reference_kwh_day,
       to_json({
         window_days: $window_days,
         weekdays: latest.weekdays,
         low_weekends: latest.low_weekends,
         quiet_weekdays: latest.quiet_weekdays,
         weekday_kwh: latest.weekday_kwh,
         weekend_kwh: latest.weekend_kwh,
         peer_kwh_day: latest.peer_kwh_day,
         peer_ratio: latest.peer_ratio,
         peer_scope: peer_scope(latest.peer_street),
         flagged_days: flagged_days
       }) as evidence
from episodes
