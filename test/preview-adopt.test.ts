// Go-live preview on the real stack (Temporal, PostgreSQL, Samba AD): `tenure preview --source`
// shows an existing account in scope as adopt with the login names it keeps, an account outside the
// scope as a create (or as report with AD_OUT_OF_SCOPE_MATCH=report), changes nothing, and equals what
// the first poll then does; and `ownership.renameAdopted` gives an adopted account the generated names
// while its own stay reserved for the person.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change, type Client as LdapClient } from 'ldapts';
import { previewAccountLookup } from '../activities/existing-account.js';
import { previewTenant } from '../activities/preview.js';
import type { PreviewAction } from '../activities/preview-person.js';
import { previewCommand } from '../cli/commands/preview.js';
import { runCli } from '../cli/main.js';
import { FileSource } from '../connectors/sources/file.js';
import { AdTargetConnector, adConfigFromEnv } from '../connectors/targets/ad.js';
import { generatePassword, unicodePwd } from '../connectors/targets/ad/password.js';
import type { TenantPreview } from '../activities/preview.js';
import { requireEnv } from './support/env.js';
import { eventually, startHarness, type Harness, type Row } from './support/tenure-harness.js';

const rules = (version: string, ownership: string) => `
version: "${version}"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
    options:
      ownership: ${ownership}
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
`;

const BASE = () => requireEnv('AD_BASE_DN');
const EMPLOYEES_OU = () => `OU=Employees,OU=Tenure,${BASE()}`;

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

async function accountsWith(ldap: LdapClient, employeeId: string): Promise<Record<string, unknown>[]> {
  const r = await ldap.search(BASE(), {
    filter: `(&(objectClass=user)(employeeID=${employeeId}))`,
    attributes: [
      'dn',
      'sAMAccountName',
      'userPrincipalName',
      'mail',
      'proxyAddresses',
      'userAccountControl',
      'memberOf',
      'whenChanged',
    ],
  });
  return r.searchEntries;
}

/** A legacy account: `lg<key>` with its own UPN and mail, enabled, carrying the key as employeeID. */
async function legacyAccount(ldap: LdapClient, key: string, parent: string) {
  const sam = `lg${key.slice(-8)}`;
  const names = { username: sam, userPrincipalName: `${sam}@tenure.test`, email: `legacy.${key}@tenure.test` };
  await addUser(ldap, `CN=Legacy ${key},${parent}`, {
    cn: `Legacy ${key}`,
    sAMAccountName: names.username,
    userPrincipalName: names.userPrincipalName,
    mail: names.email,
    employeeID: key,
    displayName: `Legacy ${key}`,
  });
  return names;
}

/** The audit rows a preview action stands for, as `person target action [permission]`. */
const AUDIT_ACTIONS: Record<string, string> = {
  create: 'create',
  enable: 'enable',
  disable: 'disable',
  delete: 'delete',
  grantPermission: 'grant',
  revokePermission: 'revoke',
};
const line = (a: Pick<PreviewAction, 'personKey' | 'target' | 'action' | 'permission'>) =>
  `${a.personKey} ${a.target} ${a.action}${a.permission ? ` ${a.permission}` : ''}`;

