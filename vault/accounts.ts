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
): Promise<void> {
  await db.query(
    `insert into target_accounts (target, person_key, origin, account_id, locator) values ($1, $2, $3, $4, $5)
     on conflict (target, person_key) do update set origin = $3, account_id = $4, locator = $5,
       deleted_at = null, recorded_at = now()`,
    [target, personKey, origin, account.id, account.locator],
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
    'update target_accounts set ever_enabled = true, disabled_at = null where target = $1 and person_key = $2',
    [target, personKey],
  );
}

/** The first moment Tenure disabled the account (kept when disable is repeated). */
export async function recordDisabled(db: pg.Pool, target: string, personKey: string): Promise<Date | undefined> {
  const r = await db.query<{ disabled_at: Date }>(
    `update target_accounts set disabled_at = coalesce(disabled_at, now())
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
