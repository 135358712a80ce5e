/**
 * Groups as permissions: the groups in groupsOU (or a full group DN), membership granted and
 * revoked straight on the group's DN, idempotently, with a cache of group DNs seen to exist;
 * a group is looked up (and created when the permission allows) only when the directory says it
 * is not there.
 */
import { Attribute, Change } from 'ldapts';
import type { AccountReference, ActionResult, AuditEntry, KnownAccount, PermissionRef } from '../../types.js';
import { escapeFilterValue, rdn, rdnValue, splitDN } from '../../ldap-escape.js';
import { TargetRejectedError, accountGone } from '../errors.js';
import type { AdConnection } from './connection.js';
import type { AdAudit, AdSettings } from './context.js';
import { first, refOf } from './entry.js';
import { ldapCode, mapLdapError } from './errors.js';
import { MemberAddBatcher } from './member-adds.js';
import type { AdSearch } from './search.js';

/** Global security group. */
const GROUP_TYPE_GLOBAL_SECURITY = '-2147483646';

export class AdGroups {
  readonly #config: AdSettings;
  readonly #ldap: AdConnection;
  readonly #search: AdSearch;
  readonly #record: AdAudit;
  /** Group name → DN of groups seen to exist: a grant then goes straight to the group. */
  readonly #groupDNs = new Map<string, string>();
  /** Grants to one group at the same time share a modify (./member-adds.ts). */
  readonly #memberAdds: MemberAddBatcher;

  constructor(config: AdSettings, ldap: AdConnection, search: AdSearch, record: AdAudit) {
    this.#config = config;
    this.#ldap = ldap;
    this.#search = search;
    this.#record = record;
    this.#memberAdds = new MemberAddBatcher({
      addMany: (groupDN, memberDNs) =>
        this.#ldap.op('grant permission', (c) =>
          c.modify(
            groupDN,
            new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: memberDNs }) }),
          ),
        ),
      addOne: (groupDN, memberDN) => this.#changeMember('add', groupDN, memberDN),
    });
  }

  /** Member-add modifies sent and the member values they carried. */
  memberAddStats(): { modifies: number; values: number } {
    return this.#memberAdds.stats();
  }

  #groupDN(name: string): string {
    const n = name.trim();
    // A full DN is accepted as is; a plain name is a CN in groupsOU.
    if (/^cn=/i.test(n) && splitDN(n).parent) return n;
    return `${rdn('CN', n)},${this.#config.groupsOU}`;
  }

  /** Find the group; create it when missing and allowed. Returns null when missing. */
  async #group(p: PermissionRef, create: boolean): Promise<{ dn: string; created: boolean } | null> {
    const dn = this.#groupDN(p.name);
    try {
      const e = await this.#ldap.search(dn, '(objectClass=group)', 'base', ['distinguishedName']);
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
      await this.#ldap.op('create group', (c) =>
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
    const e = await this.#ldap.search(groupDN, `(member=${escapeFilterValue(userDN)})`, 'base', ['cn']).catch((err) => {
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
      await this.#ldap.op(context, (c) =>
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
  async grant(ref: AccountReference, permission: PermissionRef, known?: KnownAccount): Promise<ActionResult> {
    let userDN = ref.locator;
    if (!known?.createdNow) {
      const a = await this.#search.readOrFail(ref, 'grant permission');
      this.#search.assertInScope(a, 'grant permission');
      userDN = a.dn;
    }
    const audit: AuditEntry[] = [];
    let groupDN = this.#groupDNs.get(permission.name) ?? this.#groupDN(permission.name);
    let done = await this.#memberAdds.add(groupDN, userDN);
    if (done === 'noGroup') {
      this.#groupDNs.delete(permission.name);
      const g = await this.#group(permission, permission.createIfMissing === true);
      if (!g) throw new TargetRejectedError(`grant permission: group ${permission.name} does not exist`, { code: 32 });
      if (g.created)
        audit.push(
          this.#record.audit('grantPermission', 'success', `created group ${permission.name}`, {
            group: permission.name,
            created: true,
          }),
        );
      groupDN = g.dn;
      done = await this.#memberAdds.add(groupDN, userDN);
      if (done === 'noGroup') throw accountGone('grant permission', ref.id, 32);
    }
    this.#groupDNs.set(permission.name, groupDN);
    audit.push(
      done === 'changed'
        ? this.#record.audit('grantPermission', 'success', `granted ${permission.name}`, { group: permission.name })
        : this.#record.audit('grantPermission', 'unchanged', `already a member of ${permission.name}`, {
            group: permission.name,
          }),
    );
    return { account: { id: ref.id, locator: userDN }, audit };
  }

  async revoke(ref: AccountReference, permission: PermissionRef): Promise<ActionResult> {
    const a = await this.#search.read(ref);
    if (!a) return this.#record.gone('revokePermission', { group: permission.name });
    this.#search.assertInScope(a, 'revoke permission');
    const unchanged = (message: string) => ({
      account: refOf(a),
      audit: [this.#record.audit('revokePermission', 'unchanged', message, { group: permission.name })],
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
    return this.#record.result(refOf(a), 'revokePermission', 'success', `revoked ${permission.name}`, {
      group: permission.name,
    });
  }

  /** The CNs of the groups in groupsOU the account is a member of, sorted. */
  async list(ref: AccountReference): Promise<string[]> {
    const a = await this.#search.read(ref);
    if (!a) return [];
    const entries = await this.#ldap
      .search(this.#config.groupsOU, `(&(objectClass=group)(member=${escapeFilterValue(a.dn)}))`, 'sub', ['cn'])
      .catch((err) => {
        throw mapLdapError(err, 'list permissions');
      });
    return entries.map((e) => first(e, 'cn') ?? rdnValue(splitDN(e.dn).rdn)).sort();
  }
}
