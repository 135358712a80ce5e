/**
 * TOPdesk target connector: persons (callers) and onboarding/offboarding tickets (docs/targets/topdesk.md).
 *
 * - Correlation on `employeeNumber` always comes first (FIQL `employeeNumber=='…'`, page size 2 to
 *   see duplicates, archived persons included); the POST body carries `employeeNumber`, so a create
 *   whose answer was lost is found again instead of duplicated.
 * - Persons are created archived (the engine's "created disabled"; configurable), enable =
 *   unarchive, disable = archive with the configured archiving reason, delete = blank e-mail and
 *   login names, mark `mainframeLoginName` deleted, archive (TOPdesk persons are never hard-deleted).
 * - update PATCHes only the fields that differ; an archived person is unarchived around the PATCH
 *   and archived again (configurable), as TOPdesk may refuse to change archived persons.
 * - Branch (mandatory), department and budget holder are resolved by name (case-insensitive) from
 *   the full lists, cached; empty or unknown values fail or clear/create as configured.
 * - Tickets are permissions `ticket:<kind>:<eventKey>`: a grant creates the configured change or
 *   incident once, searching first for the dedupe key written to `externalNumber`; revoke is a no-op.
 */
import type {
  AccountInspection,
  AccountReference,
  ActionResult,
  AuditEntry,
  DesiredAccount,
  Outcome,
  PermissionRef,
} from '../types.js';
import { TargetConnectorBase } from './kit.js';
import { TargetRejectedError } from './errors.js';
import { TopdeskApi, TopdeskUnavailableError, fiql } from './topdesk/client.js';
import {
  TopdeskConfigSchema,
  TicketSpecSchema,
  topdeskConfigFromEnv,
  type TicketSpec,
  type TopdeskConfig,
  type TopdeskConfigInput,
} from './topdesk/config.js';
import {
  cut,
  parseTicketPermission,
  renderTemplate,
  ticketExternalNumber,
  ticketPermission,
  type TicketRef,
} from './topdesk/tickets.js';

export {
  TopdeskConfigSchema,
  TicketSpecSchema,
  topdeskConfigFromEnv,
  TargetRejectedError,
  TopdeskUnavailableError,
  ticketPermission,
  parseTicketPermission,
  ticketExternalNumber,
};
export type { TopdeskConfig, TopdeskConfigInput, TicketSpec, TicketRef };

type Json = Record<string, unknown>;

/** A TOPdesk person as returned by the API (the fields this connector reads). */
export interface TopdeskPerson extends Json {
  id: string;
  status?: string;
  employeeNumber?: string;
}

export interface TicketResult extends ActionResult {
  /** The ticket's number (new or found), null when nothing was created (disabled / not configured). */
  ticket: { type: 'change' | 'incident'; id: string; number: string; externalNumber: string; created: boolean } | null;
}

interface NamedItem {
  id: string;
  name: string;
  raw: Json;
}

type LookupKind = 'branch' | 'department' | 'budgetHolder';

const LOOKUP_PATH: Record<LookupKind, string> = {
  branch: '/branches',
  department: '/departments',
  budgetHolder: '/budgetholders',
};

/** Incident fields looked up by name: list path and the attribute holding the name. */
const INCIDENT_LOOKUPS = {
  operatorGroup: { path: '/operatorgroups', nameField: 'groupName' },
  category: { path: '/incidents/categories', nameField: 'name' },
  callType: { path: '/incidents/call_types', nameField: 'name' },
  impact: { path: '/incidents/impacts', nameField: 'name' },
  priority: { path: '/incidents/priorities', nameField: 'name' },
  duration: { path: '/incidents/durations', nameField: 'name' },
  entryType: { path: '/incidents/entry_types', nameField: 'name' },
  urgency: { path: '/incidents/urgencies', nameField: 'name' },
  processingStatus: { path: '/incidents/statuses', nameField: 'name' },
} as const;

const MAX_INITIALS = 10;
const MAX_BRIEF = 80;

