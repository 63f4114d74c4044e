-- 001: core tables. Append-only: never edit a migration that has shipped; add a new one.
-- All timestamps are LOCAL wall time of Asia/Shanghai (UTC+8, no DST); `ts` is an interval END.

create table readings (
  meter_id     varchar   not null,
  ts           timestamp not null,  -- interval end, local
  interval_min smallint  not null,  -- 15 for quarter-hour curves, 1440 for daily values
  kwh          double    not null   -- energy of the interval
);

-- Daily energy per meter and local day; kept incrementally by the ingest (new rows add in).
create table meter_daily (
  meter_id    varchar not null,
  day         date    not null,
  kwh         double  not null,
  covered_min integer not null,      -- minutes of the day the readings cover (1440 = complete)
  n_readings  integer not null,
  primary key (meter_id, day)
);

-- Hourly energy per meter (only from readings of 60 min or shorter).
create table meter_hourly (
  meter_id    varchar   not null,
  hour        timestamp not null,    -- hour START, local
  kwh         double    not null,
  covered_min integer   not null,
  primary key (meter_id, hour)
);

create table meters (
  meter_id     varchar primary key,
  account_name varchar,
  address      varchar,
  street       varchar,
  community    varchar,
  category     varchar not null,     -- resident|commercial|industrial|other
  contract_kva double
);

create table sites (
  case_no         varchar primary key,
  meter_id        varchar not null,
  site_name       varchar,
  address         varchar,
  street          varchar,
  measure         varchar,           -- 关停取缔|整合搬迁|升级改造
  status          varchar,           -- 整改中|已整改|…
  power_cut_at    timestamp,         -- 停电: expected ~0 from then on
  halt_ordered_at timestamp          -- 责令停产: production must stop, power may stay
);

-- Last register value (示数) per meter, to turn register feeds into interval energy.
create table register_state (
  meter_id    varchar primary key,
  ts          timestamp not null,
  reading_kwh double    not null
);

-- The local case registry (一本账): one row per case, updated in place as its episode goes on.
create table cases (
  case_id       varchar primary key,
  family        varchar   not null,  -- site (restored/resumed) | workshop
  detector      varchar   not null,
  problem_type  varchar   not null,
  meter_id      varchar   not null,
  site_case_no  varchar,
  score         double    not null,
  episode_start timestamp not null,
  window_start  timestamp not null,
  window_end    timestamp not null,
  detected_at   timestamp not null,
  evidence      json      not null,
  summary_zh    varchar   not null,
  status        varchar   not null default 'open',
  revision      integer   not null default 1,
  updated_at    timestamp not null
);

-- Ingest bookkeeping: what each run read, so "nothing lost" can be checked afterwards.
create table ingest_runs (
  run_id      varchar primary key,
  started_at  timestamp not null,
  finished_at timestamp,
  source      varchar,
  read        bigint,
  accepted    bigint,
  rejected    bigint,
  duplicate   bigint
);
