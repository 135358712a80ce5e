-- The vault: the last accepted view of every person, and what Tenure did about it.
-- Personal data is minimal by design: no BSN, salary, bank, birth date or private address.

create table persons (
  person_key   text primary key,            -- '<source>:<source key>'
  source       text not null,
  source_key   text not null,
  data         jsonb not null,               -- the validated uniform Person (domain/model.ts)
  content_hash text not null,
  updated_at   timestamptz not null default now(),
  removed_at   timestamptz,                  -- gone from the source (kept for retention and rehire)
  unique (source, source_key)
);

create table contracts (
  person_key      text not null references persons(person_key) on delete cascade,
  contract_id     text not null,
  start_date      date not null,
  end_date        date,
  department_code text not null,
  title_code      text,
  location        text,
  manager_key     text,
  primary key (person_key, contract_id)
);
create index contracts_department on contracts(department_code);

create table departments (
  source      text not null,
  code        text not null,
  name        text,
  manager_key text,
  parent_code text,
  updated_at  timestamptz not null default now(),
  primary key (source, code)
);

-- The last snapshot a poll accepted: one row per person, its content hash.
create table source_snapshots (
  source       text not null,
  person_key   text not null,
  content_hash text not null,
  accepted_at  timestamptz not null default now(),
  primary key (source, person_key)
);

create table source_polls (
  id            bigserial primary key,
  source        text not null,
  workflow_id   text not null,
  run_id        text not null,
  started_at    timestamptz not null default now(),
  finished_at   timestamptz,
  records_read  integer not null default 0,
  persons_valid integer not null default 0,
  added         integer not null default 0,
  changed       integer not null default 0,
  removed       integer not null default 0,
  errors        integer not null default 0,
  outcome       text not null default 'running'  -- running | accepted | held | rejected | failed
);

create table source_record_errors (
  id         bigserial primary key,
  poll_id    bigint references source_polls(id) on delete cascade,
  source     text not null,
  origin     text not null,
  line       integer,
  record_key text,
  field      text not null,
  reason     text not null,
  at         timestamptz not null default now()
);
create index source_record_errors_key on source_record_errors(source, record_key);

-- A username, UPN or mail once issued is never given to another person.
create table identity_reservations (
  kind        text not null check (kind in ('username', 'upn', 'email')),
  value       text not null,                 -- lower-case
  person_key  text not null,
  reserved_at timestamptz not null default now(),
  primary key (kind, value)
);
create index identity_reservations_person on identity_reservations(person_key);

-- Append-only audit log: every action on every target with its cause.
create table audit_log (
  id          bigserial primary key,
  at          timestamptz not null default now(),
  person_key  text not null,
  target      text not null,
  action      text not null,
  outcome     text not null,
  cause       text not null,
  workflow_id text,
  run_id      text,
  message     text not null default '',
  details     jsonb not null default '{}'::jsonb
);
create index audit_log_person on audit_log(person_key, at);
create index audit_log_time on audit_log(at);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only';
end $$;
create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_append_only();
