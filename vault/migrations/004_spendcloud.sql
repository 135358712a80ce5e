-- Visma | ProActive Spend Cloud target (docs/targets/spendcloud.md; connectors/targets/spendcloud.ts).
-- Tenure keeps what the Spend Cloud import should see; the lifecycle actions change these rows
-- and a scheduled export writes them as the two CSV files (full dump) to the SFTP drop.
-- Unlike the shipped SQLite file: real keys, so a retried create can never duplicate a person,
-- and roles point at the person (not at the username), so a username change carries them along.

create table spendcloud_persons (
  target         text not null,                 -- connector id (one Spend Cloud tenant)
  external_id    text not null,                 -- employee number: the correlation key
  person_key     text,                          -- vault person key, for operators
  voornaam       text not null default '',
  tussenvoegsel  text not null default '',
  achternaam     text not null default '',
  geslacht       text not null default 'O' check (geslacht in ('M', 'V', 'O')),
  email          text not null default '',
  gebruikersnaam text not null check (gebruikersnaam <> ''),
  active         boolean not null default false, -- created disabled; enable at the start date
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  primary key (target, external_id)
);
create unique index spendcloud_persons_username on spendcloud_persons (target, lower(gebruikersnaam));

-- One row per contract; the export writes those active on the export day.
create table spendcloud_roles (
  target      text not null,
  external_id text not null,
  contract_id text not null,
  ou          text not null default '',          -- department display name ("Organisatorische Eenheid")
  oucode      text not null default '',
  functie     text not null default '',
  functiecode text not null default '',          -- title code ("Functieprofiel Code")
  start_date  date,
  end_date    date,                              -- inclusive
  updated_at  timestamptz not null default now(),
  primary key (target, external_id, contract_id),
  foreign key (target, external_id) references spendcloud_persons (target, external_id) on delete cascade
);

-- Every export run: what was written and whether the upload completed.
create table spendcloud_exports (
  id             bigserial primary key,
  target         text not null,
  started_at     timestamptz not null default now(),
  finished_at    timestamptz,
  as_of          date not null,
  persons        integer not null default 0,
  roles          integer not null default 0,
  persons_bytes  integer not null default 0,
  roles_bytes    integer not null default 0,
  persons_sha256 text,
  roles_sha256   text,
  attempts       integer not null default 0,
  outcome        text not null default 'running' check (outcome in ('running', 'uploaded', 'failed')),
  error          text
);
create index spendcloud_exports_target on spendcloud_exports (target, started_at);
