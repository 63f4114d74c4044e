/** Core types shared by detection, case building and reports. Pure data, no I/O. */

export type Family = 'site' | 'workshop';

/** A detector's name: the `-- detector:` of its SQL file (the registry knows them all). */
export type Detector = string;

/** One detector's finding for one meter and episode, as the SQL returns it (local ms times). */
export interface Lead {
  detector: Detector;
  /** From the detector's header: its family and 存在问题类型. */
  family: Family;
  problem_type: string;
  /** The sentence for the street office, rendered from the header's summary_zh template. */
  summary_zh: string;
  meter_id: string;
  site_case_no: string | null;
  episode_start_ms: number;
  detected_at_ms: number;
  window_start_ms: number;
  window_end_ms: number;
  score: number;
  baseline_kwh_day: number | null;
  level_kwh_day: number | null;
  reference_kwh_day: number | null;
  evidence: Record<string, unknown>;
}

export interface MeterInfo {
  meter_id: string;
  account_name: string;
  address: string;
  street: string;
  community: string;
  category: string;
  contract_kva: number | null;
}

export interface SiteInfo {
  case_no: string;
  meter_id: string;
  site_name: string;
  address: string;
  street: string;
  measure: string;
  status: string;
}

/** What one detector contributed to a case. */
export interface DetectorEvidence {
  score: number;
  detected_at: string;
  episode_start: string;
  window_end: string;
  baseline_kwh_day: number | null;
  level_kwh_day: number | null;
  reference_kwh_day: number | null;
  [k: string]: unknown;
}

export type CaseStatus = 'open' | 'confirmed' | 'dismissed' | 'duplicate';

/** A case (lead) as published to the registry. Times are ISO-8601 with +08:00. */
export interface Case {
  case_id: string;
  clue_source: '电力数据筛查';
  detector: Detector;
  family: Family;
  problem_type: string;
  meter_id: string;
  site_case_no: string | null;
  account_name: string;
  address: string;
  street: string;
  score: number;
  episode_start: string;
  window_start: string;
  window_end: string;
  detected_at: string;
  evidence: Record<string, DetectorEvidence>;
  summary_zh: string;
  status: CaseStatus;
  revision: number;
}

/** What the daily list shows of an enforcement site behind a rebound case (整治措施, 整改情况). */
export interface SiteContext {
  measure: string;
  status: string;
  /** 配套办法 停电: the site's power was cut. */
  power_cut?: boolean;
}

/** One meter's data for `explain`, as the store gathers it. */
export interface ExplainData {
  meter: { meter_id: string; account_name: string; address: string; street: string; category: string; contract_kva: number | null } | null;
  daily: { day: string; kwh: number; covered_min: number }[];
  recent: { ts: string; kw: number }[]; // the last days at full resolution
  /** scope: whose meters the peers are (同街道: the street's of the category; 全区: the district's, for a street with too few). */
  peer: { percentile: number | null; peers: number; meter_kwh_day: number | null; peer_median_kwh_day: number | null; scope: '同街道' | '全区' };
  sites: { case_no: string; site_name: string; measure: string; status: string; power_cut_at: string | null; halt_ordered_at: string | null }[];
  cases: Case[];
}
