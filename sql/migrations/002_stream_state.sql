-- 002: streaming state. Kafka offsets live in DuckDB and are written in the same transaction as
-- the readings they cover, so a crash never stores a batch twice or loses one.
create table kafka_offsets (
  topic       varchar not null,
  "partition" integer not null,
  next_offset bigint  not null,    -- the first offset NOT yet stored
  watermark   timestamp,           -- latest reading interval end seen in this partition (local)
  primary key (topic, "partition")
);

-- Outbox: cases to publish, written in the same transaction as the case registry table; a
-- publisher produces them and marks them sent. A crash in between republishes, never loses.
create sequence case_outbox_seq;
create table case_outbox (
  seq          bigint primary key default nextval('case_outbox_seq'),
  case_id      varchar not null,
  revision     integer not null,
  payload      varchar not null,
  created_at   timestamp not null default current_timestamp,
  published_at timestamp
);

create table worker_state (
  key   varchar primary key,
  value varchar not null
);
