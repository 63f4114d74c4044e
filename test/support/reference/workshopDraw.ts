/** References for sustained_draw, daily_capacity, working_week and batch_days (see their SQL headers): the same rules, written plainly. */
import { DAY, islands, median, quantileCont, type RefEpisode } from './common.js';
import type { RefHour } from './hourly.js';

export interface SustainedDrawParams {
  window_days: number; min_days: number; first_day_capacity_frac: number; sustained_hours: number; quiet_hours: number;
  morning_peak_start_hour: number; morning_peak_end_hour: number; evening_peak_start_hour: number; evening_peak_end_hour: number;
  offpeak_hours: number; min_offpeak_share: number; week_min_excess_kw: number; waking_day_min_peer_ratio: number; full_capacity_frac: number; business_capacity_min_peer_ratio: number; short_hours: number; min_excess_kw: number; min_contrast: number; capacity_min_contrast: number; base_load_categories: string[]; min_quiet_kw: number;
  capacity_frac: number; peer_categories: string[]; peer_min_level_kw: number; peer_max_level_kw: number; min_peer_ratio: number;
  household_categories: string[]; household_min_level_kw: number; household_min_peer_ratio: number; week_household_min_peer_ratio: number; household_max_draw_runs: number; household_evening_hours: number; waking_day_max_level_kw: number;
  home_hours_categories: string[]; home_hours_capacity_frac: number; home_hours_min_level_kw: number;
  weather_days: number; weather_min_days: number; weather_min_corr: number; heavy_weather_min_corr: number; weather_heavy_ratio: number; weather_min_heavy_meters: number; heavy_weather_days: number;
  night_categories: string[]; night_start_hour: number; night_end_hour: number; night_min_share: number; night_min_peer_ratio: number;
  far_peer_ratio: number; continuous_min_flatness: number; continuous_min_window_days: number; continuous_min_level_kw: number; continuous_min_peer_ratio: number; min_day_hours: number; episode_gap_days: number;
  household_continuous_min_flatness: number; household_continuous_min_level_kw: number; household_continuous_min_profile_contrast: number; household_continuous_min_days: number; household_continuous_min_day_share: number;
  draw_share: number;
  week_categories: string[]; steady_categories: string[]; week_days: number; week_min_rest_days: number; week_max_rest_share: number; week_min_base_share: number; week_min_contrast: number;
  steady_min_rest_share: number; steady_min_peer_ratio: number; steady_min_profile_contrast: number; steady_max_draw_hours: number;
}

export interface RefMeter { category: string; street: string; contract_kva: number | null }

const hod = (ms: number) => new Date(ms).getUTCHours();
/** ISO day of week of a local-midnight ms (1 = Monday). */
const isoDow = (dayMs: number) => ((new Date(dayMs).getUTCDay() + 6) % 7) + 1;
/** DuckDB's round(x, 6): half away from zero (weather changes are compared to a millionth of a kWh). */
const round6 = (x: number) => (Math.sign(x) * Math.round(Math.abs(x) * 1e6)) / 1e6;
const kth = (xs: readonly number[], k: number, desc: boolean) => [...xs].sort((a, b) => (desc ? b - a : a - b))[k - 1];

/** Pearson correlation; NaN when either side does not vary (as DuckDB's corr). */
function pearson(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (xs[i]! - mx) * (ys[i]! - my); sxx += (xs[i]! - mx) ** 2; syy += (ys[i]! - my) ** 2; }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/**
 * `hours`: every meter's hourly kW (covered hours only); `peerKwhDay(street, category, day)`: the
 * street-and-category median daily energy (peer_daily); `ownKwhDay(meter, day)`: the meter's own
 * peer_daily energy; lastCompleteDayMs: days judged through.
 */
