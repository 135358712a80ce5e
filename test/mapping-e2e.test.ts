// Mappings and target instances on the real stack (Temporal, PostgreSQL, Samba AD, the Raet
// simulator), through the worker: a Raet employee's location from a mapped extension field moves
// the AD account to the mapped OU; two AD target instances with different OUs (two base OUs in the
// one Samba domain) each hold an account for the person; the rules file's username pattern; an AD
// attribute template fed by a mapped source field.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client as LdapClient } from 'ldapts';
import proto from '@temporalio/proto';
import { employeeWorkflowId } from '../domain/model.js';
import { requireEnv, uniqueSuffix } from './support/env.js';
import { RaetSimulator, beaufortDataset } from './simulators/raet.js';
import type { AuditRecord } from '../vault/audit.js';
import { auditOnce, eventually, startHarness, type Harness } from './support/tenure-harness.js';

const BASE = requireEnv('AD_BASE_DN');
const TENURE_OU = `OU=Tenure,${BASE}`;
const SECOND = `OU=Second,${TENURE_OU}`;
const BUILDING_B = `OU=GebouwB,${TENURE_OU}`;

async function ensureOU(ldap: LdapClient, dn: string): Promise<void> {
  await ldap.add(dn, { objectClass: ['top', 'organizationalUnit'] }).catch((err: { code?: number }) => {
    if (err.code !== 68) throw err; // already there
  });
}

async function accountsOf(ldap: LdapClient, employeeId: string) {
  const { searchEntries } = await ldap.search(TENURE_OU, {
    filter: `(&(objectClass=user)(employeeID=${employeeId}))`,
    attributes: ['dn', 'sAMAccountName', 'userPrincipalName', 'mobile', 'title', 'userAccountControl'],
  });
  return searchEntries;
}

const under = (dn: string, ou: string) => dn.toLowerCase().endsWith(`,${ou.toLowerCase()}`);

