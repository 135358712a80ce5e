-- Whether each account Tenure holds is enabled in the target as far as Tenure knows (set when it
-- creates, adopts, enables or disables it), so a whole-tenant preview reads what every person holds
-- from the vault in one query instead of asking every employee workflow. Null: recorded before this
-- column existed; readers then fall back to ever_enabled and disabled_at.
alter table target_accounts add column enabled boolean;