export function sustainedDrawReference(hours: readonly RefHour[], meters: ReadonlyMap<string, RefMeter>, peerKwhDay: (street: string, category: string, day: number) => number | undefined, ownKwhDay: (meter: string, day: number) => number | undefined, lastCompleteDayMs: number, p: SustainedDrawParams): RefEpisode[] {
  const byMeterDay = new Map<string, Map<number, RefHour[]>>();
  for (const h of hours) {
    const day = Math.floor(h.hour_ms / DAY) * DAY;
    if (day > lastCompleteDayMs) continue;
    const m = byMeterDay.get(h.meter_id) ?? byMeterDay.set(h.meter_id, new Map()).get(h.meter_id)!;
    (m.get(day) ?? m.set(day, []).get(day)!).push(h);
  }
  // the district's weather as its heavy users feel it: the median change from the day before of the
  // meters of a category at weather_heavy_ratio × their street's median on both days, where enough are
  const heavyWeather = new Map<string, number | undefined>();
  const weatherChange = (category: string, d: number): number | undefined => {
    const key = `${category}|${d}`;
    if (!heavyWeather.has(key)) {
      const changes: number[] = [];
      for (const [m, info] of meters) {
        if (info.category !== category) continue;
        const [o1, o0, s1, s0] = [ownKwhDay(m, d), ownKwhDay(m, d - DAY), peerKwhDay(info.street, category, d), peerKwhDay(info.street, category, d - DAY)];
        if (o1 !== undefined && o0 !== undefined && s1 !== undefined && s0 !== undefined && o1 >= p.weather_heavy_ratio * s1 && o0 >= p.weather_heavy_ratio * s0) changes.push(o1 - o0);
      }
      heavyWeather.set(key, changes.length >= p.weather_min_heavy_meters ? round6(median(changes)) : undefined);
    }
    return heavyWeather.get(key);
  };
  const out: RefEpisode[] = [];
  for (const [meter, days] of byMeterDay) {
    const info = meters.get(meter) ?? { category: 'other', street: '', contract_kva: null };
    const judged: { day: number; working: boolean; rhythmDay: boolean; far: boolean; level: number; quiet: number; short: boolean; capacityContrast: number; rhythmContrast: number; steady: boolean; household: boolean }[] = [];
    // each read day's sustained and quiet levels, for the working week over the trailing week_days
    const read = [...days].filter(([, hs]) => hs.length >= p.min_day_hours)
      .map(([day, hs]) => ({ day, level: kth(hs.map((h) => h.kw), p.sustained_hours, true)!, quiet: kth(hs.map((h) => h.kw), p.quiet_hours, false)! }));
    // 'working': its Sundays drop the working load and keep the base load; 'steady': they draw as its weekdays do
    const weekOf = (day: number): 'working' | 'steady' | undefined => {
      if (!p.week_categories.includes(info.category)) return undefined;
      const week = read.filter((x) => x.day > day - p.week_days * DAY && x.day <= day);
      const rest = week.filter((x) => isoDow(x.day) === 7), work = week.filter((x) => isoDow(x.day) <= 5);
      if (rest.length < p.week_min_rest_days || !(median(rest.map((x) => x.quiet)) >= p.week_min_base_share * median(work.map((x) => x.quiet)))) return undefined;
      const restLevel = median(rest.map((x) => x.level)), workLevel = median(work.map((x) => x.level));
      if (isoDow(day) <= 6 && restLevel <= p.week_max_rest_share * workLevel) return 'working';
      return p.steady_categories.includes(info.category) && restLevel >= p.steady_min_rest_share * workLevel ? 'steady' : undefined;
    };
    // the hour-of-day profile over the trailing week_days (each hour's median, at the hours the day was
    // read): a working day stands out of its nights, for no more than a shift's hours
    const profileOf = (day: number, hs: readonly RefHour[]) => {
      const profile = hs.map((h) => median([...days].filter(([d]) => d > day - p.week_days * DAY && d <= day)
        .flatMap(([, dhs]) => dhs.filter((x) => hod(x.hour_ms) === hod(h.hour_ms)).map((x) => x.kw))));
      const top = kth(profile, p.sustained_hours, true)!, low = kth(profile, p.quiet_hours, false)!;
      return { top, low, contrast: top / Math.max(low, p.min_quiet_kw), drawHours: profile.filter((kw) => kw >= low + p.draw_share * (top - low)).length };
    };
    // a household's load around the clock: its profile has working hours, and the day is one of its
    // usual days (a working week's plant keeps only its base at weekends)
    const workingHoursEveryDay = (day: number, hs: readonly RefHour[], levelKw: number): boolean => {
      const { top, contrast } = profileOf(day, hs);
      return contrast >= p.household_continuous_min_profile_contrast && levelKw >= p.household_continuous_min_day_share * top;
    };
    const workingProfile = (day: number, hs: readonly RefHour[], levelKw: number, quietKw: number): boolean => {
      const { top, low, contrast, drawHours } = profileOf(day, hs);
      return contrast >= p.steady_min_profile_contrast && drawHours <= p.steady_max_draw_hours
        // a day under min_excess_kw: the profile stands as far over the quiet hours, and those are the day's own
        && (levelKw - quietKw >= p.min_excess_kw || (top - low >= p.week_min_excess_kw && low >= p.week_min_base_share * quietKw));
    };
    for (const [day, hs] of [...days].sort(([a], [b]) => a - b)) {
      if (hs.length < p.min_day_hours) continue;
      const kws = hs.map((h) => h.kw);
      const sustained = kth(kws, p.sustained_hours, true);
      // a short day between the peaks at the whole contract is judged at its short level
      const between = hs.filter((h) => hod(h.hour_ms) >= p.morning_peak_end_hour && hod(h.hour_ms) < p.evening_peak_start_hour).map((h) => h.kw);
      const shortLevel = kth(between, p.short_hours, true);
      const full = info.contract_kva !== null && info.contract_kva > 0 ? p.full_capacity_frac * info.contract_kva : undefined;
      const short = sustained !== undefined && full !== undefined && shortLevel !== undefined && sustained < p.capacity_frac * info.contract_kva! && shortLevel >= full
        && !(p.home_hours_categories.includes(info.category) && isoDow(day) >= 6);
      const level = short ? shortLevel : sustained;
      const quiet = kth(kws, p.quiet_hours, false);
      const offpeak = kth(hs.filter((h) => {
        const x = hod(h.hour_ms);
        return !(x >= p.morning_peak_start_hour && x < p.morning_peak_end_hour) && !(x >= p.evening_peak_start_hour && x < p.evening_peak_end_hour);
      }).map((h) => h.kw), p.offpeak_hours, true);
      if (level === undefined || quiet === undefined) continue;
      // outside the household peaks, or at the whole contract whatever the hours
      const weekKind = weekOf(day), week = weekKind === 'working';
      // a day only its seven-day week lets under min_contrast: far above its street, not following its weather, and a working profile
      const steadyRelaxed = weekKind === 'steady' && level < p.min_contrast * Math.max(quiet, p.min_quiet_kw);
      // a smaller excess in a working week, or on such a day (whose profile must show it)
      const rhythm = level - quiet >= (week || steadyRelaxed ? Math.min(p.week_min_excess_kw, p.min_excess_kw) : p.min_excess_kw) && ((offpeak !== undefined && offpeak >= p.min_offpeak_share * level) || (full !== undefined && level >= full));
      // a resident meter beyond its contract share may keep a base load on (capacity_min_contrast); others may not
      const contrast = level / Math.max(quiet, p.min_quiet_kw);
      // …and a resident meter whose weekends keep its base load and drop its working load, a smaller one (week_min_contrast)
      const capacityContrast = week ? Math.min(p.week_min_contrast, p.capacity_min_contrast) : p.base_load_categories.includes(info.category) ? p.capacity_min_contrast : p.min_contrast;
      const rhythmContrast = weekKind !== undefined ? Math.min(p.week_min_contrast, p.min_contrast) : p.min_contrast;
      // a day drawing only at home hours (none of the hours between the peaks near the level, or a weekend) is held to a higher share
      const eveningAndNight = p.home_hours_categories.includes(info.category) && (!between.length || Math.max(...between) < p.draw_share * level);
      const homeHours = eveningAndNight || (p.home_hours_categories.includes(info.category) && isoDow(day) >= 6);
      const capacityFrac = homeHours ? Math.max(p.home_hours_capacity_frac, p.capacity_frac) : p.capacity_frac;
      const atShare = info.contract_kva !== null && info.contract_kva > 0 && level >= capacityFrac * info.contract_kva;
      const overCapacity = atShare && contrast >= capacityContrast;
      const peer = peerKwhDay(info.street, info.category, day);
      const kwh = kws.reduce((a, b) => a + b, 0);
      // households: a smaller level at a lower ratio to their peers than businesses
      const household = p.household_categories.includes(info.category);
      const peerLevel = household ? p.household_min_level_kw : p.peer_min_level_kw;
      // a business's night shift: every deep-night hour read and at its level
      const night = hs.filter((h) => hod(h.hour_ms) >= p.night_start_hour && hod(h.hour_ms) < p.night_end_hour).map((h) => h.kw);
      const nightWork = p.night_categories.includes(info.category) && night.length === p.night_end_hour - p.night_start_hour && Math.min(...night) >= p.night_min_share * level;
      // …or through the evening peak as well as by day: a home heating or cooling its waking day
      const evening = kth(hs.filter((h) => hod(h.hour_ms) >= p.evening_peak_start_hour && hod(h.hour_ms) < p.evening_peak_end_hour).map((h) => h.kw), p.household_evening_hours, true);
      const wakingDay = household && evening !== undefined && evening >= p.min_offpeak_share * level && level < p.waking_day_max_level_kw;
      // a working week's day between the household peaks: a smaller ratio, and it must not follow its street's weather
      const weekHouseholdDay = household && week && !homeHours && !wakingDay;
      const peerRatio = steadyRelaxed ? p.steady_min_peer_ratio : wakingDay && !week ? Math.max(p.waking_day_min_peer_ratio, p.household_min_peer_ratio)
        : weekHouseholdDay ? Math.min(p.week_household_min_peer_ratio, p.household_min_peer_ratio)
        : household ? p.household_min_peer_ratio : nightWork ? Math.min(p.night_min_peer_ratio, p.min_peer_ratio) : p.min_peer_ratio;
      // a home's night that follows its street's weather (its day-to-day changes against the street median's) needs more than air conditioning draws;
      // a waking day outside a working week is held against the heavy users' changes (its street median's where too few)
      const own = (d: number) => ownKwhDay(meter, d), street = (d: number) => peerKwhDay(info.street, info.category, d);
      const followsWeather = (heavy: boolean): boolean => {
        if (own(day) === undefined || street(day) === undefined) return true;
        const ownChanges: number[] = [], streetChanges: number[] = [];
        for (let d = day - ((heavy ? p.heavy_weather_days : p.weather_days) - 1) * DAY; d <= day; d += DAY) {
          const [o1, o0, s1, s0] = [own(d), own(d - DAY), street(d), street(d - DAY)];
          // the heavy users' weather on changes into Tuesday to Friday only (into and out of a weekend they move with the workshops' week)
          const heavyDay = heavy && isoDow(d) >= 2 && isoDow(d) <= 5;
          if (o1 !== undefined && o0 !== undefined && s1 !== undefined && s0 !== undefined) { ownChanges.push(round6(o1 - o0)); streetChanges.push((heavyDay ? weatherChange(info.category, d) : undefined) ?? round6(s1 - s0)); }
        }
        const c = pearson(ownChanges, streetChanges);
        return !(ownChanges.length >= p.weather_min_days && (Number.isNaN(c) || c < (heavy ? p.heavy_weather_min_corr : p.weather_min_corr)));
      };
      const follows = followsWeather(wakingDay && !week);
      const homeWeatherLoad = household && follows && ((eveningAndNight && level < p.home_hours_min_level_kw) || wakingDay);
      // a day only its week let under min_contrast must not follow its street's weather (a cooling family out on Sundays)
      const weekRelaxed = week && level < p.min_contrast * Math.max(quiet, p.min_quiet_kw);
      // …and a waking day is held to the home-hours share on the capacity path
      const capacityOk = overCapacity && !(wakingDay && follows && level < Math.max(p.home_hours_capacity_frac, p.capacity_frac) * info.contract_kva!)
        // …and a business under its whole contract stands above its street too (a shop at half its contract is a shop)
        && (household || level >= p.full_capacity_frac * info.contract_kva! || peer === undefined
            || kwh >= (weekRelaxed ? Math.max(p.min_peer_ratio, p.business_capacity_min_peer_ratio) : p.business_capacity_min_peer_ratio) * peer);
      // the separate runs of hours (in the day's order, as read) at min_offpeak_share of the level: a
      // household's day on the peer path draws in a few (a shift, a lunch break, its own evening)
      const atLevel = [...hs].sort((a, b) => a.hour_ms - b.hour_ms).map((h) => h.kw >= p.min_offpeak_share * level);
      const drawRuns = atLevel.filter((x, i) => x && (i === 0 || !atLevel[i - 1])).length;
      const peerOk = p.peer_categories.includes(info.category) && (!household || drawRuns <= p.household_max_draw_runs)
        && level >= peerLevel && level <= p.peer_max_level_kw && contrast >= rhythmContrast && peer !== undefined && kwh >= peerRatio * peer && !homeWeatherLoad
        && !(steadyRelaxed && (follows || !workingProfile(day, hs, level, quiet)))
        && !(weekHouseholdDay && follows && kwh < p.household_min_peer_ratio * peer);
      // judged by its seven-day week on the peer path: its window keeps that contrast at any capacity share
      const steady = steadyRelaxed && peerOk;
      // around the clock: no rhythm, judged by its size against the peers
      const continuousShape = p.peer_categories.includes(info.category) && level >= p.continuous_min_level_kw && level <= p.peer_max_level_kw && quiet >= p.continuous_min_flatness * level;
      const continuous = continuousShape && peer !== undefined && kwh >= p.continuous_min_peer_ratio * peer;
      // a household's load around the clock, less flat (a farm's ventilation under its milking hours): a
      // heat pump's shape too, so only where it follows no weather (the heavy users') and its profile has working hours
      const householdContinuous = !continuousShape && p.peer_categories.includes(info.category) && household
        && level >= p.household_continuous_min_level_kw && level <= p.peer_max_level_kw && quiet >= p.household_continuous_min_flatness * level
        && peer !== undefined && kwh >= p.continuous_min_peer_ratio * peer
        && !followsWeather(true) && workingHoursEveryDay(day, hs, level);
      const rhythmDay = rhythm && (capacityOk || peerOk) && !(weekRelaxed && follows);
      // a household at its contract share far above its street: a working day whatever its contrast
      const far = household && p.peer_categories.includes(info.category) && atShare && level <= p.peer_max_level_kw && peer !== undefined && kwh >= p.far_peer_ratio * peer;
      judged.push({ day, working: rhythmDay || continuous || householdContinuous || far, rhythmDay, far, level, quiet, short, capacityContrast, rhythmContrast, steady: rhythmDay && steady,
        household: householdContinuous && !rhythmDay });
    }
    const flagged: { day: number; firstWorking: number }[] = [];
    for (const j of judged) {
      if (!j.working) continue;
      const inWindow = judged.filter((x) => x.working && x.day > j.day - p.window_days * DAY && x.day <= j.day);
      const firstDay = info.contract_kva !== null && j.level >= p.first_day_capacity_frac * info.contract_kva && !j.short;
      // a continuous day counts only where the window's days, working or not, are flat as a whole
      const days = judged.filter((x) => x.day > j.day - p.window_days * DAY && x.day <= j.day);
      const daysQuiet = median(days.map((x) => x.quiet));
      const flatWeek = !j.rhythmDay && days.length >= p.continuous_min_window_days && daysQuiet >= (j.household ? p.household_continuous_min_flatness : p.continuous_min_flatness) * median(days.map((x) => x.level))
        // a household's less flat load must hold on household_continuous_min_days of the window
        && (!j.household || days.filter((x) => x.household).length >= p.household_continuous_min_days);
      // otherwise the working days of the window, taken together, keep the contrast (a heat pump passes it on a mild day or two at most)
      const windowLevel = median(inWindow.map((x) => x.level)), windowQuiet = median(inWindow.map((x) => x.quiet));
      const atCapacity = info.contract_kva !== null && windowLevel >= p.capacity_frac * info.contract_kva;
      // …against the quiet hours of all the window's days too: a heat pump's other days are as high and flatter
      const windowContrast = (atCapacity && !j.steady ? j.capacityContrast : j.rhythmContrast) * Math.max(windowQuiet, daysQuiet, p.min_quiet_kw);
      // (such a household day is no rhythm: a heat pump in a seven-day week keeps its week's contrast)
      if (!j.far && !flatWeek && (j.household || !(windowLevel >= windowContrast))) continue;
      if (inWindow.length >= p.min_days || firstDay) flagged.push({ day: j.day, firstWorking: inWindow[0]!.day });
    }
    for (const ep of islands(flagged, (f) => f.day, p.episode_gap_days * DAY)) {
      out.push({ meter_id: meter, episode_start_ms: ep[0]!.firstWorking, detected_at_ms: ep[0]!.day + DAY, window_end_ms: ep[ep.length - 1]!.day + DAY });
    }
  }
  return out;
}

