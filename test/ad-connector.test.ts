/**
 * The Active Directory target connector against a real Samba AD DC (no mocks).
 *
 *   TENURE_ENV=test bash scripts/services/samba.sh start && set -a && . .run/test/samba/ad.env && set +a \
 *     && node --import tsx --test test/ad-connector.test.ts
 *
 * (Without AD_URL set, .run/test/samba/ad.env is read when present; otherwise the Samba suite is skipped.)
 * Every run works in its own OU (OU=t-<random>,OU=Tenure,...) that it creates and removes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Attribute, Change, Client } from 'ldapts';
import { AdTargetConnector, TargetRejectedError, adConfigFromEnv, AdConfigSchema } from '../connectors/targets/ad.js';
import { escapeDNValue, escapeFilterValue, normalizeDN, rdnValue, splitDN } from '../connectors/ldap-escape.js';
import { generatePassword } from '../connectors/targets/ad/password.js';
import { guidFromBytes } from '../connectors/targets/ad/guid.js';
import type { AccountReference, DesiredAccount } from '../connectors/types.js';

// ------------------------------------------------------------------ pure helpers

describe('ldap-escape', () => {
  test('DN values (RFC 4514)', () => {
    assert.equal(escapeDNValue('Doe, John'), 'Doe\\, John');
    assert.equal(escapeDNValue('A+B'), 'A\\+B');
    assert.equal(escapeDNValue('say "hi"'), 'say \\"hi\\"');
    assert.equal(escapeDNValue('back\\slash\\'), 'back\\5cslash\\5c');
    assert.equal(escapeDNValue('#1 fan'), '\\231 fan');
    assert.equal(escapeDNValue('a#b'), 'a#b');
    assert.equal(escapeDNValue(' lead and trail '), '\\20lead and trail\\20');
    assert.equal(escapeDNValue('<x>;y=z'), '\\<x\\>\\;y\\=z');
    assert.equal(escapeDNValue('nul\0'), 'nul\\00');
    assert.equal(escapeDNValue('Zoë Øster 李'), 'Zoë Øster 李');
  });

  test('filter values (RFC 4515)', () => {
    assert.equal(escapeFilterValue('*)(objectClass=*'), '\\2a\\29\\28objectClass=\\2a');
    assert.equal(escapeFilterValue('a\\b\0'), 'a\\5cb\\00');
    assert.equal(escapeFilterValue('Ærø'), 'Ærø');
  });

  test('DN splitting and normalising', () => {
    assert.deepEqual(splitDN('CN=Doe\\, John,OU=A,DC=x'), { rdn: 'CN=Doe\\, John', parent: 'OU=A,DC=x' });
    assert.deepEqual(splitDN('CN=ends\\\\,OU=A'), { rdn: 'CN=ends\\\\', parent: 'OU=A' });
    assert.equal(rdnValue('CN=\\20x\\2c y\\5c'), ' x, y\\');
    assert.equal(rdnValue('CN=Jos\\c3\\a9'), 'José');
    assert.equal(rdnValue('CN=Zoë 🙂\\2c 李'), 'Zoë 🙂, 李');
    assert.equal(normalizeDN('cn=Doe\\2c John, ou=A,DC=X'), normalizeDN('CN=doe\\, john,OU=a,dc=x'));
  });

  test('generated passwords are strong and random', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pw = generatePassword({ avoid: ['jjansen', 'Jan Jansen'] });
      assert.ok(pw.length >= 20);
      assert.match(pw, /[A-Z]/);
      assert.match(pw, /[a-z]/);
      assert.match(pw, /[0-9]/);
      assert.match(pw, /[^A-Za-z0-9]/);
      assert.doesNotMatch(pw.toLowerCase(), /jansen|jjansen/);
      seen.add(pw);
    }
    assert.equal(seen.size, 200);
  });

  test('GUID byte order', () => {
    const b = Buffer.from('50b4b3cae6a74b41a4a307bc4cfe1c15', 'hex');
    assert.equal(guidFromBytes(b), 'cab3b450-a7e6-414b-a4a3-07bc4cfe1c15');
  });

  test('config: defaults, env and no password in errors', () => {
    const c = AdConfigSchema.parse({
      url: 'ldaps://dc:636',
      bindDN: 'x',
      bindPassword: 'secret-pw',
      baseDN: 'DC=a,DC=b',
    });
    assert.equal(c.employeesOU, 'OU=Employees,OU=Tenure,DC=a,DC=b');
    assert.equal(c.upnSuffix, 'tenure.test');
    assert.equal(c.tls.insecure, false);
    assert.throws(
      () => adConfigFromEnv({ AD_URL: 'http://nope', AD_BIND_PASSWORD: 'secret-pw' }),
      (e: Error) => !e.message.includes('secret-pw') && /AD_\*/.test(e.message),
    );
  });

  test('transport: ldaps:// or StartTLS, verification on; plain ldap:// and AD_TLS_INSECURE only with the test switch', () => {
    const env = { AD_BIND_DN: 'x', AD_BIND_PASSWORD: 'secret-pw', AD_BASE_DN: 'DC=a,DC=b' };
    assert.throws(
      () => adConfigFromEnv({ ...env, AD_URL: 'ldap://dc:389' }),
      (e: Error) => /url: ldap:\/\/ would send the service account's password in clear/.test(e.message),
    );
    assert.throws(
      () => adConfigFromEnv({ ...env, AD_URL: 'ldaps://dc:636', AD_TLS_INSECURE: '1' }),
      /tls\.insecure: AD_TLS_INSECURE turns certificate verification off and is refused outside tests/,
    );
    assert.throws(
      () => adConfigFromEnv({ ...env, AD_URL: 'ldap://dc:389', TENURE_ALLOW_INSECURE_TRANSPORT: 'true' }),
      /ldap:\/\//,
      'only the exact value 1 switches it on',
    );
    assert.equal(adConfigFromEnv({ ...env, AD_URL: 'ldaps://dc:636' }).tls.insecure, false);
    const startTls = adConfigFromEnv({ ...env, AD_URL: 'ldap://dc:389', AD_STARTTLS: '1' });
    assert.equal(startTls.startTls, true);
    const test = adConfigFromEnv({
      ...env,
      AD_URL: 'ldap://dc:389',
      AD_TLS_INSECURE: '1',
      TENURE_ALLOW_INSECURE_TRANSPORT: '1',
    });
    assert.equal(test.tls.insecure, true);
    assert.throws(() => AdConfigSchema.parse({ url: 'ldap://dc', bindDN: 'x', bindPassword: 'p', baseDN: 'DC=a' }));
  });
});

