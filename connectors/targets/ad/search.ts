/**
 * Reading the directory: correlation on employeeID within the search OUs, the scope check that
 * keeps Tenure's hands off accounts outside the search and managed OUs (docs/ownership.md),
 * reading an account by its reference, the manager's DN and the uniqueness check.
 */
import type { AccountInspection, AccountReference } from '../../types.js';
import { escapeFilterValue, normalizeDN, splitDN } from '../../ldap-escape.js';
import { TargetRejectedError, accountGone } from '../errors.js';
import type { AdConnection } from './connection.js';
import { managedOUsOf, searchOUsOf } from './config.js';
import type { AdSettings } from './context.js';
import { mailAddress } from './desired.js';
import { UAC, accountAttributes, blank, first, toAccount, type AdAccount } from './entry.js';
import { ldapCode, mapLdapError } from './errors.js';
import { guidDN, isGuid } from './guid.js';

export class AdSearch {
  readonly #config: AdSettings;
  readonly #ldap: AdConnection;
  #sharedBase: string | undefined | null = null;

  constructor(config: AdSettings, ldap: AdConnection) {
    this.#config = config;
    this.#ldap = ldap;
  }

  #readAttributes(): string[] {
    return accountAttributes(this.#config.extraAttributes);
  }

  /** Accounts with this employeeID inside the search OUs (or, with `everywhere`, the whole base DN). */
  async findByEmployeeId(employeeId: string, everywhere = false): Promise<AdAccount[]> {
    if (blank(employeeId)) return [];
    const filter = `(&(objectClass=user)(objectCategory=person)(employeeID=${escapeFilterValue(employeeId.trim())}))`;
    const shared = everywhere ? undefined : this.#sharedSearchBase();
    const bases = everywhere ? [this.#config.baseDN] : shared ? [shared] : searchOUsOf(this.#config);
    const found = new Map<string, AdAccount>();
    for (const base of bases) {
      try {
        for (const e of await this.#ldap.search(base, filter, 'sub', this.#readAttributes())) {
          const a = toAccount(e, this.#config.extraAttributes);
          if (!shared || this.#within(a.dn, searchOUsOf(this.#config))) found.set(a.guid, a);
        }
      } catch (err) {
        if (ldapCode(err) === 32) continue; // a search OU that does not exist (yet) holds nobody
        throw mapLdapError(err, 'correlate on employeeID');
      }
    }
    return [...found.values()];
  }

  /**
   * Why a create must not go ahead (AD_OUT_OF_SCOPE_MATCH=report): the only account with this
   * employeeID lies outside the search OUs. null when nothing stands in the way.
   */
  async createRefusal(employeeId: string): Promise<string | null> {
    if (this.#config.outOfScopeMatch !== 'report') return null;
    if ((await this.findByEmployeeId(employeeId)).length) return null;
    if (!(await this.findByEmployeeId(employeeId, true)).length) return null;
    return "create account: the only account with this employeeID is outside the search OUs; it is not Tenure's to use (AD_OUT_OF_SCOPE_MATCH=report)";
  }

  /** Inside a search OU or a managed OU (employees, disabled, location OUs): Tenure may change it. */
  inScope(dn: string): boolean {
    return this.#within(dn, [...searchOUsOf(this.#config), ...managedOUsOf(this.#config)]);
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
    const ous = searchOUsOf(this.#config);
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
      const base = normalizeDN(this.#config.baseDN);
      if (shared && (normalizeDN(shared) === base || !this.#within(shared, [this.#config.baseDN]))) shared = undefined;
    }
    this.#sharedBase = shared;
    return shared;
  }

  assertInScope(a: AdAccount, action: string): void {
    if (!this.inScope(a.dn))
      throw new TargetRejectedError(
        `${action}: account ${a.guid} is outside the search and managed OUs; Tenure does not change it`,
      );
  }

  async inspect(ref: AccountReference): Promise<AccountInspection | null> {
    const a = await this.read(ref);
    if (!a) return null;
    return {
      enabled: !(a.uac & UAC.ACCOUNTDISABLE),
      correlationValue: a.attrs.employeeID?.[0],
      inScope: this.inScope(a.dn),
      names: {
        username: a.attrs.sAMAccountName?.[0],
        userPrincipalName: a.attrs.userPrincipalName?.[0],
        email: a.attrs.mail?.[0],
      },
    };
  }

  /** Re-resolve an account by objectGUID (fallback: the DN locator). null when gone. */
  async read(ref: AccountReference): Promise<AdAccount | null> {
    const base = isGuid(ref.id) ? guidDN(ref.id) : ref.locator;
    if (blank(base)) throw new TargetRejectedError('account reference has neither a GUID nor a DN');
    try {
      const entries = await this.#ldap.search(base, '(objectClass=user)', 'base', this.#readAttributes());
      return entries[0] ? toAccount(entries[0], this.#config.extraAttributes) : null;
    } catch (err) {
      if (ldapCode(err) === 32) return null;
      throw mapLdapError(err, 'read account');
    }
  }

  async readOrFail(ref: AccountReference, action: string): Promise<AdAccount> {
    const a = await this.read(ref);
    if (!a) throw accountGone(action, ref.id, 32);
    return a;
  }

  /** The new account's objectGUID and its DN as the directory spells it (nothing else is read back). */
  async referenceOf(dn: string): Promise<{ guid: string; dn: string }> {
    const e = await this.#ldap
      .search(dn, '(objectClass=user)', 'base', ['objectGUID', 'distinguishedName'])
      .catch((err) => {
        throw mapLdapError(err, 'read the new account');
      });
    if (!e[0]) throw new Error('create account: the new account could not be read back');
    const a = toAccount(e[0]);
    return { guid: a.guid, dn: a.dn };
  }

  /** Canonical DN of the manager (null when no manager wanted, undefined when it cannot be found). */
  async resolveManager(locator: string | undefined): Promise<string | null | undefined> {
    if (blank(locator)) return null;
    const base = isGuid(locator) ? guidDN(locator) : locator;
    try {
      const e = await this.#ldap.search(base, '(objectClass=user)', 'base', ['distinguishedName']);
      return e[0] ? (first(e[0], 'distinguishedName') ?? e[0].dn) : undefined;
    } catch (err) {
      if (ldapCode(err) === 32 || ldapCode(err) === 34) return undefined;
      throw mapLdapError(err, 'look up manager');
    }
  }

  /** Does another person's account (another employeeID) already use one of these names? */
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
        : `${candidate.userPrincipalName}@${this.#config.upnSuffix}`;
    const mail = mailAddress(this.#config, candidate.email);
    for (const v of [upn, mail]) {
      if (blank(v)) continue;
      add('userPrincipalName', v);
      add('mail', v);
      add('proxyAddresses', `smtp:${v}`); // AD matches case-insensitively: also SMTP:
    }
    if (!clauses.length) return false;
    const filter = `(&(objectClass=user)(|${clauses.join('')})(!(employeeID=${escapeFilterValue(employeeId)})))`;
    const e = await this.#ldap.search(this.#config.baseDN, filter, 'sub', ['sAMAccountName']).catch((err) => {
      throw mapLdapError(err, 'uniqueness check');
    });
    return e.length > 0;
  }
}
