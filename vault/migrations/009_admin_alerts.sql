-- Admin alerts (alerts/): one row per distinct alert, keyed so the same event never alerts twice;
-- the row records when it went out by mail and by webhook, so a failed delivery is retried by the
-- next sweep and a daily digest can collect what was not mailed yet.
create table admin_alerts (
  id          bigserial primary key,
  dedupe_key  text not null unique,          -- pollHeld:<pollId>, personFailing:<personKey>:<since>, writebackFailing:<workflowId>:<run>
  kind        text not null check (kind in ('pollHeld', 'personFailing', 'writebackFailing')),
  subject_key text not null,                 -- the poll id, person key or workflow id (never a name)
  details     jsonb not null default '{}',   -- the template's view: counts, codes, commands
  raised_at   timestamptz not null default now(),
  mailed_at   timestamptz,
  webhook_at  timestamptz,
  digest_day  date,                          -- set when the alert went out in that day's digest
  attempts    integer not null default 0,
  last_error  text
);
create index admin_alerts_undelivered on admin_alerts (raised_at) where mailed_at is null or webhook_at is null;

-- Persons seen failing or retrying by the alert sweep, with when that episode began.
create table failing_persons (
  person_key    text primary key,
  workflow_id   text not null,
  health        text not null,
  failing_since timestamptz not null default now(),
  last_seen     timestamptz not null default now()
);

-- The daily digest mails sent (one per local day).
create table alert_digests (
  day     date primary key,
  sent_at timestamptz not null default now(),
  alerts  integer not null
);
