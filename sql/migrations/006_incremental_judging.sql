-- 006: incremental judging. A day close judges only the days since the last close; the flagged
-- days of each day detector are kept (one table per detector, detector_flags_<name>, created by the
-- runner because its columns are the detector's own), and this table says how far they are current.

create table detector_judged (
  detector       varchar primary key,
  fingerprint    varchar not null, -- sha1 of the detector's SQL, the shared macros and the bound parameters: any edit re-judges everything
  judged_through date    not null, -- flags are kept for every day up to here
  dirty_from     date              -- the earliest day whose inputs changed since (late readings, peer rows); null = none
);
