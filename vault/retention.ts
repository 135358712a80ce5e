/**
 * Retention and erasure (AVG/GDPR): once a person's accounts are gone, their personal data leaves
 * the vault. Both paths prove from Tenure's own audit log that no account it made still exists.
 *
 * Erasing a person:
 * - deletes their vault rows: person (and, by cascade, contracts), accepted snapshot, poll staging;
 * - keeps their identity reservations, but only as `sha256:<hex>` of the value, so a username,
 *   UPN or e-mail address once issued is still never given to anyone else (vault/identities.ts
 *   checks hashed values too);
 * - pseudonymises their audit rows (key, target, action, outcome, cause and time stay; text and
 *   details go: `audit_log_pseudonymise`, migration 008);
 * - appends one audit row `vault erase` with the cause (retention period, or who asked).
 */
import type pg from 'pg';
import { appendAudit } from './audit.js';

/** Audit actions after which the target holds an account Tenure made or took over. */
const HOLDS = ['create', 'correlate', 'adopt'];
/** Audit actions after which it no longer does. */
const GONE = ['delete'];
const GONE_OUTCOMES = ['success', 'unchanged', 'notFound'];

/**
 * Targets in which, by Tenure's audit log, the person has an account now: the latest create,
 * correlate or delete per target decides.
 */
export async function accountsOnRecord(db: pg.Pool | pg.PoolClient, personKey: string): Promise<string[]> {
  const r = await db.query<{ target: string; action: string }>(
    `select distinct on (target) target, action from audit_log
      where person_key = $1 and target <> 'vault'
        and ((action = any($2) and outcome = 'success') or (action = any($3) and outcome = any($4)))
      order by target, at desc, id desc`,
    [personKey, HOLDS, GONE, GONE_OUTCOMES],
  );
  return r.rows.filter((row) => HOLDS.includes(row.action)).map((row) => row.target);
}

export class ErasureRefusedError extends Error {
  override readonly name = 'ErasureRefused';
}

export interface ErasureResult {
  personKey: string;
  /** Vault rows deleted (person, snapshot, staging). */
  rowsDeleted: number;
  reservationsHashed: number;
  auditRowsPseudonymised: number;
}

/**
 * Erases one person (see the header). Refuses while Tenure's audit log shows an account in any
 * target, and while the HR source still lists the person (the next poll would bring them back).
 * `cause` names why: `retention: ...` or `erasure request by <who>`.
 */
export async function erasePerson(db: pg.Pool, personKey: string, cause: string): Promise<ErasureResult> {
  const client = await db.connect();
  try {
    await client.query('begin');
    // One erasure per person at a time; the person row is locked while we look.
    const person = await client.query<{ removed_at: Date | null }>(
      'select removed_at from persons where person_key = $1 for update',
      [personKey],
    );
    const accounts = await accountsOnRecord(client, personKey);
    if (accounts.length)
      throw new ErasureRefusedError(
        `${personKey} still has an account in ${accounts.join(', ')} by Tenure's audit log; it must be deleted first`,
      );
    if (person.rows[0] && person.rows[0].removed_at === null)
      throw new ErasureRefusedError(
        `${personKey} is still in the HR source; remove the person there first (the next poll would bring them back)`,
      );
    let rowsDeleted = 0;
    for (const sql of [
      'delete from poll_changes where person_key = $1',
      'delete from source_snapshots where person_key = $1',
      'delete from persons where person_key = $1',
      // Normally gone with the account (the connector deletes its rows); erased here whatever happened.
      'delete from spendcloud_persons where person_key = $1',
      // How day-one passwords were delivered (channel, Message-ID): not needed once the accounts are gone.
      'delete from day_one_passwords where person_key = $1',
    ]) {
      rowsDeleted += (await client.query(sql, [personKey])).rowCount ?? 0;
    }
    const hashed = await client.query(
      `update identity_reservations
          set value = 'sha256:' || encode(sha256(convert_to(value, 'UTF8')), 'hex')
        where person_key = $1 and value not like 'sha256:%'`,
      [personKey],
    );
    const pseudonymised = await client.query<{ n: number }>('select audit_log_pseudonymise($1) as n', [personKey]);
    await appendAudit(client, [
      { personKey, target: 'vault', action: 'erase', outcome: 'success', cause, message: '' },
    ]);
    await client.query('commit');
    return {
      personKey,
      rowsDeleted,
      reservationsHashed: hashed.rowCount ?? 0,
      auditRowsPseudonymised: pseudonymised.rows[0]?.n ?? 0,
    };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Persons whose retention has run out: gone from the source, no account on record, and their
 * last account deleted (or, without any account, their removal from the source) more than
 * `retentionDays` ago.
 */
export async function expiredPersons(db: pg.Pool, retentionDays: number, now = new Date()): Promise<string[]> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const r = await db.query<{ person_key: string }>(
    `select p.person_key from persons p
      where p.removed_at is not null
        and coalesce(
              (select max(a.at) from audit_log a
                where a.person_key = p.person_key and a.action = any($2) and a.outcome = any($3)),
              p.removed_at) < $1
      order by p.person_key`,
    [cutoff, GONE, GONE_OUTCOMES],
  );
  const out: string[] = [];
  for (const row of r.rows) if ((await accountsOnRecord(db, row.person_key)).length === 0) out.push(row.person_key);
  return out;
}

/** Erases every expired person; one refusal (a race with a rehire) does not stop the others. */
export async function purgeExpired(
  db: pg.Pool,
  retentionDays: number,
  now = new Date(),
): Promise<{ erased: string[]; refused: { personKey: string; reason: string }[] }> {
  const erased: string[] = [];
  const refused: { personKey: string; reason: string }[] = [];
  for (const personKey of await expiredPersons(db, retentionDays, now)) {
    try {
      await erasePerson(db, personKey, `retention: accounts deleted more than ${retentionDays} days ago`);
      erased.push(personKey);
    } catch (err) {
      if (!(err instanceof ErasureRefusedError)) throw err;
      refused.push({ personKey, reason: err.message });
    }
  }
  return { erased, refused };
}
