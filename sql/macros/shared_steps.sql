-- macros: the steps several detector files share, defined once. Created as TEMP macros each time a
-- database is opened (never stored in the file), so an edit here applies at the next open.
-- Why table macros: DuckDB cannot share a CTE between statements, but a table macro can take a
-- CTE of the calling query by name (query_table) and add columns to it, so a detector stays one
-- readable query and the shared step is written once.

-- How far each meter's raw readings may be judged at interval grain (the site detectors). Empty in
-- a backfill: all the data is there. A streaming worker fills it before a site check with, for a
-- meter missing an interval that may still arrive (within the allowed lateness), the last reading
-- before that gap: a trailing window is judged only once every reading it covers is in, so the
-- first flagged interval - and the case id derived from it - does not depend on arrival order.
create temp table if not exists judge_horizon (meter_id varchar primary key, through_ts timestamp not null);

-- The meters an incremental close judges again from an earlier day (late readings, changed peer
-- rows; src/store/judgeState.ts fills it per detector). Every episode of such a meter is returned,
-- not only those reaching the days judged: a late day can end an episode sooner or remove it, and a
-- case that took it up is put right by the episodes that remain. Empty outside an incremental close.
create temp table if not exists rejudge_meters (meter_id varchar, from_day date);

-- Whether an hour of day (0-23) lies in a household's morning or evening peak: where a home's heavy
-- loads sit (cooking, washing, lighting, TV), so a workshop detector asks for draw outside them.
create or replace temp macro in_household_peaks(hod, morning_start, morning_end, evening_start, evening_end) as
  (hod >= morning_start and hod < morning_end) or (hod >= evening_start and hod < evening_end);

-- Whether an hour of day lies between those peaks: when a household is mostly out and a day
-- workshop works (a family moving in, or cooling its nights in summer, draws nothing here).
create or replace temp macro between_household_peaks(hod, morning_end, evening_start) as
  hod >= morning_end and hod < evening_start;

-- The readings the site detectors judge: all of them, up to a meter's horizon where one is set.
create or replace temp macro judged_readings() as table
  select r.* from readings r
  left join judge_horizon h using (meter_id)
  where h.through_ts is null or r.ts <= h.through_ts;

-- Two levels are the same when both are null or they differ by no more than the rounding noise of
-- parallel float sums (a recomputed peer row is not a change, and does not send detectors back).
-- Never null, so `not same_level(…)` is true when one side is null. Use it in WHERE, not in a
-- join condition (an OR there keeps DuckDB from hashing on the keys).
create or replace temp macro same_level(a, b) as
  coalesce((a is null and b is null) or abs(a - b) <= 1e-9 * greatest(abs(a), abs(b), 1), false);

-- Daily energy per meter, scaled to a full day, from days whose readings cover at least
-- min_covered_min minutes. day_no counts days, for range windows.
create or replace temp macro daily_levels(min_covered_min) as table
  select meter_id, day, date_diff('day', date '2000-01-01', day) as day_no,
         kwh * 1440.0 / covered_min as kwh_day, covered_min
  from meter_daily
  where covered_min >= min_covered_min;

