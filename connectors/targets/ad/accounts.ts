/**
 * Writes to user accounts: create (one add with password and final flags), update (only what
 * differs, then rename and move), enable and disable (one bit of userAccountControl, and the move
 * into or out of the disabled OU), delete and the day-one password. Every write goes to the
 * account's `<GUID=...>`, so a DN that changed meanwhile does not matter.
 */
import { Attribute, Change } from 'ldapts';
import type {
  AccountReference,
  ActionResult,
  AuditEntry,
  CreateOptions,
  DesiredAccount,
  KnownAccount,
} from '../../types.js';
import { rdn, sameDN, splitDN } from '../../ldap-escape.js';
import { TargetRejectedError } from '../errors.js';
import type { AdConnection } from './connection.js';
import type { AdAudit, AdSettings } from './context.js';
import {
  cnCandidates,
  desiredProxies,
  desiredSimple,
  disabledCnCandidates,
  validateDesired,
  type SimpleAttr,
} from './desired.js';
import { UAC, refOf, type AdAccount } from './entry.js';
import { ldapCode, mapLdapError } from './errors.js';
import { guidDN } from './guid.js';
import type { AdOUs } from './ous.js';
import { generatePassword, unicodePwd } from './password.js';
import type { AdSearch } from './search.js';

export interface AdAccountsParts {
  config: AdSettings;
  ldap: AdConnection;
  search: AdSearch;
  ous: AdOUs;
  record: AdAudit;
  /** The one account in scope with this employeeID (more than one is rejected), or null. */
  accountOf(employeeId: string): Promise<AdAccount | null>;
}

function newPassword(d: DesiredAccount): string {
  return generatePassword({ length: 24, avoid: [d.username, d.displayName, d.givenName, d.familyName] });
}

export class AdAccounts {
  readonly #config: AdSettings;
  readonly #ldap: AdConnection;
  readonly #search: AdSearch;
  readonly #ous: AdOUs;
  readonly #record: AdAudit;
  readonly #accountOf: (employeeId: string) => Promise<AdAccount | null>;

  constructor(parts: AdAccountsParts) {
    this.#config = parts.config;
    this.#ldap = parts.ldap;
    this.#search = parts.search;
    this.#ous = parts.ous;
    this.#record = parts.record;
    this.#accountOf = parts.accountOf;
  }

  // ------------------------------------------------------------------ create

