/**
 * Entra ID target connector through Microsoft Graph v1.0 (docs/connector-contract.md and docs/targets/entra.md).
 *
 * - Client-credentials token (tenant, client id, secret), cached until shortly before it expires.
 * - Correlation on `employeeId` (`$filter=employeeId eq '<v>'`, quotes doubled); the employeeId is
 *   written in the same POST that creates the user, so a retried create correlates. Graph's $filter
 *   lags behind a create (replication): a retry that does not see the user yet gets Graph's
 *   "userPrincipalName already exists" conflict, reads the holder directly by UPN and correlates
 *   when its employeeId is ours. Exactly one user either way.
 * - Users are created disabled (`accountEnabled: false`) with a random password that is never
 *   returned, logged or audited; `forceChangePasswordNextSignIn` is a setting (default true).
 * - update GETs the user and PATCHes only differing properties; the manager via `manager/$ref`.
 * - enable / disable flip `accountEnabled`; disable can also revoke sign-in sessions.
 * - delete: `DELETE /users/{id}` (soft delete: restorable from deleted items), optionally purged.
 * - Permissions are groups (security or Microsoft 365), named by displayName or object id;
 *   licences are group-based: grant the licence group. Membership changes are idempotent.
 * - The account reference is { id: Entra object id, locator: userPrincipalName }; every operation
 *   addresses the user by object id, so a UPN change does not matter.
 */
import type { AccountReference, ActionResult, AuditEntry, DesiredAccount, PermissionRef } from '../types.js';
import { accountGone } from './errors.js';
import { SearchingConnectorBase } from './kit.js';
import { generatePassword } from './ad/password.js';
import {
  ENTRA_EXTRA_PROPERTIES,
  EntraConfigSchema,
  entraConfigFromEnv,
  type EntraConfig,
  type EntraConfigInput,
} from './entra/config.js';
import {
  GraphClient,
  TargetRejectedError,
  TargetUnavailableError,
  odataQuery,
  odataString,
  type GraphClientDeps,
} from './entra/graph.js';

export { EntraConfigSchema, entraConfigFromEnv, TargetRejectedError, TargetUnavailableError, odataString };
export type { EntraConfig, EntraConfigInput, GraphClientDeps };

const MAX_EMPLOYEE_ID = 16;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The user properties the connector writes and compares (besides the manager). */
const COMPARED = [
  'displayName',
  'givenName',
  'surname',
  'userPrincipalName',
  'mailNickname',
  'mail',
  'employeeId',
  'jobTitle',
  'department',
  'companyName',
  'officeLocation',
  'usageLocation',
] as const;
type Prop = (typeof COMPARED)[number] | (typeof ENTRA_EXTRA_PROPERTIES)[number];
const SELECT = ['id', 'accountEnabled', ...COMPARED].join(',');

interface GraphUser {
  id: string;
  accountEnabled?: boolean;
  userPrincipalName: string;
  employeeId?: string | null;
  [k: string]: unknown;
}

interface GraphGroup {
  id: string;
  displayName: string;
}

function blank(s: string | undefined | null): s is undefined | null | '' {
  return s === undefined || s === null || s.trim() === '';
}

function refOf(u: GraphUser): AccountReference {
  return { id: u.id, locator: u.userPrincipalName };
}

/** mailNickname: the username with only the characters Graph accepts, at most 64. */
export function mailNicknameFrom(username: string): string {
  const n = username
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 64);
  return n || 'user';
}

export class EntraTargetConnector extends SearchingConnectorBase<GraphUser> {
  protected readonly correlation = { attribute: 'employeeId', where: 'Entra ID' };
  readonly id: string;
  readonly config: Omit<EntraConfig, 'clientSecret'>;
  readonly graph: GraphClient;
  /** Group displayName (lower case) → group, for groups seen or created by this connector. */
  readonly #groups = new Map<string, GraphGroup>();

