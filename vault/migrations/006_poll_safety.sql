-- Polls that fail part-way and the go-live hold (docs/configuration.md, thresholds).

-- The snapshot follows what was actually signalled, person by person. A row is in doubt while a
-- signal for that person is in flight: if the poll dies before the signal is recorded, the next
-- poll cannot know which side of the signal the employee workflow is on, so it treats the person
-- as changed (or removed) and signals again. Employee workflows ignore a repeated signal.
alter table source_snapshots
  add column in_doubt boolean not null default false;

alter table source_polls
  add column first_poll           boolean not null default false, -- no poll of the source was accepted before (go-live)
  add column ending_horizon_days  integer not null default 0,     -- the horizon ending_today was counted with
  add column preview              jsonb;                          -- PollPreview attached to a held poll (common/messages.ts)
