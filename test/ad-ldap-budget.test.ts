/**
 * The LDAP budget of one new hire: the real reconcile step (activities/reconcile-account.ts, with
 * PostgreSQL for the ownership record and the audit log) against the real Samba AD DC creates an
 * account enabled with two groups in at most 3 writes and 2 searches. The connector counts every
 * operation it sends (a counting proxy around the ldapts client). A retry of the same step after
 * a lost answer finds the account instead of adding a second one.
 *
 * Needs the test services (DATABASE_URL, AD_*): see docs/development.md.
 */
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'ldapts';
import pg from 'pg';
import { createTargetActivities } from '../activities/targets.js';
import type { ReconcileAccountCall, ReconcileAccountResult } from '../activities/reconcile-account.js';
import { AdTargetConnector, adConfigFromEnv } from '../connectors/targets/ad.js';
import { splitDN } from '../connectors/ldap-escape.js';
import { DEFAULT_OWNERSHIP } from '../connectors/ownership.js';
import { auditTrail } from '../vault/audit.js';
import { ownedAccount } from '../vault/accounts.js';

const RUN = randomBytes(3).toString('hex');
const MAX_WRITES = 3;
const MAX_SEARCHES = 2;

describe('LDAP budget of one new hire through the reconcile step (Samba AD)', { skip: !process.env.AD_URL }, () => {
  let admin: Client;
  let ad: AdTargetConnector;
  let pool: pg.Pool;
  let root: string;
  let groupsOU: string;

  before(async () => {
    const env = adConfigFromEnv();
    root = `OU=b-${RUN},OU=Tenure,${env.baseDN}`;
    const employeesOU = `OU=Employees,${root}`;
    groupsOU = `OU=Groups,${root}`;
    const disabledOU = `OU=Disabled,${root}`;
    admin = new Client({ url: env.url, tlsOptions: { rejectUnauthorized: false }, strictDN: false, timeout: 10000 });
    await admin.bind(env.bindDN, process.env.AD_BIND_PASSWORD!);
    for (const ou of [root, employeesOU, groupsOU, disabledOU])
      await admin.add(ou, { objectClass: ['top', 'organizationalUnit'] });
    for (const g of ['all-staff', 'dept-FIN'])
      await admin.add(`CN=${g},${groupsOU}`, {
        objectClass: ['top', 'group'],
        sAMAccountName: `${g}-${RUN}`,
        groupType: '-2147483646',
      });
    ad = new AdTargetConnector({ ...env, employeesOU, groupsOU, disabledOU, locationOUs: {} });
    pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  });

  after(async () => {
    await ad?.close();
    await pool?.end();
    if (!admin) return;
    const r = await admin.search(root, { scope: 'sub', attributes: ['1.1'] }).catch(() => ({ searchEntries: [] }));
    const depth = (dn: string) => {
      let d = 0;
      for (let rest = dn; rest; rest = splitDN(rest).parent) d++;
      return d;
    };
    for (const dn of r.searchEntries.map((e) => e.dn).sort((a, b) => depth(b) - depth(a)))
      await admin.del(dn).catch(() => undefined);
    await admin.unbind();
  });

  test('create enabled with two groups: at most 3 writes and 2 searches; a retry adds nothing', async () => {
    const activities = createTargetActivities({
      pool,
      targets: new Map([['ad', ad]]),
      ownership: new Map([['ad', { ...DEFAULT_OWNERSHIP, kind: 'ad' }]]),
    });
    const personKey = `budget:${RUN}`;
    const employeeId = `B${RUN}`;
    const names = { username: `b${RUN}`, userPrincipalName: `b${RUN}@tenure.test`, email: `b${RUN}@tenure.test` };
    const call: ReconcileAccountCall = {
      target: 'ad',
      personKey,
      cause: 'budget test',
      desired: {
        personKey,
        employeeId,
        ...names,
        emailAliases: [],
        displayName: `Budget Person ${RUN}`,
        givenName: 'Budget',
        familyName: `Person ${RUN}`,
        department: 'Finance',
      },
      update: false,
      held: [],
      enabled: false,
      fullCheck: false,
      permissions: ['all-staff', 'dept-FIN'].map((name) => ({ name, createIfMissing: false, cause: 'rule "all"' })),
      enable: true,
      disableAnyway: false,
      oneOff: [],
    };
    // Bind once first: the budget is about the operations of the step, not the connection.
    assert.equal(await ad.correlate(`warm-${RUN}`), null);
    const before = ad.ldapOperations();
    // reserveIdentity's uniqueness check comes before the step; counted apart.
    assert.equal(await ad.isTaken(names, employeeId), false);
    const afterUniqueness = ad.ldapOperations();

    const env = new MockActivityEnvironment();
    const out: ReconcileAccountResult = await env.run(activities.reconcileAccount, call);
    const spent = ad.ldapOperations();
    const step = {
      searches: spent.search - afterUniqueness.search,
      writes: spent.writes - afterUniqueness.writes,
      binds: spent.bind - before.bind,
    };
    console.log(
      `# LDAP operations for one new hire: step ${JSON.stringify(step)}; ` +
        `uniqueness check ${afterUniqueness.search - before.search} search`,
    );
    assert.ok(step.writes <= MAX_WRITES, `writes ${step.writes} > ${MAX_WRITES}`);
    assert.ok(step.searches <= MAX_SEARCHES, `searches ${step.searches} > ${MAX_SEARCHES}`);
    assert.equal(step.binds, 0, 'the step reuses the bound connection');

    // What the step says and what the directory holds agree.
    assert.equal(out.created, true);
    assert.equal(out.enabled, true);
    assert.equal(out.enabledNow, true);
    assert.deepEqual([...out.permissions].sort(), ['all-staff', 'dept-FIN']);
    assert.equal(out.failure, undefined);
    const entry = (
      await admin.search(`<GUID=${out.account.id}>`, {
        scope: 'base',
        attributes: ['userAccountControl', 'memberOf', 'pwdLastSet', 'employeeID'],
      })
    ).searchEntries[0]!;
    assert.equal(entry.userAccountControl, '512', 'enabled, normal account, password required');
    assert.notEqual(entry.pwdLastSet, '0', 'a password was set in the add');
    const memberOf = (Array.isArray(entry.memberOf) ? entry.memberOf : [entry.memberOf]).map(String);
    assert.deepEqual(memberOf.map((dn) => splitDN(dn).rdn.toLowerCase()).sort(), ['cn=all-staff', 'cn=dept-fin']);

    // Ownership and audit: recorded as Tenure's, enabled, and one line per change.
    const own = await ownedAccount(pool, 'ad', personKey);
    assert.equal(own?.origin, 'created');
    assert.equal(own?.accountId, out.account.id);
    assert.equal(own?.everEnabled, true);
    const audit = await auditTrail(pool, personKey);
    assert.deepEqual(
      audit.map((a) => `${a.action}:${a.outcome}`),
      ['create:success', 'enable:success', 'grantPermission:success', 'grantPermission:success'],
    );
    assert.deepEqual(
      audit.map((a) => a.cause),
      ['budget test', 'budget test', 'rule "all"', 'rule "all"'],
      'each change with its own cause',
    );
    assert.equal(new Set(audit.map((a) => a.at.getTime())).size, 1, 'one insert, one transaction time');

    // A retry of the same step (its answer lost): the account is found, never added twice.
    const again: ReconcileAccountResult = await new MockActivityEnvironment().run(activities.reconcileAccount, call);
    assert.equal(again.account.id, out.account.id);
    const all = await admin.search(root, { scope: 'sub', filter: `(employeeID=${employeeId})`, attributes: ['cn'] });
    assert.equal(all.searchEntries.length, 1, 'one account');
    assert.equal(again.enabled, true);
  });
});
