-- Rules as a versioned artefact: every rules file applied with `tenure rules apply`, and every apply
-- (re-evaluation of all employees), with the decision on an apply held over a threshold.
-- A vault may serve more than one rule set (test tenants); an installation normally uses 'default'.

create table rules_versions (
  id          bigserial primary key,
  rules_set   text not null default 'default',
  version     text not null,                 -- the file's `version:` label, named in every reason
  sha256      text not null,                 -- of the text as applied
  text        text not null,                 -- the file as applied (YAML or JSON)
  file_name   text not null,
  applied_by  text not null,                 -- who asked (--by / TENURE_OPERATOR / login)
  os_user     text not null,                 -- the operating-system account that ran the CLI
  reason      text,
  created_at  timestamptz not null default now(),
  -- pending: stored, apply running or held | current: in force | superseded | rejected
  status      text not null default 'pending' check (status in ('pending', 'current', 'superseded', 'rejected')),
  activated_at timestamptz
);
-- A label names one text: reusable only after its version was rejected.
create unique index rules_versions_label on rules_versions(rules_set, version) where status <> 'rejected';
-- At most one version in force per rule set.
create unique index rules_versions_current on rules_versions(rules_set) where status = 'current';

create table rules_applies (
  id            bigserial primary key,
  version_id    bigint not null references rules_versions(id),
  workflow_id   text not null unique,
  started_at    timestamptz not null default now(),
  -- running | held (over a threshold, waiting for approve/reject) | done | rejected
  outcome       text not null default 'running' check (outcome in ('running', 'held', 'done', 'rejected')),
  preview       jsonb,                        -- totals of the preview taken before activation
  held_reasons  jsonb,                        -- the limits it went over
  decision      text check (decision in ('approved', 'rejected')),
  decided_by    text,
  decided_at    timestamptz,
  decision_reason text,
  signalled     integer not null default 0,
  skipped       integer not null default 0,  -- persons without a running employee workflow
  finished_at   timestamptz
);
