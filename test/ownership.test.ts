// Ownership on the real stack (Temporal, PostgreSQL, Samba AD): scoped correlation, adoption that
// keeps login names, accounts outside scope never touched, deletion only after Tenure's own
// disable moment plus the retention and only when the account is still disabled, unmanaged groups
// kept by reprovision, and manager references that converge within one poll.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change, type Client as LdapClient } from 'ldapts';
import { reprovisionUpdate } from '../common/messages.js';
import { generatePassword, unicodePwd } from '../connectors/targets/ad/password.js';
import { addDays, localDate } from '../domain/dates.js';
import { employeeWorkflowId } from '../domain/model.js';
import { requireEnv } from './support/env.js';
import { UAC_DISABLED, eventually, startHarness, type Harness, type Row } from './support/tenure-harness.js';

const RETENTION_S = 10;
const RULES = `
version: "ownership-1"
timeZone: Europe/Amsterdam
defaults:
  timings:
    deleteAfterSeconds: ${RETENTION_S}
targets:
  - id: ad
    kind: ad
    options:
      ownership: { adopt: inScope }
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
`;

const BASE = () => requireEnv('AD_BASE_DN');
const EMPLOYEES_OU = () => `OU=Employees,OU=Tenure,${BASE()}`;
const uac = (u: Record<string, unknown> | undefined) => Number(u?.userAccountControl ?? 0);
const list = (v: unknown) => ([] as string[]).concat((v as string[] | string | undefined) ?? []);

/** Adds a user the way an admin would: enabled, with a password, outside Tenure's hands. */
async function addUser(ldap: LdapClient, dn: string, attrs: Record<string, string>): Promise<void> {
  await ldap.add(dn, {
    objectClass: ['top', 'person', 'organizationalPerson', 'user'],
    userAccountControl: '514',
    ...attrs,
  });
  await ldap.modify(dn, [
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(generatePassword({ length: 24 }))] }),
    }),
  ]);
  await ldap.modify(
    dn,
    new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }),
  );
}

async function addGroup(ldap: LdapClient, dn: string, sam: string, members: string[] = []): Promise<void> {
  await ldap.add(dn, { objectClass: ['top', 'group'], sAMAccountName: sam, groupType: '-2147483646' });
  if (members.length)
    await ldap.modify(
      dn,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: members }) }),
    );
}

async function entry(ldap: LdapClient, dn: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await ldap.search(dn, {
      scope: 'base',
      attributes: ['dn', 'sAMAccountName', 'userPrincipalName', 'mail', 'userAccountControl', 'memberOf', 'manager'],
    });
    return r.searchEntries[0];
  } catch (err) {
    if ((err as { code?: number }).code === 32) return undefined;
    throw err;
  }
}

/** Every account with this employeeID anywhere in the directory. */
async function accountsWith(ldap: LdapClient, employeeId: string): Promise<Record<string, unknown>[]> {
  const r = await ldap.search(BASE(), {
    filter: `(&(objectClass=user)(employeeID=${employeeId}))`,
    attributes: ['dn', 'sAMAccountName', 'userAccountControl', 'memberOf', 'manager'],
  });
  return r.searchEntries;
}