  constructor(config: EntraConfigInput | EntraConfig, deps: GraphClientDeps = {}) {
    super();
    const parsed = EntraConfigSchema.parse(config);
    const { clientSecret, ...rest } = parsed;
    this.config = rest;
    this.id = parsed.id;
    this.graph = new GraphClient(rest, clientSecret, deps);
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env, deps: GraphClientDeps = {}): EntraTargetConnector {
    return new EntraTargetConnector(entraConfigFromEnv(env), deps);
  }

  /** Never serialise the secret (it is not a property, but be explicit for loggers). */
  toJSON(): Record<string, unknown> {
    return { id: this.id, graphUrl: this.config.graphUrl, tenantId: this.config.tenantId };
  }

  protected reference(u: GraphUser): AccountReference {
    return refOf(u);
  }

  async close(): Promise<void> {
    // Nothing to close: fetch keeps no connection state we own.
  }

  #filterHeaders(): Record<string, string> | undefined {
    return this.config.advancedQuery ? { ConsistencyLevel: 'eventual' } : undefined;
  }

  #filterQuery(filter: string, select: string): string {
    return odataQuery({
      $filter: filter,
      $select: select,
      $top: this.config.pageSize,
      $count: this.config.advancedQuery ? 'true' : undefined,
    });
  }

  // ------------------------------------------------------------------ reading

  protected async findByEmployeeId(employeeId: string): Promise<GraphUser[]> {
    if (blank(employeeId)) return [];
    return this.graph.list<GraphUser>(
      'correlate on employeeId',
      `/users${this.#filterQuery(`employeeId eq ${odataString(employeeId.trim())}`, this.#select())}`,
      this.#filterHeaders(),
    );
  }

  /** Read a user by object id or UPN; null when Graph says it does not exist. */
  /** The properties read: the compared ones and the configured extra ones. */
  #select(): string {
    return [SELECT, ...this.config.extraProperties].join(',');
  }

  async #get(idOrUpn: string, context: string, select = this.#select()): Promise<GraphUser | null> {
    const r = await this.graph.call(
      context,
      'GET',
      `/users/${encodeURIComponent(idOrUpn)}${odataQuery({ $select: select })}`,
    );
    if (r.status === 404) return null;
    if (r.status !== 200) throw this.graph.fail(context, r);
    return r.json as GraphUser;
  }

  async #read(ref: AccountReference, context: string): Promise<GraphUser | null> {
    const key = !blank(ref.id) ? ref.id : ref.locator;
    if (blank(key)) throw new TargetRejectedError(`${context}: account reference has neither an id nor a UPN`);
    return this.#get(key, context);
  }

  /** The user as it is now, for the checks before a delete or an adoption (docs/ownership.md). */
  async inspect(ref: AccountReference) {
    const u = await this.#read(ref, 'inspect account');
    if (!u) return null;
    const mail = typeof u.mail === 'string' ? u.mail : undefined;
    return {
      enabled: u.accountEnabled === true,
      correlationValue: u.employeeId ?? undefined,
      inScope: true, // the whole tenant: the ownership record is the guard here
      names: { userPrincipalName: u.userPrincipalName, email: mail },
    };
  }

  async #readOrFail(ref: AccountReference, context: string): Promise<GraphUser> {
    const u = await this.#read(ref, context);
    if (!u) throw accountGone(context, ref.id);
    return u;
  }

  // ------------------------------------------------------------------ desired state

  #validate(d: DesiredAccount): void {
    const problems: string[] = [];
    if (blank(d.employeeId)) problems.push('employeeId is empty');
    else if (d.employeeId.trim().length > MAX_EMPLOYEE_ID)
      problems.push(`employeeId is longer than ${MAX_EMPLOYEE_ID} characters`);
    if (blank(d.username)) problems.push('username is empty');
    if (blank(d.userPrincipalName)) problems.push('userPrincipalName is empty');
    if (blank(d.displayName)) problems.push('displayName is empty');
    if (problems.length) throw new TargetRejectedError(`invalid account data: ${problems.join('; ')}`);
  }

  #upn(upn: string): string {
    const u = upn.trim();
    if (u.includes('@') || !this.config.upnSuffix) return u;
    return `${u}@${this.config.upnSuffix}`;
  }

  #mail(address: string | undefined): string | undefined {
    if (blank(address)) return undefined;
    const a = address.trim();
    return a.includes('@') || !this.config.mailDomain ? a : `${a}@${this.config.mailDomain}`;
  }

  /** The properties the user should hold (undefined = no value; usageLocation only when configured). */
  #desired(d: DesiredAccount): Partial<Record<Prop, string | undefined>> {
    const v = (s: string | undefined) => (blank(s) ? undefined : s.trim());
    const out: Partial<Record<Prop, string | undefined>> = {
      displayName: d.displayName.trim(),
      givenName: v(d.givenName),
      surname: v(d.familyName),
      userPrincipalName: this.#upn(d.userPrincipalName),
      mailNickname: mailNicknameFrom(d.username.trim()),
      employeeId: d.employeeId.trim(),
      jobTitle: v(d.title),
      department: v(d.department),
      companyName: v(d.company),
      officeLocation: v(d.location),
    };
    for (const p of this.config.extraProperties) out[p] = v(d.extraAttributes?.[p]);
    if (this.config.setMail) out.mail = this.#mail(d.email);
    if (this.config.usageLocation) out.usageLocation = this.config.usageLocation;
    return out;
  }

  #cleared(): null | string {
    return this.config.clearWith === 'space' ? ' ' : null;
  }

  /** The manager's object id (null: no manager wanted; undefined: wanted but not found). */
  async #resolveManager(locator: string | undefined): Promise<string | null | undefined> {
    if (blank(locator)) return null;
    const m = await this.#get(locator.trim(), 'look up manager', 'id');
    return m ? m.id : undefined;
  }

  async #currentManager(userId: string): Promise<string | null> {
    const r = await this.graph.call(
      'read manager',
      'GET',
      `/users/${encodeURIComponent(userId)}/manager${odataQuery({ $select: 'id' })}`,
    );
    if (r.status === 404) return null;
    if (r.status !== 200) throw this.graph.fail('read manager', r);
    return (r.json as { id?: string }).id ?? null;
  }

  async #setManager(userId: string, managerId: string | null): Promise<void> {
    const path = `/users/${encodeURIComponent(userId)}/manager/$ref`;
    const r =
      managerId === null
        ? await this.graph.call('remove manager', 'DELETE', path)
        : await this.graph.call('set manager', 'PUT', path, {
            body: { '@odata.id': `${this.config.graphUrl}/users/${managerId}` },
          });
    if (r.status === 404 && managerId === null) return;
    if (r.status !== 204 && r.status !== 200) throw this.graph.fail(managerId ? 'set manager' : 'remove manager', r);
  }

  // ------------------------------------------------------------------ create

  async create(desired: DesiredAccount): Promise<ActionResult> {
    this.#validate(desired);
    const existing = await this.accountOf(desired.employeeId);
    if (existing) return this.#correlated(existing, desired, 'correlated to an existing account on employeeId');

    const props = this.#desired(desired);
    const body: Record<string, unknown> = { accountEnabled: false, userType: 'Member' };
    for (const [k, v] of Object.entries(props)) if (v !== undefined) body[k] = v;
    body.passwordProfile = {
      forceChangePasswordNextSignIn: this.config.forceChangePasswordNextSignIn,
      password: generatePassword({
        length: this.config.passwordLength,
        avoid: [desired.username, desired.displayName, desired.givenName, desired.familyName],
      }),
    };
    const attributes = Object.keys(body)
      .filter((k) => k !== 'passwordProfile')
      .sort();
    const r = await this.graph.call('create account', 'POST', '/users', { body }).catch((err: unknown) => {
      const e = err as Error;
      if (e instanceof TargetUnavailableError)
        throw new TargetUnavailableError(
          `${e.message}; the account may have been created: a retry correlates instead of creating a second one`,
          { cause: e },
        );
      throw e;
    });
    if (r.status === 400 && r.info.conflictTarget) {
      // A retry after a create that got through, not yet visible to $filter (replication delay)?
      const upn = props.userPrincipalName as string;
      const holder = await this.#get(upn, 'create account (look up conflicting account)');
      if (holder && holder.employeeId?.trim() === desired.employeeId.trim()) {
        return this.#correlated(
          holder,
          desired,
          'correlated to the account an earlier attempt created (found by userPrincipalName)',
        );
      }
      const what =
        r.info.conflictTarget === 'userPrincipalName'
          ? // The attribute, never its value: error messages reach Temporal's history and logs.
            `the userPrincipalName is already used by ${holder ? 'another account' : 'an object that cannot be read (possibly a soft-deleted user: restore or purge it)'}`
          : `${r.info.conflictTarget} is already used by another object (a soft-deleted user keeps its addresses until purged)`;
      throw new TargetRejectedError(`could not create account: ${what}`, { code: 400 });
    }
    if (r.status !== 201 && r.status !== 200) throw this.graph.fail('create account', r);
    const user = r.json as GraphUser;
    const details: Record<string, unknown> = { attributes, accountEnabled: false };
    const manager = await this.#resolveManager(desired.managerLocator);
    if (manager) {
      await this.#setManager(user.id, manager);
      details.attributes = [...attributes, 'manager'].sort();
    } else if (manager === undefined) details.managerNotFound = true;
    return this.result(refOf(user), 'create', 'success', `created disabled account ${user.userPrincipalName}`, details);
  }

  async #correlated(u: GraphUser, desired: DesiredAccount, message: string): Promise<ActionResult> {
    const r = await this.update(refOf(u), desired);
    return {
      account: r.account ?? refOf(u),
      audit: [
        this.audit('correlate', 'success', message, { field: 'employeeId' }),
        ...r.audit.filter((a) => a.outcome !== 'unchanged'),
      ],
    };
  }

  // ------------------------------------------------------------------ update

  async update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult> {
    this.#validate(desired);
    const u = await this.#readOrFail(ref, 'update');
    const patch: Record<string, unknown> = {};
    const norm = (v: unknown) =>
      typeof v === 'string' && v.trim() !== '' && !(this.config.clearWith === 'space' && v === ' ') ? v : undefined;
    for (const [k, want] of Object.entries(this.#desired(desired)) as [Prop, string | undefined][]) {
      const have = norm(u[k]);
      if (have === want) continue;
      patch[k] = want === undefined ? this.#cleared() : want;
    }
    const changed = Object.keys(patch);
    if (changed.length) {
      const r = await this.graph.call('update account', 'PATCH', `/users/${encodeURIComponent(u.id)}`, {
        body: patch,
        retrySafe: true,
      });
      if (r.status === 400 && r.info.conflictTarget)
        throw new TargetRejectedError(`update: ${r.info.conflictTarget} is already used by another object`, {
          code: 400,
        });
      if (r.status !== 204 && r.status !== 200) throw this.graph.fail('update account', r);
    }
    const wantManager = await this.#resolveManager(desired.managerLocator);
    let managerNotFound = false;
    if (wantManager === undefined) managerNotFound = true;
    else {
      const haveManager = await this.#currentManager(u.id);
      if (haveManager !== wantManager) {
        await this.#setManager(u.id, wantManager);
        changed.push('manager');
      }
    }
    const extra = managerNotFound ? { managerNotFound: true } : {};
    const account = { id: u.id, locator: (patch.userPrincipalName as string | undefined) ?? u.userPrincipalName };
    if (!changed.length)
      return {
        account,
        audit: [this.audit('update', 'unchanged', 'no changes', managerNotFound ? extra : undefined)],
      };
    return {
      account,
      audit: [this.audit('update', 'success', `updated ${changed.join(', ')}`, { attributes: changed, ...extra })],
    };
  }

  // ------------------------------------------------------------------ enable / disable / delete

  async #setEnabled(u: GraphUser, enabled: boolean): Promise<void> {
    const context = enabled ? 'enable account' : 'disable account';
    const r = await this.graph.call(context, 'PATCH', `/users/${encodeURIComponent(u.id)}`, {
      body: { accountEnabled: enabled },
      retrySafe: true,
    });
    if (r.status !== 204 && r.status !== 200) throw this.graph.fail(context, r);
  }

  async enable(ref: AccountReference): Promise<ActionResult> {
    const u = await this.#readOrFail(ref, 'enable');
    if (u.accountEnabled === true) return this.result(refOf(u), 'enable', 'unchanged', 'already enabled');
    await this.#setEnabled(u, true);
    return this.result(refOf(u), 'enable', 'success', 'enabled account', { attributes: ['accountEnabled'] });
  }

  /**
   * The day-one access of an Entra ID account: a Temporary Access Pass (Graph allows one per user,
   * so an earlier one, from a retry, is removed first). The pass is returned to the caller only.
   */
  async issueTemporaryAccessPass(
    ref: AccountReference,
    opts: { lifetimeMinutes: number },
  ): Promise<{ pass: string; validUntil: string }> {
    const u = await this.#readOrFail(ref, 'issue temporary access pass');
    const base = `/users/${encodeURIComponent(u.id)}/authentication/temporaryAccessPassMethods`;
    const list = await this.graph.call('list temporary access passes', 'GET', base);
    if (list.status !== 200) throw this.graph.fail('list temporary access passes', list);
    for (const m of (list.json as { value?: { id?: string }[] }).value ?? []) {
      if (!m.id) continue;
      const d = await this.graph.call('remove temporary access pass', 'DELETE', `${base}/${encodeURIComponent(m.id)}`, {
        retrySafe: true,
      });
      if (d.status !== 204 && d.status !== 200 && d.status !== 404)
        throw this.graph.fail('remove temporary access pass', d);
    }
    // Not retried inside: a second POST would meet the first pass; the activity's retry starts over.
    const r = await this.graph.call('issue temporary access pass', 'POST', base, {
      body: { lifetimeInMinutes: opts.lifetimeMinutes, isUsableOnce: false },
    });
    if (r.status !== 201 && r.status !== 200) throw this.graph.fail('issue temporary access pass', r);
    const tap = r.json as { temporaryAccessPass?: unknown; startDateTime?: unknown; lifetimeInMinutes?: unknown };
    if (typeof tap.temporaryAccessPass !== 'string' || tap.temporaryAccessPass.length === 0)
      throw new TargetUnavailableError('issue temporary access pass: Graph returned no pass');
    const start = typeof tap.startDateTime === 'string' ? Date.parse(tap.startDateTime) : Date.now();
    const minutes = typeof tap.lifetimeInMinutes === 'number' ? tap.lifetimeInMinutes : opts.lifetimeMinutes;
    return {
      pass: tap.temporaryAccessPass,
      validUntil: new Date((Number.isNaN(start) ? Date.now() : start) + minutes * 60_000).toISOString(),
    };
  }

  async disable(ref: AccountReference): Promise<ActionResult> {
    const u = await this.#read(ref, 'disable');
    if (!u) return this.gone('disable');
    const audit: AuditEntry[] = [];
    if (u.accountEnabled !== false) {
      await this.#setEnabled(u, false);
      audit.push(this.audit('disable', 'success', 'disabled account', { attributes: ['accountEnabled'] }));
    }
    if (this.config.revokeSessionsOnDisable && audit.length) {
      const r = await this.graph.call(
        'revoke sign-in sessions',
        'POST',
        `/users/${encodeURIComponent(u.id)}/revokeSignInSessions`,
        { retrySafe: true },
      );
      if (r.status !== 200 && r.status !== 204) throw this.graph.fail('revoke sign-in sessions', r);
      audit.push(this.audit('disable', 'success', 'revoked sign-in sessions', { sessionsRevoked: true }));
    }
    if (!audit.length) audit.push(this.audit('disable', 'unchanged', 'already disabled'));
    return { account: refOf(u), audit };
  }

  async delete(ref: AccountReference): Promise<ActionResult> {
    const key = !blank(ref.id) ? ref.id : ref.locator;
    const r = await this.graph.call('delete account', 'DELETE', `/users/${encodeURIComponent(key)}`);
    if (r.status === 404) return this.gone('delete');
    if (r.status !== 204 && r.status !== 200) throw this.graph.fail('delete account', r);
    const audit = [
      this.audit(
        'delete',
        'success',
        this.config.deleteMode === 'permanent'
          ? 'deleted account'
          : 'deleted account (soft delete: restorable from deleted items)',
        { deleteMode: this.config.deleteMode },
      ),
    ];
    if (this.config.deleteMode === 'permanent') {
      const p = await this.graph.call(
        'purge deleted account',
        'DELETE',
        `/directory/deletedItems/${encodeURIComponent(key)}`,
      );
      if (p.status !== 204 && p.status !== 200 && p.status !== 404) throw this.graph.fail('purge deleted account', p);
    }
    return { account: null, audit };
  }

  // ------------------------------------------------------------------ groups

  /** Find the group by object id or displayName; create it when missing and allowed. */
  async #group(p: PermissionRef, create: boolean): Promise<{ group: GraphGroup; created: boolean } | null> {
    const name = p.name.trim();
    if (blank(name)) throw new TargetRejectedError('permission name is empty');
    if (GUID_RE.test(name)) {
      const r = await this.graph.call(
        'look up group',
        'GET',
        `/groups/${encodeURIComponent(name)}${odataQuery({ $select: 'id,displayName' })}`,
      );
      if (r.status === 404) return null;
      if (r.status !== 200) throw this.graph.fail('look up group', r);
      return { group: r.json as GraphGroup, created: false };
    }
    const cached = this.#groups.get(name.toLowerCase());
    if (cached) return { group: cached, created: false };
    const found = await this.graph.list<GraphGroup>(
      'look up group',
      `/groups${this.#filterQuery(`displayName eq ${odataString(name)}`, 'id,displayName')}`,
      this.#filterHeaders(),
    );
    if (found.length > 1)
      throw new TargetRejectedError(
        `group name ${name} is ambiguous (${found.length} groups); use the group's object id as the permission`,
      );
    if (found[0]) {
      this.#groups.set(name.toLowerCase(), found[0]);
      return { group: found[0], created: false };
    }
    if (!create) return null;
    const r = await this.graph.call('create group', 'POST', '/groups', {
      body: {
        displayName: name,
        mailEnabled: false,
        mailNickname: mailNicknameFrom(name),
        securityEnabled: true,
        description: 'Group managed by Tenure.',
      },
    });
    if (r.status !== 201 && r.status !== 200) throw this.graph.fail('create group', r);
    const g = r.json as GraphGroup;
    this.#groups.set(name.toLowerCase(), g);
    return { group: g, created: true };
  }

  #directoryObject(id: string): string {
    return `${this.config.graphUrl}/directoryObjects/${id}`;
  }

  async grantPermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    const u = await this.#readOrFail(ref, 'grant permission');
    const g = await this.#group(permission, permission.createIfMissing === true);
    if (!g) throw new TargetRejectedError(`grant permission: group ${permission.name} does not exist`, { code: 404 });
    const audit: AuditEntry[] = [];
    const details = { group: permission.name, groupId: g.group.id };
    if (g.created) audit.push(this.audit('grantPermission', 'success', `created group ${permission.name}`, details));
    const r = await this.graph.call(
      'grant permission',
      'POST',
      `/groups/${encodeURIComponent(g.group.id)}/members/$ref`,
      { body: { '@odata.id': this.#directoryObject(u.id) }, retrySafe: true },
    );
    if (r.status === 204 || r.status === 200) {
      audit.push(this.audit('grantPermission', 'success', `granted ${permission.name}`, details));
    } else if (r.status === 400 && /already exist/i.test(r.info.message ?? '')) {
      audit.push(this.audit('grantPermission', 'unchanged', `already a member of ${permission.name}`, details));
    } else if (r.status === 404) {
      this.#groups.delete(permission.name.trim().toLowerCase());
      throw new TargetRejectedError(
        `grant permission: group ${permission.name} or account ${u.id} no longer exists (Graph: ${r.info.code ?? '404'})`,
        { code: 404 },
      );
    } else throw this.graph.fail(`grant permission ${permission.name}`, r);
    return { account: refOf(u), audit };
  }

  async revokePermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    const u = await this.#read(ref, 'revoke permission');
    if (!u) return this.gone('revokePermission', { group: permission.name });
    const g = await this.#group(permission, false);
    if (!g)
      return {
        account: refOf(u),
        audit: [
          this.audit('revokePermission', 'unchanged', `group ${permission.name} does not exist`, {
            group: permission.name,
          }),
        ],
      };
    const details = { group: permission.name, groupId: g.group.id };
    const r = await this.graph.call(
      'revoke permission',
      'DELETE',
      `/groups/${encodeURIComponent(g.group.id)}/members/${encodeURIComponent(u.id)}/$ref`,
    );
    if (r.status === 404)
      return this.result(refOf(u), 'revokePermission', 'unchanged', `not a member of ${permission.name}`, details);
    if (r.status !== 204 && r.status !== 200) throw this.graph.fail(`revoke permission ${permission.name}`, r);
    return this.result(refOf(u), 'revokePermission', 'success', `revoked ${permission.name}`, details);
  }

  async listPermissions(ref: AccountReference): Promise<string[]> {
    const key = !blank(ref.id) ? ref.id : ref.locator;
    let items: { '@odata.type'?: string; id: string; displayName?: string | null }[];
    try {
      items = await this.graph.list(
        'list permissions',
        `/users/${encodeURIComponent(key)}/memberOf${odataQuery({ $select: 'id,displayName', $top: this.config.pageSize })}`,
      );
    } catch (err) {
      if (err instanceof TargetRejectedError && err.code === 404) return [];
      throw err;
    }
    const prefixes = this.config.managedGroupPrefixes;
    const names = items
      .filter((i) => i['@odata.type'] === '#microsoft.graph.group' && !blank(i.displayName))
      .map((i) => i.displayName as string)
      .filter((n) => prefixes.length === 0 || prefixes.some((p) => n.startsWith(p)));
    return [...new Set(names)].sort();
  }

  // ------------------------------------------------------------------ uniqueness

  async isTaken(
    candidate: { username: string; userPrincipalName: string; email: string },
    employeeId: string,
  ): Promise<boolean> {
    const mine = employeeId.trim();
    const other = (u: GraphUser | null | undefined) => !!u && (u.employeeId ?? '').trim() !== mine;
    const upn = blank(candidate.userPrincipalName) ? undefined : this.#upn(candidate.userPrincipalName);
    const mail = this.#mail(candidate.email);
    // A direct read is consistent right after a create; $filter may lag behind (replication).
    if (upn && other(await this.#get(upn, 'uniqueness check', 'id,employeeId'))) return true;
    const clauses: string[] = [];
    for (const v of new Set([upn, mail].filter((x): x is string => !blank(x)))) {
      clauses.push(`userPrincipalName eq ${odataString(v)}`, `mail eq ${odataString(v)}`);
      clauses.push(`proxyAddresses/any(c:c eq ${odataString(`smtp:${v}`)})`);
    }
    if (!blank(candidate.username))
      clauses.push(`mailNickname eq ${odataString(mailNicknameFrom(candidate.username.trim()))}`);
    if (!clauses.length) return false;
    const found = await this.graph.list<GraphUser>(
      'uniqueness check',
      `/users${this.#filterQuery(clauses.join(' or '), 'id,employeeId')}`,
      this.#filterHeaders(),
    );
    return found.some((u) => other(u));
  }
}

/** Convenience factory. */
export function createEntraConnector(
  config: EntraConfigInput | EntraConfig,
  deps: GraphClientDeps = {},
): EntraTargetConnector {
  return new EntraTargetConnector(config, deps);
}
