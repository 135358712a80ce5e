-- Account ownership: Tenure's own record of which target accounts it created or adopted, when it
-- disabled them, and which permissions it granted. Every path that modifies, disables or deletes
-- an account checks this record first; revokes on a full check are limited to what is recorded here
-- (or to a target's configured managed set).

create table target_accounts (
  target         text not null,
  person_key     text not null,
  -- 'creating': a create was started (so a retry that finds the account knows it is Tenure's own);
  -- 'created' / 'adopted': the account is Tenure's to manage; 'deleted': gone, kept for the record.
  origin         text not null check (origin in ('creating', 'created', 'adopted')),
  account_id     text,                        -- stable id in the target (AD objectGUID, Graph id, ...)
  locator        text,
  recorded_at    timestamptz not null default now(),
  ever_enabled   boolean not null default false,
  disabled_at    timestamptz,                 -- when Tenure disabled it (null while enabled or never enabled)
  deleted_at     timestamptz,
  primary key (target, person_key)
);
create unique index target_accounts_account on target_accounts(target, account_id) where account_id is not null;

create table target_grants (
  target      text not null,
  person_key  text not null,
  permission  text not null,
  granted_at  timestamptz not null default now(),
  primary key (target, person_key, permission)
);
