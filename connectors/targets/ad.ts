/**
 * Active Directory target connector over LDAPS with ldapts (docs/targets/ad.md): the facade that
 * implements the TargetConnector contract and hands each operation to one module in ./ad/.
 *
 * - ad/connection.ts: the one bound ldapts client, counted, reconnected after a drop.
 * - ad/search.ts: correlation on employeeID within the search OUs, the scope check, reads.
 * - ad/accounts.ts: create, update, rename/move, enable/disable, delete, day-one password.
 * - ad/groups.ts: groups as permissions (grant, revoke, list) with a cache of group DNs;
 *   ad/member-adds.ts: grants to one group at the same time share one modify.
 * - ad/ous.ts: which OU an account belongs in; derived location OUs created when missing.
 * - ad/desired.ts: what an account should hold, computed without the directory.
 * - ad/errors.ts: LDAP result codes mapped to the shared error vocabulary (../errors.ts).
 *
 * Scope (docs/ownership.md): correlation looks only inside the search OUs (default the managed
 * OUs); an account outside the search and managed OUs is never changed, disabled or deleted.
 */
import type {
  AccountInspection,
  AccountReference,
  ActionResult,
  CreateOptions,
  DesiredAccount,
  KnownAccount,
  PermissionRef,
} from '../types.js';
import { SearchingConnectorBase } from './kit.js';
import { escapeDNValue } from '../ldap-escape.js';
import { AdConfigSchema, adConfigFromEnv, type AdConfig, type AdConfigInput } from './ad/config.js';
import { TargetRejectedError, TargetUnavailableError } from './errors.js';
import { AdAccounts } from './ad/accounts.js';
import { AdConnection, type LdapOperationCounts } from './ad/connection.js';
import type { AdAudit, AdSettings } from './ad/context.js';
import { refOf, type AdAccount } from './ad/entry.js';
import { AdGroups } from './ad/groups.js';
import { AdOUs } from './ad/ous.js';
import { AdSearch } from './ad/search.js';

export { AdConfigSchema, adConfigFromEnv, TargetRejectedError, TargetUnavailableError };
export type { AdConfig, AdConfigInput, LdapOperationCounts };
export { UAC } from './ad/entry.js';

export class AdTargetConnector extends SearchingConnectorBase<AdAccount> {
  protected readonly correlation = { attribute: 'employeeID', where: 'the directory' };
  readonly id: string;
  readonly config: AdSettings;
  readonly #ldap: AdConnection;
  readonly #search: AdSearch;
  readonly #accounts: AdAccounts;
  readonly #groups: AdGroups;

  constructor(config: AdConfigInput | AdConfig) {
    super();
    const parsed = AdConfigSchema.parse(config);
    const { bindPassword, ...rest } = parsed;
    this.config = rest;
    this.id = parsed.id;
    this.#ldap = new AdConnection(rest, bindPassword);
    this.#search = new AdSearch(rest, this.#ldap);
    const record: AdAudit = {
      audit: (...args) => this.audit(...args),
      result: (...args) => this.result(...args),
      gone: (...args) => this.gone(...args),
    };
    this.#accounts = new AdAccounts({
      config: rest,
      ldap: this.#ldap,
      search: this.#search,
      ous: new AdOUs(rest, this.#ldap),
      record,
      accountOf: (employeeId) => this.accountOf(employeeId),
    });
    this.#groups = new AdGroups(rest, this.#ldap, this.#search, record);
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): AdTargetConnector {
    return new AdTargetConnector(adConfigFromEnv(env));
  }

  /** Never serialise the password (it is not a property, but be explicit for loggers). */
  toJSON(): Record<string, unknown> {
    return { id: this.id, url: this.config.url, baseDN: this.config.baseDN };
  }

  /** The LDAP operations this connector has sent so far (a copy). */
  ldapOperations(): LdapOperationCounts & { writes: number } {
    return this.#ldap.operations();
  }

  /** Member-add modifies sent for grants and the member values they carried (several per modify when grants coincide). */
  memberAddStats(): { modifies: number; values: number } {
    return this.#groups.memberAddStats();
  }

  async close(): Promise<void> {
    await this.#ldap.close();
  }

  // ------------------------------------------------------------------ reading

  protected reference(a: AdAccount): AccountReference {
    return refOf(a);
  }

  /** Accounts with this employeeID inside the search OUs (or, with `everywhere`, the whole base DN). */
  protected findByEmployeeId(employeeId: string, everywhere = false): Promise<AdAccount[]> {
    return this.#search.findByEmployeeId(employeeId, everywhere);
  }

  inspect(ref: AccountReference): Promise<AccountInspection | null> {
    return this.#search.inspect(ref);
  }

  createRefusal(employeeId: string): Promise<string | null> {
    return this.#search.createRefusal(employeeId);
  }

  isTaken(
    candidate: { username: string; userPrincipalName: string; email: string },
    employeeId: string,
  ): Promise<boolean> {
    return this.#search.isTaken(candidate, employeeId);
  }

  // ------------------------------------------------------------------ accounts

  create(desired: DesiredAccount, options: CreateOptions = {}): Promise<ActionResult> {
    return this.#accounts.create(desired, options);
  }

  update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult> {
    return this.#accounts.update(ref, desired);
  }

  enable(ref: AccountReference, known?: KnownAccount): Promise<ActionResult> {
    return this.#accounts.enable(ref, known);
  }

  setInitialPassword(ref: AccountReference, password: string, opts: { mustChange: boolean }): Promise<void> {
    return this.#accounts.setInitialPassword(ref, password, opts);
  }

  disable(ref: AccountReference): Promise<ActionResult> {
    return this.#accounts.disable(ref);
  }

  delete(ref: AccountReference): Promise<ActionResult> {
    return this.#accounts.delete(ref);
  }

  // ------------------------------------------------------------------ groups

  grantPermission(ref: AccountReference, permission: PermissionRef, known?: KnownAccount): Promise<ActionResult> {
    return this.#groups.grant(ref, permission, known);
  }

  revokePermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    return this.#groups.revoke(ref, permission);
  }

  listPermissions(ref: AccountReference): Promise<string[]> {
    return this.#groups.list(ref);
  }
}

/** Convenience factory. */
export function createAdConnector(config: AdConfigInput | AdConfig): AdTargetConnector {
  return new AdTargetConnector(config);
}

export { escapeDNValue };
