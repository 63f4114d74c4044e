-- detector: daily_capacity
-- family: workshop
-- problem_type: 疑似散乱污生产（日用电量超出合同容量常态）
-- runs: day
-- title: 日用电量长期接近合同容量（日数据也能判断，含已在生产的作坊）
-- sentence_rank: 3 (the day's energy against the contract)
-- summary_zh: 近 {evidence.window_days:0} 日中 {evidence.high_days:0} 日日均用电 {level_kwh_day:kwh} kWh，相当于合同容量 {evidence.contract_kva:0} kVA 全天运行的 {evidence.capacity_pct:0}%
-- grain: one row per meter and episode; decided per complete local day from that day's past only
--   (causal). Works on daily values as well as on interval data (the daily rollup).
-- why: needs only daily energy, so it is the fast path on daily and register feeds. A household
--   uses a small share of its contract over a whole day; a flat that draws, day after day, energy
--   equal to 60 % of its contract capacity running around the clock holds a workshop's load for
--   many hours, whether it started within the data or before it (a heat pump stays under 50 %, a
--   heavy household near 20–35 %). Two high days of three raise it within 72 hours of the first
--   working day. It judges interval meters too: a continuous process (a granulator, a plating bath,
--   a kiln run day and night) has no working rhythm, which sustained_draw asks for to leave heat
--   pumps alone, and nothing else raises one that ran before the data started.
-- not its size against its street (tried in stop 37, not kept): a day at ≥ 30 % of the contract and
--   ≥ 8 × the street's median day would have raised 55 existing workshops that run every day
--   (seven-day, night, continuous, real plants' curves) on 20 all-daily draws of the shape library,
--   with no other meter there. But real London homes reach that: 60 of 1,500 stand at ≥ 8 × the
--   median on two days of three at some time, 19 at ≥ 12 ×, one at 32 × (317 kWh a day), and many hold
--   it for months within 2 % day to day, so neither the ratio nor steadiness tells them apart. Given a
--   UK supply of 14 or 18 kVA, that rule raised 31 or 14 homes where this one raises 3 or 1.
-- shapes: any workshop large for its contract (machines of ≥ 1.4 × kVA for a ten-hour day, as a
--   flat that jumps to 130 kWh a day on 6 kVA), and one running around the clock at ≥ 60 % of it; quiet on heavy households, heat pumps, EV charging.
-- param: categories varchar[] = ['resident','commercial','other'] [-] (resident|commercial|industrial|other) meter categories screened
-- param: capacity_share double = 0.6 [1] (0..1) daily energy ÷ (contract kVA × 24 h) that counts as a high day
-- param: window_days integer = 3 [d] (1..28) trailing window the high days are counted in
-- param: min_high_days integer = 2 [d] (1..28) high days in the window, at least
-- param: min_day_coverage double = 0.75 [1] (0..1) share of a day the readings must cover for the day to count
-- param: episode_gap_days integer = 7 [d] (1..) quiet days that end an episode
-- implicit: last_complete_day date — the last local day the data watermark has passed
-- implicit: judge_from_day date — the first day judged (1970-01-01 = all); earlier days' flags are kept (src/core/incremental.ts)
-- output: meter_id varchar, site_case_no varchar, episode_start timestamp, detected_at timestamp,
--   window_start timestamp, window_end timestamp, score double, baseline_kwh_day double,
--   level_kwh_day double, reference_kwh_day double, evidence json
--   (level, baseline, reference and evidence as the meter drew on the episode's last flagged day;
--   start, detection and score as in every day detector: src/core/incremental.ts)

with high_days as (
  select meter_id, day, day_no, kwh_day, contract_kva,
         kwh_day / (contract_kva * 24) as capacity_share
  from meter_days($min_day_coverage * 1440, $categories, $judge_from_day - ($window_days - 1), $last_complete_day)
  where contract_kva > 0
    and kwh_day >= $capacity_share * contract_kva * 24
),

windows as (
  select *,
         count(*) over w as high_days_in_window,
         min(day) over w as first_high_day,
         median(kwh_day) over w as window_kwh_day
  from high_days
  window w as (partition by meter_id order by day_no range between ($window_days - 1) preceding and current row)
),

flagged as (
  select *, day_no as episode_clock,
         -- 0.5 at the threshold share, 1.0 at twice it
         least(1.0, 0.5 + 0.5 * (window_kwh_day / (contract_kva * 24) - $capacity_share) / $capacity_share) as peak_score
  from windows
  where high_days_in_window >= $min_high_days
),

episodes as (
  select * from day_episodes(flagged, $episode_gap_days)
)

select meter_id,
       cast(null as varchar) as site_case_no,
       cast(first_high_day as timestamp) as episode_start,
       cast(day + 1 as timestamp) as detected_at,
       cast(first_high_day as timestamp) as window_start,
       cast(last_day + 1 as timestamp) as window_end,
       peak_score as score,
       cast(null as double) as baseline_kwh_day,
       latest.window_kwh_day as level_kwh_day,
       cast(null as double) as reference_kwh_day,
       to_json({
         contract_kva: latest.contract_kva,
         capacity_pct: 100 * latest.window_kwh_day / (latest.contract_kva * 24),
         high_days: latest.high_days_in_window,
         window_days: $window_days,
         flagged_days: flagged_days
       }) as evidence
from episodes