// ------------------------------------------------------------------ against Samba

// Without AD_* in the environment, use the test Samba's ad.env when it exists (never the demo's).
const adEnvFile = fileURLToPath(new URL('../.run/test/samba/ad.env', import.meta.url));
if (!process.env.AD_URL && existsSync(adEnvFile)) {
  for (const line of readFileSync(adEnvFile, 'utf8').split('\n')) {
    const m = /^export ([A-Z_]+)=(?:'([^']*)'|(\S*))$/.exec(line.trim());
    if (m) process.env[m[1]!] ??= m[2] ?? m[3] ?? '';
  }
}
const haveAD = !!process.env.AD_URL;
const RUN = randomBytes(3).toString('hex');
let seq = 0;

describe(
  'AD connector against Samba',
  { skip: haveAD ? false : 'AD_URL not set: start Samba and source .run/test/samba/ad.env' },
  () => {
    let admin: Client;
    let ad: AdTargetConnector;
    let base: string;
    let root: string;
    let employeesOU: string;
    let groupsOU: string;
    let disabledOU: string;

    const desired = (over: Partial<DesiredAccount> = {}): DesiredAccount => {
      const n = ++seq;
      const id = `${RUN}-${n}`;
      return {
        personKey: id,
        employeeId: id,
        username: `u${RUN}${n}`,
        userPrincipalName: `u${RUN}${n}@tenure.test`,
        email: `p${RUN}${n}@tenure.test`,
        emailAliases: [],
        displayName: `Test Person ${RUN} ${n}`,
        givenName: 'Test',
        familyName: `Person ${n}`,
        initials: 'T.',
        title: 'Tester',
        department: 'Quality',
        company: 'Tenure BV',
        location: 'Baarn',
        ...over,
      };
    };

    async function read(ref: AccountReference | string, attributes = ['*']) {
      const dn = typeof ref === 'string' ? ref : `<GUID=${ref.id}>`;
      const r = await admin.search(dn, { scope: 'base', attributes });
      assert.equal(r.searchEntries.length, 1);
      return r.searchEntries[0]!;
    }
    const parentOf = (dn: string) => normalizeDN(splitDN(dn).parent);
    const countByEmployeeId = async (id: string) =>
      (
        await admin.search(base, {
          scope: 'sub',
          filter: `(employeeID=${escapeFilterValue(id)})`,
          attributes: ['cn'],
        })
      ).searchEntries.length;
    const asArray = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);

    before(async () => {
      const env = adConfigFromEnv();
      base = env.baseDN;
      root = `OU=t-${RUN},OU=Tenure,${base}`;
      employeesOU = `OU=Employees,${root}`;
      groupsOU = `OU=Groups,${root}`;
      disabledOU = `OU=Disabled,${root}`;
      admin = new Client({ url: env.url, tlsOptions: { rejectUnauthorized: false }, strictDN: false, timeout: 10000 });
      await admin.bind(env.bindDN, process.env.AD_BIND_PASSWORD!);
      for (const ou of [root, employeesOU, groupsOU, disabledOU]) {
        await admin.add(ou, { objectClass: ['top', 'organizationalUnit'] });
      }
      ad = new AdTargetConnector({ ...env, employeesOU, groupsOU, disabledOU, locationOUs: {} });
    });

    after(async () => {
      await ad?.close();
      if (!admin) return;
      // Remove the run's OU, deepest entries first.
      const r = await admin.search(root, { scope: 'sub', attributes: ['1.1'] }).catch(() => ({ searchEntries: [] }));
      const depth = (dn: string) => {
        let d = 0;
        for (let rest = dn; rest; rest = splitDN(rest).parent) d++;
        return d;
      };
      const dns = r.searchEntries.map((e) => e.dn).sort((a, b) => depth(b) - depth(a));
      for (const dn of dns) await admin.del(dn).catch(() => undefined);
      await admin.unbind();
    });

    test('create: disabled, in the location OU, correlated on retry, exactly one account', async () => {
      const d = desired();
      assert.equal(await ad.correlate(d.employeeId), null);
      const r = await ad.create(d);
      assert.ok(r.account);
      assert.match(r.account.id, /^[0-9a-f-]{36}$/);
      assert.equal(r.audit[0]!.action, 'create');
      assert.equal(r.audit[0]!.outcome, 'success');
      assert.ok(!JSON.stringify(r).match(/password|unicodePwd/i), 'no password in the result');
      const e = await read(r.account, [
        'userAccountControl',
        'cn',
        'sAMAccountName',
        'userPrincipalName',
        'mail',
        'proxyAddresses',
        'employeeID',
        'pwdLastSet',
        'title',
        'physicalDeliveryOfficeName',
      ]);
      assert.equal(e.userAccountControl, '514');
      assert.notEqual(e.pwdLastSet, '0', 'a password was set');
      assert.equal(e.cn, d.displayName);
      assert.equal(e.sAMAccountName, d.username);
      assert.equal(e.userPrincipalName, d.userPrincipalName);
      assert.equal(e.mail, d.email);
      assert.deepEqual(asArray(e.proxyAddresses), [`SMTP:${d.email}`]);
      assert.equal(e.physicalDeliveryOfficeName, 'Baarn');
      assert.equal(parentOf(e.dn), normalizeDN(`OU=Baarn,${employeesOU}`));
      assert.equal(r.account.locator, e.dn);

      const c = await ad.correlate(d.employeeId);
      assert.deepEqual(c, r.account);
      const again = await ad.create(d);
      assert.equal(again.account?.id, r.account.id);
      assert.equal(again.audit[0]!.action, 'correlate');
      assert.equal(await countByEmployeeId(d.employeeId), 1);
    });

    test("locations named 'constructor' and '__proto__' are plain OUs, with or without a location map", async () => {
      const mapped = new AdTargetConnector({
        ...adConfigFromEnv(),
        employeesOU,
        groupsOU,
        disabledOU,
        locationOUs: { Baarn: `OU=Baarn,${employeesOU}` },
      });
      try {
        for (const [connector, location] of [
          [ad, 'constructor'],
          [mapped, '__proto__'],
          [mapped, 'toString'],
        ] as const) {
          const d = desired({ location });
          const r = await connector.create(d);
          const e = await read(r.account!, ['cn']);
          assert.equal(parentOf(e.dn), normalizeDN(`OU=${location},${employeesOU}`), location);
        }
      } finally {
        await mapped.close();
      }
    });

    test('a half-finished create (no password yet) is completed by the retry', async () => {
      const d = desired();
      await admin.add(`CN=${escapeDNValue(d.displayName)},${employeesOU}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: d.username,
        employeeID: d.employeeId,
        userAccountControl: '546',
      });
      const r = await ad.create(d);
      assert.equal(r.audit[0]!.action, 'correlate');
      const e = await read(r.account!, ['userAccountControl', 'pwdLastSet']);
      assert.equal(e.userAccountControl, '514');
      assert.notEqual(e.pwdLastSet, '0');
      assert.equal(await countByEmployeeId(d.employeeId), 1);
    });

    test('enable/disable flip only the disable bit and move between location and disabled OU', async () => {
      const d = desired();
      const { account } = await ad.create(d);
      const ref = account!;
      // Another bit set by someone else (DONT_EXPIRE_PASSWORD) must survive.
      await admin.modify(
        `<GUID=${ref.id}>`,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: ['66050'] }),
        }),
      );
      let r = await ad.enable(ref);
      assert.equal((await read(ref, ['userAccountControl'])).userAccountControl, '66048');
      assert.deepEqual(
        r.audit.map((a) => [a.action, a.outcome]),
        [['enable', 'success']],
      );
      await admin.modify(
        `<GUID=${ref.id}>`,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
        }),
      );
      assert.equal((await ad.enable(ref)).audit[0]!.outcome, 'unchanged');

      r = await ad.disable(ref);
      let e = await read(ref, ['userAccountControl']);
      assert.equal(e.userAccountControl, '514');
      assert.equal(parentOf(e.dn), normalizeDN(disabledOU));
      for (const a of r.audit)
        assert.equal(JSON.stringify(a).includes(d.displayName), false, 'nothing personal in disable audit');
      assert.equal((await ad.disable(ref)).audit[0]!.outcome, 'unchanged');

      // The stale reference (old DN) still works: the GUID is authoritative.
      r = await ad.enable(ref);
      e = await read(ref, ['userAccountControl']);
      assert.equal(e.userAccountControl, '512');
      assert.equal(parentOf(e.dn), normalizeDN(`OU=Baarn,${employeesOU}`));
      assert.equal(r.account!.locator, e.dn);
    });

    test('update writes only differing attributes', async () => {
      const d = desired();
      const { account } = await ad.create(d);
      let r = await ad.update(account!, d);
      assert.deepEqual(
        r.audit.map((a) => [a.action, a.outcome]),
        [['update', 'unchanged']],
      );
      const before = await read(account!, ['uSNChanged']);
      r = await ad.update(account!, { ...d, title: 'Senior Tester', department: undefined, company: 'Other BV' });
      assert.equal(r.audit.length, 1);
      assert.deepEqual((r.audit[0]!.details as { attributes: string[] }).attributes.sort(), [
        'company',
        'department',
        'title',
      ]);
      const e = await read(account!, ['title', 'department', 'company', 'givenName', 'uSNChanged']);
      assert.equal(e.title, 'Senior Tester');
      assert.deepEqual(asArray(e.department), []);
      assert.equal(e.company, 'Other BV');
      assert.equal(e.givenName, 'Test');
      assert.ok(Number(e.uSNChanged) > Number(before.uSNChanged));
      // Nothing differs any more: no write at all.
      r = await ad.update(account!, { ...d, title: 'Senior Tester', department: undefined, company: 'Other BV' });
      assert.equal(r.audit[0]!.outcome, 'unchanged');
      assert.equal((await read(account!, ['uSNChanged'])).uSNChanged, e.uSNChanged);
    });

    test('name change renames the CN and keeps the old mail as smtp: alias; stale DN refs still work', async () => {
      const d = desired({ emailAliases: [] });
      const { account } = await ad.create(d);
      const stale = account!;
      const renamed = {
        ...d,
        displayName: `Renamed Person ${RUN}`,
        familyName: 'Renamed',
        email: `renamed.${RUN}@tenure.test`,
      };
      const r = await ad.update(stale, renamed);
      assert.deepEqual(
        r.audit.map((a) => a.action),
        ['update', 'rename'],
      );
      const changed = (r.audit[0]!.details as { attributes: string[] }).attributes;
      assert.deepEqual(changed.sort(), ['displayName', 'mail', 'proxyAddresses', 'sn']);
      const e = await read(stale, ['cn', 'mail', 'proxyAddresses', 'displayName']);
      assert.equal(e.cn, renamed.displayName);
      assert.equal(e.mail, renamed.email);
      assert.deepEqual(asArray(e.proxyAddresses).sort(), [`SMTP:${renamed.email}`, `smtp:${d.email}`].sort());
      assert.equal(r.account!.locator, e.dn);
      assert.notEqual(r.account!.locator, stale.locator);
      // Using the old reference again is fine and idempotent.
      assert.equal((await ad.update(stale, renamed)).audit[0]!.outcome, 'unchanged');
      // The reference works even without a usable GUID, through the DN locator.
      assert.equal((await ad.update({ id: 'not-a-guid', locator: e.dn }, renamed)).audit[0]!.outcome, 'unchanged');
    });

    test('location change moves the OU (created when missing); disabled accounts stay in the disabled OU', async () => {
      const d = desired({ location: 'Amsterdam' });
      const { account } = await ad.create(d);
      let r = await ad.update(account!, { ...d, location: 'Zwolle, Overijssel' });
      assert.deepEqual(
        r.audit.map((a) => a.action),
        ['update', 'move'],
      );
      let e = await read(account!, ['physicalDeliveryOfficeName']);
      assert.equal(parentOf(e.dn), normalizeDN(`OU=Zwolle\\, Overijssel,${employeesOU}`));
      assert.equal(e.physicalDeliveryOfficeName, 'Zwolle, Overijssel');

      await ad.disable(account!);
      r = await ad.update(account!, { ...d, location: 'Utrecht' });
      e = await read(account!);
      assert.equal(parentOf(e.dn), normalizeDN(disabledOU));
      await ad.enable(account!);
      e = await read(account!);
      assert.equal(parentOf(e.dn), normalizeDN(`OU=Utrecht,${employeesOU}`));

      // No location: employeesOU itself.
      await ad.update(account!, { ...d, location: undefined });
      e = await read(account!);
      assert.equal(parentOf(e.dn), normalizeDN(employeesOU));
    });

    test('same display name in the same OU gets a distinct CN', async () => {
      const a = desired({ displayName: `Jan Jansen ${RUN}` });
      const b = desired({ displayName: `Jan Jansen ${RUN}` });
      const ra = await ad.create(a);
      const rb = await ad.create(b);
      assert.notEqual(ra.account!.id, rb.account!.id);
      assert.equal((await read(rb.account!, ['cn'])).cn, `Jan Jansen ${RUN} (${b.employeeId})`);
      assert.equal((await ad.update(rb.account!, b)).audit[0]!.outcome, 'unchanged');
    });

    test('delete; then not-found outcomes and failures as docs/connector-contract.md says', async () => {
      const d = desired();
      const { account } = await ad.create(d);
      const r = await ad.delete(account!);
      assert.deepEqual(
        r.audit.map((a) => [a.action, a.outcome]),
        [['delete', 'success']],
      );
      assert.equal(await ad.correlate(d.employeeId), null);
      assert.equal((await ad.delete(account!)).audit[0]!.outcome, 'notFound');
      assert.equal((await ad.disable(account!)).audit[0]!.outcome, 'notFound');
      assert.equal((await ad.revokePermission(account!, { name: 'x' })).audit[0]!.outcome, 'notFound');
      await assert.rejects(ad.update(account!, d), TargetRejectedError);
      await assert.rejects(ad.enable(account!), TargetRejectedError);
      await assert.rejects(ad.grantPermission(account!, { name: 'x', createIfMissing: true }), TargetRejectedError);
    });

    test('groups: grant/revoke idempotent, dynamic department group created when missing', async () => {
      const d = desired();
      const { account } = await ad.create(d);
      const ref = account!;
      await assert.rejects(
        ad.grantPermission(ref, { name: `missing-${RUN}` }),
        (e: Error) => e.name === 'TargetRejected',
      );

      const dept = `dept-Finance, Q&A #1 ${RUN}`;
      let r = await ad.grantPermission(ref, { name: dept, createIfMissing: true });
      assert.deepEqual(
        r.audit.map((a) => a.outcome),
        ['success', 'success'],
      );
      const g = await read(`CN=${escapeDNValue(dept)},${groupsOU}`, ['groupType', 'member', 'cn']);
      assert.equal(g.groupType, '-2147483646');
      assert.equal(g.cn, dept);
      r = await ad.grantPermission(ref, { name: dept, createIfMissing: true });
      assert.deepEqual(
        r.audit.map((a) => a.outcome),
        ['unchanged'],
      );

      // A plain existing group, and a rename/move does not lose membership.
      await admin.add(`CN=Staff,${groupsOU}`, {
        objectClass: ['top', 'group'],
        sAMAccountName: `Staff-${RUN}`,
        groupType: '-2147483646',
      });
      await ad.grantPermission(ref, { name: 'Staff' });
      await ad.update(ref, { ...d, displayName: `Moved ${RUN}`, location: 'Elsewhere' });
      assert.deepEqual(await ad.listPermissions(ref), [dept, 'Staff'].sort());

      r = await ad.revokePermission(ref, { name: 'Staff' });
      assert.equal(r.audit[0]!.outcome, 'success');
      r = await ad.revokePermission(ref, { name: 'Staff' });
      assert.equal(r.audit[0]!.outcome, 'unchanged');
      r = await ad.revokePermission(ref, { name: `never-existed-${RUN}` });
      assert.equal(r.audit[0]!.outcome, 'unchanged');
      assert.deepEqual(await ad.listPermissions(ref), [dept]);
    });

    test('groups: grants to one group at the same time share a modify; each account gets its own answer', async () => {
      const known = { createdNow: true as const, enabled: false };
      const accounts: AccountReference[] = [];
      for (let i = 0; i < 12; i++) accounts.push((await ad.create(desired())).account!);
      const members = async (name: string) =>
        new Set(asArray((await read(`CN=${name},${groupsOU}`, ['member'])).member).map(normalizeDN));
      const grantAll = (name: string, refs: AccountReference[], createIfMissing = false) =>
        Promise.allSettled(refs.map((ref) => ad.grantPermission(ref, { name, createIfMissing }, known)));
      const addGroup = (name: string) =>
        admin.add(`CN=${name},${groupsOU}`, {
          objectClass: ['top', 'group'],
          sAMAccountName: `${name}-${RUN}`.slice(0, 60),
          groupType: '-2147483646',
        });

      // Twelve grants at once: the first goes out alone, the eleven that came while it was under
      // way go in one modify.
      await addGroup('Batch A');
      let before = ad.memberAddStats();
      let results = await grantAll('Batch A', accounts);
      let stats = ad.memberAddStats();
      assert.deepEqual(
        { modifies: stats.modifies - before.modifies, values: stats.values - before.values },
        { modifies: 2, values: 12 },
      );
      for (const r of results) {
        assert.equal(r.status, 'fulfilled');
        if (r.status === 'fulfilled')
          assert.deepEqual(
            r.value.audit.map((a) => [a.action, a.outcome]),
            [['grantPermission', 'success']],
          );
      }
      assert.deepEqual(await members('Batch A'), new Set(accounts.map((a) => normalizeDN(a.locator))));

      // One account is a member already and one is gone: the directory refuses the shared modify,
      // so each member is added on its own and each caller hears about its own account.
      await addGroup('Batch B');
      await admin.modify(
        `CN=Batch B,${groupsOU}`,
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'member', values: [accounts[3]!.locator] }),
        }),
      );
      const gone = (await ad.create(desired())).account!;
      await admin.del(gone.locator);
      before = ad.memberAddStats();
      results = await grantAll('Batch B', [...accounts, gone]);
      stats = ad.memberAddStats();
      assert.deepEqual(
        { modifies: stats.modifies - before.modifies, values: stats.values - before.values },
        { modifies: 1 + 1 + 12 + 1, values: 1 + 12 + 12 + 1 },
        'the first alone, the refused modify of twelve, each of the twelve, the gone one again after finding the group there',
      );
      const outcomes = results.map((r) =>
        r.status === 'fulfilled' ? r.value.audit.map((a) => a.outcome).join() : (r.reason as Error).name,
      );
      assert.deepEqual(outcomes, [...accounts.map((_, i) => (i === 3 ? 'unchanged' : 'success')), 'TargetRejected']);
      assert.match(
        ((results[12] as PromiseRejectedResult).reason as Error).message,
        new RegExp(`account ${gone.id} could not be found`),
      );
      assert.deepEqual(await members('Batch B'), new Set(accounts.map((a) => normalizeDN(a.locator))));

      // The group is missing and may be created: it is created once, and everyone is granted.
      results = await grantAll('Batch C', accounts.slice(0, 5), true);
      const created = results.flatMap((r) =>
        r.status === 'fulfilled' ? r.value.audit.filter((a) => a.details?.created === true) : [],
      );
      assert.equal(created.length, 1, 'one created-group entry in the audit');
      assert.ok(results.every((r) => r.status === 'fulfilled'));
      assert.deepEqual(await members('Batch C'), new Set(accounts.slice(0, 5).map((a) => normalizeDN(a.locator))));
    });

    test('manager DN is set and follows the desired manager', async () => {
      const boss = await ad.create(desired());
      const d = desired({ managerLocator: boss.account!.locator });
      const { account } = await ad.create(d);
      let e = await read(account!, ['manager']);
      assert.equal(normalizeDN(String(e.manager)), normalizeDN(boss.account!.locator));
      // The manager is renamed: the desired locator by GUID still resolves, nothing changes.
      const moved = await ad.update(boss.account!, {
        ...desired(),
        employeeId: (await read(boss.account!, ['employeeID'])).employeeID as string,
        displayName: `Boss ${RUN}`,
      });
      const r = await ad.update(account!, { ...d, managerLocator: moved.account!.id });
      assert.equal(r.audit[0]!.outcome, 'unchanged');
      await ad.update(account!, { ...d, managerLocator: undefined });
      e = await read(account!, ['manager']);
      assert.deepEqual(asArray(e.manager), []);
    });

    const specialNames = [
      'Doe, John',
      'Plus+Sign',
      'Jan "JJ" Jansen',
      'Back\\slash\\',
      '#Hash Start',
      '  Leading spaces',
      'Trailing space ',
      'Semi;colon <angle> =eq',
      'Renée Øster-Straße',
      'Zoë 李小龍 🙂',
    ];
    for (const [i, name] of specialNames.entries()) {
      test(`special name ${JSON.stringify(name)}: create, correlate, rename, delete`, async () => {
        const d = desired({
          displayName: name,
          givenName: name.trim().split(/\s+/)[0]!,
          location: i % 2 ? `Loc ${name}` : undefined,
        });
        const r = await ad.create(d);
        const e = await read(r.account!, ['cn', 'displayName']);
        assert.equal(e.cn, name);
        assert.equal(e.displayName, name);
        assert.deepEqual(await ad.correlate(d.employeeId), r.account);
        assert.equal((await ad.update(r.account!, d)).audit[0]!.outcome, 'unchanged');
        const other = specialNames[(i + 1) % specialNames.length]!;
        const u = await ad.update(r.account!, { ...d, displayName: other });
        assert.ok(u.audit.some((a) => a.action === 'rename'));
        assert.equal((await read(r.account!, ['cn'])).cn, other);
        await ad.disable(r.account!);
        await ad.enable(r.account!);
        // Membership filters and member values carry the escaped DN too.
        const group = { name: `g ${name}`.trim(), createIfMissing: true };
        await ad.grantPermission(r.account!, group);
        assert.deepEqual(await ad.listPermissions(r.account!), [group.name]);
        assert.equal((await ad.grantPermission(r.account!, group)).audit[0]!.outcome, 'unchanged');
        assert.equal((await ad.revokePermission(r.account!, group)).audit[0]!.outcome, 'success');
        assert.equal((await ad.revokePermission(r.account!, group)).audit[0]!.outcome, 'unchanged');
        assert.deepEqual(await ad.listPermissions(r.account!), []);
        assert.equal((await ad.delete(r.account!)).audit[0]!.outcome, 'success');
      });
    }

    test('filter injection in employeeID finds nothing; isTaken checks every address field', async () => {
      const d = desired({ emailAliases: [`alias.${RUN}@tenure.test`] });
      await ad.create(d);
      assert.equal(await ad.correlate('*)(objectClass=*'), null);
      assert.equal(await ad.correlate('*'), null);
      assert.equal(await ad.correlate(`${RUN}*`), null);
      assert.equal(await ad.isTaken({ username: '*', userPrincipalName: '*)(objectClass=*', email: '*' }, 'x'), false);

      const other = 'someone-else';
      assert.equal(
        await ad.isTaken(
          { username: d.username, userPrincipalName: 'free@tenure.test', email: 'free@tenure.test' },
          other,
        ),
        true,
      );
      assert.equal(
        await ad.isTaken(
          { username: 'free', userPrincipalName: d.userPrincipalName, email: 'free@tenure.test' },
          other,
        ),
        true,
      );
      assert.equal(
        await ad.isTaken({ username: 'free', userPrincipalName: 'free@tenure.test', email: d.email }, other),
        true,
      );
      assert.equal(
        await ad.isTaken(
          { username: 'free', userPrincipalName: `alias.${RUN}@tenure.test`, email: 'free@tenure.test' },
          other,
        ),
        true,
      );
      assert.equal(
        await ad.isTaken(
          { username: 'free', userPrincipalName: 'free@tenure.test', email: `ALIAS.${RUN}@tenure.test` },
          other,
        ),
        true,
      );
      // The person's own account is not "taken".
      assert.equal(
        await ad.isTaken(
          { username: d.username, userPrincipalName: d.userPrincipalName, email: d.email },
          d.employeeId,
        ),
        false,
      );
      // Built-in accounts without employeeID count as taken.
      assert.equal(await ad.isTaken({ username: 'Administrator', userPrincipalName: '', email: '' }, other), true);
    });

    test('a dropped connection is a retryable error and the next call reconnects', async () => {
      // A TCP relay in front of Samba that can cut every connection, like a restart of the DC.
      const env = adConfigFromEnv();
      const target = new URL(env.url);
      const open = new Set<net.Socket>();
      let up = true;
      const relay = net.createServer((client) => {
        if (!up) return client.destroy();
        const upstream = net.connect(Number(target.port || 636), target.hostname);
        for (const s of [client, upstream]) {
          open.add(s);
          s.on('error', () => undefined).on('close', () => {
            open.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
      const port = (relay.address() as net.AddressInfo).port;
      const viaRelay = new AdTargetConnector({
        ...env,
        url: `ldaps://127.0.0.1:${port}`,
        employeesOU,
        groupsOU,
        disabledOU,
      });
      try {
        const d = desired();
        const { account } = await viaRelay.create(d);
        up = false;
        for (const s of open) s.destroy();
        await assert.rejects(viaRelay.correlate(d.employeeId), (e: Error) => !(e instanceof TargetRejectedError));
        await assert.rejects(viaRelay.enable(account!), (e: Error) => e.name === 'TargetUnavailable');
        up = true;
        assert.deepEqual(await viaRelay.correlate(d.employeeId), account);
        assert.equal((await viaRelay.enable(account!)).audit[0]!.outcome, 'success');
      } finally {
        await viaRelay.close();
        for (const s of open) s.destroy();
        await new Promise((r) => relay.close(r));
      }
    });

    test('permanent rejections are TargetRejected, unreachable directory is retryable', async () => {
      await assert.rejects(
        ad.create(desired({ employeeId: '12345678901234567' })),
        (e: Error) => e.name === 'TargetRejected',
      );
      const first = desired();
      await ad.create(first);
      // Same sAMAccountName for another person: the directory refuses.
      await assert.rejects(
        ad.create(desired({ username: first.username })),
        (e: Error) => e instanceof TargetRejectedError,
      );

      const env = adConfigFromEnv();
      const down = new AdTargetConnector({
        ...env,
        url: 'ldaps://127.0.0.1:1',
        timeouts: { connectMs: 1000, operationMs: 2000 },
      });
      await assert.rejects(
        down.correlate('x'),
        (e: Error) => e.name !== 'TargetRejected' && !(e instanceof TargetRejectedError),
      );
      await down.close();
      const badPw = new AdTargetConnector({ ...env, bindPassword: 'wrong-Password-1' });
      await assert.rejects(
        badPw.correlate('x'),
        (e: Error) => e instanceof TargetRejectedError && !e.message.includes('wrong-Password-1'),
      );
      await badPw.close();
    });
  },
);

describe(
  'AD connector transport against Samba',
  { skip: haveAD && process.env.AD_TLS_CA_FILE ? false : 'AD_URL and AD_TLS_CA_FILE not set (start Samba)' },
  () => {
    test('LDAPS with the CA file verifies the certificate; StartTLS on port 389 works; a wrong CA is refused', async () => {
      const env = adConfigFromEnv();
      assert.equal(env.tls.insecure, false, 'the test directory is verified, not trusted blindly');
      const probe = `${RUN}-transport`;
      const verified = new AdTargetConnector(env);
      try {
        assert.equal(await verified.correlate(probe), null);
      } finally {
        await verified.close();
      }
      const host = new URL(env.url).hostname;
      const starttls = new AdTargetConnector({ ...env, url: `ldap://${host}:389`, startTls: true });
      try {
        assert.equal(await starttls.correlate(probe), null, 'bound over StartTLS');
      } finally {
        await starttls.close();
      }
      const dir = mkdtempSync(join(tmpdir(), 'tenure-ca-'));
      const otherCa = join(dir, 'other-ca.pem');
      // A CA that did not sign the directory's certificate: Node's own bundle.
      writeFileSync(otherCa, tls.rootCertificates.slice(0, 3).join('\n'));
      const wrong = new AdTargetConnector({ ...env, tls: { caFile: otherCa, insecure: false } });
      try {
        await assert.rejects(wrong.correlate(probe), /directory unreachable/);
      } finally {
        await wrong.close();
      }
    });
  },
);
