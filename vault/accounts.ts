/**
 * Account ownership (vault table target_accounts, target_grants): which target accounts Tenure
 * created or adopted for which person, when it disabled them, and which permissions it granted.
 * This is the record every modify, disable and delete is checked against (docs/ownership.md).
 */
import type pg from 'pg';

export type AccountOrigin = 'creating' | 'created' | 'adopted';

export interface OwnedAccount {
  target: string;
  personKey: string;
  origin: AccountOrigin;
  accountId?: string;
  locator?: string;
  everEnabled: boolean;
  disabledAt?: Date;
  deletedAt?: Date;
}

interface Row {
  target: string;
  person_key: string;
  origin: AccountOrigin;
  account_id: string | null;
  locator: string | null;
  ever_enabled: boolean;
  disabled_at: Date | null;
  deleted_at: Date | null;
}

function fromRow(r: Row): OwnedAccount {
  return {
    target: r.target,
    personKey: r.person_key,
    origin: r.origin,
    accountId: r.account_id ?? undefined,
    locator: r.locator ?? undefined,
    everEnabled: r.ever_enabled,
    disabledAt: r.disabled_at ?? undefined,
    deletedAt: r.deleted_at ?? undefined,
  };
}

export async function ownedAccount(db: pg.Pool, target: string, personKey: string): Promise<OwnedAccount | null> {
  const r = await db.query<Row>('select * from target_accounts where target = $1 and person_key = $2', [
    target,
    personKey,
  ]);
  return r.rows[0] ? fromRow(r.rows[0]) : null;
}

/** The person a target account belongs to according to Tenure's record, if any. */
export async function ownerOf(db: pg.Pool, target: string, accountId: string): Promise<OwnedAccount | null> {
  const r = await db.query<Row>(
    'select * from target_accounts where target = $1 and account_id = $2 and deleted_at is null',
    [target, accountId],
  );
  return r.rows[0] ? fromRow(r.rows[0]) : null;
}

/** Notes that a create is about to be attempted (a retry that then finds the account knows it is Tenure's). */
export async function recordCreating(db: pg.Pool, target: string, personKey: string): Promise<void> {
  await db.query(
    `insert into target_accounts (target, person_key, origin) values ($1, $2, 'creating')
     on conflict (target, person_key) do update set origin = 'creating', account_id = null, locator = null,
       ever_enabled = false, disabled_at = null, deleted_at = null, recorded_at = now()
     where target_accounts.deleted_at is not null`,
    [target, personKey],
  );
}

/** The account Tenure created or adopted for the person. */
export async function recordOwned(
  db: pg.Pool,
  target: string,
  personKey: string,
  origin: 'created' | 'adopted',
  account: { id: string; locator: string },
  /** Enabled in the target right now (an adopted account as found; a created one starts disabled). */
  enabled?: boolean,
): Promise<void> {
  await db.query(
    `insert into target_accounts (target, person_key, origin, account_id, locator, enabled) values ($1, $2, $3, $4, $5, $6)
     on conflict (target, person_key) do update set origin = $3, account_id = $4, locator = $5,
       enabled = coalesce($6, target_accounts.enabled), deleted_at = null, recorded_at = now()`,
    [target, personKey, origin, account.id, account.locator, enabled ?? null],
  );
}

export async function recordLocator(db: pg.Pool, target: string, personKey: string, locator: string): Promise<void> {
  await db.query('update target_accounts set locator = $3 where target = $1 and person_key = $2', [
    target,
    personKey,
    locator,
  ]);
}

export async function recordEnabled(db: pg.Pool, target: string, personKey: string): Promise<void> {
  await db.query(
    'update target_accounts set ever_enabled = true, enabled = true, disabled_at = null where target = $1 and person_key = $2',
    [target, personKey],
  );
}

/** The first moment Tenure disabled the account (kept when disable is repeated). */
export async function recordDisabled(db: pg.Pool, target: string, personKey: string): Promise<Date | undefined> {
  const r = await db.query<{ disabled_at: Date }>(
    `update target_accounts set disabled_at = coalesce(disabled_at, now()), enabled = false
      where target = $1 and person_key = $2 returning disabled_at`,
    [target, personKey],
  );
  return r.rows[0]?.disabled_at;
}

export async function recordDeleted(db: pg.Pool, target: string, personKey: string): Promise<void> {
  await db.query('update target_accounts set deleted_at = now() where target = $1 and person_key = $2', [
    target,
    personKey,
  ]);
}

export async function recordGrant(db: pg.Pool, target: string, personKey: string, permission: string): Promise<void> {
  await db.query(
    'insert into target_grants (target, person_key, permission) values ($1, $2, $3) on conflict do nothing',
    [target, personKey, permission],
  );
}

export async function recordRevoke(db: pg.Pool, target: string, personKey: string, permission: string): Promise<void> {
  await db.query('delete from target_grants where target = $1 and person_key = $2 and permission = $3', [
    target,
    personKey,
    permission,
  ]);
}

export async function grantsOf(db: pg.Pool, target: string, personKey: string): Promise<string[]> {
  const r = await db.query<{ permission: string }>(
    'select permission from target_grants where target = $1 and person_key = $2 order by permission',
    [target, personKey],
  );
  return r.rows.map((x) => x.permission);
}

/** One account as the employee workflow holds it, read from the record (for the whole-tenant preview). */
export interface HeldAccount {
  enabled: boolean;
  everEnabled: boolean;
  permissions: string[];
  origin: 'created' | 'adopted';
  /** Epoch ms of Tenure's own first disable. */
  disabledAt?: number;
}

/**
 * What Tenure holds for each of these persons, per target: the accounts it created or adopted and
 * has not deleted, and the permissions it granted. Two queries whatever the number of persons.
 * An account whose create is still in flight ('creating') is not held yet.
 */
export async function heldAccountsOf(
  db: Pick<pg.Pool, 'query'>,
  personKeys: string[],
): Promise<Map<string, Record<string, HeldAccount>>> {
  const out = new Map<string, Record<string, HeldAccount>>();
  if (!personKeys.length) return out;
  const accounts = await db.query<{
    target: string;
    person_key: string;
    origin: 'created' | 'adopted';
    enabled: boolean | null;
    ever_enabled: boolean;
    disabled_at: Date | null;
  }>(
    `select target, person_key, origin, enabled, ever_enabled, disabled_at from target_accounts
      where person_key = any($1) and deleted_at is null and origin in ('created', 'adopted')`,
    [personKeys],
  );
  for (const r of accounts.rows) {
    const held = out.get(r.person_key) ?? {};
    held[r.target] = {
      // Rows from before the enabled column: enabled once Tenure enabled it and not disabled since.
      enabled: r.enabled ?? (r.ever_enabled && r.disabled_at === null),
      everEnabled: r.ever_enabled,
      permissions: [],
      origin: r.origin,
      disabledAt: r.disabled_at?.getTime(),
    };
    out.set(r.person_key, held);
  }
  const grants = await db.query<{ target: string; person_key: string; permission: string }>(
    'select target, person_key, permission from target_grants where person_key = any($1) order by permission',
    [personKeys],
  );
  for (const g of grants.rows) out.get(g.person_key)?.[g.target]?.permissions.push(g.permission);
  return out;
}
