/**
 * Active Directory target connector over LDAPS with ldapts (docs/targets/ad.md).
 *
 * - Correlation on employeeID always comes first, so a retried create never adds a second account.
 * - Accounts are created disabled in their location's OU with a random password (unicodePwd);
 *   enable/disable flip only bit 2 of userAccountControl; disable moves to the disabled OU,
 *   enable moves back to the location OU (remembered in physicalDeliveryOfficeName).
 * - update writes only differing attributes, renames (CN = display name) and moves between
 *   location OUs; an account in the disabled OU stays there until enabled.
 * - The account reference is { id: objectGUID, locator: DN }; every operation re-resolves the
 *   account by `<GUID=...>`, so a stale DN after a move or rename does not matter.
 * - Groups in groupsOU are the permissions; membership changes are idempotent.
 * - Scope (docs/ownership.md): correlation looks only inside the search OUs (default the managed
 *   OUs); an account outside the search and managed OUs is never changed, disabled or deleted.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Attribute, Change, Client, ResultCodeError, type Entry } from 'ldapts';
import type {
  AccountReference,
  ActionResult,
  AuditEntry,
  CreateOptions,
  DesiredAccount,
  KnownAccount,
  PermissionRef,
} from '../types.js';
import { SearchingConnectorBase } from './kit.js';
import { escapeDNValue, escapeFilterValue, normalizeDN, rdn, rdnValue, sameDN, splitDN } from '../ldap-escape.js';
import {
  AdConfigSchema,
  adConfigFromEnv,
  managedOUsOf,
  searchOUsOf,
  type AdConfig,
  type AdConfigInput,
} from './ad/config.js';
import { ldapCode, mapLdapError } from './ad/errors.js';
import { TargetRejectedError, TargetUnavailableError, accountGone } from './errors.js';
import { generatePassword, unicodePwd } from './ad/password.js';
import { guidDN, guidFromBytes, isGuid } from './ad/guid.js';
import { ouFor } from './ad/ous.js';

export { AdConfigSchema, adConfigFromEnv, TargetRejectedError, TargetUnavailableError };
export type { AdConfig, AdConfigInput };

/** userAccountControl bits (KB 305144). */
export const UAC = {
  ACCOUNTDISABLE: 0x2,
  PASSWD_NOTREQD: 0x20,
  NORMAL_ACCOUNT: 0x200,
  DONT_EXPIRE_PASSWORD: 0x10000,
} as const;

