-- 011: late inputs send back the meters they touch, not the whole district. Until now a late
-- reading for a closed day (or a changed peer row) set detector_judged.dirty_from, and the next
-- close judged that day again for every meter: at 100k meters about a steady close per late day,
-- for one meter's concentrator coming back online. Now (src/store/judgeState.ts):
--  - a reading for a day a detector has judged marks its meter from that day;
--  - a changed peer row for a judged day marks its meter and its peer group (street, category):
--    the group's medians, which every member is compared with, include that row.
-- The next close judges those meters again from their earliest marked day, the other meters only
-- from the new day. dirty_from stays for what changes everyone (registry edits, restored state).
-- Rows are cleared when the detector's judgement is saved; no key, repeats are read as their minimum.

create table detector_dirty_meters (
  detector   varchar not null,
  meter_id   varchar not null,
  dirty_from date    not null  -- the earliest day of this meter whose inputs changed since the detector judged it
);

create table detector_dirty_groups (
  detector   varchar not null,
  street     varchar not null, -- '' for a meter the registry does not place
  category   varchar not null, -- 'other' for a meter the registry does not know
  dirty_from date    not null  -- the earliest day a peer row of this group changed since the detector judged it
);
