-- The audit log stays append-only for everyone but its owner's own narrow functions, and the
-- worker can run as a role that cannot change the schema (docs/vault-roles.md).

-- 1. TRUNCATE skips row triggers: block it with a statement trigger.
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_append_only();

-- 2. The only change ever made to an audit row: pseudonymisation after the retention period or an
-- erasure request (vault/retention.ts). Key, target, action, outcome, cause and time stay; the free
-- text and details (which may hold names, usernames, addresses) are cleared. Runs as the owner
-- (security definer), flagged per transaction so the row trigger lets exactly this through.
create or replace function audit_log_append_only() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and current_setting('tenure.audit_pseudonymise', true) = 'on'
     and new.id = old.id and new.at = old.at and new.person_key = old.person_key
     and new.target = old.target and new.action = old.action and new.outcome = old.outcome
     and new.cause = old.cause and new.message = '' then
    return new;
  end if;
  raise exception 'audit_log is append-only';
end $$;

create function audit_log_pseudonymise(p_person_key text) returns integer
  language plpgsql security definer set search_path = public, pg_temp as $$
declare
  n integer;
begin
  perform set_config('tenure.audit_pseudonymise', 'on', true);
  update audit_log
     set message = '', details = '{"pseudonymised": true}'::jsonb, workflow_id = null, run_id = null
   where person_key = p_person_key and details <> '{"pseudonymised": true}'::jsonb;
  get diagnostics n = row_count;
  perform set_config('tenure.audit_pseudonymise', 'off', true);
  return n;
end $$;
revoke all on function audit_log_pseudonymise(text) from public;

-- 3. The worker's group role: reads and writes the vault's data, may only insert into and read the
-- audit log, owns nothing and creates nothing. A login role for the worker is made a member of it
-- (vault/migrate.ts does that when TENURE_WORKER_DB_USER is set; docs/vault-roles.md).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'tenure_app') then
    create role tenure_app nologin;
  end if;
end $$;
revoke create on schema public from public;
grant usage on schema public to tenure_app;
grant select, insert, update, delete on all tables in schema public to tenure_app;
revoke update, delete, truncate, references, trigger on audit_log from tenure_app;
revoke insert, update, delete, truncate on schema_migrations from tenure_app;
grant usage, select on all sequences in schema public to tenure_app;
grant execute on function audit_log_pseudonymise(text) to tenure_app;
-- Tables and sequences later migrations create (run by the same owner) are granted the same way.
alter default privileges in schema public grant select, insert, update, delete on tables to tenure_app;
alter default privileges in schema public grant usage, select on sequences to tenure_app;
