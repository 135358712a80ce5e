// The employee lifecycle end to end: HR export → poll → employee workflows → Samba AD, the audit
// log and the manager's mailbox, with timings shortened to seconds by the rules file.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addDays } from '../domain/dates.js';
import {
  UAC_DISABLED,
  eventually,
  startHarness,
  wallClockIn,
  type Harness,
  type Row,
} from './support/tenure-harness.js';
import { allStaffRules } from './support/rules-fixtures.js';

function rules(enableAt: string, disableAt: string): string {
  return allStaffRules('test-1', { enableAt, disableAt, createSecondsBeforeStart: 20, deleteAfterSeconds: 12 });
}

const uac = (u: Record<string, unknown> | undefined) => Number(u?.userAccountControl ?? 0);
const groupsOf = (u: Record<string, unknown> | undefined) =>
  ([] as string[])
    .concat((u?.memberOf as string[] | string | undefined) ?? [])
    .map((dn) => /^CN=([^,]+)/.exec(dn)?.[1] ?? dn)
    .sort();

describe('employee lifecycle against Samba AD', () => {
  let h: Harness;
  let enable: ReturnType<typeof wallClockIn>;
  let disable: ReturnType<typeof wallClockIn>;

  before(async () => {
    enable = wallClockIn(45);
    disable = wallClockIn(60);
    h = await startHarness(rules(enable.time, disable.time));
  });
  after(async () => {
    await h?.stop();
  });

  test('hire, start, leaver and deletion move through every state, with AD, audit and mail to match', async () => {
    const manager = h.key();
    const hire = h.key();
    const leaver = h.key();
    const rows: Row[] = [
      {
        key: manager,
        nick: 'Marieke',
        family: 'Bakker',
        email: `m.bakker.${manager}@tenure.test`,
        contract: `${manager}c1`,
        start: '2020-01-01',
        dept: 'ZORG',
        location: 'Utrecht',
      },
      {
        key: hire,
        nick: 'Zoë',
        prefix: 'van den',
        family: "D'Angelo",
        contract: `${hire}c1`,
        start: enable.date,
        dept: 'ZORG',
        deptName: 'Zorg, Wijk + Thuis',
        location: 'Utrecht',
        manager,
      },
      {
        key: leaver,
        nick: 'Bram',
        family: 'Jansen',
        contract: `${leaver}c1`,
        start: '2021-03-01',
        end: addDays(disable.date, -1),
        dept: 'ICT',
        location: 'Utrecht',
        manager,
      },
    ];
    h.writeExport(rows);
    const summary = await h.poll();
    assert.equal(summary.outcome, 'accepted');
    assert.equal(summary.added, 3);
    assert.equal(summary.signalled, 3);

    // Before the create moment the hire is pending: no account.
    const pending = await eventually(
      () => h.status(`${h.sourceId}:${hire}`),
      (s) => s.state === 'pending',
      15_000,
    );
    assert.equal(pending.state, 'pending');
    assert.equal(await h.adUser(hire), undefined);

    // The leaver (still employed until tonight's moment) is active now.
    const leaverActive = await eventually(
      () => h.adUser(leaver),
      (u) => u !== undefined && (uac(u) & UAC_DISABLED) === 0,
      30_000,
    );
    assert.ok(leaverActive, 'leaver account exists and is enabled before the disable moment');

    // Create moment: the hire's account exists, disabled, in the location OU, with the groups.
    const created = await eventually(
      () => h.adUser(hire),
      (u) => u !== undefined,
      40_000,
    );
    assert.ok(created);
    if (Date.now() < enable.at - 1000) assert.equal(uac(created) & UAC_DISABLED, UAC_DISABLED, 'created disabled');
    assert.equal(created.displayName, "Zoë van den D'Angelo");
    assert.match(String(created.dn), /OU=Utrecht,OU=Employees,OU=Tenure,/);
    assert.equal(created.department, 'Zorg, Wijk + Thuis');
    // Earlier runs on the same directory hold z.vandendangelo: uniqueness iterates.
    assert.match(String(created.sAMAccountName), /^z[a-z]*\.vandendangelo\d*$/);
    const afterCreate = await eventually(
      () => h.status(`${h.sourceId}:${hire}`),
      (st) => ['prehire', 'active'].includes(st.state),
      20_000,
    );
    assert.ok(
      ['prehire', 'active'].includes(afterCreate.state),
      'the workflow publishes prehire (or active, when late)',
    );

    // The manager is mailed at the address Tenure issued to the manager's own account.
    const managerMail = String((await h.status(`${h.sourceId}:${manager}`)).email);
    assert.match(managerMail, /^m[a-z]*\.bakker\d*@tenure\.test$/);

    // Enable moment: enabled, exactly at or after the configured second, groups intact, manager mailed.
    const enabled = await eventually(
      () => h.adUser(hire),
      (u) => (uac(u) & UAC_DISABLED) === 0,
      40_000,
    );
    assert.ok(Date.now() >= enable.at, 'not enabled early');
    assert.ok(enabled);
    assert.deepEqual(groupsOf(enabled), ['all-staff', 'dept-ZORG']);
    assert.match(String(enabled.manager), /^CN=Marieke Bakker[ ,]/);
    const ready = await h.smtp.waitFor((m) => m.to.includes(managerMail) && /klaar|ready/i.test(m.subject), 20_000);
    assert.doesNotMatch(ready.text, /wachtwoord:|password:/i);
    assert.equal(
      (
        await eventually(
          () => h.status(`${h.sourceId}:${hire}`),
          (x) => x.state === 'active',
          20_000,
        )
      ).state,
      'active',
    );

    // Disable moment: the leaver is disabled, moved to the disabled OU, groups revoked, manager mailed.
    // Disable flips the flag, then moves the account: wait for both (one activity, two LDAP writes).
    const disabled = await eventually(
      () => h.adUser(leaver),
      (u) => (uac(u) & UAC_DISABLED) === UAC_DISABLED && /OU=Disabled,OU=Tenure,/.test(String(u?.dn)),
      40_000,
    );
    assert.ok(Date.now() >= disable.at, 'not disabled early');
    assert.ok(disabled);
    assert.match(String(disabled.dn), /OU=Disabled,OU=Tenure,/);
    assert.deepEqual(groupsOf(disabled), []);
    await h.smtp.waitFor((m) => m.to.includes(managerMail) && m.text.includes('Bram'), 20_000);
    assert.equal(
      (
        await eventually(
          () => h.status(`${h.sourceId}:${leaver}`),
          (x) => x.state === 'leaver',
          20_000,
        )
      ).state,
      'leaver',
    );

    // Retention over: the account is deleted and the workflow completes.
    await eventually(
      () => h.adUser(leaver),
      (u) => u === undefined,
      40_000,
    );
    const handle = h.client.workflow.getHandle(`employee-${h.sourceId}:${leaver}`);
    const result = (await handle.result()) as { state: string };
    assert.equal(result.state, 'deleted');

    // The audit log tells the story with causes.
    const hireAudit = await h.audit(`${h.sourceId}:${hire}`);
    const actions = hireAudit.map((a) => `${a.target}:${a.action}:${a.outcome}`);
    for (const expected of [
      'ad:create:success',
      'ad:grantPermission:success',
      'ad:enable:success',
      'mail:notifyManagerAccountReady:success',
    ]) {
      assert.ok(actions.includes(expected), `audit has ${expected}: ${actions.join(', ')}`);
    }
    assert.ok(hireAudit.every((a) => a.cause.length > 0 && a.workflowId === `employee-${h.sourceId}:${hire}`));
    assert.ok(hireAudit.some((a) => a.cause.includes('timer: enable ad account')));
    const createdAt = hireAudit.find((a) => a.action === 'create')!.at.getTime();
    const enabledAt = hireAudit.find((a) => a.action === 'enable')!.at.getTime();
    assert.ok(createdAt < enable.at, 'created (prehire) before the enable moment');
    assert.ok(enabledAt >= enable.at, 'enabled at the enable moment, not before');
    const leaverAudit = (await h.audit(`${h.sourceId}:${leaver}`)).map((a) => `${a.action}:${a.outcome}`);
    for (const expected of ['disable:success', 'revokePermission:success', 'delete:success']) {
      assert.ok(leaverAudit.includes(expected), `leaver audit has ${expected}: ${leaverAudit.join(', ')}`);
    }
  });
});
