-- Poll staging (docs/lifecycle.md section 5): what one poll would change, held in the vault so the poll
-- workflow's history carries only poll ids, counts and cursors, never the persons themselves.

-- One row per person a poll found added, changed or removed. Unchanged persons get no row.
create table poll_changes (
  poll_id      bigint not null references source_polls(id) on delete cascade,
  person_key   text not null,
  kind         text not null check (kind in ('added', 'changed', 'removed')),
  person       jsonb,                        -- the validated Person; null for removed
  content_hash text,                         -- personHash(person); null for removed
  signalled_at timestamptz,                  -- set once the signal-with-start was acknowledged
  primary key (poll_id, person_key),
  check ((kind = 'removed') = (person is null))
);
-- signalChanges walks a poll's unsignalled rows in person_key order.
create index poll_changes_unsignalled on poll_changes(poll_id, person_key) where signalled_at is null;

-- The departments of a poll's import, applied to `departments` when the snapshot is accepted.
create table poll_departments (
  poll_id bigint not null references source_polls(id) on delete cascade,
  code    text not null,
  data    jsonb not null,                    -- the validated Department
  primary key (poll_id, code)
);

-- outcome now also: empty (an empty import, flagged and ignored) | superseded.
alter table source_polls
  add column unchanged   integer not null default 0,
  add column kept        integer not null default 0,   -- rejected records of known persons: not removed
  add column signalled   integer not null default 0,
  add column empty       boolean not null default false,
  add column diffed_at   timestamptz,
  add column accepted_at timestamptz;
-- startPoll is idempotent per workflow run.
create unique index source_polls_run on source_polls(workflow_id, run_id);
create index source_polls_source on source_polls(source, id);