/** Global security group. */
const GROUP_TYPE_GLOBAL_SECURITY = '-2147483646';
const MAX_CN = 64;
const MAX_EMPLOYEE_ID = 16;
const MAX_SAM = 20;
const SAM_FORBIDDEN = /["/\\[\]:;|=,+*?<>@]/;

/** Attributes the connector reads and compares. */
const ACCOUNT_ATTRIBUTES = [
  'distinguishedName',
  'cn',
  'objectGUID',
  'sAMAccountName',
  'userPrincipalName',
  'displayName',
  'givenName',
  'sn',
  'initials',
  'mail',
  'proxyAddresses',
  'title',
  'department',
  'company',
  'physicalDeliveryOfficeName',
  'manager',
  'employeeID',
  'userAccountControl',
];

/** Single-valued attributes written from DesiredAccount (besides cn, proxyAddresses, manager). */
type SimpleAttr =
  | 'sAMAccountName'
  | 'userPrincipalName'
  | 'displayName'
  | 'givenName'
  | 'sn'
  | 'initials'
  | 'mail'
  | 'title'
  | 'department'
  | 'company'
  | 'physicalDeliveryOfficeName'
  | 'employeeID';

interface AdAccount {
  dn: string;
  guid: string;
  cn: string;
  uac: number;
  attrs: Record<string, string[]>;
}

function values(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

function first(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}

function blank(s: string | undefined | null): s is undefined | null | '' {
  return s === undefined || s === null || s.trim() === '';
}

function toAccount(entry: Entry, extra: readonly string[] = []): AdAccount {
  const raw = entry.objectGUID;
  const buf = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) && Buffer.isBuffer(raw[0]) ? raw[0] : undefined;
  if (!buf) throw new Error('directory returned an account without objectGUID');
  const attrs: Record<string, string[]> = {};
  for (const a of [...ACCOUNT_ATTRIBUTES, ...extra]) if (a !== 'objectGUID') attrs[a] = values(entry, a);
  return {
    dn: first(entry, 'distinguishedName') ?? entry.dn,
    guid: guidFromBytes(buf),
    cn: first(entry, 'cn') ?? rdnValue(splitDN(entry.dn).rdn),
    uac: Number(first(entry, 'userAccountControl') ?? '0'),
    attrs,
  };
}

/** LDAP operations a connector sent, by kind (the LDAP-budget test and the bench read them). */
export interface LdapOperationCounts {
  bind: number;
  search: number;
  add: number;
  modify: number;
  modifyDN: number;
  del: number;
}

const COUNTED = ['search', 'add', 'modify', 'modifyDN', 'del'] as const;

/** The client with every operation counted (a Proxy: ldapts keeps private state, so calls go to the client itself). */
function countingClient(client: Client, counts: LdapOperationCounts): Client {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const counted = (COUNTED as readonly (string | symbol)[]).includes(prop);
      return (...args: unknown[]) => {
        if (counted) counts[prop as (typeof COUNTED)[number]] += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function refOf(a: AdAccount): AccountReference {
  return { id: a.guid, locator: a.dn };
}

/** The CN for a display name: as is (spaces included; escaping handles them), cut to 64 characters without splitting a surrogate pair. */
function cnFrom(displayName: string): string {
  return Array.from(displayName).slice(0, MAX_CN).join('');
}

export class AdTargetConnector extends SearchingConnectorBase<AdAccount> {
  protected readonly correlation = { attribute: 'employeeID', where: 'the directory' };
  readonly id: string;
  readonly config: Omit<AdConfig, 'bindPassword'>;
  readonly #password: string;
  #client: Client | null = null;
  #connecting: Promise<Client> | null = null;
  readonly #knownOUs = new Set<string>();
  /** Group name → DN of groups seen to exist: a grant then goes straight to the group. */
  readonly #groupDNs = new Map<string, string>();
  #sharedBase: string | undefined | null = null;
  readonly #ops: LdapOperationCounts = { bind: 0, search: 0, add: 0, modify: 0, modifyDN: 0, del: 0 };

  constructor(config: AdConfigInput | AdConfig) {
    super();
    const parsed = AdConfigSchema.parse(config);
    const { bindPassword, ...rest } = parsed;
    this.#password = bindPassword;
    this.config = rest;
    this.id = parsed.id;
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): AdTargetConnector {
    return new AdTargetConnector(adConfigFromEnv(env));
  }

  /** Never serialise the password (it is not a property, but be explicit for loggers). */
  toJSON(): Record<string, unknown> {
    return { id: this.id, url: this.config.url, baseDN: this.config.baseDN };
  }

  protected reference(a: AdAccount): AccountReference {
    return refOf(a);
  }

  /** The LDAP operations this connector has sent so far (a copy). */
  ldapOperations(): LdapOperationCounts & { writes: number } {
    const o = { ...this.#ops };
    return { ...o, writes: o.add + o.modify + o.modifyDN + o.del };
  }

  // ------------------------------------------------------------------ connection

  #tlsSettings(): ConnectionOptions {
    const o: ConnectionOptions = {};
    if (this.config.tls.caFile) o.ca = readFileSync(this.config.tls.caFile);
    if (this.config.tls.insecure) o.rejectUnauthorized = false;
    return o;
  }

  #startTls(): boolean {
    return this.config.startTls && /^ldap:/i.test(this.config.url);
  }

  async #connect(): Promise<Client> {
    const client = new Client({
      url: this.config.url,
      timeout: this.config.timeouts.operationMs,
      connectTimeout: this.config.timeouts.connectMs,
      // ldapts would try TLS on ldap:// otherwise
      tlsOptions: /^ldaps:/i.test(this.config.url) ? this.#tlsSettings() : undefined,
      strictDN: false,
      // ldapts replays the bind after a reconnect without repeating StartTLS: a StartTLS session
      // reconnects through #getClient instead, upgrading before it binds.
      autoRebind: !this.#startTls(),
    });
    try {
      if (this.#startTls()) {
        const host = new URL(this.config.url).hostname;
        // host: the name or address the certificate is checked against (the upgraded socket has none).
        const isIp = /^[\d.]+$|:/.test(host);
        await client.startTLS({ ...this.#tlsSettings(), host, servername: isIp ? undefined : host });
      }
      this.#ops.bind += 1;
      await client.bind(this.config.bindDN, this.#password);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw mapLdapError(err, 'bind to Active Directory');
    }
    return countingClient(client, this.#ops);
  }

  async #getClient(): Promise<Client> {
    if (this.#client?.isConnected) return this.#client;
    if (this.#client) {
      // Dropped connection: start over rather than rely on a half-dead socket.
      const old = this.#client;
      this.#client = null;
      await old.unbind().catch(() => undefined);
    }
    if (!this.#connecting) {
      this.#connecting = this.#connect().finally(() => {
        this.#connecting = null;
      });
      this.#client = await this.#connecting;
      return this.#client;
    }
    return this.#connecting;
  }

  /** Run one LDAP operation; connection-level failures drop the client so the next call reconnects. */
  async #op<T>(context: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await this.#getClient();
    try {
      return await fn(client);
    } catch (err) {
      if (!(err instanceof ResultCodeError) && this.#client === client) {
        this.#client = null;
        await client.unbind().catch(() => undefined);
      }
      throw err instanceof ResultCodeError ? err : mapLdapError(err, context);
    }
  }

  /** Like #op but maps every LDAP error (use when no result code is handled by the caller). */
  async #run<T>(context: string, fn: (c: Client) => Promise<T>): Promise<T> {
    try {
      return await this.#op(context, fn);
    } catch (err) {
      throw mapLdapError(err, context);
    }
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    if (c) await c.unbind().catch(() => undefined);
  }

  // ------------------------------------------------------------------ reading

  async #search(base: string, filter: string, scope: 'base' | 'one' | 'sub', attributes: string[]): Promise<Entry[]> {
    const r = await this.#op('search', (c) =>
      c.search(base, { scope, filter, attributes, explicitBufferAttributes: ['objectGUID'] }),
    );
    return r.searchEntries;
  }

  /** Accounts with this employeeID inside the search OUs (or, with `everywhere`, the whole base DN). */
  protected async findByEmployeeId(employeeId: string, everywhere = false): Promise<AdAccount[]> {
    if (blank(employeeId)) return [];
    const filter = `(&(objectClass=user)(objectCategory=person)(employeeID=${escapeFilterValue(employeeId.trim())}))`;
    const shared = everywhere ? undefined : this.#sharedSearchBase();
    const bases = everywhere ? [this.config.baseDN] : shared ? [shared] : searchOUsOf(this.config);
    const found = new Map<string, AdAccount>();
    for (const base of bases) {
      try {
        for (const e of await this.#search(base, filter, 'sub', this.#readAttributes())) {
          const a = toAccount(e, this.config.extraAttributes);
          if (!shared || this.#within(a.dn, searchOUsOf(this.config))) found.set(a.guid, a);
        }
      } catch (err) {
        if (ldapCode(err) === 32) continue; // a search OU that does not exist (yet) holds nobody
        throw mapLdapError(err, 'correlate on employeeID');
      }
    }
    return [...found.values()];
  }

  /** Inside a search OU or a managed OU (employees, disabled, location OUs): Tenure may change it. */
  #inScope(dn: string): boolean {
    return this.#within(dn, [...searchOUsOf(this.config), ...managedOUsOf(this.config)]);
  }

  #within(dn: string, ous: string[]): boolean {
    const wanted = new Set(ous.map(normalizeDN));
    for (let p: string | undefined = splitDN(dn).parent; p; p = splitDN(p).parent)
      if (wanted.has(normalizeDN(p))) return true;
    return false;
  }

  /**
   * One base for the correlation search instead of one search per search OU: their nearest common
   * parent, when it lies below the base DN (results outside the search OUs are dropped). Not the
   * whole domain: that search would scan every person in it.
   */
  #sharedSearchBase(): string | undefined {
    if (this.#sharedBase !== null) return this.#sharedBase;
    const ous = searchOUsOf(this.config);
    const chain = (dn: string) => {
      const out: string[] = [];
      for (let p: string | undefined = dn; p; p = splitDN(p).parent) out.unshift(p);
      return out;
    };
    let shared: string | undefined;
    if (ous.length > 1) {
      const chains = ous.map(chain);
      const first = chains[0]!;
      for (let i = 0; i < first.length; i++) {
        if (chains.every((c) => c[i] !== undefined && normalizeDN(c[i]!) === normalizeDN(first[i]!))) shared = first[i];
        else break;
      }
      const base = normalizeDN(this.config.baseDN);
      if (shared && (normalizeDN(shared) === base || !this.#within(shared, [this.config.baseDN]))) shared = undefined;
    }
    this.#sharedBase = shared;
    return shared;
  }

  #assertInScope(a: AdAccount, action: string): void {
    if (!this.#inScope(a.dn))
      throw new TargetRejectedError(
        `${action}: account ${a.guid} is outside the search and managed OUs; Tenure does not change it`,
      );
  }

  async inspect(ref: AccountReference) {
    const a = await this.#read(ref);
    if (!a) return null;
    return {
      enabled: !(a.uac & UAC.ACCOUNTDISABLE),
      correlationValue: a.attrs.employeeID?.[0],
      inScope: this.#inScope(a.dn),
      names: {
        username: a.attrs.sAMAccountName?.[0],
        userPrincipalName: a.attrs.userPrincipalName?.[0],
        email: a.attrs.mail?.[0],
      },
    };
  }

  /** Re-resolve an account by objectGUID (fallback: the DN locator). null when gone. */
  async #read(ref: AccountReference): Promise<AdAccount | null> {
    const base = isGuid(ref.id) ? guidDN(ref.id) : ref.locator;
    if (blank(base)) throw new TargetRejectedError('account reference has neither a GUID nor a DN');
    try {
      const entries = await this.#search(base, '(objectClass=user)', 'base', this.#readAttributes());
      return entries[0] ? toAccount(entries[0], this.config.extraAttributes) : null;
    } catch (err) {
      if (ldapCode(err) === 32) return null;
      throw mapLdapError(err, 'read account');
    }
  }

  async #readOrFail(ref: AccountReference, action: string): Promise<AdAccount> {
    const a = await this.#read(ref);
    if (!a) throw accountGone(action, ref.id, 32);
    return a;
  }

  async createRefusal(employeeId: string): Promise<string | null> {
    if (this.config.outOfScopeMatch !== 'report') return null;
    if ((await this.findByEmployeeId(employeeId)).length) return null;
    if (!(await this.findByEmployeeId(employeeId, true)).length) return null;
    return "create account: the only account with this employeeID is outside the search OUs; it is not Tenure's to use (AD_OUT_OF_SCOPE_MATCH=report)";
  }

  // ------------------------------------------------------------------ OUs

  #locationOU(location: string | undefined, departmentCode?: string): string {
    return ouFor(this.config, location, departmentCode);
  }

  /** The attributes read for an account: the built-in ones and the configured extra ones. */
  #readAttributes(): string[] {
    return [...ACCOUNT_ATTRIBUTES, ...this.config.extraAttributes];
  }

  /** Create a location OU when missing (only those the connector derives, under employeesOU). */
  async #ensureOU(ou: string): Promise<void> {
    const key = normalizeDN(ou);
    if (this.#knownOUs.has(key)) return;
    try {
      await this.#op('look up OU', (c) => c.search(ou, { scope: 'base', attributes: ['objectClass'] }));
    } catch (err) {
      if (ldapCode(err) !== 32) throw mapLdapError(err, 'look up OU');
      const derived = sameDN(splitDN(ou).parent, this.config.employeesOU);
      if (!derived) throw new TargetRejectedError(`OU ${ou} does not exist`, { code: 32 });
      try {
        await this.#op('create OU', (c) => c.add(ou, { objectClass: ['top', 'organizationalUnit'] }));
      } catch (e2) {
        if (ldapCode(e2) === 32)
          throw new TargetRejectedError(`parent OU ${this.config.employeesOU} does not exist`, { code: 32 });
        if (ldapCode(e2) !== 68) throw mapLdapError(e2, 'create OU');
      }
    }
    this.#knownOUs.add(key);
  }

  #inDisabledOU(a: AdAccount): boolean {
    return sameDN(splitDN(a.dn).parent, this.config.disabledOU);
  }

  /** CN candidates: the display name, then "<display name> (<employeeID>)" when the first is taken in that OU. */
  #cnCandidates(displayName: string, employeeId: string): string[] {
    const base = cnFrom(displayName);
    const suffix = ` (${employeeId})`;
    const alt = cnFrom(
      Array.from(base)
        .slice(0, MAX_CN - Array.from(suffix).length)
        .join('') + suffix,
    );
    return alt === base ? [base] : [base, alt];
  }

  /** modifyDN to `CN=<candidate>,<parent>`, trying the next candidate on entryAlreadyExists. */
  async #moveOrRename(a: AdAccount, candidates: string[], parent: string): Promise<string> {
    let lastErr: unknown;
    for (const cn of candidates) {
      const newDN = `${rdn('CN', cn)},${parent}`;
      try {
        await this.#op('rename/move account', (c) => c.modifyDN(guidDN(a.guid), newDN));
        return newDN;
      } catch (err) {
        lastErr = err;
        if (ldapCode(err) !== 68) break;
      }
    }
    if (ldapCode(lastErr) === 68) {
      throw new TargetRejectedError(`an object with the same name already exists in ${parent}`, {
        code: 68,
        cause: lastErr,
      });
    }
    throw mapLdapError(lastErr, 'rename/move account');
  }

  // ------------------------------------------------------------------ desired state

  #validate(d: DesiredAccount): void {
    const problems: string[] = [];
    if (blank(d.employeeId)) problems.push('employeeId is empty');
    else if (d.employeeId.length > MAX_EMPLOYEE_ID)
      problems.push(`employeeId is longer than ${MAX_EMPLOYEE_ID} characters`);
    if (blank(d.username)) problems.push('username is empty');
    else if (d.username.length > MAX_SAM) problems.push(`username is longer than ${MAX_SAM} characters`);
    else if (SAM_FORBIDDEN.test(d.username) || /^[\s.]|[\s.]$/.test(d.username))
      problems.push('username contains characters AD does not allow');
    if (blank(d.displayName)) problems.push('displayName is empty');
    if (problems.length) throw new TargetRejectedError(`invalid account data: ${problems.join('; ')}`);
  }

  #upn(d: DesiredAccount): string {
    return d.userPrincipalName.includes('@') ? d.userPrincipalName : `${d.userPrincipalName}@${this.config.upnSuffix}`;
  }

  #mail(address: string | undefined): string | undefined {
    if (blank(address)) return undefined;
    const a = address.trim();
    return a.includes('@') || !this.config.mailDomain ? a : `${a}@${this.config.mailDomain}`;
  }

  /** The single-valued attribute values the account should hold (undefined = no value). */
  #desiredSimple(d: DesiredAccount): Record<SimpleAttr, string | undefined> {
    const v = (s: string | undefined) => (blank(s) ? undefined : s.trim());
    return {
      sAMAccountName: d.username.trim(),
      userPrincipalName: this.#upn(d).trim(),
      displayName: d.displayName,
      givenName: v(d.givenName),
      sn: v(d.familyName),
      initials: v(d.initials),
      mail: this.#mail(d.email),
      title: v(d.title),
      department: v(d.department),
      company: v(d.company),
      physicalDeliveryOfficeName: v(d.location),
      employeeID: d.employeeId.trim(),
      ...this.#desiredExtra(d),
    };
  }

  /** The configured extra attributes (attribute templates): only those names, never another. */
  #desiredExtra(d: DesiredAccount): Record<string, string | undefined> {
    const out: Record<string, string | undefined> = {};
    for (const name of this.config.extraAttributes) out[name] = d.extraAttributes?.[name];
    return out;
  }

  /**
   * proxyAddresses: `SMTP:<mail>` as primary, every alias and every address the account had before
   * (including the previous primary) as `smtp:`. Other address types (X500:, SIP:) are kept.
   */
  #desiredProxies(d: DesiredAccount, current: AdAccount | null): string[] {
    const primary = this.#mail(d.email);
    const out: string[] = [];
    const seen = new Set<string>();
    const push = (v: string) => {
      const k = v.toLowerCase();
      if (!seen.has(k)) {
        seen.add(k);
        out.push(v);
      }
    };
    if (primary) push(`SMTP:${primary}`);
    const aliases: string[] = [...(d.emailAliases ?? [])];
    if (current) {
      for (const m of current.attrs.mail ?? []) aliases.push(m);
      for (const p of current.attrs.proxyAddresses ?? []) {
        if (/^smtp:/i.test(p)) aliases.push(p.slice(5));
        else push(p);
      }
    }
    for (const a of aliases) {
      const m = this.#mail(a);
      if (m && (!primary || m.toLowerCase() !== primary.toLowerCase())) push(`smtp:${m}`);
    }
    return out;
  }

  /** Canonical DN of the manager (null when no manager wanted, undefined when it cannot be found). */
  async #resolveManager(locator: string | undefined): Promise<string | null | undefined> {
    if (blank(locator)) return null;
    const base = isGuid(locator) ? guidDN(locator) : locator;
    try {
      const e = await this.#search(base, '(objectClass=user)', 'base', ['distinguishedName']);
      return e[0] ? (first(e[0], 'distinguishedName') ?? e[0].dn) : undefined;
    } catch (err) {
      if (ldapCode(err) === 32 || ldapCode(err) === 34) return undefined;
      throw mapLdapError(err, 'look up manager');
    }
  }

  // ------------------------------------------------------------------ create

  async create(desired: DesiredAccount, options: CreateOptions = {}): Promise<ActionResult> {
    this.#validate(desired);
    if (!options.absent) {
      const existing = await this.accountOf(desired.employeeId);
      if (existing) {
        // A retry after a create that got (partly) through: finish the remaining steps.
        const a = await this.#finishCreate(existing, desired);
        return {
          account: refOf(a),
          audit: [
            this.audit('correlate', 'success', 'correlated to an existing account on employeeID', {
              field: 'employeeID',
            }),
          ],
        };
      }
      const refusal = await this.createRefusal(desired.employeeId);
      if (refusal) throw new TargetRejectedError(refusal);
    }

    const ou = this.#locationOU(desired.location, desired.departmentCode);
    const simple = this.#desiredSimple(desired);
    const enabled = options.enabled === true;
    const attrs: Record<string, string[] | string> = { objectClass: ['top', 'person', 'organizationalPerson', 'user'] };
    for (const [k, v] of Object.entries(simple)) if (v !== undefined) attrs[k] = v;
    const proxies = this.#desiredProxies(desired, null);
    if (proxies.length) attrs.proxyAddresses = proxies;
    const manager = await this.#resolveManager(desired.managerLocator);
    if (manager) attrs.manager = manager;
    // The password and the final flags go in the add itself: AD takes unicodePwd on an add over an
    // encrypted connection, and the config allows no other (LDAPS, or StartTLS on ldap://).
    const pw = generatePassword({
      length: 24,
      avoid: [desired.username, desired.displayName, desired.givenName, desired.familyName],
    });
    const uac = UAC.NORMAL_ACCOUNT | (enabled ? 0 : UAC.ACCOUNTDISABLE);
    const entry = [
      ...Object.entries(attrs).map(([type, v]) => new Attribute({ type, values: Array.isArray(v) ? v : [v] })),
      new Attribute({ type: 'userAccountControl', values: [String(uac)] }),
      new Attribute({ type: 'unicodePwd', values: [unicodePwd(pw)] }),
    ];
    const dn = await this.#addAccount(ou, this.#cnCandidates(desired.displayName, desired.employeeId), entry);
    // Only the reference is read back (objectGUID, and the DN as the directory spells it).
    const { guid, dn: canonical } = await this.#referenceOf(dn);
    const details: Record<string, unknown> = {
      ou,
      attributes: [...Object.keys(attrs).filter((k) => k !== 'objectClass'), 'userAccountControl', 'cn']
        .filter((k, i, all) => all.indexOf(k) === i)
        .sort(),
    };
    if (desired.managerLocator && manager === undefined) details.managerNotFound = true;
    const account = { id: guid, locator: canonical };
    const audit = [this.audit('create', 'success', `created ${enabled ? 'enabled' : 'disabled'} account`, details)];
    if (enabled)
      audit.push(this.audit('enable', 'success', 'enabled account (in the add)', { userAccountControl: { to: uac } }));
    return { account, audit, enabled };
  }

  /** Adds the account under the first free CN; creates a derived location OU when the add says it is missing. */
  async #addAccount(ou: string, candidates: string[], entry: Attribute[]): Promise<string> {
    let ouChecked = this.#knownOUs.has(normalizeDN(ou));
    let lastErr: unknown;
    for (let i = 0; i < candidates.length;) {
      const cn = candidates[i]!;
      const dn = `${rdn('CN', cn)},${ou}`;
      try {
        await this.#op('create account', (c) => c.add(dn, [...entry, new Attribute({ type: 'cn', values: [cn] })]));
        this.#knownOUs.add(normalizeDN(ou));
        return dn;
      } catch (err) {
        lastErr = err;
        if (ldapCode(err) === 32 && !ouChecked) {
          ouChecked = true;
          await this.#ensureOU(ou);
          continue;
        }
        if (ldapCode(err) !== 68) break;
        i += 1;
      }
    }
    if (ldapCode(lastErr) === 68) {
      throw new TargetRejectedError(`could not create account: the name or username is already used in ${ou}`, {
        code: 68,
      });
    }
    throw mapLdapError(lastErr, 'create account');
  }

  async #referenceOf(dn: string): Promise<{ guid: string; dn: string }> {
    const e = await this.#search(dn, '(objectClass=user)', 'base', ['objectGUID', 'distinguishedName']).catch((err) => {
      throw mapLdapError(err, 'read the new account');
    });
    if (!e[0]) throw new Error('create account: the new account could not be read back');
    const a = toAccount(e[0]);
    return { guid: a.guid, dn: a.dn };
  }

  /** Steps after the add, each idempotent: set a password while PASSWD_NOTREQD is still set, then flags = disabled. */
  async #finishCreate(a: AdAccount, d: DesiredAccount): Promise<AdAccount> {
    if (a.uac & UAC.PASSWD_NOTREQD) {
      const pw = generatePassword({ length: 24, avoid: [d.username, d.displayName, d.givenName, d.familyName] });
      await this.#run('set initial password', (c) =>
        c.modify(
          guidDN(a.guid),
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(pw)] }),
          }),
        ),
      );
      const uac = (a.uac & ~UAC.PASSWD_NOTREQD) | UAC.ACCOUNTDISABLE | UAC.NORMAL_ACCOUNT;
      await this.#setUac(a.guid, uac);
      return { ...a, uac };
    }
    return a;
  }

  async #setUac(guid: string, uac: number): Promise<void> {
    await this.#run('set userAccountControl', (c) =>
      c.modify(
        guidDN(guid),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: [String(uac)] }),
        }),
      ),
    );
  }

  // ------------------------------------------------------------------ update

  async update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult> {
    this.#validate(desired);
    const a = await this.#readOrFail(ref, 'update');
    this.#assertInScope(a, 'update');
    const changes: Change[] = [];
    const changed: string[] = [];
    const simple = this.#desiredSimple(desired);
    for (const [attr, want] of Object.entries(simple) as [SimpleAttr, string | undefined][]) {
      const have = a.attrs[attr] ?? [];
      const same = want === undefined ? have.length === 0 : have.length === 1 && have[0] === want;
      if (same) continue;
      changed.push(attr);
      changes.push(
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: attr, values: want === undefined ? [] : [want] }),
        }),
      );
    }
    const proxies = this.#desiredProxies(desired, a);
    const haveProxies = a.attrs.proxyAddresses ?? [];
    if (proxies.length !== haveProxies.length || proxies.some((p) => !haveProxies.includes(p))) {
      changed.push('proxyAddresses');
      changes.push(
        new Change({ operation: 'replace', modification: new Attribute({ type: 'proxyAddresses', values: proxies }) }),
      );
    }
    const manager = await this.#resolveManager(desired.managerLocator);
    const haveManager = a.attrs.manager?.[0];
    let managerNotFound = false;
    if (manager === undefined) managerNotFound = true;
    else if (manager === null ? haveManager !== undefined : !haveManager || !sameDN(haveManager, manager)) {
      changed.push('manager');
      changes.push(
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'manager', values: manager ? [manager] : [] }),
        }),
      );
    }
    const audit: AuditEntry[] = [];
    if (changes.length) {
      await this.#run('update account', (c) => c.modify(guidDN(a.guid), changes));
      const details: Record<string, unknown> = { attributes: changed };
      if (managerNotFound) details.managerNotFound = true;
      audit.push(this.audit('update', 'success', `updated ${changed.join(', ')}`, details));
    }

    // Rename (CN follows the display name) and move between location OUs. An account parked in
    // the disabled OU stays there; enable moves it back.
    const candidates = this.#cnCandidates(desired.displayName, desired.employeeId);
    const currentParent = splitDN(a.dn).parent;
    const targetParent = this.#inDisabledOU(a)
      ? this.config.disabledOU
      : this.#locationOU(desired.location, desired.departmentCode);
    const needRename = !candidates.includes(a.cn);
    const needMove = !sameDN(currentParent, targetParent);
    let dn = a.dn;
    if (needRename || needMove) {
      if (needMove) await this.#ensureOU(targetParent);
      dn = await this.#moveOrRename(a, needRename ? candidates : [a.cn], needMove ? targetParent : currentParent);
      if (needRename)
        audit.push(
          this.audit('rename', 'success', 'renamed account (CN follows the display name)', { attributes: ['cn'] }),
        );
      if (needMove)
        audit.push(
          this.audit('move', 'success', 'moved account to another OU', { from: currentParent, to: targetParent }),
        );
    }
    if (!audit.length) {
      audit.push(
        this.audit('update', 'unchanged', 'no changes', managerNotFound ? { managerNotFound: true } : undefined),
      );
    }
    const after = dn === a.dn ? a : ((await this.#read({ id: a.guid, locator: dn })) ?? { ...a, dn });
    return { account: refOf(after), audit };
  }

  // ------------------------------------------------------------------ enable / disable / delete

  async enable(ref: AccountReference, known?: KnownAccount): Promise<ActionResult> {
    if (known?.createdNow) {
      // Created by this connector in this step: in its location OU with exactly these flags.
      if (known.enabled)
        return { account: ref, audit: [this.audit('enable', 'unchanged', 'already enabled')], enabled: true };
      const from = UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE;
      await this.#setUac(ref.id, UAC.NORMAL_ACCOUNT);
      return {
        account: ref,
        audit: [
          this.audit('enable', 'success', 'enabled account', { userAccountControl: { from, to: UAC.NORMAL_ACCOUNT } }),
        ],
        enabled: true,
      };
    }
    const a = await this.#readOrFail(ref, 'enable');
    this.#assertInScope(a, 'enable');
    const audit: AuditEntry[] = [];
    let dn = a.dn;
    if (this.#inDisabledOU(a)) {
      const target = this.#locationOU(a.attrs.physicalDeliveryOfficeName?.[0]);
      await this.#ensureOU(target);
      const employeeId = a.attrs.employeeID?.[0] ?? '';
      const displayName = a.attrs.displayName?.[0] ?? a.cn;
      const candidates = [a.cn, ...this.#cnCandidates(displayName, employeeId).filter((c) => c !== a.cn)];
      dn = await this.#moveOrRename(a, candidates, target);
      audit.push(
        this.audit('move', 'success', 'moved account out of the disabled OU', {
          from: this.config.disabledOU,
          to: target,
        }),
      );
    }
    if (a.uac & UAC.ACCOUNTDISABLE) {
      if (a.uac & UAC.PASSWD_NOTREQD) {
        // Half-created account (create did not finish): no password yet, refuse to enable.
        throw new TargetRejectedError('enable: the account has no initial password yet (create did not complete)');
      }
      const uac = a.uac & ~UAC.ACCOUNTDISABLE;
      await this.#setUac(a.guid, uac);
      audit.push(this.audit('enable', 'success', 'enabled account', { userAccountControl: { from: a.uac, to: uac } }));
    } else {
      audit.push(this.audit('enable', 'unchanged', 'already enabled'));
    }
    return { account: { id: a.guid, locator: dn }, audit };
  }

  /**
   * The day-one password: unicodePwd replaced, then pwdLastSet 0 (must change at next logon) or -1
   * (counts from now). Refused on a half-created account, like enable.
   */
  async setInitialPassword(ref: AccountReference, password: string, opts: { mustChange: boolean }): Promise<void> {
    const a = await this.#readOrFail(ref, 'set day-one password');
    this.#assertInScope(a, 'set day-one password');
    if (a.uac & UAC.PASSWD_NOTREQD)
      throw new TargetRejectedError(
        'set day-one password: the account has no initial password yet (create did not complete)',
      );
    const pwd = new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] });
    await this.#run('set day-one password', (c) =>
      c.modify(guidDN(a.guid), new Change({ operation: 'replace', modification: pwd })),
    );
    const lastSet = new Attribute({ type: 'pwdLastSet', values: [opts.mustChange ? '0' : '-1'] });
    await this.#run('set must-change-password', (c) =>
      c.modify(guidDN(a.guid), new Change({ operation: 'replace', modification: lastSet })),
    );
  }

  async disable(ref: AccountReference): Promise<ActionResult> {
    const a = await this.#read(ref);
    if (!a) return this.gone('disable');
    this.#assertInScope(a, 'disable');
    const audit: AuditEntry[] = [];
    if (!(a.uac & UAC.ACCOUNTDISABLE)) {
      await this.#setUac(a.guid, a.uac | UAC.ACCOUNTDISABLE);
      audit.push(this.audit('disable', 'success', 'disabled account'));
    }
    let dn = a.dn;
    if (!this.#inDisabledOU(a)) {
      dn = await this.#moveOrRename(
        a,
        [
          a.cn,
          cnFrom(
            `${Array.from(a.cn)
              .slice(0, MAX_CN - 40)
              .join('')
              .trimEnd()} (${a.guid})`,
          ),
        ],
        this.config.disabledOU,
      );
      audit.push(this.audit('move', 'success', 'moved account to the disabled OU'));
    }
    if (!audit.length) audit.push(this.audit('disable', 'unchanged', 'already disabled'));
    return { account: { id: a.guid, locator: dn }, audit };
  }

  async delete(ref: AccountReference): Promise<ActionResult> {
    const a = await this.#read(ref);
    if (!a) return this.gone('delete');
    this.#assertInScope(a, 'delete');
    try {
      await this.#op('delete account', (c) => c.del(guidDN(a.guid)));
    } catch (err) {
      if (ldapCode(err) === 32) return this.gone('delete');
      throw mapLdapError(err, 'delete account');
    }
    return this.result(null, 'delete', 'success', 'deleted account');
  }

  // ------------------------------------------------------------------ groups

  #groupDN(name: string): string {
    const n = name.trim();
    // A full DN is accepted as is; a plain name is a CN in groupsOU.
    if (/^cn=/i.test(n) && splitDN(n).parent) return n;
    return `${rdn('CN', n)},${this.config.groupsOU}`;
  }

  /** Find the group; create it when missing and allowed. Returns null when missing. */
  async #group(p: PermissionRef, create: boolean): Promise<{ dn: string; created: boolean } | null> {
    const dn = this.#groupDN(p.name);
    try {
      const e = await this.#search(dn, '(objectClass=group)', 'base', ['distinguishedName']);
      if (e[0]) return { dn: first(e[0], 'distinguishedName') ?? dn, created: false };
      throw new TargetRejectedError(`${p.name} exists but is not a group`);
    } catch (err) {
      if (ldapCode(err) !== 32) throw mapLdapError(err, 'look up group');
    }
    if (!create) return null;
    const cn = rdnValue(splitDN(dn).rdn);
    const sam = Array.from(cn.replace(/["/\\[\]:;|=,+*?<>@]/g, '_'))
      .slice(0, 64)
      .join('');
    try {
      await this.#op('create group', (c) =>
        c.add(dn, {
          objectClass: ['top', 'group'],
          cn,
          sAMAccountName: sam,
          groupType: GROUP_TYPE_GLOBAL_SECURITY,
          description: 'Group managed by Tenure.',
        }),
      );
    } catch (err) {
      if (ldapCode(err) === 68) return { dn, created: false }; // created concurrently
      throw mapLdapError(err, 'create group');
    }
    return { dn, created: true };
  }

  async #isMember(groupDN: string, userDN: string): Promise<boolean> {
    const e = await this.#search(groupDN, `(member=${escapeFilterValue(userDN)})`, 'base', ['cn']).catch((err) => {
      throw mapLdapError(err, 'check membership');
    });
    return e.length > 0;
  }

  /** One membership change straight on the group's DN: done, nothing to do, or the group is not there. */
  async #changeMember(
    op: 'add' | 'delete',
    groupDN: string,
    userDN: string,
  ): Promise<'changed' | 'unchanged' | 'noGroup'> {
    const context = op === 'add' ? 'grant permission' : 'revoke permission';
    try {
      await this.#op(context, (c) =>
        c.modify(
          groupDN,
          new Change({ operation: op, modification: new Attribute({ type: 'member', values: [userDN] }) }),
        ),
      );
      return 'changed';
    } catch (err) {
      const code = ldapCode(err);
      if (code === 32) return 'noGroup';
      if (op === 'add' && (code === 68 || code === 20) && (await this.#isMember(groupDN, userDN))) return 'unchanged';
      if (op === 'delete' && (code === 53 || code === 16) && !(await this.#isMember(groupDN, userDN)))
        return 'unchanged';
      throw mapLdapError(err, context);
    }
  }

  /**
   * Grants by the group's known DN (the cache, else the DN its name gives): no look-up first. Only
   * when the directory says the group is not there is it looked up (and created when allowed).
   */
  async grantPermission(ref: AccountReference, permission: PermissionRef, known?: KnownAccount): Promise<ActionResult> {
    let userDN = ref.locator;
    if (!known?.createdNow) {
      const a = await this.#readOrFail(ref, 'grant permission');
      this.#assertInScope(a, 'grant permission');
      userDN = a.dn;
    }
    const audit: AuditEntry[] = [];
    let groupDN = this.#groupDNs.get(permission.name) ?? this.#groupDN(permission.name);
    let done = await this.#changeMember('add', groupDN, userDN);
    if (done === 'noGroup') {
      this.#groupDNs.delete(permission.name);
      const g = await this.#group(permission, permission.createIfMissing === true);
      if (!g) throw new TargetRejectedError(`grant permission: group ${permission.name} does not exist`, { code: 32 });
      if (g.created)
        audit.push(
          this.audit('grantPermission', 'success', `created group ${permission.name}`, {
            group: permission.name,
            created: true,
          }),
        );
      groupDN = g.dn;
      done = await this.#changeMember('add', groupDN, userDN);
      if (done === 'noGroup') throw accountGone('grant permission', ref.id, 32);
    }
    this.#groupDNs.set(permission.name, groupDN);
    audit.push(
      done === 'changed'
        ? this.audit('grantPermission', 'success', `granted ${permission.name}`, { group: permission.name })
        : this.audit('grantPermission', 'unchanged', `already a member of ${permission.name}`, {
            group: permission.name,
          }),
    );
    return { account: { id: ref.id, locator: userDN }, audit };
  }

  async revokePermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    const a = await this.#read(ref);
    if (!a) return this.gone('revokePermission', { group: permission.name });
    this.#assertInScope(a, 'revoke permission');
    const unchanged = (message: string) => ({
      account: refOf(a),
      audit: [this.audit('revokePermission', 'unchanged', message, { group: permission.name })],
    });
    const cached = this.#groupDNs.get(permission.name) ?? this.#groupDN(permission.name);
    let done = await this.#changeMember('delete', cached, a.dn);
    if (done === 'noGroup') {
      this.#groupDNs.delete(permission.name);
      const g = await this.#group(permission, false);
      if (!g) return unchanged(`group ${permission.name} does not exist`);
      done = await this.#changeMember('delete', g.dn, a.dn);
      if (done === 'noGroup') return unchanged(`not a member of ${permission.name}`);
      this.#groupDNs.set(permission.name, g.dn);
    }
    if (done === 'unchanged') return unchanged(`not a member of ${permission.name}`);
    return this.result(refOf(a), 'revokePermission', 'success', `revoked ${permission.name}`, {
      group: permission.name,
    });
  }

  async listPermissions(ref: AccountReference): Promise<string[]> {
    const a = await this.#read(ref);
    if (!a) return [];
    const entries = await this.#search(
      this.config.groupsOU,
      `(&(objectClass=group)(member=${escapeFilterValue(a.dn)}))`,
      'sub',
      ['cn'],
    ).catch((err) => {
      throw mapLdapError(err, 'list permissions');
    });
    return entries.map((e) => first(e, 'cn') ?? rdnValue(splitDN(e.dn).rdn)).sort();
  }

  // ------------------------------------------------------------------ uniqueness

  async isTaken(
    candidate: { username: string; userPrincipalName: string; email: string },
    employeeId: string,
  ): Promise<boolean> {
    const clauses: string[] = [];
    const add = (attr: string, v: string | undefined) => {
      if (!blank(v)) clauses.push(`(${attr}=${escapeFilterValue(v.trim())})`);
    };
    add('sAMAccountName', candidate.username);
    const upn = blank(candidate.userPrincipalName)
      ? undefined
      : candidate.userPrincipalName.includes('@')
        ? candidate.userPrincipalName
        : `${candidate.userPrincipalName}@${this.config.upnSuffix}`;
    const mail = this.#mail(candidate.email);
    for (const v of [upn, mail]) {
      if (blank(v)) continue;
      add('userPrincipalName', v);
      add('mail', v);
      add('proxyAddresses', `smtp:${v}`); // AD matches case-insensitively: also SMTP:
    }
    if (!clauses.length) return false;
    const filter = `(&(objectClass=user)(|${clauses.join('')})(!(employeeID=${escapeFilterValue(employeeId)})))`;
    const e = await this.#search(this.config.baseDN, filter, 'sub', ['sAMAccountName']).catch((err) => {
      throw mapLdapError(err, 'uniqueness check');
    });
    return e.length > 0;
  }
}

/** Convenience factory. */
export function createAdConnector(config: AdConfigInput | AdConfig): AdTargetConnector {
  return new AdTargetConnector(config);
}

export { escapeDNValue };
