-- Day-one passwords (activities/day-one-password.ts): one row per account Tenure created and set
-- an initial password on at its first enable, recording how far the delivery got so a retried
-- activity never silently sends a second, different password. The password itself is never stored.
create table day_one_passwords (
  target      text not null,
  person_key  text not null,
  account_id  text not null,                  -- the account the password was set on (AD objectGUID)
  -- 'setting': about to set a password; 'sending': set, the mail may have left; 'unsent': set, the
  -- mail surely did not leave; 'sent': delivered; 'undeliverable': no recipient or a permanent
  -- rejection (reported, not retried).
  state       text not null check (state in ('setting', 'sending', 'unsent', 'sent', 'undeliverable')),
  attempts    integer not null default 0,     -- passwords set so far (a retry after 'sending' says it replaces the earlier mail)
  channel     text check (channel in ('manager', 'department', 'fallback')),
  must_change boolean,
  message_id  text,
  problem     text,                           -- why undeliverable: names a person key or a setting, never an address
  updated_at  timestamptz not null default now(),
  sent_at     timestamptz,
  primary key (target, person_key, account_id)
);