  async create(desired: DesiredAccount, options: CreateOptions = {}): Promise<ActionResult> {
    validateDesired(desired);
    if (!options.absent) {
      const existing = await this.#accountOf(desired.employeeId);
      if (existing) {
        // A retry after a create that got (partly) through: finish the remaining steps.
        const a = await this.#finishCreate(existing, desired);
        return {
          account: refOf(a),
          audit: [
            this.#record.audit('correlate', 'success', 'correlated to an existing account on employeeID', {
              field: 'employeeID',
            }),
          ],
        };
      }
      const refusal = await this.#search.createRefusal(desired.employeeId);
      if (refusal) throw new TargetRejectedError(refusal);
    }

    const ou = this.#ous.locationOU(desired.location, desired.departmentCode);
    const simple = desiredSimple(this.#config, desired);
    const enabled = options.enabled === true;
    const attrs: Record<string, string[] | string> = { objectClass: ['top', 'person', 'organizationalPerson', 'user'] };
    for (const [k, v] of Object.entries(simple)) if (v !== undefined) attrs[k] = v;
    const proxies = desiredProxies(this.#config, desired, null);
    if (proxies.length) attrs.proxyAddresses = proxies;
    const manager = await this.#search.resolveManager(desired.managerLocator);
    if (manager) attrs.manager = manager;
    // The password and the final flags go in the add itself: AD takes unicodePwd on an add over an
    // encrypted connection, and the config allows no other (LDAPS, or StartTLS on ldap://).
    const pw = newPassword(desired);
    const uac = UAC.NORMAL_ACCOUNT | (enabled ? 0 : UAC.ACCOUNTDISABLE);
    const entry = [
      ...Object.entries(attrs).map(([type, v]) => new Attribute({ type, values: Array.isArray(v) ? v : [v] })),
      new Attribute({ type: 'userAccountControl', values: [String(uac)] }),
      new Attribute({ type: 'unicodePwd', values: [unicodePwd(pw)] }),
    ];
    const dn = await this.#addAccount(ou, cnCandidates(desired.displayName, desired.employeeId), entry);
    // Only the reference is read back (objectGUID, and the DN as the directory spells it).
    const { guid, dn: canonical } = await this.#search.referenceOf(dn);
    const details: Record<string, unknown> = {
      ou,
      attributes: [...Object.keys(attrs).filter((k) => k !== 'objectClass'), 'userAccountControl', 'cn']
        .filter((k, i, all) => all.indexOf(k) === i)
        .sort(),
    };
    if (desired.managerLocator && manager === undefined) details.managerNotFound = true;
    const account = { id: guid, locator: canonical };
    const audit = [
      this.#record.audit('create', 'success', `created ${enabled ? 'enabled' : 'disabled'} account`, details),
    ];
    if (enabled)
      audit.push(
        this.#record.audit('enable', 'success', 'enabled account (in the add)', { userAccountControl: { to: uac } }),
      );
    return { account, audit, enabled };
  }

  /** Adds the account under the first free CN; creates a derived location OU when the add says it is missing. */
  async #addAccount(ou: string, candidates: string[], entry: Attribute[]): Promise<string> {
    let ouChecked = this.#ous.isKnown(ou);
    let lastErr: unknown;
    for (let i = 0; i < candidates.length;) {
      const cn = candidates[i]!;
      const dn = `${rdn('CN', cn)},${ou}`;
      try {
        await this.#ldap.op('create account', (c) =>
          c.add(dn, [...entry, new Attribute({ type: 'cn', values: [cn] })]),
        );
        this.#ous.remember(ou);
        return dn;
      } catch (err) {
        lastErr = err;
        if (ldapCode(err) === 32 && !ouChecked) {
          ouChecked = true;
          await this.#ous.ensure(ou);
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

  /** Steps after the add, each idempotent: set a password while PASSWD_NOTREQD is still set, then flags = disabled. */
  async #finishCreate(a: AdAccount, d: DesiredAccount): Promise<AdAccount> {
    if (a.uac & UAC.PASSWD_NOTREQD) {
      await this.#replace('set initial password', a.guid, 'unicodePwd', unicodePwd(newPassword(d)));
      const uac = (a.uac & ~UAC.PASSWD_NOTREQD) | UAC.ACCOUNTDISABLE | UAC.NORMAL_ACCOUNT;
      await this.#setUac(a.guid, uac);
      return { ...a, uac };
    }
    return a;
  }

  /** One attribute of the account replaced by one value. */
  async #replace(context: string, guid: string, type: string, value: string | Buffer): Promise<void> {
    const values = typeof value === 'string' ? [value] : [value];
    await this.#ldap.run(context, (c) =>
      c.modify(guidDN(guid), new Change({ operation: 'replace', modification: new Attribute({ type, values }) })),
    );
  }

  async #setUac(guid: string, uac: number): Promise<void> {
    await this.#replace('set userAccountControl', guid, 'userAccountControl', String(uac));
  }

  /** modifyDN to `CN=<candidate>,<parent>`, trying the next candidate on entryAlreadyExists. */
  async #moveOrRename(a: AdAccount, candidates: string[], parent: string): Promise<string> {
    let lastErr: unknown;
    for (const cn of candidates) {
      const newDN = `${rdn('CN', cn)},${parent}`;
      try {
        await this.#ldap.op('rename/move account', (c) => c.modifyDN(guidDN(a.guid), newDN));
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

  // ------------------------------------------------------------------ update

  async update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult> {
    validateDesired(desired);
    const a = await this.#search.readOrFail(ref, 'update');
    this.#search.assertInScope(a, 'update');
    const changes: Change[] = [];
    const changed: string[] = [];
    const simple = desiredSimple(this.#config, desired);
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
    const proxies = desiredProxies(this.#config, desired, a);
    const haveProxies = a.attrs.proxyAddresses ?? [];
    if (proxies.length !== haveProxies.length || proxies.some((p) => !haveProxies.includes(p))) {
      changed.push('proxyAddresses');
      changes.push(
        new Change({ operation: 'replace', modification: new Attribute({ type: 'proxyAddresses', values: proxies }) }),
      );
    }
    const manager = await this.#search.resolveManager(desired.managerLocator);
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
      await this.#ldap.run('update account', (c) => c.modify(guidDN(a.guid), changes));
      const details: Record<string, unknown> = { attributes: changed };
      if (managerNotFound) details.managerNotFound = true;
      audit.push(this.#record.audit('update', 'success', `updated ${changed.join(', ')}`, details));
    }

    // Rename (CN follows the display name) and move between location OUs. An account parked in
    // the disabled OU stays there; enable moves it back.
    const candidates = cnCandidates(desired.displayName, desired.employeeId);
    const currentParent = splitDN(a.dn).parent;
    const targetParent = this.#ous.inDisabledOU(a.dn)
      ? this.#config.disabledOU
      : this.#ous.locationOU(desired.location, desired.departmentCode);
    const needRename = !candidates.includes(a.cn);
    const needMove = !sameDN(currentParent, targetParent);
    let dn = a.dn;
    if (needRename || needMove) {
      if (needMove) await this.#ous.ensure(targetParent);
      dn = await this.#moveOrRename(a, needRename ? candidates : [a.cn], needMove ? targetParent : currentParent);
      if (needRename)
        audit.push(
          this.#record.audit('rename', 'success', 'renamed account (CN follows the display name)', {
            attributes: ['cn'],
          }),
        );
      if (needMove)
        audit.push(
          this.#record.audit('move', 'success', 'moved account to another OU', {
            from: currentParent,
            to: targetParent,
          }),
        );
    }
    if (!audit.length) {
      audit.push(
        this.#record.audit(
          'update',
          'unchanged',
          'no changes',
          managerNotFound ? { managerNotFound: true } : undefined,
        ),
      );
    }
    const after = dn === a.dn ? a : ((await this.#search.read({ id: a.guid, locator: dn })) ?? { ...a, dn });
    return { account: refOf(after), audit };
  }

  // ------------------------------------------------------------------ enable / disable / delete

  async enable(ref: AccountReference, known?: KnownAccount): Promise<ActionResult> {
    if (known?.createdNow) {
      // Created by this connector in this step: in its location OU with exactly these flags.
      if (known.enabled)
        return { account: ref, audit: [this.#record.audit('enable', 'unchanged', 'already enabled')], enabled: true };
      const from = UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE;
      await this.#setUac(ref.id, UAC.NORMAL_ACCOUNT);
      return {
        account: ref,
        audit: [
          this.#record.audit('enable', 'success', 'enabled account', {
            userAccountControl: { from, to: UAC.NORMAL_ACCOUNT },
          }),
        ],
        enabled: true,
      };
    }
    const a = await this.#search.readOrFail(ref, 'enable');
    this.#search.assertInScope(a, 'enable');
    const audit: AuditEntry[] = [];
    let dn = a.dn;
    if (this.#ous.inDisabledOU(a.dn)) {
      const target = this.#ous.locationOU(a.attrs.physicalDeliveryOfficeName?.[0]);
      await this.#ous.ensure(target);
      const employeeId = a.attrs.employeeID?.[0] ?? '';
      const displayName = a.attrs.displayName?.[0] ?? a.cn;
      const candidates = [a.cn, ...cnCandidates(displayName, employeeId).filter((c) => c !== a.cn)];
      dn = await this.#moveOrRename(a, candidates, target);
      audit.push(
        this.#record.audit('move', 'success', 'moved account out of the disabled OU', {
          from: this.#config.disabledOU,
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
      audit.push(
        this.#record.audit('enable', 'success', 'enabled account', { userAccountControl: { from: a.uac, to: uac } }),
      );
    } else {
      audit.push(this.#record.audit('enable', 'unchanged', 'already enabled'));
    }
    return { account: { id: a.guid, locator: dn }, audit };
  }

  /**
   * The day-one password: unicodePwd replaced, then pwdLastSet 0 (must change at next logon) or -1
   * (counts from now). Refused on a half-created account, like enable.
   */
  async setInitialPassword(ref: AccountReference, password: string, opts: { mustChange: boolean }): Promise<void> {
    const a = await this.#search.readOrFail(ref, 'set day-one password');
    this.#search.assertInScope(a, 'set day-one password');
    if (a.uac & UAC.PASSWD_NOTREQD)
      throw new TargetRejectedError(
        'set day-one password: the account has no initial password yet (create did not complete)',
      );
    await this.#replace('set day-one password', a.guid, 'unicodePwd', unicodePwd(password));
    await this.#replace('set must-change-password', a.guid, 'pwdLastSet', opts.mustChange ? '0' : '-1');
  }

  async disable(ref: AccountReference): Promise<ActionResult> {
    const a = await this.#search.read(ref);
    if (!a) return this.#record.gone('disable');
    this.#search.assertInScope(a, 'disable');
    const audit: AuditEntry[] = [];
    if (!(a.uac & UAC.ACCOUNTDISABLE)) {
      await this.#setUac(a.guid, a.uac | UAC.ACCOUNTDISABLE);
      audit.push(this.#record.audit('disable', 'success', 'disabled account'));
    }
    let dn = a.dn;
    if (!this.#ous.inDisabledOU(a.dn)) {
      dn = await this.#moveOrRename(a, disabledCnCandidates(a), this.#config.disabledOU);
      audit.push(this.#record.audit('move', 'success', 'moved account to the disabled OU'));
    }
    if (!audit.length) audit.push(this.#record.audit('disable', 'unchanged', 'already disabled'));
    return { account: { id: a.guid, locator: dn }, audit };
  }

  async delete(ref: AccountReference): Promise<ActionResult> {
    const a = await this.#search.read(ref);
    if (!a) return this.#record.gone('delete');
    this.#search.assertInScope(a, 'delete');
    try {
      await this.#ldap.op('delete account', (c) => c.del(guidDN(a.guid)));
    } catch (err) {
      if (ldapCode(err) === 32) return this.#record.gone('delete');
      throw mapLdapError(err, 'delete account');
    }
    return this.#record.result(null, 'delete', 'success', 'deleted account');
  }
}