export interface DailyCapacityParams { capacity_share: number; window_days: number; min_high_days: number; episode_gap_days: number }

/** `days`: meter → day → daily kWh (complete days of meters WITHOUT hourly data). */
export function dailyCapacityReference(days: ReadonlyMap<string, ReadonlyMap<number, number>>, kva: ReadonlyMap<string, number | null>, lastCompleteDayMs: number, p: DailyCapacityParams): RefEpisode[] {
  const out: RefEpisode[] = [];
  for (const [meter, byDay] of days) {
    const c = kva.get(meter);
    if (!c) continue;
    const high = [...byDay].filter(([d, kwh]) => d <= lastCompleteDayMs && kwh >= p.capacity_share * c * 24).map(([d]) => d).sort((a, b) => a - b);
    const flagged = high
      .map((d) => ({ d, inWindow: high.filter((x) => x > d - p.window_days * DAY && x <= d) }))
      .filter((x) => x.inWindow.length >= p.min_high_days);
    for (const ep of islands(flagged, (f) => f.d, p.episode_gap_days * DAY)) {
      out.push({ meter_id: meter, episode_start_ms: ep[0]!.inWindow[0]!, detected_at_ms: ep[0]!.d + DAY, window_end_ms: ep[ep.length - 1]!.d + DAY });
    }
  }
  return out;
}