function blank(s: unknown): boolean {
  return s === undefined || s === null || (typeof s === 'string' && s.trim() === '');
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

function idOf(v: unknown): string {
  return v && typeof v === 'object' ? str((v as Json).id) : '';
}

function nameOf(v: unknown): string {
  return v && typeof v === 'object' ? str((v as Json).name) : '';
}

function isArchived(p: Json): boolean {
  return p.status === 'personArchived' || p.archived === true;
}

function refOf(p: TopdeskPerson): AccountReference {
  return { id: p.id, locator: `persons/id/${p.id}` };
}

/** The person id from a reference locator (`persons/id/<id>`) or a bare id. */
function personIdFromLocator(locator: string): string {
  const t = locator.trim();
  const m = /persons\/id\/([^/?#\s]+)\/?$/.exec(t);
  return m ? (m[1] as string) : t;
}

/** Persons asked for per correlation when a branch scope is set (TOPdesk's largest page is 100). */
const SCOPED_CORRELATION_PAGE = 100;
export class TopdeskTargetConnector extends TargetConnectorBase {
  readonly id: string;
  readonly config: Omit<TopdeskConfig, 'appPassword'>;
  readonly api: TopdeskApi;
  readonly #cache = new Map<string, { at: number; items: Json[] }>();

  constructor(config: TopdeskConfigInput | TopdeskConfig, options: { fetch?: typeof fetch } = {}) {
    super();
    const parsed = TopdeskConfigSchema.parse(config);
    this.api = new TopdeskApi(parsed, options.fetch);
    const { appPassword: _secret, ...rest } = parsed;
    this.config = rest;
    this.id = parsed.id;
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): TopdeskTargetConnector {
    return new TopdeskTargetConnector(topdeskConfigFromEnv(env));
  }

  /** Never serialise the password. */
  toJSON(): Record<string, unknown> {
    return { id: this.id, url: this.config.url, username: this.config.username };
  }

  async close(): Promise<void> {
    this.#cache.clear();
  }

  // ------------------------------------------------------------------ persons: reading

  /** GET /persons/id/{id}; null on 404. */
  async #read(id: string, context: string): Promise<TopdeskPerson | null> {
    if (blank(id)) throw new TargetRejectedError(`${context}: the account reference has no TOPdesk id`);
    const res = await this.api.call('GET', `/persons/id/${encodeURIComponent(id)}`, { context });
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.api.reject(res, context);
    const p = res.json as TopdeskPerson | undefined;
    if (!p || typeof p !== 'object' || blank(p.id))
      throw new TopdeskUnavailableError(`${context}: TOPdesk sent a person without id`, res.status);
    return p;
  }

  async #readOrFail(ref: AccountReference, action: string): Promise<TopdeskPerson> {
    const p = await this.#read(ref.id, action);
    if (!p)
      throw new TargetRejectedError(
        `${action}: TOPdesk person ${ref.id} could not be found, possibly deleted; it might need to be granted again`,
        { code: 404 },
      );
    return p;
  }

  /**
   * Persons matching a FIQL query, by id. Whether TOPdesk returns archived persons without
   * `archived=` is unverified: with `searchArchived`, `archived=true` is asked too (always, or
   * only when the first answer was empty).
   */
  async #query(fiqlQuery: string, context: string, pageSize: number, always = false): Promise<TopdeskPerson[]> {
    const found = new Map<string, TopdeskPerson>();
    const add = (rows: Json[]) => {
      for (const r of rows) if (typeof r.id === 'string' && !blank(r.id)) found.set(r.id, r as TopdeskPerson);
    };
    add(await this.api.list('/persons', { query: { page_size: pageSize, query: fiqlQuery }, context }));
    if ((always || found.size === 0) && this.config.searchArchived) {
      add(
        await this.api.list('/persons', {
          query: { page_size: pageSize, query: fiqlQuery, archived: true },
          context,
        }),
      );
    }
    return [...found.values()];
  }

  async #findByEmployeeNumber(employeeNumber: string): Promise<TopdeskPerson[]> {
    const n = employeeNumber.trim();
    if (blank(n)) return [];
    // Both active and archived persons, always: a duplicate must not hide among the archived ones.
    // Unscoped, two rows tell one match from a duplicate. Scoped, the branch filter comes after the
    // answer, so persons outside the scope sharing the number must not push the one inside off the
    // page: a full page of them, too, is refused rather than guessed at.
    const scoped = this.config.scopeBranches.length > 0;
    const pageSize = scoped ? SCOPED_CORRELATION_PAGE : 2;
    const rows = await this.#query(`employeeNumber==${fiql(n)}`, 'correlate on employeeNumber', pageSize, true);
    // The server filters; check again (a server ignoring the filter must not correlate strangers).
    // A person outside the scope branches is never a match.
    const same = rows.filter((p) => str(p.employeeNumber).trim() === n);
    if (scoped && same.length >= pageSize)
      throw new TargetRejectedError(
        `${pageSize} or more TOPdesk persons share this employeeNumber; the ones in scope cannot be told apart; correct this in TOPdesk`,
      );
    return same.filter((p) => this.#inScope(p));
  }

  async correlate(employeeId: string): Promise<AccountReference | null> {
    const found = await this.#findByEmployeeNumber(employeeId);
    if (found.length > 1) throw this.#duplicates(found);
    return found[0] ? refOf(found[0]) : null;
  }

  /** Inside the configured branches (all when none are configured). */
  #inScope(p: TopdeskPerson): boolean {
    const scope = this.config.scopeBranches;
    if (scope.length === 0) return true;
    const branch = p.branch && typeof p.branch === 'object' ? str((p.branch as Json).name) : '';
    return scope.some((b) => b.toLowerCase() === branch.toLowerCase());
  }

  async inspect(ref: AccountReference): Promise<AccountInspection | null> {
    const p = await this.#read(ref.id, 'inspect person');
    if (!p) return null;
    return {
      enabled: !isArchived(p),
      correlationValue: str(p.employeeNumber).trim() || undefined,
      inScope: this.#inScope(p),
      // TOPdesk depends on the directory: its login names come from there, never from here.
      names: {},
    };
  }

  #duplicates(found: TopdeskPerson[]): TargetRejectedError {
    // Person ids only: names stay out of error texts (they reach workflow histories and logs).
    return new TargetRejectedError(
      `multiple TOPdesk persons (${found.length}) have the same employeeNumber (${found.map((p) => p.id).join(', ')}); correct this in TOPdesk`,
    );
  }

  // ------------------------------------------------------------------ lookups

  async #list(path: string, context: string, force = false): Promise<Json[]> {
    const hit = this.#cache.get(path);
    const now = Date.now();
    if (!force && hit && now - hit.at < this.config.lookupCacheMs) return hit.items;
    const items = await this.api.list(path, { context });
    this.#cache.set(path, { at: now, items });
    return items;
  }

  #named(items: Json[], name: string, nameField = 'name'): NamedItem[] {
    const want = name.trim().toLowerCase();
    return items
      .filter((i) => str(i[nameField]).trim().toLowerCase() === want && !blank(i.id))
      .map((i) => ({ id: str(i.id), name: str(i[nameField]), raw: i }));
  }

  /** Find by name in a (cached) list; a miss refreshes the list once before giving up. */
  async #findNamed(path: string, name: string, context: string, nameField = 'name'): Promise<NamedItem[]> {
    let hits = this.#named(await this.#list(path, context), name, nameField);
    if (!hits.length) hits = this.#named(await this.#list(path, context, true), name, nameField);
    return hits;
  }

  async #createLookup(kind: LookupKind, name: string): Promise<string> {
    const context = `create ${kind} '${name}'`;
    let body: Json = { name };
    if (kind === 'branch') {
      const country = (await this.#findNamed('/countries', this.config.branch.country, 'look up country'))[0];
      if (!country) throw new TargetRejectedError(`${context}: country '${this.config.branch.country}' not found`);
      body = { name, postalAddress: { country: { id: country.id } }, branchType: 'independentBranch' };
    }
    const res = await this.api.call('POST', LOOKUP_PATH[kind], { context, body });
    if (res.status === 200 || res.status === 201) {
      this.#cache.delete(LOOKUP_PATH[kind]);
      const id = idOf(res.json);
      if (id) return id;
    }
    // Created concurrently (or an answer without id): look again.
    const again = (await this.#findNamed(LOOKUP_PATH[kind], name, context))[0];
    if (again) return again.id;
    throw this.api.reject(res, context);
  }

  /**
   * The lookup fields for a person: `{branch:{id}}` etc. Problems are collected and reported
   * together (the connector's "lookup errors as audit lines, then one failure").
   */
  async #lookups(d: DesiredAccount): Promise<{ fields: Json; created: string[] }> {
    const fields: Json = {};
    const problems: string[] = [];
    const created: string[] = [];
    const resolve = async (
      kind: LookupKind,
      value: string | undefined,
      behaviour: { whenEmpty: 'error' | 'clear'; whenMissing: 'error' | 'create' },
    ) => {
      if (blank(value)) {
        if (behaviour.whenEmpty === 'clear') fields[kind] = { id: null };
        else problems.push(`${kind} is empty`);
        return;
      }
      const name = (value as string).trim();
      const hits = await this.#findNamed(LOOKUP_PATH[kind], name, `look up ${kind}`);
      if (hits.length > 1) problems.push(`${kind} '${name}' matches ${hits.length} entries`);
      else if (hits[0]) fields[kind] = { id: hits[0].id };
      else if (behaviour.whenMissing === 'create') {
        fields[kind] = { id: await this.#createLookup(kind, name) };
        created.push(`${kind} '${name}'`);
      } else problems.push(`${kind} '${name}' not found in TOPdesk`);
    };
    const branchName = blank(d.location) ? this.config.branch.fallback : d.location;
    await resolve('branch', branchName, { whenEmpty: 'error', whenMissing: this.config.branch.whenMissing });
    if (this.config.department.mode === 'lookup') await resolve('department', d.department, this.config.department);
    const bh = this.config.budgetHolder.from;
    if (bh !== 'none') {
      const value = bh === 'departmentCode' ? d.departmentCode : bh === 'department' ? d.department : d.company;
      await resolve('budgetHolder', value, this.config.budgetHolder);
    }
    if (problems.length)
      throw new TargetRejectedError(`lookup failed: ${problems.join('; ')} (branch is mandatory in TOPdesk)`);
    return { fields, created };
  }

  // ------------------------------------------------------------------ archive helpers

  #reasonId: string | null = null;

  async #archivingReasonId(): Promise<string> {
    if (this.#reasonId) return this.#reasonId;
    const name = this.config.archivingReason;
    const hit = (await this.#findNamed('/archiving-reasons', name, 'look up archiving reason'))[0];
    if (!hit) throw new TargetRejectedError(`archiving reason '${name}' does not exist in TOPdesk`);
    this.#reasonId = hit.id;
    return hit.id;
  }

  async #archive(id: string, context: string, reasonId?: string): Promise<void> {
    const res = await this.api.call('PATCH', `/persons/id/${encodeURIComponent(id)}/archive`, {
      context,
      body: { id: reasonId ?? (await this.#archivingReasonId()) },
      retryUnsafe: true, // state-checked by the callers; a repeat is refused, not duplicated
    });
    if (res.status === 200 || res.status === 204) return;
    if (res.status === 400 && (await this.#read(id, context).then((p) => !!p && isArchived(p)))) return;
    throw this.api.reject(res, context);
  }

  async #unarchive(id: string, context: string): Promise<void> {
    const res = await this.api.call('PATCH', `/persons/id/${encodeURIComponent(id)}/unarchive`, {
      context,
      retryUnsafe: true,
    });
    if (res.status === 200 || res.status === 204) return;
    if (res.status === 400 && (await this.#read(id, context).then((p) => !!p && !isArchived(p)))) return;
    throw this.api.reject(res, context);
  }

  /** The reason an archived person was archived with (to re-archive it the same way). */
  #reasonOf(p: Json): string | undefined {
    const id = idOf(p.archivingReason);
    return id || undefined;
  }

  async #patch(id: string, body: Json, context: string): Promise<TopdeskPerson | null> {
    const res = await this.api.call('PATCH', `/persons/id/${encodeURIComponent(id)}`, {
      context,
      body,
      retryUnsafe: true, // the same field values again: idempotent
    });
    if (res.status === 404) throw new TargetRejectedError(`${context}: TOPdesk person ${id} not found`, { code: 404 });
    if (res.status !== 200 && res.status !== 204) throw this.api.reject(res, context);
    return (res.json as TopdeskPerson | undefined) ?? null;
  }

  /** PATCH, unarchiving an archived person around it when configured (not atomic: see docs). */
  async #patchPerson(p: TopdeskPerson, body: Json, context: string): Promise<boolean> {
    const dance = isArchived(p) && this.config.archivedUpdate === 'unarchive';
    if (!dance) {
      await this.#patch(p.id, body, context);
      return false;
    }
    await this.#unarchive(p.id, context);
    try {
      await this.#patch(p.id, body, context);
    } finally {
      await this.#archive(p.id, `${context} (re-archive)`, this.#reasonOf(p));
    }
    return true;
  }

  // ------------------------------------------------------------------ manager

  /**
   * The manager's TOPdesk id for `manager:{id}`; null = no manager wanted; undefined = not found.
   * TOPdesk accepts only persons with `isManager=true` as manager: set it first when configured.
   */
  async #manager(locator: string | undefined): Promise<string | null | undefined> {
    if (blank(locator)) return null;
    const m = await this.#read(personIdFromLocator(locator as string), 'look up manager');
    if (!m) return undefined;
    if (m.isManager !== true && this.config.manager.setIsManager) {
      await this.#patchPerson(m, { isManager: true }, 'set isManager on the manager');
    }
    return m.id;
  }

  // ------------------------------------------------------------------ desired state

  #validate(d: DesiredAccount): void {
    const problems: string[] = [];
    if (blank(d.employeeId)) problems.push('employeeId is empty');
    if (blank(d.familyName)) problems.push('familyName (surName) is empty');
    if (problems.length) throw new TargetRejectedError(`invalid account data: ${problems.join('; ')}`);
  }

  #desiredFields(d: DesiredAccount, lookups: Json, managerId: string | null | undefined): Json {
    const f: Json = {
      surName: d.familyName.trim(),
      firstName: str(d.givenName).trim(),
      firstInitials: Array.from(str(d.initials).trim()).slice(0, MAX_INITIALS).join(''),
      email: str(d.email).trim(),
      employeeNumber: d.employeeId.trim(),
      networkLoginName: str(d.userPrincipalName).trim(),
      tasLoginName: str(d.userPrincipalName).trim(),
      jobTitle: str(d.title).trim(),
      mainframeLoginName: this.config.markers.managed,
      ...lookups,
    };
    if (this.config.manager.enabled && managerId !== undefined) f.manager = { id: managerId };
    return f;
  }

  /** Names of the fields whose current value differs (lookups compared by id, the rest as strings). */
  #diff(current: Json, want: Json): string[] {
    const changed: string[] = [];
    for (const [k, v] of Object.entries(want)) {
      const isLookup = v !== null && typeof v === 'object';
      const same = isLookup ? idOf(current[k]) === str((v as Json).id) : str(current[k]) === str(v);
      if (!same) changed.push(k);
    }
    return changed;
  }

  // ------------------------------------------------------------------ create

  async create(desired: DesiredAccount): Promise<ActionResult> {
    this.#validate(desired);
    const existing = await this.#findByEmployeeNumber(desired.employeeId);
    if (existing.length > 1) throw this.#duplicates(existing);
    if (existing[0]) {
      return {
        account: refOf(existing[0]),
        audit: [
          this.audit('correlate', 'success', 'correlated to an existing TOPdesk person on employeeNumber', {
            field: 'employeeNumber',
          }),
        ],
      };
    }
    const { fields: lookups, created: lookupsCreated } = await this.#lookups(desired);
    const managerId = this.config.manager.enabled ? await this.#manager(desired.managerLocator) : null;
    const body = { ...this.#desiredFields(desired, lookups, managerId === null ? undefined : managerId) };
    body.isManager = false;

    let person: TopdeskPerson | null = null;
    let recovered = false;
    try {
      const res = await this.api.call('POST', '/persons', { context: 'create person', body });
      if (res.status !== 200 && res.status !== 201) throw this.api.reject(res, 'create person');
      person = res.json as TopdeskPerson;
      if (!person || blank(person.id)) person = null;
    } catch (err) {
      if (!(err instanceof TopdeskUnavailableError)) throw err;
      // The answer was lost (timeout, 5xx): the person may exist. employeeNumber was in the body.
      const again = await this.#findByEmployeeNumber(desired.employeeId).catch(() => []);
      if (again.length !== 1) throw err;
      person = again[0] as TopdeskPerson;
      recovered = true;
    }
    if (!person) {
      const again = await this.#findByEmployeeNumber(desired.employeeId);
      if (again.length !== 1)
        throw new TopdeskUnavailableError('create person: the new person could not be read back', 0);
      person = again[0] as TopdeskPerson;
    }
    const audit: AuditEntry[] = lookupsCreated.map((c) => this.audit('create', 'success', `created ${c}`));
    if (this.config.createArchived && !isArchived(person)) await this.#archive(person.id, 'archive the new person');
    const details: Record<string, unknown> = {
      attributes: Object.keys(body).sort(),
      archived: this.config.createArchived,
    };
    if (recovered) details.recoveredAfterLostAnswer = true;
    if (managerId === undefined) details.managerNotFound = true;
    audit.push(
      this.audit(
        'create',
        'success',
        `created TOPdesk person${this.config.createArchived ? ' (archived until enabled)' : ''}`,
        details,
      ),
    );
    return { account: refOf(person), audit };
  }

  // ------------------------------------------------------------------ update

  async update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult> {
    this.#validate(desired);
    const p = await this.#readOrFail(ref, 'update');
    const { fields: lookups, created } = await this.#lookups(desired);
    const managerId = this.config.manager.enabled ? await this.#manager(desired.managerLocator) : null;
    const want = this.#desiredFields(desired, lookups, managerId);
    const changed = this.#diff(p, want);
    const audit: AuditEntry[] = created.map((c) => this.audit('update', 'success', `created ${c}`));
    if (!changed.length) {
      audit.push(
        this.audit(
          'update',
          'unchanged',
          'no changes',
          managerId === undefined ? { managerNotFound: true } : undefined,
        ),
      );
      return { account: refOf(p), audit };
    }
    const body: Json = {};
    for (const k of changed) body[k] = want[k];
    const danced = await this.#patchPerson(p, body, 'update person');
    const details: Record<string, unknown> = { attributes: changed };
    if (danced) details.unarchivedForUpdate = true;
    if (managerId === undefined) details.managerNotFound = true;
    audit.push(this.audit('update', 'success', `updated ${changed.join(', ')}`, details));
    return { account: refOf(p), audit };
  }

  // ------------------------------------------------------------------ enable / disable / delete

  async enable(ref: AccountReference): Promise<ActionResult> {
    const p = await this.#readOrFail(ref, 'enable');
    if (!isArchived(p)) return this.result(refOf(p), 'enable', 'unchanged', 'already enabled');
    await this.#unarchive(p.id, 'enable (unarchive person)');
    return this.result(refOf(p), 'enable', 'success', 'unarchived TOPdesk person');
  }

  async disable(ref: AccountReference): Promise<ActionResult> {
    const p = await this.#read(ref.id, 'disable');
    if (!p) {
      if (this.config.disableNotFound === 'error')
        throw new TargetRejectedError(`disable: TOPdesk person ${ref.id} could not be found, possibly deleted`, {
          code: 404,
        });
      return this.gone('disable', undefined, 'person');
    }
    if (isArchived(p)) return this.result(refOf(p), 'disable', 'unchanged', 'already archived');
    await this.#archive(p.id, 'disable (archive person)');
    return {
      account: refOf(p),
      audit: [
        this.audit('disable', 'success', `archived TOPdesk person (reason: ${this.config.archivingReason})`, {
          archivingReason: this.config.archivingReason,
        }),
      ],
    };
  }

  async delete(ref: AccountReference): Promise<ActionResult> {
    const p = await this.#read(ref.id, 'delete');
    if (!p) return this.gone('delete', undefined, 'person');
    const want: Json = {
      email: '',
      networkLoginName: '',
      tasLoginName: '',
      mainframeLoginName: this.config.markers.deleted,
    };
    const changed = this.#diff(p, want);
    if (!changed.length && isArchived(p))
      return this.result(null, 'delete', 'unchanged', 'already deleted (blanked and archived)');
    if (changed.length) {
      const body: Json = {};
      for (const k of changed) body[k] = want[k];
      await this.#patchPerson(p, body, 'delete person (blank login names)');
    }
    const now = changed.length ? await this.#read(p.id, 'delete') : p;
    if (now && !isArchived(now)) await this.#archive(p.id, 'delete (archive person)');
    return {
      account: null,
      audit: [
        this.audit(
          'delete',
          'success',
          'blanked e-mail and login names, marked deleted and archived (no hard delete)',
          {
            attributes: changed,
          },
        ),
      ],
    };
  }

  // ------------------------------------------------------------------ tickets

  async grantPermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    const t = parseTicketPermission(permission.name);
    if (!t)
      throw new TargetRejectedError(
        `TOPdesk has no permission '${permission.name}'; only tickets (ticket:<kind>:<eventKey>) are managed`,
      );
    const { account, audit } = await this.ensureTicket(ref, t);
    return { account, audit };
  }

  /** Tickets are events: nothing is withdrawn (an offboarding is its own ticket kind). */
  async revokePermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    const t = parseTicketPermission(permission.name);
    return {
      account: ref,
      audit: [
        this.audit(
          'revokePermission',
          'unchanged',
          t ? 'tickets are not withdrawn; nothing to do' : `'${permission.name}' is not a TOPdesk permission`,
          { permission: permission.name },
        ),
      ],
    };
  }

  /** Tickets are not state to reconcile: a repeated grant finds its ticket, so none are listed. */
  async listPermissions(_ref: AccountReference): Promise<string[]> {
    return [];
  }

  /**
   * Create the ticket for (person, kind, eventKey) unless one with its dedupe key exists. Safe to
   * call any number of times; a lost answer to the POST is detected by searching again.
   */
  async ensureTicket(ref: AccountReference, t: TicketRef): Promise<TicketResult> {
    const name = ticketPermission(t.kind, t.eventKey);
    const done = (outcome: Outcome, message: string, details: Record<string, unknown> = {}) =>
      this.audit('grantPermission', outcome, message, { permission: name, kind: t.kind, ...details });
    if (!this.config.tickets.enabled)
      return { account: ref, ticket: null, audit: [done('unchanged', 'tickets are disabled; not creating a ticket')] };
    if (!(t.kind in this.config.tickets.kinds))
      throw new TargetRejectedError(`ticket kind '${t.kind}' is not configured for TOPdesk`);
    const spec = this.config.tickets.kinds[t.kind];
    if (!spec)
      return {
        account: ref,
        ticket: null,
        audit: [done('unchanged', `no ticket configured for '${t.kind}'; nothing created`)],
      };
    if (blank(t.eventKey)) throw new TargetRejectedError('ticket: the event key is empty');
    const person = await this.#readOrFail(ref, 'create ticket');
    const externalNumber = ticketExternalNumber(
      str(person.employeeNumber) || person.id,
      t,
      this.config.tickets.externalNumberMaxLength,
    );
    const found = await this.#findTicket(spec.type, externalNumber);
    if (found)
      return {
        account: refOf(person),
        ticket: { type: spec.type, ...found, externalNumber, created: false },
        audit: [
          done('unchanged', `${spec.type} ${found.number} already exists for this event`, {
            ticket: found.number,
            externalNumber,
          }),
        ],
      };

    const requester = await this.#requester(spec, person);
    const vars = this.#vars(person, t);
    const body =
      spec.type === 'change'
        ? await this.#changeBody(spec, requester.id, vars)
        : await this.#incidentBody(spec, requester, vars);
    body.externalNumber = externalNumber;
    const path = spec.type === 'change' ? '/operatorChanges' : '/incidents';
    const context = `create ${spec.type} (${t.kind})`;

    const dance = isArchived(requester) && this.config.unarchiveRequester;
    if (dance) await this.#unarchive(requester.id, `${context}: unarchive requester`);
    let created: { id: string; number: string };
    let recovered = false;
    try {
      try {
        const res = await this.api.call('POST', path, { context, body });
        if (res.status !== 200 && res.status !== 201) throw this.api.reject(res, context);
        created = { id: idOf(res.json), number: str((res.json as Json | undefined)?.number) };
      } catch (err) {
        if (!(err instanceof TopdeskUnavailableError)) throw err;
        const again = await this.#findTicket(spec.type, externalNumber).catch(() => null);
        if (!again) throw err;
        created = again;
        recovered = true;
      }
    } finally {
      if (dance) await this.#archive(requester.id, `${context}: re-archive requester`, this.#reasonOf(requester));
    }
    return {
      account: refOf(person),
      ticket: { type: spec.type, ...created, externalNumber, created: true },
      audit: [
        done('success', `created ${spec.type} ${created.number || created.id} (${t.kind})`, {
          ticket: created.number,
          externalNumber,
          ...(recovered ? { recoveredAfterLostAnswer: true } : {}),
          ...(dance ? { requesterUnarchived: true } : {}),
        }),
      ],
    };
  }

  /** A change or incident carrying this external number, or null. */
  async #findTicket(
    type: 'change' | 'incident',
    externalNumber: string,
  ): Promise<{ id: string; number: string } | null> {
    const path = type === 'change' ? '/operatorChanges' : '/incidents';
    const query =
      this.config.tickets.search === 'fiql'
        ? { query: `externalNumber==${fiql(externalNumber)}`, page_size: 10 }
        : { external_number: externalNumber, page_size: 10 };
    const rows = await this.api.list(path, { query, context: `search ${type} by external number` });
    const hit = rows.find((r) => str(r.externalNumber) === externalNumber);
    return hit ? { id: str(hit.id), number: str(hit.number) } : null;
  }

  async #personByEmail(email: string, context: string): Promise<TopdeskPerson> {
    const rows = (await this.#query(`email==${fiql(email)}`, context, 2)).filter(
      (p) => str(p.email).toLowerCase() === email.toLowerCase(),
    );
    if (rows.length > 1) throw new TargetRejectedError(`${context}: ${rows.length} TOPdesk persons have that e-mail`);
    if (!rows[0]) throw new TargetRejectedError(`${context}: no TOPdesk person with the configured e-mail address`);
    return rows[0];
  }

  async #requester(spec: TicketSpec, person: TopdeskPerson): Promise<TopdeskPerson> {
    if (spec.requester === 'employee') return person;
    if (spec.requester === 'manager') {
      const managerId = idOf(person.manager);
      const m = managerId ? await this.#read(managerId, 'look up manager as requester') : null;
      if (m) return m;
      if (spec.fallbackEmail) return this.#personByEmail(spec.fallbackEmail, 'look up fallback requester');
      throw new TargetRejectedError('ticket: the person has no manager in TOPdesk and no fallback e-mail is set');
    }
    return this.#personByEmail(spec.requester, 'look up requester');
  }

  #vars(p: TopdeskPerson, t: TicketRef): Record<string, string> {
    return {
      firstName: str(p.firstName),
      surName: str(p.surName),
      prefixes: str(p.prefixes),
      dynamicName: str(p.dynamicName) || `${str(p.surName)}, ${str(p.firstName)}`,
      employeeNumber: str(p.employeeNumber),
      email: str(p.email),
      loginName: str(p.tasLoginName),
      jobTitle: str(p.jobTitle),
      branch: nameOf(p.branch),
      department: nameOf(p.department),
      budgetHolder: nameOf(p.budgetHolder),
      manager: nameOf(p.manager),
      kind: t.kind,
      eventKey: t.eventKey,
      date: new Date().toISOString().slice(0, 10),
    };
  }

  async #changeBody(
    spec: Extract<TicketSpec, { type: 'change' }>,
    requesterId: string,
    vars: Record<string, string>,
  ): Promise<Json> {
    const templates = await this.#findNamed(
      '/applicableChangeTemplates',
      spec.templateNumber,
      'look up change template',
      'number',
    );
    if (!templates[0])
      throw new TargetRejectedError(
        `change template '${spec.templateNumber}' is not applicable for the API user (or does not exist)`,
      );
    const body: Json = {
      template: { id: templates[0].id },
      requester: { id: requesterId },
      briefDescription: cut(renderTemplate(spec.briefDescription, vars).trim(), MAX_BRIEF),
      request: renderTemplate(spec.request, vars),
      changeType: spec.changeType,
    };
    for (const k of ['action', 'category', 'subCategory', 'impact', 'benefit', 'priority'] as const) {
      const v = spec[k];
      if (!blank(v)) body[k] = renderTemplate(v as string, vars);
    }
    return body;
  }

  async #incidentBody(
    spec: Extract<TicketSpec, { type: 'incident' }>,
    caller: TopdeskPerson,
    vars: Record<string, string>,
  ): Promise<Json> {
    const problems: string[] = [];
    let branchId = idOf(caller.branch);
    if (spec.branch) {
      const b = (await this.#findNamed('/branches', spec.branch, 'look up incident branch'))[0];
      if (b) branchId = b.id;
      else problems.push(`branch '${spec.branch}' not found`);
    }
    if (!branchId) problems.push('the caller has no branch');
    const body: Json = {
      callerLookup: { id: caller.id },
      briefDescription: cut(renderTemplate(spec.briefDescription, vars).trim(), MAX_BRIEF),
      request: renderTemplate(spec.request, vars),
      branch: { id: branchId },
    };
    if (!blank(spec.action)) body.action = renderTemplate(spec.action as string, vars);
    if (spec.status) body.status = spec.status;
    let categoryId: string | undefined;
    for (const [field, how] of Object.entries(INCIDENT_LOOKUPS) as [
      keyof typeof INCIDENT_LOOKUPS,
      (typeof INCIDENT_LOOKUPS)[keyof typeof INCIDENT_LOOKUPS],
    ][]) {
      const value = spec[field];
      if (blank(value)) continue;
      const hits = await this.#findNamed(how.path, value as string, `look up incident ${field}`, how.nameField);
      if (!hits[0]) problems.push(`${field} '${value}' not found`);
      else {
        body[field] = { id: hits[0].id };
        if (field === 'category') categoryId = hits[0].id;
      }
    }
    if (!blank(spec.subcategory)) {
      // Subcategory names repeat across categories: pick the one under the chosen category.
      const hits = (
        await this.#findNamed('/incidents/subcategories', spec.subcategory as string, 'look up incident subcategory')
      ).filter((h) => !categoryId || idOf(h.raw.category) === categoryId);
      if (hits.length === 1) body.subcategory = { id: (hits[0] as NamedItem).id };
      else if (!hits.length) problems.push(`subcategory '${spec.subcategory}' not found under the category`);
      else problems.push(`subcategory '${spec.subcategory}' is ambiguous; set the category`);
    }
    if (problems.length) throw new TargetRejectedError(`incident lookup failed: ${problems.join('; ')}`);
    return body;
  }

  // ------------------------------------------------------------------ uniqueness

  async isTaken(
    candidate: { username: string; userPrincipalName: string; email: string },
    employeeId: string,
  ): Promise<boolean> {
    const checks: [string, string][] = [];
    if (!blank(candidate.email)) checks.push(['email', candidate.email.trim()]);
    if (!blank(candidate.userPrincipalName)) {
      checks.push(['tasLoginName', candidate.userPrincipalName.trim()]);
      checks.push(['networkLoginName', candidate.userPrincipalName.trim()]);
    }
    for (const [field, value] of checks) {
      const rows = await this.#query(`${field}==${fiql(value)}`, 'uniqueness check', 10);
      if (
        rows.some(
          (p) =>
            str(p[field]).toLowerCase() === value.toLowerCase() && str(p.employeeNumber).trim() !== employeeId.trim(),
        )
      )
        return true;
    }
    return false;
  }
}

/** Convenience factory. */
export function createTopdeskConnector(config: TopdeskConfigInput | TopdeskConfig): TopdeskTargetConnector {
  return new TopdeskTargetConnector(config);
}
