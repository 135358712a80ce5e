// Changes while an employee lives: mover, name change, withdrawn hire, rehire during retention,
// a start date moved while waiting, exclude/include, reprovision, bad input in the export, and a
// start on a daylight-saving night. Real Temporal, Samba AD and PostgreSQL; timings in seconds.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change } from 'ldapts';
import { excludeUpdate, includeUpdate, reprovisionUpdate } from '../common/messages.js';
import { planPerson } from '../activities/lifecycle.js';
import { addDays } from '../domain/dates.js';
import { parseRules } from '../domain/rules.js';
import { Person, employeeWorkflowId } from '../domain/model.js';
import type { AuditRecord } from '../vault/audit.js';
import {
  UAC_DISABLED,
  auditOnce,
  eventually,
  startHarness,
  wallClockIn,
  type Harness,
  type Row,
} from './support/tenure-harness.js';

const uac = (u: Record<string, unknown> | undefined) => Number(u?.userAccountControl ?? 0);
const list = (v: unknown) => ([] as string[]).concat((v as string[] | string | undefined) ?? []);
const groupsOf = (u: Record<string, unknown> | undefined) =>
  list(u?.memberOf)
    .map((dn) => /^CN=([^,]+)/.exec(dn)?.[1] ?? dn)
    .sort();

