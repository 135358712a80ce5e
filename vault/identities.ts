/**
 * The reservation table: a username, UPN or e-mail address once issued belongs to that person
 * for good (a rehire gets it back; nobody else ever gets it).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

/** How an erased person's reservation is kept (vault/retention.ts): `sha256:<hex of the lower-case value>`. */
export function hashedReservation(value: string): string {
  return `sha256:${createHash('sha256').update(value.toLowerCase(), 'utf8').digest('hex')}`;
}

export type IdentityKind = 'username' | 'upn' | 'email';

export interface ReservedIdentity {
  username?: string;
  upn?: string;
  emails: string[];
}

export async function reservationsOf(db: pg.Pool, personKey: string): Promise<ReservedIdentity> {
  const r = await db.query<{ kind: IdentityKind; value: string }>(
    'select kind, value from identity_reservations where person_key = $1 order by reserved_at, value',
    [personKey],
  );
  const out: ReservedIdentity = { emails: [] };
  for (const row of r.rows) {
    if (row.kind === 'username') out.username ??= row.value;
    else if (row.kind === 'upn') out.upn ??= row.value;
    else out.emails.push(row.value);
  }
  return out;
}

/** Is any of the values reserved by someone else? */
export async function reservedByOthers(
  db: pg.Pool,
  personKey: string,
  values: { kind: IdentityKind; value: string }[],
): Promise<boolean> {
  // Erased persons keep their reservations hashed: a match on the hash is taken too.
  const kinds = [...values.map((v) => v.kind), ...values.map((v) => v.kind)];
  const keys = [...values.map((v) => v.value.toLowerCase()), ...values.map((v) => hashedReservation(v.value))];
  const r = await db.query(
    `select 1 from identity_reservations
      where person_key <> $1 and (kind, value) in (select * from unnest($2::text[], $3::text[])) limit 1`,
    [personKey, kinds, keys],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Reserves all values for the person atomically; false when another person got one of them
 * first (the caller then tries the next candidate). Reserving a value the person already holds is fine.
 */
export async function reserve(
  db: pg.Pool,
  personKey: string,
  values: { kind: IdentityKind; value: string }[],
): Promise<boolean> {
  const client = await db.connect();
  try {
    await client.query('begin');
    for (const v of values) {
      const erased = await client.query<{ person_key: string }>(
        'select person_key from identity_reservations where kind = $1 and value = $2',
        [v.kind, hashedReservation(v.value)],
      );
      if (erased.rows[0] && erased.rows[0].person_key !== personKey) {
        await client.query('rollback');
        return false;
      }
      const r = await client.query<{ person_key: string }>(
        `insert into identity_reservations(kind, value, person_key) values ($1, $2, $3)
           on conflict (kind, value) do update set kind = excluded.kind
         returning person_key`,
        [v.kind, v.value.toLowerCase(), personKey],
      );
      if (r.rows[0]?.person_key !== personKey) {
        await client.query('rollback');
        return false;
      }
    }
    await client.query('commit');
    return true;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
