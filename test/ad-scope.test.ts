// AD connector scope against Samba (docs/ownership.md): correlation only inside the search OUs, no
// change to an account outside the search and managed OUs, and AD_OUT_OF_SCOPE_MATCH=report.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ldapts';
import { AdTargetConnector, adConfigFromEnv, TargetRejectedError } from '../connectors/targets/ad.js';
import { splitDN } from '../connectors/ldap-escape.js';
import type { DesiredAccount } from '../connectors/types.js';
import { uniqueSuffix } from './support/env.js';

const RUN = uniqueSuffix().slice(-8);

describe('AD connector scope against Samba', () => {
  let admin: Client;
  let root: string;
  let outside: string;
  let employeesOU: string;
  const connectors: AdTargetConnector[] = [];
  const make = (over: Record<string, unknown> = {}) => {
    const env = adConfigFromEnv();
    const c = new AdTargetConnector({
      ...env,
      employeesOU,
      groupsOU: `OU=Groups,${root}`,
      disabledOU: `OU=Disabled,${root}`,
      locationOUs: {},
      ...over,
    });
    connectors.push(c);
    return c;
  };
  const desired = (employeeId: string): DesiredAccount => ({
    personKey: `t:${employeeId}`,
    employeeId,
    username: `sc${employeeId.slice(-10)}`,
    userPrincipalName: `sc${employeeId.slice(-10)}@tenure.test`,
    email: `sc.${employeeId}@tenure.test`,
    emailAliases: [],
    displayName: `Scope ${employeeId}`,
    givenName: 'Scope',
    familyName: employeeId,
  });

  before(async () => {
    const env = adConfigFromEnv();
    root = `OU=s-${RUN},OU=Tenure,${env.baseDN}`;
    employeesOU = `OU=Employees,${root}`;
    outside = `OU=Elsewhere,${root}`;
    admin = new Client({ url: env.url, tlsOptions: { rejectUnauthorized: false }, strictDN: false, timeout: 10000 });
    await admin.bind(env.bindDN, process.env.AD_BIND_PASSWORD!);
    for (const ou of [root, employeesOU, `OU=Groups,${root}`, `OU=Disabled,${root}`, outside])
      await admin.add(ou, { objectClass: ['top', 'organizationalUnit'] });
  });
  after(async () => {
    await Promise.all(connectors.map((c) => c.close()));
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

  test('an account outside the search OUs is never a match and never changed', async () => {
    const id = `o${RUN}1`;
    const dn = `CN=Outside ${id},${outside}`;
    await admin.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: `out${id}`.slice(0, 20),
      employeeID: id,
      userAccountControl: '546',
    });
    const ad = make();
    assert.equal(await ad.correlate(id), null, 'outside the managed OUs: not a match');
    const foreign = (await admin.search(dn, { scope: 'base', attributes: ['objectGUID'] })).searchEntries[0]!;
    assert.ok(foreign);
    const ref = { id: '', locator: dn };
    for (const [what, call] of [
      ['update', () => ad.update(ref, desired(id))],
      ['enable', () => ad.enable(ref)],
      ['disable', () => ad.disable(ref)],
      ['delete', () => ad.delete(ref)],
      ['grant', () => ad.grantPermission(ref, { name: 'x', createIfMissing: true })],
    ] as const) {
      await assert.rejects(
        call(),
        (e: Error) => e instanceof TargetRejectedError && /outside the search and managed OUs/.test(e.message),
        what,
      );
    }
    const after = (await admin.search(dn, { scope: 'base', attributes: ['userAccountControl', 'sAMAccountName'] }))
      .searchEntries[0]!;
    assert.equal(after.userAccountControl, '546', 'unchanged');

    // The default: a new account of the person's own beside it.
    const created = await ad.create(desired(id));
    assert.match(created.account!.locator, new RegExp(`OU=Employees,${root}$`, 'i'));
    assert.equal((await ad.correlate(id))?.id, created.account!.id);
    const seen = await ad.inspect(created.account!);
    assert.deepEqual(
      { enabled: seen?.enabled, inScope: seen?.inScope, value: seen?.correlationValue },
      { enabled: false, inScope: true, value: id },
    );
  });

  test('AD_OUT_OF_SCOPE_MATCH=report: a create whose only match is outside is refused', async () => {
    const id = `o${RUN}2`;
    await admin.add(`CN=Outside ${id},${outside}`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: `out${id}`.slice(0, 20),
      employeeID: id,
      userAccountControl: '546',
    });
    const ad = make({ outOfScopeMatch: 'report' });
    await assert.rejects(ad.create(desired(id)), /outside the search OUs/);
    assert.equal(await ad.correlate(id), null);
  });

  test('a configured search OU is correlated in', async () => {
    const id = `o${RUN}3`;
    await admin.add(`CN=Outside ${id},${outside}`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: `out${id}`.slice(0, 20),
      employeeID: id,
      userAccountControl: '546',
    });
    const ad = make({ searchOUs: [employeesOU, outside] });
    assert.ok(await ad.correlate(id), 'inside a configured search OU: a match');
  });
});