describe('employee changes against Samba AD', () => {
  let h: Harness;
  let enable: ReturnType<typeof wallClockIn>;
  const today = () => enable.date;

  before(async () => {
    enable = wallClockIn(35);
    h = await startHarness(`
version: "changes-1"
timeZone: Europe/Amsterdam
defaults:
  timings:
    enableAt: "${enable.time}"
    disableAt: "00:00"
    createSecondsBeforeStart: 20
    deleteAfterSeconds: 259200
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
        dynamicPermissions: ["dept-{department.code}"]
`);
  });
  after(async () => {
    await h?.stop();
  });

  test('mover, name change, withdrawn hire, rehire, moved start date, exclude/include and reprovision', async () => {
    const k = {
      mover: h.key(),
      renamed: h.key(),
      withdrawn: h.key(),
      rehire: h.key(),
      moved: h.key(),
      frozen: h.key(),
    };
    const staff = (key: string, extra: Partial<Row> = {}): Row => ({
      key,
      nick: 'Test',
      family: `Persoon${key}`,
      contract: `${key}c1`,
      start: '2022-01-01',
      dept: 'ZORG',
      location: 'Utrecht',
      ...extra,
    });
    const v1: Row[] = [
      staff(k.mover),
      staff(k.renamed, { nick: 'Noor', family: `Groot${k.renamed}`, prefix: 'de' }),
      staff(k.withdrawn, { start: today() }),
      staff(k.rehire),
      staff(k.moved, { start: addDays(today(), 30) }),
      staff(k.frozen),
    ];
    h.writeExport(v1);
    assert.equal((await h.poll()).signalled, 6);

    // Everyone in service has an enabled account; the withdrawn hire is pre-created (disabled) before its start.
    for (const key of [k.mover, k.renamed, k.rehire, k.frozen]) {
      await eventually(
        () => h.adUser(key),
        (u) => u !== undefined && (uac(u) & UAC_DISABLED) === 0,
        60_000,
      );
    }
    const precreated = await eventually(
      () => h.adUser(k.withdrawn),
      (u) => u !== undefined,
      60_000,
    );
    assert.ok(precreated, 'hire pre-created before its start');
    assert.equal(await h.adUser(k.moved), undefined, 'a hire next month has no account yet');
    const renamedBefore = await h.adUser(k.renamed);
    const oldMail = String(renamedBefore?.mail);
    const username = String(renamedBefore?.sAMAccountName);

    // Freeze one person before the HR changes arrive.
    const frozen = h.client.workflow.getHandle(employeeWorkflowId(`${h.sourceId}:${k.frozen}`));
    const excluded = await frozen.executeUpdate(excludeUpdate, {
      args: [{ requestedBy: 'test-admin', reason: 'legal hold' }],
    });
    assert.equal(excluded.excluded, true);

    // Version 2 of the export: mover, name change, hire withdrawn, leaver, start date moved earlier, frozen person moves.
    const v2: Row[] = [
      staff(k.mover, { dept: 'ICT', location: 'Zeist' }),
      staff(k.renamed, {
        nick: 'Noor',
        family: `Groot${k.renamed}`,
        prefix: 'de',
        partner: `Meer${k.renamed}`,
        partnerPrefix: 'van der',
        convention: 'P',
      }),
      staff(k.rehire, { end: addDays(today(), -2) }),
      staff(k.moved, { start: today() }),
      staff(k.frozen, { dept: 'FIN' }),
    ];
    h.writeExport(v2);
    const s2 = await h.poll();
    assert.deepEqual([s2.changed, s2.removed], [5, 1]);

    // Mover: new department group granted before the old one is revoked, account moved to the new location's OU.
    const moved = await eventually(
      () => h.adUser(k.mover),
      (u) => groupsOf(u).includes('dept-ICT') && !groupsOf(u).includes('dept-ZORG'),
      60_000,
    );
    assert.ok(moved);
    assert.deepEqual(groupsOf(moved), ['all-staff', 'dept-ICT']);
    assert.match(String(moved.dn), /OU=Zeist,OU=Employees,OU=Tenure,/);
    const grantOf = (rows: AuditRecord[]) =>
      rows.find((a) => a.action === 'grantPermission' && a.message.includes('dept-ICT'))?.id;
    const revokeOf = (rows: AuditRecord[]) =>
      rows.find((a) => a.action === 'revokePermission' && a.message.includes('dept-ZORG'))?.id;
    const moverAudit = await auditOnce(h, `${h.sourceId}:${k.mover}`, (rows) => !!grantOf(rows) && !!revokeOf(rows));
    const grantId = grantOf(moverAudit);
    const revokeId = revokeOf(moverAudit);
    assert.ok(grantId && revokeId && grantId < revokeId, 'grant before revoke');

    // Name change: new display name and e-mail, CN renamed, old address kept as alias, username unchanged.
    const renamed = await eventually(
      () => h.adUser(k.renamed),
      (u) => String(u?.displayName).startsWith('Noor van der Meer'),
      60_000,
    );
    assert.ok(renamed);
    assert.equal(renamed.displayName, `Noor van der Meer${k.renamed}`);
    assert.notEqual(String(renamed.mail), oldMail);
    assert.ok(list(renamed.proxyAddresses).includes(`smtp:${oldMail}`), 'old address kept as alias');
    assert.ok(list(renamed.proxyAddresses).includes(`SMTP:${renamed.mail}`));
    assert.equal(renamed.sAMAccountName, username, 'username unchanged by a name change');
    assert.match(String(renamed.dn), /^CN=Noor van der Meer/);

    // Withdrawn hire: the pre-created account is deleted and the workflow ends rescinded.
    await eventually(
      () => h.adUser(k.withdrawn),
      (u) => u === undefined,
      60_000,
    );
    const withdrawn = (await h.client.workflow
      .getHandle(employeeWorkflowId(`${h.sourceId}:${k.withdrawn}`))
      .result()) as { state: string };
    assert.equal(withdrawn.state, 'rescinded');

    // Leaver: disabled (the end date lies in the past).
    await eventually(
      () => h.adUser(k.rehire),
      (u) => (uac(u) & UAC_DISABLED) === UAC_DISABLED,
      60_000,
    );
    assert.equal(
      (
        await eventually(
          () => h.status(`${h.sourceId}:${k.rehire}`),
          (s) => s.state === 'leaver',
        )
      ).state,
      'leaver',
    );

    // Start date moved from next month to today: created now, enabled at today's moment and not before.
    const movedEnabled = await eventually(
      () => h.adUser(k.moved),
      (u) => u !== undefined && (uac(u) & UAC_DISABLED) === 0,
      90_000,
    );
    assert.ok(movedEnabled);
    const movedAudit = await auditOnce(h, `${h.sourceId}:${k.moved}`, (rows) =>
      rows.some((a) => a.action === 'enable'),
    );
    assert.ok(
      movedAudit.find((a) => a.action === 'enable')!.at.getTime() >= enable.at,
      'enabled at the new start moment',
    );

    // Excluded: nothing changed in AD although HR moved the person.
    assert.deepEqual(groupsOf(await h.adUser(k.frozen)), ['all-staff', 'dept-ZORG']);
    assert.equal((await h.status(`${h.sourceId}:${k.frozen}`)).health, 'excluded');
    // Include: catches up at once.
    const included = await frozen.executeUpdate(includeUpdate, { args: [{ requestedBy: 'test-admin' }] });
    assert.ok(included.actions.some((a) => a.action === 'grantPermission' && a.detail.includes('dept-FIN')));
    assert.deepEqual(groupsOf(await h.adUser(k.frozen)), ['all-staff', 'dept-FIN']);

    // Rehire during retention: a new contract from today re-enables the same account with the same username.
    const leaverUser = await h.adUser(k.rehire);
    h.writeExport([
      ...v2.filter((r) => r.key !== k.rehire),
      staff(k.rehire, { end: addDays(today(), -2) }),
      staff(k.rehire, { contract: `${k.rehire}c2`, start: today() }),
    ]);
    await h.poll();
    const rehired = await eventually(
      () => h.adUser(k.rehire),
      (u) => (uac(u) & UAC_DISABLED) === 0,
      90_000,
    );
    assert.ok(rehired);
    assert.equal(rehired.sAMAccountName, leaverUser?.sAMAccountName, 'same username after rehire');
    assert.equal(
      Buffer.from(rehired.objectGUID as Buffer).toString('hex'),
      Buffer.from(leaverUser?.objectGUID as Buffer).toString('hex'),
      'the same account',
    );
    assert.deepEqual(groupsOf(rehired), ['all-staff', 'dept-ZORG']);

    // Reprovision repairs drift: a group removed by hand in AD comes back, and the update returns what it did.
    const mover = await h.adUser(k.mover);
    await h.ldap.modify(
      `CN=all-staff,OU=Groups,OU=Tenure,${process.env.AD_BASE_DN}`,
      new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [String(mover?.dn)] }) }),
    );
    const result = await h.client.workflow
      .getHandle(employeeWorkflowId(`${h.sourceId}:${k.mover}`))
      .executeUpdate(reprovisionUpdate, { args: [{ requestedBy: 'test-admin', reason: 'drift' }] });
    assert.ok(
      result.actions.some((a) => a.action === 'grantPermission' && a.detail.includes('all-staff')),
      JSON.stringify(result.actions),
    );
    assert.deepEqual(groupsOf(await h.adUser(k.mover)), ['all-staff', 'dept-ICT']);
    const reprovisionAudit = await h.audit(`${h.sourceId}:${k.mover}`);
    assert.ok(reprovisionAudit.some((a) => a.cause.startsWith('reprovision by test-admin: drift')));
  });

  test('a start on the spring-forward night at 02:30 is planned at the first valid instant', () => {
    const rules = parseRules(
      `version: dst-1\ntimeZone: Europe/Amsterdam\ndefaults: { timings: { enableAt: "02:30" } }\ntargets: [{ id: ad, kind: ad }]\nrules: [{ name: all, entitlements: { ad: { accountAccess: true } } }]\n`,
    );
    const person = Person.parse({
      source: 'file',
      key: 'dst1',
      name: { nickName: 'Lente', familyName: 'Klok' },
      contracts: [{ id: 'c1', startDate: '2027-03-28', department: { code: 'ZORG' } }],
    });
    const plan = planPerson(rules, person, Date.parse('2027-03-01T12:00:00Z'));
    const at = (action: string) => plan.upcoming.find((a) => a.action === action);
    assert.equal(at('enableAccount')?.at, '2027-03-28T01:00:00.000Z', '02:30 does not exist that night: 03:00 CEST');
    assert.equal(at('enableAccount')?.local, '2027-03-28 03:00');
    assert.equal(at('createAccount')?.at, '2027-03-13T23:00:00.000Z', '14 days before, at 00:00 CET');
    assert.equal(
      plan.targets[0]?.enableAt,
      Date.parse('2027-03-28T01:00:00Z'),
      'the workflow sleeps until this instant',
    );
  });

  test('a malformed export: clear per-record errors, and the valid records are provisioned', async () => {
    const good = h.key();
    const bad = h.key();
    const header = (await import('./support/tenure-harness.js')).CSV_HEADER;
    const longName = 'x'.repeat(10_000);
    const lines = [
      header,
      `${good};Ann;Ann;A.;;"O'Neil, Jr. + \\ ""#";;;B;;Utrecht;${good}c1;2022-01-01;;ZORG;Zorg;MW;Medewerker;Utrecht;;Tenure;1;1`,
      `${bad};Bad;Bad;B.;;Date;;;B;;Utrecht;${bad}c1;2022-02-30;;ZORG;Zorg;MW;Medewerker;Utrecht;;Tenure;1;1`,
      `${bad}x;${longName};L;L.;;Long;;;B;;Utrecht;${bad}xc1;2022-01-01;;ZORG;Zorg;MW;Medewerker;Utrecht;;Tenure;1;1`,
      `${bad}y;Ctl\u0007;C;C.;;Ctl;;;B;;Utrecht;${bad}yc1;2022-01-01;;ZORG;Zorg;MW;Medewerker;Utrecht;;Tenure;1;1`,
      `${good};Ann;Ann;A.;;Other;;;B;;Utrecht;${good}c2;2022-01-01;;ZORG;Zorg;MW;Medewerker;Utrecht;;Tenure;1;1`,
    ];
    const fs = await import('node:fs');
    fs.writeFileSync(`${h.dir}/hr-export.csv`, lines.join('\n') + '\n');
    const summary = await h.poll();
    assert.ok(summary.errors >= 3, `errors recorded: ${JSON.stringify(summary)}`);
    const errors = await h.db.query<{ line: number; record_key: string; field: string; reason: string }>(
      'select line, record_key, field, reason from source_record_errors where source = $1 order by line, field',
      [h.sourceId],
    );
    const byKey = (key: string) => errors.rows.filter((e) => e.record_key === key);
    assert.ok(
      byKey(bad).some((e) => e.field === 'start_date' && e.line === 3),
      JSON.stringify(errors.rows),
    );
    assert.ok(byKey(`${bad}x`).some((e) => e.field === 'nick_name' && /longer than/.test(e.reason)));
    assert.ok(byKey(`${bad}y`).some((e) => e.field === 'nick_name' && /control/.test(e.reason)));
    // The person whose two rows disagree is rejected as a whole; nobody else is affected.
    assert.ok(byKey(good).length > 0);

    // Fix the good person's rows: LDAP special characters in the name are provisioned as they are.
    fs.writeFileSync(`${h.dir}/hr-export.csv`, [header, lines[1]].join('\n') + '\n');
    await h.poll();
    const user = await eventually(
      () => h.adUser(good),
      (u) => u !== undefined && (uac(u) & UAC_DISABLED) === 0,
      60_000,
    );
    assert.ok(user);
    assert.equal(user.displayName, `Ann O'Neil, Jr. + \\ "#`);
  });
});