describe('mappings and target instances through the worker', () => {
  let sim: RaetSimulator;
  let h: Harness;
  const sourceId = `mp${uniqueSuffix()}`.slice(0, 16);

  before(async () => {
    const data = beaufortDataset();
    const extension = data.extensionPersons;
    data.extensionPersons = []; // no location yet: the account starts in the employees OU
    sim = new RaetSimulator(data, { windowMs: 1000, fractionalRetryAfter: true });
    await sim.start();
    (sim as unknown as { pendingExtension: unknown }).pendingExtension = extension;
    const dir = mkdtempSync(join(tmpdir(), 'tenure-mapping-'));
    const config = join(dir, 'tenure.yaml');
    writeFileSync(
      config,
      `sources:
  - id: ${sourceId}
    kind: raet
    every: 1h
    thresholds: { firstPoll: accept }
    options:
      baseUrl: ${sim.url}
      tokenUrl: ${sim.url}/connect/token
      clientId: sim-client
      clientSecretEnv: RAET_TEST_CLIENT_SECRET
      tenantId: sim-tenant
      rateLimit: { callsPerWindow: 100, windowMs: 1000, concurrency: 3, minSpacingMs: 0 }
    fieldMapping:
      location: extension.P9001
      mobilePhone: person.phone.Mobile
      gender: person.gender
      contract.hoursPerWeek: employment.workingAmount.amountOfWork
`,
    );
    h = await startHarness(
      `
version: "mapping-e2e"
naming: { usernamePattern: given.surname }
targets:
  - id: ad
    kind: ad
    options:
      locationOUs: { "Gebouw B": "${BUILDING_B}" }
      attributes:
        mobile: "{{mobilePhone}}"
        title: "{{title}} ({{hoursPerWeek}} h)"
  - id: ad2
    kind: ad
    options:
      bindPasswordEnv: AD2_BIND_PASSWORD
      employeesOU: "OU=Employees,${SECOND}"
      disabledOU: "OU=Disabled,${SECOND}"
      groupsOU: "OU=Groups,${SECOND}"
      attributes:
        username: "b{{username}}"
        userPrincipalName: "b{{userPrincipalName}}"
        email: "b{{email}}"
rules:
  - name: all staff
    entitlements: { ad: { accountAccess: true }, ad2: { accountAccess: true } }
`,
      {
        TENURE_CONFIG_FILE: config,
        RAET_TEST_CLIENT_SECRET: 'sim-secret-do-not-log',
        AD2_BIND_PASSWORD: requireEnv('AD_BIND_PASSWORD'),
        TENURE_CORRELATION: 'bare',
      },
    );
    for (const ou of [SECOND, `OU=Employees,${SECOND}`, `OU=Disabled,${SECOND}`, `OU=Groups,${SECOND}`, BUILDING_B])
      await ensureOU(h.ldap, ou);
    // Accounts of earlier runs carry the same employee numbers.
    for (const id of ['100001', '100002', '100003'])
      for (const e of await accountsOf(h.ldap, id)) await h.ldap.del(e.dn);
  });
  after(async () => {
    await h?.stop();
    await sim?.stop();
  });

  test('two AD instances, the username pattern, a template from a mapped field, and a location move', async () => {
    const first = await h.poll(sourceId);
    assert.equal(first.outcome, 'accepted', JSON.stringify(first));

    // Sanne (100003): one enabled account in each instance's own OU.
    const both = await eventually(
      () => accountsOf(h.ldap, '100003'),
      (list) => list.length === 2 && list.every((e) => (Number(e.userAccountControl) & 2) === 0),
      120_000,
    );
    assert.equal(both.length, 2, JSON.stringify(both.map((e) => e.dn)));
    const inFirst = both.find((e) => under(e.dn, `OU=Employees,${TENURE_OU}`));
    const inSecond = both.find((e) => under(e.dn, `OU=Employees,${SECOND}`));
    assert.ok(inFirst && inSecond, JSON.stringify(both.map((e) => e.dn)));
    // given.surname: the known-as name in full, numbered when earlier runs hold it in the vault
    // (initial.surname gives s.dejong, sa.dejong, ..., then s.dejong2).
    const username = String(inFirst.sAMAccountName);
    assert.match(username, /^sanne\.dejong\d*$/);
    assert.equal(inSecond.sAMAccountName, `b${username}`, "the second instance's username template");
    assert.match(String(inSecond.userPrincipalName), new RegExp(`^b${username.replace('.', '\\.')}@`));
    assert.equal(inFirst.title, 'Systeembeheerder (36 h)', 'hours from the mapped employment field');

    // Jan (100001): the mobile number from the mapped phone reaches AD's mobile attribute.
    const jan = await eventually(
      () => accountsOf(h.ldap, '100001'),
      (list) => list.some((e) => e.mobile === '06-12345678'),
      60_000,
    );
    assert.ok(jan.some((e) => e.mobile === '06-12345678'));

    // HR fills Sanne's work location (a person extension field): one poll moves her AD account
    // to the mapped OU; the second instance has no location OUs and keeps a derived one.
    sim.data.extensionPersons = (
      sim as unknown as { pendingExtension: typeof sim.data.extensionPersons }
    ).pendingExtension;
    const second = await h.poll(sourceId);
    assert.ok(second.changed >= 1, JSON.stringify(second));
    const moved = await eventually(
      () => accountsOf(h.ldap, '100003'),
      (list) => list.some((e) => under(e.dn, BUILDING_B)),
      120_000,
    );
    assert.ok(
      moved.some((e) => under(e.dn, BUILDING_B)),
      JSON.stringify(moved.map((e) => e.dn)),
    );
    const succeeded = (rows: AuditRecord[], target: string, action: string) =>
      rows.some((a) => a.target === target && a.action === action && a.outcome === 'success');
    const audit = await auditOnce(
      h,
      `${sourceId}:100003`,
      (rows) => succeeded(rows, 'ad', 'move') && succeeded(rows, 'ad2', 'create'),
    );
    assert.ok(succeeded(audit, 'ad', 'move'));
    assert.ok(succeeded(audit, 'ad2', 'create'));

    // A mapped value that does not fit: the poll stores an error naming the record and the source
    // field, and Sanne keeps her last good data (and her accounts).
    (sim.data.persons.find((p) => p?.personCode === '100003') as Record<string, unknown>).gender = 'Onbekend-X';
    const third = await h.poll(sourceId);
    assert.ok(third.errors >= 1, JSON.stringify(third));
    assert.equal(third.removed, 0, JSON.stringify(third));
    const { rows } = await h.db.query<{ record_key: string; field: string; reason: string; origin: string }>(
      'select record_key, field, reason, origin from source_record_errors where poll_id = $1',
      [third.pollId],
    );
    assert.ok(
      rows.some(
        (r) =>
          r.record_key === '100003' &&
          r.field === 'person.gender' &&
          r.origin === '/iam/v1.0/persons' &&
          r.reason.startsWith('mapped to gender: unknown gender value'),
      ),
      JSON.stringify(rows),
    );
    assert.equal((await accountsOf(h.ldap, '100003')).length, 2);

    // Re-recording the replay fixture of a person with mapped fields (test/replay.test.ts):
    // TENURE_RECORD_MAPPED_FIXTURE=test/fixtures/histories/employee-v3-mapped-fields-moved.json
    const fixture = process.env.TENURE_RECORD_MAPPED_FIXTURE;
    if (fixture) {
      const HISTORY = proto.temporal.api.history.v1.History;
      const history = await h.client.workflow.getHandle(employeeWorkflowId(`${sourceId}:100003`)).fetchHistory();
      const json = HISTORY.toObject(HISTORY.fromObject(history), { longs: String, enums: String, bytes: String });
      writeFileSync(fixture, JSON.stringify(json, null, 1) + '\n');
    }
  });
});