describe('go-live preview shows adoption (Samba AD)', () => {
  let h: Harness;
  const pk = (key: string) => `${h.sourceId}:${key}`;
  const readSource = () =>
    new FileSource({ id: h.sourceId, path: join(h.dir, 'hr-export.csv') }).fetchAll().then((r) => r.persons);

  before(async () => {
    h = await startHarness(rules('preview-adopt-1', '{ adopt: inScope }'));
  });
  after(async () => {
    await h?.stop();
  });

  test('in scope: adopt with the names kept; outside scope: create (or report); read-only; the first poll does the same', async () => {
    const inScope = h.key();
    const outside = h.key();
    const fresh = h.key();
    const kept = await legacyAccount(h.ldap, inScope, EMPLOYEES_OU());
    await legacyAccount(h.ldap, outside, `CN=Users,${BASE()}`);
    const rows: Row[] = [inScope, outside, fresh].map((key) => ({
      key,
      nick: 'Pia',
      family: `Preview${key.slice(-3)}`,
      contract: `${key}c1`,
      start: '2020-01-01',
      dept: 'FIN',
    }));
    h.writeExport(rows);
    const before = [
      ...(await accountsWith(h.ldap, inScope)),
      ...(await accountsWith(h.ldap, outside)),
      ...(await accountsWith(h.ldap, fresh)),
    ];

    // `tenure preview --source <id> --rules FILE --json`, with the worker's connectors used read-only.
    const printed: string[] = [];
    const preview: TenantPreview = await previewCommand(
      {
        client: h.client,
        pool: h.db,
        out: (l) => printed.push(l),
        taskQueue: `tenure-test-${h.sourceId}`,
        accounts: (r) => ({
          lookup: previewAccountLookup({ pool: h.db, targets: h.runtime.targets, rules: r }),
          close: async () => undefined,
        }),
      },
      { rulesFile: join(h.dir, 'rules.yaml'), source: { id: h.sourceId, fetch: readSource }, json: true },
    );
    const of = (key: string) =>
      preview.actions
        .filter((a) => a.personKey === pk(key))
        .map(line)
        .sort();
    assert.deepEqual(
      of(inScope),
      [`${pk(inScope)} ad adopt`, `${pk(inScope)} ad grant all-staff`].sort(),
      'enabled already: no enable',
    );
    assert.deepEqual(
      of(outside),
      [`${pk(outside)} ad create`, `${pk(outside)} ad enable`, `${pk(outside)} ad grant all-staff`].sort(),
      'the account outside the search OUs is never adopted',
    );
    assert.deepEqual(
      of(fresh),
      [`${pk(fresh)} ad create`, `${pk(fresh)} ad enable`, `${pk(fresh)} ad grant all-staff`].sort(),
    );
    const adopt = preview.actions.find((a) => a.action === 'adopt')!;
    assert.deepEqual(adopt.names, kept, 'the login names that will be kept');
    assert.equal(adopt.rule, 'all staff');
    assert.ok(adopt.contractId, 'the contract that causes it');
    assert.match(adopt.why, new RegExp(`keeps its login names ${kept.username}`));
    assert.equal(preview.totals.byAction.adopt, 1);
    assert.equal(preview.totals.byAction.create, 2);
    assert.equal(preview.totals.byTarget.ad?.adopt, 1);
    assert.equal(preview.totals.byAction.report, 0);

    // The text form: adopt is its own row in the totals, next to create.
    const text: string[] = [];
    await previewCommand(
      {
        client: h.client,
        pool: h.db,
        out: (l) => text.push(l),
        taskQueue: `tenure-test-${h.sourceId}`,
        accounts: (r) => ({
          lookup: previewAccountLookup({ pool: h.db, targets: h.runtime.targets, rules: r }),
          close: async () => undefined,
        }),
      },
      { rulesFile: join(h.dir, 'rules.yaml'), source: { id: h.sourceId, fetch: readSource } },
    );
    assert.ok(
      text.some((l) => /^adopt\s+1\s+1$/.test(l)),
      text.join('\n'),
    );
    assert.ok(text.some((l) => /^create\s+2\s+2$/.test(l)));
    assert.ok(text.some((l) => l.includes(pk(inScope)) && l.includes('adopt') && l.includes(kept.username)));

    // The command as an admin runs it: the connectors built from the environment, as the workers do.
    const lines: string[] = [];
    const errs: string[] = [];
    const code = await runCli(['preview', '--source', h.sourceId, '--rules', join(h.dir, 'rules.yaml'), '--json'], {
      out: (l) => lines.push(l),
      err: (l) => errs.push(l),
      env: {
        ...process.env,
        TENURE_FILE_SOURCE: join(h.dir, 'hr-export.csv'),
        TENURE_FILE_SOURCE_ID: h.sourceId,
        TENURE_TASK_QUEUE: `tenure-test-${h.sourceId}`,
      },
      connectTemporal: async () => h.client,
      connectPostgres: () => h.db,
      closeConnections: false,
    });
    assert.equal(code, 0, errs.join('\n'));
    const fromCli = JSON.parse(lines.join('\n')) as TenantPreview;
    assert.deepEqual(fromCli.actions.map(line).sort(), preview.actions.map(line).sort(), 'the CLI shows the same');

    // --csv: every action to the file while planning, the login names in their own columns.
    const csvPath = join(h.dir, 'golive.csv');
    const csvOut: string[] = [];
    await previewCommand(
      {
        client: h.client,
        pool: h.db,
        out: (l) => csvOut.push(l),
        taskQueue: `tenure-test-${h.sourceId}`,
        accounts: (r) => ({
          lookup: previewAccountLookup({ pool: h.db, targets: h.runtime.targets, rules: r }),
          close: async () => undefined,
        }),
      },
      { rulesFile: join(h.dir, 'rules.yaml'), source: { id: h.sourceId, fetch: readSource }, csv: csvPath },
    );
    const csvLines = readFileSync(csvPath, 'utf8').trim().split('\n');
    assert.equal(
      csvLines[0],
      '"person_key","target","action","permission","rule","rules_version","contract_id","username","user_principal_name","email","why"',
    );
    assert.equal(csvLines.length - 1, preview.actions.length, 'every action in the file');
    assert.ok(csvOut.includes(`${preview.actions.length} actions written to ${csvPath}`), csvOut.join('\n'));
    const adoptRow = csvLines.find((l) => l.includes('"adopt"'))!;
    assert.ok(
      adoptRow.startsWith(`"${pk(inScope)}","ad","adopt","","all staff","preview-adopt-1",`) &&
        adoptRow.includes(`"${kept.username}","${kept.userPrincipalName}","${kept.email}"`),
      adoptRow,
    );

    // With AD_OUT_OF_SCOPE_MATCH=report the same person shows as report, still never adopt.
    const reporting = new AdTargetConnector({ ...adConfigFromEnv(process.env), id: 'ad', outOfScopeMatch: 'report' });
    try {
      const r = await previewTenant({
        rules: h.runtime.rules,
        persons: { imported: await readSource() },
        accounts: previewAccountLookup({ pool: h.db, targets: new Map([['ad', reporting]]), rules: h.runtime.rules }),
      });
      assert.deepEqual(
        r.actions.filter((a) => a.personKey === pk(outside)).map(line),
        [`${pk(outside)} ad report`],
        'create refused and reported; nothing else for that target',
      );
      assert.match(r.actions.find((a) => a.action === 'report')!.why, /outside the search OUs/);
      assert.equal(r.totals.byAction.adopt, 1);
    } finally {
      await reporting.close();
    }

    // Read-only: the directory and the vault are as before.
    const afterPreview = [
      ...(await accountsWith(h.ldap, inScope)),
      ...(await accountsWith(h.ldap, outside)),
      ...(await accountsWith(h.ldap, fresh)),
    ];
    assert.deepEqual(afterPreview, before, 'the preview changed nothing in AD');
    const vault = await h.db.query(
      `select (select count(*) from target_accounts where person_key = any($1))::int as accounts,
              (select count(*) from audit_log where person_key = any($1))::int as audit,
              (select count(*) from identity_reservations where person_key = any($1))::int as names`,
      [[inScope, outside, fresh].map(pk)],
    );
    assert.deepEqual(vault.rows[0], { accounts: 0, audit: 0, names: 0 }, 'the preview changed nothing in the vault');

    // The first poll does what the preview said, action by action.
    assert.equal((await h.poll()).outcome, 'accepted');
    for (const key of [inScope, outside, fresh])
      await eventually(
        () => h.status(pk(key)),
        (s) => s.state === 'active' && s.accounts.length === 1 && !s.lastError,
        60_000,
      );
    const done = await h.db.query(
      `select person_key, target, action, details from audit_log
        where person_key = any($1) and outcome = 'success'`,
      [[inScope, outside, fresh].map(pk)],
    );
    const did = done.rows
      .map((x) => {
        const action = x.action === 'correlate' && x.details?.adopted ? 'adopt' : AUDIT_ACTIONS[x.action as string];
        return action
          ? line({
              personKey: x.person_key,
              target: x.target,
              action: action as PreviewAction['action'],
              permission: x.details?.group,
            })
          : undefined;
      })
      .filter((x): x is string => x !== undefined)
      .sort();
    assert.deepEqual(did, preview.actions.map(line).sort(), 'the poll did exactly what the preview showed');

    const adopted = await accountsWith(h.ldap, inScope);
    assert.equal(adopted.length, 1);
    assert.equal(adopted[0]!.sAMAccountName, kept.username, 'login name kept');
    assert.equal(adopted[0]!.userPrincipalName, kept.userPrincipalName);
    assert.equal(adopted[0]!.mail, kept.email);
    const outsideNow = await accountsWith(h.ldap, outside);
    assert.equal(outsideNow.length, 2, 'a new account next to the foreign one');
    const foreign = outsideNow.find((a) => String(a.dn).includes('CN=Users'))!;
    assert.deepEqual(
      foreign,
      before.find((a) => a.dn === foreign.dn),
      'the account outside scope is untouched',
    );
  });
});

