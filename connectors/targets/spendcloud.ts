/**
 * Visma | ProActive Spend Cloud target (docs/targets/spendcloud.md): file based, no API.
 *
 * - The lifecycle actions keep one person row (correlated on the employee number) and one role row
 *   per contract in PostgreSQL (vault/migrations/004_spendcloud.sql), keyed by the connector id.
 *   Roles reference the person by employee number, so a username change carries them along.
 * - A scheduled export (`exportAndUpload`, connectors/targets/spendcloud/export.ts) writes the full
 *   dump as the two CSV files of 4.5 and uploads them over SFTP (host key pinned, temp name + rename).
 * - Accounts are created inactive; enable/disable flip `active`; disabled persons are left out of the
 *   export (or kept without roles: `export.inactivePersons`). delete removes the rows.
 * - Roles are not engine permissions: they follow the contracts passed in `desired.contracts`
 *   (SpendCloudDesiredAccount). grantPermission is rejected, revokePermission is a no-op,
 *   listPermissions is always empty (so reprovision never revokes a role row).
 * - The account reference is { id: employee number, locator: gebruikersnaam }.
 */
import pg from 'pg';
import type { AccountReference, ActionResult, DesiredAccount, PermissionRef } from '../types.js';
import { TargetConnectorBase } from './kit.js';
import { TargetRejectedError, accountGone } from './errors.js';
import {
  SpendCloudConfigSchema,
  parseSpendCloudConfig,
  spendCloudConfigFromEnv,
  type SpendCloudConfig,
  type SpendCloudConfigInput,
} from './spendcloud/config.js';
import {
  PERSON_COLUMNS,
  personRow,
  roleRows,
  type PersonRow,
  type RoleRow,
  type SpendCloudDesiredAccount,
} from './spendcloud/mapping.js';

export { TargetRejectedError, SpendCloudConfigSchema, parseSpendCloudConfig, spendCloudConfigFromEnv };
export type { SpendCloudConfig, SpendCloudConfigInput, SpendCloudDesiredAccount };
export type { SpendCloudContract, SpendCloudName } from './spendcloud/mapping.js';
export { exportAndUpload, buildExport, type ExportResult, type ExportHooks } from './spendcloud/export.js';

const MAX_EMPLOYEE_ID = 64;
const MAX_USERNAME = 256;

interface StoredPerson extends PersonRow {
  external_id: string;
  active: boolean;
}

interface StoredRole {
  contract_id: string;
  ou: string;
  oucode: string;
  functie: string;
  functiecode: string;
  start_date: string | null;
  end_date: string | null;
}

function sameRole(a: StoredRole, b: RoleRow): boolean {
  return (
    a.ou === b.ou &&
    a.oucode === b.oucode &&
    a.functie === b.functie &&
    a.functiecode === b.functiecode &&
    a.start_date === b.startDate &&
    a.end_date === b.endDate
  );
}

/** pg errors: data/constraint problems are permanent, everything else (connection, timeouts) retryable. */
function mapPgError(err: unknown, context: string): Error {
  if (err instanceof TargetRejectedError) return err;
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e.code === '23505' && e.constraint === 'spendcloud_persons_username')
    return new TargetRejectedError(`${context}: the username is already used by another person in Spend Cloud`);
  if (typeof e.code === 'string' && /^(22|23)/.test(e.code))
    return new TargetRejectedError(`${context}: rejected by the database (${e.code})`);
  return new Error(`${context}: Spend Cloud tables unavailable (${e.message ?? String(err)})`, { cause: err });
}

export class SpendCloudTargetConnector extends TargetConnectorBase {
  readonly id: string;
  readonly config: SpendCloudConfig;
  readonly #pool: pg.Pool;

  /** The pool is the caller's (the worker's vault pool); close() leaves it open. */
  constructor(pool: pg.Pool, config: SpendCloudConfigInput | SpendCloudConfig = {}) {
    super();
    this.#pool = pool;
    this.config = parseSpendCloudConfig(config);
    this.id = this.config.id;
  }

