-- 005: the district console. Verdicts carry who gave them and are never overwritten; every
-- revision of a case is kept; verdicts and downloads are audited; deliveries are recorded so a
-- day already sent is not sent twice after a restart.

-- A verdict's id makes applying it idempotent: the feedback topic is re-read whole at every start.
alter table case_feedback add column verdict_id varchar;
alter table case_feedback add column given_by varchar;
alter table case_feedback add column duplicate_of varchar;
update case_feedback set verdict_id = 'legacy:' || case_id || ':' || cast(epoch_us(given_at) as varchar) where verdict_id is null;

create table case_revisions (
  case_id     varchar   not null,
  revision    integer   not null,
  score       double    not null,
  detected_at timestamp not null,
  window_end  timestamp not null,
  status      varchar   not null,
  summary_zh  varchar   not null,
  evidence    json      not null,
  saved_at    timestamp not null,
  primary key (case_id, revision)
);
insert into case_revisions select case_id, revision, score, detected_at, window_end, status, summary_zh, evidence, updated_at from cases;

-- who did what in the console (no names or addresses: user, action, the case or list asked for)
create table audit_log (
  logged_at timestamp not null default current_timestamp,
  username varchar   not null,
  action   varchar   not null,     -- verdict | download | login | login_failed
  target   varchar,
  detail   varchar
);

-- one row per list that must go out: (day, street, kind, channel); sent_at set once delivered
create table deliveries (
  day        date      not null,
  street     varchar   not null,
  kind       varchar   not null,   -- daily | weekly
  channel    varchar   not null,   -- email | webhook
  rows       integer   not null,
  attempts   integer   not null default 0,
  last_error varchar,
  next_try   timestamp,
  sent_at    timestamp,
  primary key (day, street, kind, channel)
);