describe('ownership.renameAdopted (Samba AD)', () => {
  let h: Harness;
  const pk = (key: string) => `${h.sourceId}:${key}`;

  before(async () => {
    h = await startHarness(rules('rename-adopted-1', '{ adopt: inScope, renameAdopted: true }'));
  });
  after(async () => {
    await h?.stop();
  });

  test('on: the adopted account gets the generated login names; its old ones stay reserved for the person', async () => {
    const key = h.key();
    const old = await legacyAccount(h.ldap, key, EMPLOYEES_OU());
    h.writeExport([
      { key, nick: 'Ruben', family: `Rename${key.slice(-3)}`, contract: `${key}c1`, start: '2020-01-01', dept: 'FIN' },
    ]);

    const preview = await previewTenant({
      rules: h.runtime.rules,
      persons: {
        imported: (await new FileSource({ id: h.sourceId, path: join(h.dir, 'hr-export.csv') }).fetchAll()).persons,
      },
      accounts: previewAccountLookup({ pool: h.db, targets: h.runtime.targets, rules: h.runtime.rules }),
    });
    const adopt = preview.actions.find((a) => a.action === 'adopt');
    assert.ok(adopt, 'shown as adopt');
    assert.match(adopt.why, /gets the generated login names/);

    assert.equal((await h.poll()).outcome, 'accepted');
    const st = await eventually(
      () => h.status(pk(key)),
      (s) => s.state === 'active' && s.accounts.length === 1 && !s.lastError,
      60_000,
    );
    assert.notEqual(st.username, old.username, 'the identity is the generated name');
    const all = await accountsWith(h.ldap, key);
    assert.equal(all.length, 1, 'adopted, not a second account');
    assert.equal(all[0]!.sAMAccountName, st.username, 'the account carries the generated username');
    assert.equal(String(all[0]!.mail).toLowerCase(), String(st.email).toLowerCase(), 'and the generated mail');
    const proxies = ([] as string[]).concat((all[0]!.proxyAddresses as string[] | string | undefined) ?? []);
    assert.ok(
      proxies.some((p) => p.toLowerCase() === `smtp:${old.email}`.toLowerCase()),
      'the old address stays as an alias',
    );
    const own = await h.db.query('select origin from target_accounts where target = $1 and person_key = $2', [
      'ad',
      pk(key),
    ]);
    assert.equal(own.rows[0]?.origin, 'adopted');
    const reserved = await h.db.query(
      `select kind, value from identity_reservations where person_key = $1 and value = any($2)`,
      [pk(key), [old.username, old.userPrincipalName, old.email].map((v) => v.toLowerCase())],
    );
    assert.deepEqual(
      reserved.rows.map((r) => r.kind).sort(),
      ['email', 'upn', 'username'],
      'the old names stay reserved for the person',
    );
    const audit = await h.audit(pk(key));
    assert.ok(audit.some((a) => /adopted an existing account.*renameAdopted/.test(a.message)));
  });
});