export interface WorkingWeekParams {
  window_days: number; min_weekdays: number; min_low_weekends: number; weekend_share: number; max_quiet_weekday_share: number;
  min_peer_ratio: number; min_level_kwh: number; min_surplus_kwh: number; capacity_share: number; capacity_min_surplus_kwh: number; episode_gap_days: number;
  large_surplus_kwh: number; large_weekend_share: number; heavy_contract_share: number; heavy_weekend_share: number; base_load_categories: string[];
}


/**
 * working_week (see its SQL header): each meter's daily energy (`days`, covered days only) and the
 * street-and-category median daily energy of every day (`peerKwhDay`).
 */
export function workingWeekReference(days: ReadonlyMap<string, ReadonlyMap<number, number>>, kva: ReadonlyMap<string, number | null>, peerKwhDay: (day: number) => number | undefined, lastCompleteDayMs: number, p: WorkingWeekParams, categoryOf: (meter: string) => string = () => 'resident'): RefEpisode[] {
  const out: RefEpisode[] = [];
  for (const [meter, byDay] of days) {
    const c = kva.get(meter);
    const baseLoad = p.base_load_categories.includes(categoryOf(meter));
    const all = [...byDay].filter(([d]) => d <= lastCompleteDayMs).sort(([a], [b]) => a - b);
    if (!all.some(([d, kwh]) => isoDow(d) <= 5 && kwh >= p.min_level_kwh)) continue;
    const flagged: { d: number; first: number }[] = [];
    for (const [d] of all) {
      const win = all.filter(([x]) => x > d - p.window_days * DAY && x <= d);
      const weekdays = win.filter(([x]) => isoDow(x) <= 5).map(([, k]) => k);
      if (weekdays.length < p.min_weekdays) continue;
      const level = median(weekdays);
      if (level < p.min_level_kwh) continue;
      // a low weekend day: weekend_share of the weekdays; on a meter that may keep a base load,
      // large_weekend_share when that far under them, heavy_weekend_share at a heavy share of its contract
      let low = p.weekend_share * level;
      if (baseLoad) {
        low = Math.max(low, Math.min(p.large_weekend_share * level, level - p.large_surplus_kwh));
        if (c && level >= p.heavy_contract_share * c * 24) low = Math.max(low, p.heavy_weekend_share * level);
      }
      // complete weekends in the window: Saturday inside it and Sunday on or before d
      const saturdays = new Map<number, number>();
      for (const [x, k] of all) {
        if (isoDow(x) < 6) continue;
        const sat = x - (isoDow(x) - 6) * DAY;
        saturdays.set(sat, Math.min(saturdays.get(sat) ?? Infinity, k));
      }
      const lowQuiet = [...saturdays].filter(([sat, q]) => sat > d - p.window_days * DAY && sat + DAY <= d && q <= low).map(([, q]) => q);
      const lowWeekends = lowQuiet.length;
      const quiet = weekdays.filter((k) => k <= low).length;
      const peerDays: number[] = [];
      for (let x = win[0]![0]; x <= d; x += DAY) if (isoDow(x) <= 5 && peerKwhDay(x) !== undefined) peerDays.push(peerKwhDay(x)!);
      if (!peerDays.length) continue;
      const ratio = level / median(peerDays);
      // a meter at capacity_share of its contract needs a smaller surplus over its weekends
      const surplus = c && level >= p.capacity_share * c * 24 ? p.capacity_min_surplus_kwh : p.min_surplus_kwh;
      if (lowWeekends >= p.min_low_weekends && quiet <= p.max_quiet_weekday_share * weekdays.length && ratio >= p.min_peer_ratio && level - median(lowQuiet) >= surplus) flagged.push({ d, first: win[0]![0] });
    }
    for (const ep of islands(flagged, (f) => f.d, p.episode_gap_days * DAY)) {
      out.push({ meter_id: meter, episode_start_ms: ep[0]!.first, detected_at_ms: ep[0]!.d + DAY, window_end_ms: ep[ep.length - 1]!.d + DAY });
    }
  }
  return out;
}

