-- Thresholds (docs/lifecycle.md section 5): what a poll would do, counted before anything is signalled,
-- and the admin decision on a poll that was held because it went over a limit.

-- outcome now also: held (waiting for approve or reject; set back to running on approve).
alter table source_polls
  add column previous        integer not null default 0,  -- persons in the snapshot the poll diffed against
  add column ending_today    integer not null default 0,  -- persons whose employment ends today or earlier by this import (removed included)
  add column held_at         timestamptz,
  add column held_reasons    jsonb,                       -- ThresholdReason[] (activities/poll.ts): which limits tripped, with the numbers
  add column decision        text check (decision in ('approved', 'rejected')),
  add column decided_by      text,
  add column decided_at      timestamptz,
  add column decision_reason text;

-- The rolling window reads a source's accepted polls by time.
create index source_polls_accepted on source_polls(source, accepted_at) where accepted_at is not null;
