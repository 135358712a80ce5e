/**
 * Applies vault/migrations/*.sql in file-name order, each once, in its own transaction,
 * recorded in schema_migrations. Safe to run concurrently: an advisory lock serialises runners.
 * Run as the database owner. `ensureWorkerRole` (also run from the command line when
 * TENURE_WORKER_DB_USER is set) gives the worker a login role without DDL rights.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_ID = 0x7e9e_0001;

export async function migrate(databaseUrl: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`create table if not exists schema_migrations (
      name text primary key, applied_at timestamptz not null default now())`);
    const done = new Set(
      (await client.query<{ name: string }>('select name from schema_migrations')).rows.map((r) => r.name),
    );
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f)).sort();
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(join(MIGRATIONS_DIR, file), 'utf8');
      await client.query('begin');
      try {
        await client.query(sql);
        await client.query('insert into schema_migrations(name) values ($1)', [file]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
      log(`applied ${file}`);
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    await client.end();
  }
  return applied;
}

/** The group role migration 008 creates: data rights, insert-only audit log, no DDL. */
export const WORKER_GROUP_ROLE = 'tenure_app';
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates (or updates the password of) the worker's login role and makes it a member of
 * `tenure_app`. Run by the owner after `migrate`. The role owns nothing, so it cannot alter,
 * drop or truncate the audit log or switch its triggers off.
 */
export async function ensureWorkerRole(databaseUrl: string, user: string, password: string): Promise<void> {
  if (!ROLE_NAME.test(user)) throw new Error('TENURE_WORKER_DB_USER must be a lower-case SQL name ([a-z_][a-z0-9_]*)');
  if (password.length < 16) throw new Error('TENURE_WORKER_DB_PASSWORD must have at least 16 characters');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_ID]);
    const role = client.escapeIdentifier(user);
    const exists = (await client.query('select 1 from pg_roles where rolname = $1', [user])).rowCount! > 0;
    // CREATE/ALTER ROLE take no bind parameters: the password goes in as an escaped literal.
    const options = `login nosuperuser nocreatedb nocreaterole inherit password ${client.escapeLiteral(password)}`;
    await client.query(exists ? `alter role ${role} ${options}` : `create role ${role} ${options}`);
    await client.query(`grant ${WORKER_GROUP_ROLE} to ${role}`);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    await client.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set');
    process.exit(2);
  }
  const run = async () => {
    await migrate(url, (l) => console.log(`[migrate] ${l}`));
    const user = process.env.TENURE_WORKER_DB_USER;
    if (user) {
      await ensureWorkerRole(url, user, process.env.TENURE_WORKER_DB_PASSWORD ?? '');
      console.log(`[migrate] worker role ${user} is a member of ${WORKER_GROUP_ROLE}`);
    }
  };
  run().catch((err: unknown) => {
    console.error(`[migrate] ${(err as Error).message}`);
    process.exit(1);
  });
}