  static fromEnv(pool: pg.Pool, env: NodeJS.ProcessEnv = process.env): SpendCloudTargetConnector {
    return new SpendCloudTargetConnector(pool, spendCloudConfigFromEnv(env));
  }

  /** No key material in logs: only the id and the drop location. */
  toJSON(): Record<string, unknown> {
    return { id: this.id, host: this.config.sftp?.host, dir: this.config.sftp?.dir };
  }

  async #tx<T>(context: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw mapPgError(err, context);
    }
    try {
      await client.query('begin');
      const out = await fn(client);
      await client.query('commit');
      return out;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw mapPgError(err, context);
    } finally {
      client.release();
    }
  }

  async #query<R extends pg.QueryResultRow>(context: string, sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw mapPgError(err, context);
    }
  }

  #validate(d: DesiredAccount): void {
    const problems: string[] = [];
    const id = d.employeeId?.trim() ?? '';
    if (!id) problems.push('employeeId is empty');
    else if (id.length > MAX_EMPLOYEE_ID) problems.push(`employeeId is longer than ${MAX_EMPLOYEE_ID} characters`);
    const u = d.username?.trim() ?? '';
    if (!u) problems.push('username is empty');
    else if (u.length > MAX_USERNAME) problems.push(`username is longer than ${MAX_USERNAME} characters`);
    const ids = new Set<string>();
    for (const c of (d as SpendCloudDesiredAccount).contracts ?? []) {
      if (!c.id?.trim()) problems.push('a contract has no id');
      else if (ids.has(c.id)) problems.push(`contract ${c.id} appears twice`);
      ids.add(c.id);
      if (!c.department?.code?.trim()) problems.push(`contract ${c.id} has no department`);
    }
    if (problems.length) throw new TargetRejectedError(`invalid account data: ${problems.join('; ')}`);
  }

  #ref(p: { external_id: string; gebruikersnaam: string }): AccountReference {
    return { id: p.external_id, locator: p.gebruikersnaam };
  }

  async #insertRoles(c: pg.PoolClient, externalId: string, roles: RoleRow[]): Promise<void> {
    for (const r of roles) {
      await c.query(
        `insert into spendcloud_roles (target, external_id, contract_id, ou, oucode, functie, functiecode, start_date, end_date)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [this.id, externalId, r.contractId, r.ou, r.oucode, r.functie, r.functiecode, r.startDate, r.endDate],
      );
    }
  }

  // ------------------------------------------------------------------ correlate / create

  async correlate(employeeId: string): Promise<AccountReference | null> {
    const id = employeeId?.trim();
    if (!id) return null;
    const rows = await this.#query<{ external_id: string; gebruikersnaam: string }>(
      'correlate on employee number',
      'select external_id, gebruikersnaam from spendcloud_persons where target = $1 and external_id = $2',
      [this.id, id],
    );
    return rows[0] ? this.#ref(rows[0]) : null;
  }

  async create(desired: DesiredAccount): Promise<ActionResult> {
    this.#validate(desired);
    const d = desired as SpendCloudDesiredAccount;
    const externalId = d.employeeId.trim();
    const row = personRow(d, this.config.mapping);
    const roles = roleRows(d, this.id);
    return this.#tx('create account', async (c) => {
      const inserted = await c.query<{ external_id: string; gebruikersnaam: string }>(
        `insert into spendcloud_persons
           (target, external_id, person_key, voornaam, tussenvoegsel, achternaam, geslacht, email, gebruikersnaam, active)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, false)
         on conflict (target, external_id) do nothing
         returning external_id, gebruikersnaam`,
        [
          this.id,
          externalId,
          d.personKey ?? null,
          row.voornaam,
          row.tussenvoegsel,
          row.achternaam,
          row.geslacht,
          row.email,
          row.gebruikersnaam,
        ],
      );
      if (!inserted.rows[0]) {
        // A retry of a create that committed, or a person already there: link to it.
        const existing = await c.query<{ external_id: string; gebruikersnaam: string }>(
          'select external_id, gebruikersnaam from spendcloud_persons where target = $1 and external_id = $2',
          [this.id, externalId],
        );
        const e = existing.rows[0];
        if (!e) throw new Error('create account: the person row vanished during create; retry');
        return {
          account: this.#ref(e),
          audit: [
            this.audit('correlate', 'success', 'correlated to an existing Spend Cloud person on the employee number', {
              field: 'externalId',
            }),
          ],
        };
      }
      await this.#insertRoles(c, externalId, roles);
      return {
        account: this.#ref(inserted.rows[0]),
        audit: [
          this.audit('create', 'success', `created inactive Spend Cloud person with ${roles.length} role row(s)`, {
            attributes: PERSON_COLUMNS.filter((k) => row[k] !== ''),
            roles: roles.map((r) => r.contractId),
          }),
        ],
      };
    });
  }

  // ------------------------------------------------------------------ update

  async update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult> {
    this.#validate(desired);
    const d = desired as SpendCloudDesiredAccount;
    if (d.employeeId.trim() !== ref.id)
      throw new TargetRejectedError('update: the employee number of the desired account differs from the reference');
    const want = personRow(d, this.config.mapping);
    const wantRoles = roleRows(d, this.id);
    return this.#tx('update account', async (c) => {
      const cur = (
        await c.query<StoredPerson>(
          `select external_id, voornaam, tussenvoegsel, achternaam, geslacht, email, gebruikersnaam, active
           from spendcloud_persons where target = $1 and external_id = $2 for update`,
          [this.id, ref.id],
        )
      ).rows[0];
      if (!cur) throw accountGone('update', ref.id);
      const changed = PERSON_COLUMNS.filter((k) => cur[k] !== want[k]);
      if (changed.length) {
        const sets = changed.map((k, i) => `${k} = $${i + 3}`).join(', ');
        await c.query(
          `update spendcloud_persons set ${sets}, updated_at = now() where target = $1 and external_id = $2`,
          [this.id, ref.id, ...changed.map((k) => want[k])],
        );
      }
      const have = (
        await c.query<StoredRole>(
          `select contract_id, ou, oucode, functie, functiecode, to_char(start_date, 'YYYY-MM-DD') as start_date,
                  to_char(end_date, 'YYYY-MM-DD') as end_date
           from spendcloud_roles where target = $1 and external_id = $2`,
          [this.id, ref.id],
        )
      ).rows;
      const haveById = new Map(have.map((r) => [r.contract_id, r]));
      const wantIds = new Set(wantRoles.map((r) => r.contractId));
      const added: string[] = [];
      const updated: string[] = [];
      const removed = have.filter((r) => !wantIds.has(r.contract_id)).map((r) => r.contract_id);
      if (removed.length)
        await c.query('delete from spendcloud_roles where target = $1 and external_id = $2 and contract_id = any($3)', [
          this.id,
          ref.id,
          removed,
        ]);
      for (const r of wantRoles) {
        const h = haveById.get(r.contractId);
        if (!h) {
          await this.#insertRoles(c, ref.id, [r]);
          added.push(r.contractId);
        } else if (!sameRole(h, r)) {
          await c.query(
            `update spendcloud_roles set ou = $4, oucode = $5, functie = $6, functiecode = $7, start_date = $8,
               end_date = $9, updated_at = now() where target = $1 and external_id = $2 and contract_id = $3`,
            [this.id, ref.id, r.contractId, r.ou, r.oucode, r.functie, r.functiecode, r.startDate, r.endDate],
          );
          updated.push(r.contractId);
        }
      }
      const account = this.#ref({ external_id: ref.id, gebruikersnaam: want.gebruikersnaam });
      if (!changed.length && !added.length && !updated.length && !removed.length)
        return { account, audit: [this.audit('update', 'unchanged', 'no changes')] };
      const details: Record<string, unknown> = { attributes: changed };
      if (added.length || updated.length || removed.length) details.roles = { added, changed: updated, removed };
      const what = [
        changed.length ? `updated ${changed.join(', ')}` : '',
        added.length || updated.length || removed.length
          ? `roles: ${added.length} added, ${updated.length} changed, ${removed.length} removed`
          : '',
      ]
        .filter(Boolean)
        .join('; ');
      return { account, audit: [this.audit('update', 'success', what, details)] };
    });
  }

  // ------------------------------------------------------------------ enable / disable / delete

  async #setActive(ref: AccountReference, active: boolean): Promise<{ found: StoredPerson | null; was: boolean }> {
    return this.#tx(active ? 'enable account' : 'disable account', async (c) => {
      const cur = (
        await c.query<StoredPerson>(
          `select external_id, gebruikersnaam, active from spendcloud_persons
           where target = $1 and external_id = $2 for update`,
          [this.id, ref.id],
        )
      ).rows[0];
      if (!cur) return { found: null, was: false };
      if (cur.active !== active)
        await c.query(
          'update spendcloud_persons set active = $3, updated_at = now() where target = $1 and external_id = $2',
          [this.id, ref.id, active],
        );
      return { found: cur, was: cur.active };
    });
  }

  async enable(ref: AccountReference): Promise<ActionResult> {
    const r = await this.#setActive(ref, true);
    if (!r.found) throw accountGone('enable', ref.id);
    return {
      account: this.#ref(r.found),
      audit: [
        r.was
          ? this.audit('enable', 'unchanged', 'already active')
          : this.audit('enable', 'success', 'activated: included in the next export', { attributes: ['active'] }),
      ],
    };
  }

  async disable(ref: AccountReference): Promise<ActionResult> {
    const r = await this.#setActive(ref, false);
    if (!r.found) return this.gone('disable');
    const effect = this.config.export.inactivePersons === 'omit' ? 'left out of' : 'without roles in';
    return {
      account: this.#ref(r.found),
      audit: [
        r.was
          ? this.audit('disable', 'success', `deactivated: ${effect} the next export`, { attributes: ['active'] })
          : this.audit('disable', 'unchanged', 'already inactive'),
      ],
    };
  }

  async delete(ref: AccountReference): Promise<ActionResult> {
    const rows = await this.#query<{ external_id: string }>(
      'delete account',
      'delete from spendcloud_persons where target = $1 and external_id = $2 returning external_id',
      [this.id, ref.id],
    );
    if (!rows.length) return this.gone('delete');
    return this.result(null, 'delete', 'success', 'deleted person and role rows: gone from the next export');
  }

  // ------------------------------------------------------------------ permissions

  async grantPermission(_ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    throw new TargetRejectedError(
      `grant permission ${permission.name}: Spend Cloud roles follow the contracts; configure no permissions for this target`,
    );
  }

  async revokePermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    const found = await this.correlate(ref.id);
    if (!found) return this.gone('revokePermission');
    const message = `${permission.name} is not a Spend Cloud permission; nothing to revoke`;
    return this.result(found, 'revokePermission', 'unchanged', message);
  }

  async listPermissions(_ref: AccountReference): Promise<string[]> {
    return [];
  }

  async isTaken(
    candidate: { username: string; userPrincipalName: string; email: string },
    employeeId: string,
  ): Promise<boolean> {
    const rows = await this.#query<{ n: number }>(
      'check username',
      `select 1 as n from spendcloud_persons
       where target = $1 and external_id <> $2
         and (lower(gebruikersnaam) = lower($3) or ($4 <> '' and lower(email) = lower($4)))
       limit 1`,
      [this.id, employeeId.trim(), candidate.username.trim(), candidate.email?.trim() ?? ''],
    );
    return rows.length > 0;
  }

  /** The pool belongs to the caller. */
  async close(): Promise<void> {}
}