describe('ownership, scope and guarded deletion against Samba AD', () => {
  let h: Harness;
  let today: string;
  const rows = new Map<string, Row>();
  const publish = () => h.writeExport([...rows.values()]);
  const pk = (key: string) => `${h.sourceId}:${key}`;

  before(async () => {
    h = await startHarness(RULES);
    today = localDate(Date.now(), 'Europe/Amsterdam');
  });
  after(async () => {
    await h?.stop();
  });

  test('an existing account in scope is adopted with its login names kept', async () => {
    const key = h.key();
    const sam = `lg${key.slice(-8)}`;
    const dn = `CN=Legacy ${key},${EMPLOYEES_OU()}`;
    await addUser(h.ldap, dn, {
      cn: `Legacy ${key}`,
      sAMAccountName: sam,
      userPrincipalName: `${sam}@tenure.test`,
      mail: `legacy.${key}@tenure.test`,
      employeeID: key,
      displayName: `Legacy ${key}`,
    });
    rows.set(key, { key, nick: 'Lotte', family: 'Legacy', contract: `${key}c1`, start: '2020-01-01', dept: 'FIN' });
    publish();
    assert.equal((await h.poll()).outcome, 'accepted');
    const st = await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'active' && s.accounts.length === 1,
      60_000,
    );
    assert.equal(st.username, sam, 'the adopted login name is the identity');
    assert.equal(st.email, `legacy.${key}@tenure.test`);
    const all = await accountsWith(h.ldap, key);
    assert.equal(all.length, 1, 'no second account');
    assert.equal(all[0]!.sAMAccountName, sam);
    const u = await entry(h.ldap, String(all[0]!.dn));
    assert.equal(u?.userPrincipalName, `${sam}@tenure.test`);
    assert.equal(u?.mail, `legacy.${key}@tenure.test`);
    const audit = await h.audit(pk(key));
    assert.ok(audit.some((a) => /adopted an existing account/.test(a.message)));
    const own = await h.db.query('select origin from target_accounts where target = $1 and person_key = $2', [
      'ad',
      pk(key),
    ]);
    assert.equal(own.rows[0]?.origin, 'adopted');
    const res = await h.db.query(
      "select person_key from identity_reservations where kind = 'username' and value = lower($1)",
      [sam],
    );
    assert.equal(res.rows[0]?.person_key, pk(key), 'the adopted username is reserved for the person');
  });

  test('an account outside scope with the same employeeID is untouched through hire, change, leaver and retention; and through a withdrawal', async () => {
    const key = h.key();
    const hire = h.key();
    const privileged = `CN=Privileged ${key},CN=Users,${BASE()}`;
    const foreigns = new Map<string, string>();
    for (const k of [key, hire]) {
      const dn = `CN=Foreign ${k},CN=Users,${BASE()}`;
      await addUser(h.ldap, dn, { cn: `Foreign ${k}`, sAMAccountName: `fr${k.slice(-8)}`, employeeID: k });
      foreigns.set(k, dn);
    }
    await addGroup(h.ldap, privileged, `priv${key.slice(-8)}`, [...foreigns.values()]);
    const before = new Map<string, Record<string, unknown> | undefined>();
    for (const [k, dn] of foreigns) before.set(k, await entry(h.ldap, dn));
    const untouched = async (when: string) => {
      for (const [k, dn] of foreigns) {
        const now = await entry(h.ldap, dn);
        assert.ok(now, `${when}: the foreign account ${k} still exists`);
        assert.equal(uac(now) & UAC_DISABLED, 0, `${when}: still enabled`);
        assert.deepEqual(now, before.get(k), `${when}: nothing changed on the foreign account`);
        assert.ok(list(now.memberOf).some((g) => g.startsWith('CN=Privileged')));
      }
    };

    // Hire: Tenure creates its own account in the employees OU; the foreign one is never a match.
    rows.set(key, { key, nick: 'Femke', family: 'Vreemd', contract: `${key}c1`, start: '2021-01-01', dept: 'FIN' });
    rows.set(hire, {
      key: hire,
      nick: 'Gijs',
      family: 'Later',
      contract: `${hire}c1`,
      start: addDays(today, 3),
      dept: 'FIN',
    });
    publish();
    assert.equal((await h.poll()).outcome, 'accepted');
    await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'active',
      60_000,
    );
    await eventually(
      () => h.status(pk(hire)),
      (s) => s.state === 'prehire' && s.accounts.length === 1,
      60_000,
    );
    const mine = (await accountsWith(h.ldap, key)).filter((a) => String(a.dn) !== foreigns.get(key));
    assert.equal(mine.length, 1);
    assert.match(String(mine[0]!.dn), /OU=Employees,OU=Tenure,/);
    await untouched('after hire');

    // Change: a new family name renames Tenure's account only.
    rows.set(key, { ...rows.get(key)!, family: 'Anders' });
    publish();
    await h.poll();
    await eventually(
      () => h.status(pk(key)),
      (s) => s.displayName === 'Femke Anders' && s.lastCause?.startsWith('poll') === true,
      60_000,
    );
    await untouched('after change');

    // Withdrawal: the pre-created account (created, never enabled) is deleted; the foreign one is not.
    rows.delete(hire);
    // Leaver: the end date passed; disabled now, deleted after the retention.
    rows.set(key, { ...rows.get(key)!, end: addDays(today, -2) });
    publish();
    await h.poll();
    await eventually(
      () => h.status(pk(hire)),
      (s) => s.state === 'rescinded',
      60_000,
    );
    await untouched('after withdrawal');
    await eventually(
      () => accountsWith(h.ldap, key),
      (a) => a.length === 1,
      90_000,
    );
    assert.equal(
      ((await h.client.workflow.getHandle(employeeWorkflowId(pk(key))).result()) as { state: string }).state,
      'deleted',
    );
    await untouched('after leaver and retention');
  });

  test('an end date typed 120 days in the past: disabled now, deleted only after the retention from the disable moment', async () => {
    const key = h.key();
    rows.set(key, { key, nick: 'Henk', family: 'Honderd', contract: `${key}c1`, start: '2019-01-01', dept: 'FIN' });
    publish();
    await h.poll();
    await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'active',
      60_000,
    );
    rows.set(key, { ...rows.get(key)!, end: addDays(today, -120) });
    publish();
    await h.poll();
    const leaver = await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'leaver',
      60_000,
    );
    assert.equal(leaver.state, 'leaver', 'disabled, not deleted at once');
    const u = (await accountsWith(h.ldap, key))[0];
    assert.ok(u, 'the account still exists right after the disable');
    assert.equal(uac(u) & UAC_DISABLED, UAC_DISABLED);
    const result = (await h.client.workflow.getHandle(employeeWorkflowId(pk(key))).result()) as { state: string };
    assert.equal(result.state, 'deleted');
    assert.equal((await accountsWith(h.ldap, key)).length, 0);
    const trail = await h.audit(pk(key));
    const disabledAt = trail.find((a) => a.action === 'disable' && a.outcome === 'success')!.at;
    const deletedAt = trail.find((a) => a.action === 'delete' && a.outcome === 'success')!.at;
    assert.ok(
      new Date(deletedAt).getTime() - new Date(disabledAt).getTime() >= RETENTION_S * 1000,
      `deleted ${deletedAt} no earlier than the retention after the disable ${disabledAt}`,
    );
  });

  test('re-enabled by hand before the deletion: not deleted, and the reason shows in status, health and audit', async () => {
    const key = h.key();
    rows.set(key, { key, nick: 'Iris', family: 'Terug', contract: `${key}c1`, start: '2019-01-01', dept: 'FIN' });
    publish();
    await h.poll();
    await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'active',
      60_000,
    );
    rows.set(key, { ...rows.get(key)!, end: addDays(today, -3) });
    publish();
    await h.poll();
    await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'leaver',
      60_000,
    );
    const dn = String((await accountsWith(h.ldap, key))[0]!.dn);
    await h.ldap.modify(
      dn,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
      }),
    );
    const refused = await eventually(
      () => h.status(pk(key)),
      (s) => s.health === 'failed' && s.lastError?.action === 'deleted',
      60_000,
    );
    assert.match(String(refused.lastError?.message), /delete refused: the account is enabled again/);
    assert.equal(
      (refused.lastError as { refused?: boolean }).refused,
      true,
      'looked at again a day later, not in minutes',
    );
    assert.equal(refused.accounts.length, 1, 'the account is still held');
    const still = await entry(h.ldap, dn);
    assert.ok(still, 'not deleted');
    assert.equal(uac(still) & UAC_DISABLED, 0);
    const trail = await h.audit(pk(key));
    assert.ok(trail.some((a) => a.action === 'delete' && a.outcome === 'failed' && /enabled again/.test(a.message)));
    assert.ok(!trail.some((a) => a.action === 'delete' && a.outcome === 'success'));
  });

  test('reprovision keeps a group outside the groups OU (unmanaged) and revokes a managed one no rule grants', async () => {
    const key = h.key();
    rows.set(key, { key, nick: 'Jan', family: 'Groepen', contract: `${key}c1`, start: '2019-01-01', dept: 'FIN' });
    publish();
    await h.poll();
    await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'active',
      60_000,
    );
    const dn = String((await accountsWith(h.ldap, key))[0]!.dn);
    const unmanaged = `CN=Approvers ${key},CN=Users,${BASE()}`;
    const stray = `CN=stray-${key},OU=Groups,OU=Tenure,${BASE()}`;
    await addGroup(h.ldap, unmanaged, `appr${key.slice(-8)}`, [dn]);
    await addGroup(h.ldap, stray, `stray${key.slice(-8)}`, [dn]);
    const handle = h.client.workflow.getHandle(employeeWorkflowId(pk(key)));
    const result = await handle.executeUpdate(reprovisionUpdate, { args: [{ requestedBy: 'ops', reason: 'check' }] });
    assert.ok(result.actions.some((a) => a.action === 'revokePermission' && a.detail.includes(`stray-${key}`)));
    const groups = list((await entry(h.ldap, dn))?.memberOf).map((g) => /^CN=([^,]+)/.exec(g)?.[1]);
    assert.ok(groups.includes(`Approvers ${key}`), 'the unmanaged group survives reprovision');
    assert.ok(!groups.includes(`stray-${key}`), 'a managed group no rule grants is revoked');
    assert.ok(groups.includes('all-staff'));
  });

  test('manager and reports created by one poll all end with manager set', async () => {
    // Reports get the lower keys: the poll signals in key order, so their workflows start first.
    const reports = [h.key(), h.key(), h.key()];
    const boss = h.key();
    // Reports first in the file: their workflows may well run before the manager's.
    for (const r of reports)
      rows.set(r, {
        key: r,
        nick: 'Kees',
        family: `Rapport${r.slice(-3)}`,
        contract: `${r}c1`,
        start: '2019-01-01',
        dept: 'FIN',
        manager: boss,
      });
    rows.set(boss, { key: boss, nick: 'Bea', family: 'Baas', contract: `${boss}c1`, start: '2019-01-01', dept: 'FIN' });
    publish();
    await h.poll();
    const bossDn = await eventually(
      async () => String((await accountsWith(h.ldap, boss))[0]?.dn ?? ''),
      (d) => d !== '',
      60_000,
    );
    for (const r of reports) {
      const u = await eventually(
        async () => (await accountsWith(h.ldap, r))[0],
        (x) => x !== undefined && String(x.manager ?? '') === bossDn,
        60_000,
      );
      assert.equal(String(u?.manager), bossDn, `report ${r} has the manager set`);
    }
  });

  test('a manager whose account appears later is filled in for reports whose own data did not change', async () => {
    const reports = [h.key(), h.key()];
    const boss = h.key();
    for (const r of reports)
      rows.set(r, {
        key: r,
        nick: 'Lies',
        family: `Later${r.slice(-3)}`,
        contract: `${r}c1`,
        start: '2019-01-01',
        dept: 'FIN',
        manager: boss,
      });
    publish();
    await h.poll();
    for (const r of reports) {
      const u = await eventually(
        async () => (await accountsWith(h.ldap, r))[0],
        (x) => x !== undefined,
        60_000,
      );
      assert.deepEqual(list(u?.manager), [], 'no manager account yet');
    }
    // The manager appears in the next poll; the reports' rows are the same as before.
    rows.set(boss, {
      key: boss,
      nick: 'Bart',
      family: 'Baas',
      contract: `${boss}c1`,
      start: '2019-01-01',
      dept: 'FIN',
    });
    publish();
    const summary = await h.poll();
    assert.equal(summary.added, 1);
    assert.equal(summary.changed, 0, 'the reports did not change');
    const bossDn = await eventually(
      async () => String((await accountsWith(h.ldap, boss))[0]?.dn ?? ''),
      (d) => d !== '',
      60_000,
    );
    for (const r of reports) {
      const u = await eventually(
        async () => (await accountsWith(h.ldap, r))[0],
        (x) => String(x?.manager ?? '') === bossDn,
        60_000,
      );
      assert.equal(String(u?.manager), bossDn, `report ${r} has the manager set`);
      // The audit row is written right after the directory change: wait for it too.
      const trail = await eventually(
        () => h.audit(pk(r)),
        (t) => t.some((a) => a.action === 'update' && /account of manager/.test(a.cause)),
        20_000,
      );
      assert.ok(trail.some((a) => a.action === 'update' && /account of manager/.test(a.cause)));
    }
  });

  test('a withdrawn hire with an adopted account: disabled, then deleted only after the retention, never as a withdrawal', async () => {
    const key = h.key();
    const sam = `wd${key.slice(-8)}`;
    await addUser(h.ldap, `CN=Withdrawn ${key},${EMPLOYEES_OU()}`, {
      cn: `Withdrawn ${key}`,
      sAMAccountName: sam,
      userPrincipalName: `${sam}@tenure.test`,
      employeeID: key,
    });
    rows.set(key, { key, nick: 'Wim', family: 'Weg', contract: `${key}c1`, start: addDays(today, 3), dept: 'FIN' });
    publish();
    await h.poll();
    await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'prehire' && s.accounts.length === 1 && !s.accounts[0]!.enabled,
      60_000,
    );
    rows.delete(key);
    publish();
    await h.poll();
    const result = (await h.client.workflow.getHandle(employeeWorkflowId(pk(key))).result()) as { state: string };
    assert.equal(result.state, 'rescinded');
    const trail = await h.audit(pk(key));
    assert.ok(trail.some((a) => /adopted an existing account/.test(a.message)));
    const disabledAt = trail.find((a) => a.action === 'disable' && a.outcome === 'success')!.at;
    const deleted = trail.filter((a) => a.action === 'delete' && a.outcome === 'success');
    assert.equal(deleted.length, 1);
    assert.ok(
      new Date(deleted[0]!.at).getTime() - new Date(disabledAt).getTime() >= RETENTION_S * 1000,
      'deleted after the retention from the disable moment',
    );
    assert.ok(!trail.some((a) => a.outcome === 'failed'), 'no refused withdrawal delete was attempted');
  });
});
