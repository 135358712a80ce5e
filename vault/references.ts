/** Who points at whom: the persons whose current contracts name a person as their manager. */
import type pg from 'pg';

export async function reportsOf(db: pg.Pool, managerPersonKey: string): Promise<string[]> {
  const r = await db.query<{ person_key: string }>(
    `select distinct c.person_key from contracts c join persons p on p.person_key = c.person_key
      where c.manager_key = $1 and c.person_key <> $1 and p.removed_at is null
      order by c.person_key`,
    [managerPersonKey],
  );
  return r.rows.map((x) => x.person_key);
}