export interface BatchDaysParams {
  window_days: number; min_days: number; on_share: number; off_share: number; min_on_days: number; min_off_days: number;
  min_switches: number; min_peer_ratio: number; min_level_kwh: number; min_surplus_kwh: number; episode_gap_days: number; min_off_weekdays: number;
}

/** days: meter → (local day ms → kWh of that complete day), all of one street and category; peerKwhDay: their median that day. */
export function batchDaysReference(days: ReadonlyMap<string, ReadonlyMap<number, number>>, peerKwhDay: (day: number) => number | undefined, lastCompleteDayMs: number, p: BatchDaysParams): RefEpisode[] {
  const out: RefEpisode[] = [];
  for (const [meter, byDay] of days) {
    const all = [...byDay].filter(([d]) => d <= lastCompleteDayMs).sort(([a], [b]) => a - b);
    if (!all.some(([, kwh]) => kwh >= p.min_level_kwh)) continue;
    const flagged: { d: number; first: number }[] = [];
    for (const [d] of all) {
      const win = all.filter(([x]) => x > d - p.window_days * DAY && x <= d);
      if (win.length < p.min_days) continue;
      const top = quantileCont(win.map(([, k]) => k), 0.9);
      // production (1) and idle (0) days in order; the days in between do not count
      const kinds = win.flatMap(([, k]) => (k >= p.on_share * top ? [1] : k <= p.off_share * top ? [0] : []));
      const on = win.map(([, k]) => k).filter((k) => k >= p.on_share * top);
      const off = win.map(([, k]) => k).filter((k) => k <= p.off_share * top);
      // idle days on weekdays: a business closed at weekends is a week, not batches
      const offWeekdays = win.filter(([x, k]) => k <= p.off_share * top && isoDow(x) <= 5).length;
      const switches = kinds.filter((k, i) => i > 0 && k !== kinds[i - 1]).length;
      const peer = peerKwhDay(d);
      if (on.length < p.min_on_days || off.length < p.min_off_days || offWeekdays < p.min_off_weekdays || switches < p.min_switches || peer === undefined) continue;
      const level = median(on);
      if (level >= p.min_level_kwh && level >= p.min_peer_ratio * peer && level - median(off) >= p.min_surplus_kwh) flagged.push({ d, first: win[0]![0] });
    }
    for (const ep of islands(flagged, (f) => f.d, p.episode_gap_days * DAY)) {
      out.push({ meter_id: meter, episode_start_ms: ep[0]!.first, detected_at_ms: ep[0]!.d + DAY, window_end_ms: ep[ep.length - 1]!.d + DAY });
    }
  }
  return out;
}