-- Hourly draw (kW) per meter from hours covered at least min_covered_min minutes, with the local
-- day, hour of day (0-23) and ISO day of week (1 = Monday); hourly_levels_between keeps the local
-- days from_day..to_day, filtering the stored hour itself so DuckDB skips the row groups of other
-- days (an incremental close reads its windows' days, not the whole history).
create or replace temp macro hourly_levels_between(min_covered_min, from_day, to_day) as table
  select meter_id, hour, cast(hour as date) as day, hour(hour) as hod, isodow(hour) as dow,
         isodow(hour) * 24 + hour(hour) as hour_of_week,
         kwh * 60.0 / covered_min as kw
  from meter_hourly
  where covered_min >= min_covered_min
    and hour >= cast(from_day as timestamp) and hour < cast(to_day + 1 as timestamp);

create or replace temp macro hourly_levels(min_covered_min) as table
  select * from hourly_levels_between(min_covered_min, date '1970-01-01', date '9999-12-30');

-- Every meter with data, and whether it has interval data (readings of an hour or less on some
-- day). Filled once per detector run from the daily rollup (src/store/detectors.ts), because the
-- macros below each scanned all of meter_daily, which grows with history: at a year of 16,667
-- meters (6 M daily rows) each scan took 0.2 s, and a close ran about fifteen of them.
create temp table if not exists meters_with_data (meter_id varchar not null, has_interval boolean not null);

-- The meters the workshop detectors judge: categories screened, known enforcement sites left to
-- the site detectors; a meter missing from the registry is 'other'.
create or replace temp macro screened_meters(categories) as table
  select d.meter_id from meters_with_data d
  left join meters m using (meter_id)
  where list_contains(categories, coalesce(m.category, 'other'))
    and d.meter_id not in (select meter_id from sites);

-- Meters with interval data (readings of an hour or less on some day): sustained_draw sees their
-- hours, so the daily-feed detectors leave them alone. From the daily rollup (a day's average
-- reading length), not by scanning every hourly row at each close.
create or replace temp macro interval_meters() as table
  select meter_id from meters_with_data where has_interval;

-- A street needs this many registered meters of a category for its median to be a peer level. A
-- median of one or two meters is the meter itself, or halfway to it: on the shape library drawn
-- over 40 streets (most shops alone in their street) without contracts, 65 of 82 workshops were
-- found where 78 of 82 were over 4 streets. A smaller group is compared with the district's.
create or replace temp macro min_street_peers() as 5;

-- The street each registered street-and-category group is compared within: its own, or '*' (every
-- street: the district's meters of that category) when it has fewer than min_street_peers()
-- registered meters. From the registry, so every worker of a group places a meter the same way;
-- a change to it judges everything again (src/store/judgeState.ts markAllDirty).
create or replace temp macro peer_streets() as table
  select coalesce(street, '') as street, coalesce(category, 'other') as category,
         if(count(*) >= min_street_peers(), any_value(coalesce(street, '')), '*') as peer_street
  from meters
  group by coalesce(street, ''), coalesce(category, 'other');

-- The registered meters of a category some street has too few of: the district pool's members.
create or replace temp macro pooled_meters() as table
  select meter_id, coalesce(category, 'other') as category from meters
  where coalesce(category, 'other') in (select category from peer_streets() where peer_street = '*');

-- A meter's street and category, the street its peers are drawn from (peer_street: its own or '*'),
-- and its contract capacity. Meters missing from the registry are 'other' of street '', one group.
create or replace temp macro meter_groups() as table
  select d.meter_id, coalesce(m.category, 'other') as category, coalesce(m.street, '') as street,
         coalesce(s.peer_street, '') as peer_street, m.contract_kva
  from meters_with_data d
  left join meters m using (meter_id)
  left join peer_streets() s on s.street = coalesce(m.street, '') and s.category = coalesce(m.category, 'other');

-- How a sentence names a meter's peers (evidence.peer_scope): its street's, or the district's.
create or replace temp macro peer_scope(peer_street) as if(peer_street = '*', '全区', '同街道');

-- Complete days from_day..to_day of screened meters, with the meter's peer group and contract
-- capacity (daily_capacity judges every meter's days: energy beyond the contract needs no hours).
create or replace temp macro meter_days(min_covered_min, categories, from_day, to_day) as table
  select d.meter_id, d.day, d.day_no, d.kwh_day, g.street, g.peer_street, g.category, g.contract_kva
  from daily_levels(min_covered_min) d
  semi join screened_meters(categories) using (meter_id)
  join meter_groups() g using (meter_id)
  where d.day between from_day and to_day;

-- The days the daily-feed detectors judge (working_week, batch_days): those of meters without hourly
-- data (sustained_draw and the hourly detectors see those meters' hours).
create or replace temp macro daily_feed_days(min_covered_min, categories, from_day, to_day) as table
  select * from meter_days(min_covered_min, categories, from_day, to_day)
  anti join interval_meters() h using (meter_id);

-- How many separate runs of values at or above threshold a list holds, in its order (a day's hours:
-- a shift is one run, a heat pump cycling in hour-long blocks many).
create or replace temp macro runs_at_or_above(xs, threshold) as
  len(list_filter(range(1, len(xs) + 1), i -> xs[i] >= threshold and (i = 1 or xs[i - 1] < threshold)));

-- A peer group (peer street, category) as one value (peer_day_levels' only_groups).
create or replace temp macro peer_group_key(peer_street, category) as peer_street || '|' || category;

-- What an ordinary meter of a peer group uses in a day: the median daily energy over peer_daily,
-- which holds every meter of the deployment (each worker adds its own, reads the rest). One row per
-- street group (peer_street = the street) and day; days from from_day on (an incremental close needs
-- only its windows' days). only_groups: these peer_group_key groups only (NULL = every group), for a
-- step that reads a few groups over many days.
create or replace temp macro street_day_levels(from_day, only_groups := NULL::varchar[]) as table
  select coalesce(m.street, '') as peer_street, coalesce(m.category, 'other') as category, p.day,
         median(p.kwh_day) as peer_kwh_day
  from peer_daily p
  left join meters m using (meter_id)
  where p.kwh_day is not null and p.day >= from_day
    and (only_groups is null or list_contains(only_groups, peer_group_key(coalesce(m.street, ''), coalesce(m.category, 'other'))))
  group by all;

-- The same for the district pools (peer_street = '*', every registered meter of a category some
-- street has too few of): the pooled meters joined to their rows, so a district without a small
-- street reads no row here (an empty build side ends the probe; a CTE shared with the street half was
-- materialized whole: a full re-judge of 100k meters peaked 240 MiB higher).
create or replace temp macro pool_day_levels(from_day, only_groups := NULL::varchar[]) as table
  select '*' as peer_street, pm.category, p.day, median(p.kwh_day) as peer_kwh_day
  from peer_daily p
  join pooled_meters() pm using (meter_id)
  where p.kwh_day is not null and p.day >= from_day
    and (only_groups is null or list_contains(only_groups, peer_group_key('*', pm.category)))
  group by all;

-- Both: one row per street group and per district pool; a detector joins it on
-- meter_groups().peer_street. baseline_anomaly, judged as one query over a whole history, left-joins
-- the two halves side by side instead: through this union its join took 4 s where it had taken 1.5
-- (25k meters, 60 days), though the pool half was empty.
create or replace temp macro peer_day_levels(from_day, only_groups := NULL::varchar[]) as table
  select * from street_day_levels(from_day, only_groups := only_groups)
  union all
  select * from pool_day_levels(from_day, only_groups := only_groups);

-- One row per meter and local day of hourly draw: the working-hours band's mean and spread, the
-- night's mean, the day's mean and peak. Days with fewer than min_hours covered hours are left out.
-- industrial_profile judges these; peer_daily publishes their working-hours level as the peer input,
-- so a meter and its peers are measured the same way. only_meters: these meters only (late readings
-- for days already kept); empty = every meter.
create or replace temp macro day_profiles(min_hour_covered_min, min_hours, work_start_hour, work_end_hour, night_end_hour, from_day, to_day, only_meters := []::varchar[]) as table
  select * from (
    select meter_id, day, date_diff('day', date '2000-01-01', day) as day_no, any_value(dow) as dow,
           avg(kw) filter (where hod >= work_start_hour and hod < work_end_hour) as work_kw,
           stddev_pop(kw) filter (where hod >= work_start_hour and hod < work_end_hour) as work_sd_kw,
           avg(kw) filter (where hod < night_end_hour) as night_kw,
           avg(kw) as mean_kw,
           max(kw) as peak_kw,
           count(*) as hours_seen
    from hourly_levels_between(min_hour_covered_min, from_day, to_day)
    where len(only_meters) = 0 or meter_id in (select unnest(only_meters))
    group by meter_id, day
  )
  -- a macro parameter cannot be bound in HAVING, hence the outer filter
  where hours_seen >= min_hours;

-- The parameters a kept day profile was computed with (meter_day_profiles.profile_key).
create or replace temp macro day_profile_key(min_hour_covered_min, min_hours, work_start_hour, work_end_hour, night_end_hour) as
  concat_ws('|', min_hour_covered_min, min_hours, work_start_hour, work_end_hour, night_end_hour);

-- day_profiles of the closed days, as the runner keeps them (migration 007, src/store/dayProfiles.ts:
-- refreshed with peer_daily before any detector reads them): a trailing window reads these rows,
-- one per meter and day, instead of every stored hour of the window.
create or replace temp macro kept_day_profiles(min_hour_covered_min, min_hours, work_start_hour, work_end_hour, night_end_hour, from_day, to_day) as table
  select * exclude (profile_key) from meter_day_profiles
  where profile_key = day_profile_key(min_hour_covered_min, min_hours, work_start_hour, work_end_hour, night_end_hour)
    and day >= from_day and day <= to_day;

-- Episodes: flagged rows of one meter closer than gap (in episode_clock units) form one episode.
-- The relation needs meter_id and episode_clock, a number that grows with time (day_no for day
-- grain, epoch seconds for interval grain); adds starts_episode and episode_no.
create or replace temp macro number_episodes(flagged, gap) as table
  with breaks as (
    select *,
           case when episode_clock - lag(episode_clock) over (partition by meter_id order by episode_clock) <= gap
                then 0 else 1 end as starts_episode
    from query_table(flagged)
  )
  select *, sum(starts_episode) over (partition by meter_id order by episode_clock rows unbounded preceding) as episode_no
  from breaks;

-- Day-grain episodes as a live worker would have raised them: every column of the flagged days
-- (meter_id, day, episode_clock = day_no, …) is taken as it stood on the episode's FIRST flagged
-- day, except columns named peak_*, which are the episode's maximum. Adds last_day, flagged_days
-- and latest: the episode's LAST flagged day as a struct of those same columns (latest.level_kw).
-- The first day fixes what a case is (its start, detection time and id); a detector whose sentence
-- describes what the meter draws now takes its evidence from latest, so an open case reads 近 7 日中
-- 7 日 after a week, not the 1 of the day it was raised. A live close re-emits an episode reaching
-- the days it judges, so its case follows latest as a full judgement ends with it.
create or replace temp macro day_episodes(flagged, gap_days) as table
  select meter_id, episode_no,
         arg_min(COLUMNS(c -> c not in ('meter_id', 'episode_no', 'starts_episode') and c not like 'peak!_%' escape '!'), day),
         max(COLUMNS(c -> c like 'peak!_%' escape '!')),
         max(day) as last_day,
         count(*) as flagged_days,
         arg_max(episode_day, day) as latest
  from number_episodes(flagged, gap_days) episode_day
  group by meter_id, episode_no;

-- Site episodes: flagged trailing windows of a monitored site (meter_id, ts, avg_kw, case_no,
-- event_at = the cut or halt order) closer than gap_s seconds form one episode. Each episode's own
-- rate (all energy from the first window's start to the last flagged interval, as a daily average
-- over at least one day, or a first afternoon would read as twice its energy) and what the site drew
-- while it was meant to be off or at standby (quiet_kwh_day: the median daily level between the
-- enforcement and the episode, from days with min_covered_min of readings).
-- site_readings needs meter_id, ts, kwh.
create or replace temp macro site_episodes(flagged, site_readings, gap_s, window_hours, min_covered_min) as table
  with episodes as (
    select meter_id, episode_no,
           any_value(case_no) as case_no,
           any_value(event_at) as event_at,
           min(ts) as detected_at,
           max(ts) as last_flagged,
           arg_min(avg_kw, ts) as first_window_kw,
           max(avg_kw) as peak_window_kw,
           count(*) as flagged_intervals
    from number_episodes(flagged, gap_s)
    group by meter_id, episode_no
  ),
  energy as (
    select e.*,
           e.detected_at - to_seconds(cast(window_hours * 3600 as bigint)) as window_start,
           greatest(epoch(e.last_flagged) - epoch(e.detected_at) + window_hours * 3600, 86400) / 86400.0 as episode_days,
           sum(r.kwh) as episode_kwh
    from episodes e
    join query_table(site_readings) r
      on r.meter_id = e.meter_id
     and r.ts > e.detected_at - to_seconds(cast(window_hours * 3600 as bigint))
     and r.ts <= e.last_flagged
    group by all
  ),
  quiet as (
    select e.meter_id, e.episode_no, median(d.kwh_day) as quiet_kwh_day
    from episodes e
    join daily_levels(min_covered_min) d
      on d.meter_id = e.meter_id
     and d.day > cast(e.event_at as date)
     and d.day < cast(e.detected_at - interval 1 second as date)
    group by all
  )
  -- the lead columns every site detector returns, named as the output contract names them
  select e.*, e.case_no as site_case_no, e.detected_at as episode_start, e.last_flagged as window_end,
         e.episode_kwh / e.episode_days as level_kwh_day, coalesce(q.quiet_kwh_day, 0) as baseline_kwh_day
  from energy e
  left join quiet q using (meter_id, episode_no);

-- The hours to visit merged into a lead's evidence as draw_hours; evidence kept as it is when there
-- are none (a meter without hourly data).
create or replace temp macro evidence_with_hours(evidence, hours) as
  case when hours is null or len(hours) = 0 then evidence
       else json_merge_patch(evidence, to_json({draw_hours: hours})) end;

-- The hours to visit (a list of hours of day) per meter and day from a relation of (meter_id, day,
-- draw_from_day): the hours at which the meter drew at least share of its busiest hour from
-- draw_from_day through that day, from hours covered at least 30 minutes. Only stored hours from
-- from_day to to_day are read: the zone maps then skip the rest of the history.
create or replace temp macro draw_hours_between(spans, share, from_day, to_day) as table
  with s as (select distinct meter_id, day, draw_from_day from query_table(spans)),
  h as (
    select s.meter_id, s.day, hour(x.hour) as hod, median(x.kwh * 60.0 / x.covered_min) as kw
    from s
    join meter_hourly x
      on x.meter_id = s.meter_id and x.hour >= cast(s.draw_from_day as timestamp) and x.hour < cast(s.day + 1 as timestamp)
    where x.covered_min >= 30
      and x.hour >= cast(from_day as timestamp) and x.hour < cast(to_day + 1 as timestamp)
    group by all
  )
  select h.meter_id, h.day,
         list(h.hod order by h.hod) filter (where h.kw >= share * t.top_kw and t.top_kw > 0) as draw_hours
  from h
  join (select meter_id, day, max(kw) as top_kw from h group by all) t using (meter_id, day)
  group by all;

-- Flagged days with the hours to visit as a live worker saw them when it raised the day (draw_hours,
-- empty without hourly data). flagged needs meter_id, day and draw_from_day (the start of the episode
-- the day would report, never before from_day). Computed with the flags of the days judged, so
-- day_episodes keeps the first day's hours: an episode begun months ago is never read again from
-- the hourly history, which is not ordered by meter (at 100k meters, re-reading the hours of 500 open
-- episodes at each close scanned 72 M rows, 1.3 s).
create or replace temp macro with_draw_hours(flagged, share, from_day, to_day) as table
  select f.*, coalesce(d.draw_hours, []) as draw_hours
  from query_table(flagged) f
  left join draw_hours_between(flagged, share, from_day, to_day) d using (meter_id, day);

-- Leads with the hours to visit, computed at the end (a detector whose episodes come from kept rows
-- of an earlier step, baseline_anomaly): from the episode's start up to detection, merged into the
-- evidence as draw_hours. Only leads whose window ends after from_day come back (what an incremental
-- close returns: the episodes reaching the days it judged), and every lead of a meter judged again
-- (rejudge_meters). An episode may have begun at any time,
-- so the hours are read without bounds: a close with such leads reads the hourly history (bounds
-- taken from the leads are not constants and made DuckDB scan it even when there were none).
-- leads needs meter_id, episode_start, detected_at, window_end, evidence (json).
create or replace temp macro lead_with_draw_hours(leads, share, from_day) as table
  with l as (
    select *, cast(episode_start as date) as draw_from_day, cast(detected_at - interval 1 day as date) as day
    from query_table(leads)
    where window_end > cast(from_day as timestamp) or meter_id in (select meter_id from temp.rejudge_meters)
  )
  select l.* exclude (draw_from_day, day) replace (evidence_with_hours(l.evidence, d.draw_hours) as evidence)
  from l
  left join draw_hours_between('l', share, date '1970-01-01', date '9999-12-30') d using (meter_id, day);
