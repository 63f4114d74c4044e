-- 003: verdicts from the street offices on cases (confirmed on site, dismissed, duplicate).
create table case_feedback (
  case_id    varchar   not null,
  verdict    varchar   not null,     -- confirmed | dismissed | duplicate
  note       varchar,
  given_at   timestamp not null default current_timestamp
);
