// Day-one passwords and one manager mail per event, on the real stack: Samba AD, the Entra ID
// (Graph) and TOPdesk simulators, Temporal, PostgreSQL and an SMTP sink. The password mail arrives
// at the enable moment (not at create), the password in it is the account's (an LDAP bind as the new
// user), and it is nowhere else: not in the workflow history, the vault (audit log included), the
// worker logs, the status or the metrics. The manager gets one "accounts ready" mail listing AD,
// Entra ID and TOPdesk.
import './support/collecting-runtime.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client as LdapClient } from 'ldapts';
import { reprovisionUpdate } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { collectedLogs } from './support/collecting-runtime.js';
import { requireEnv } from './support/env.js';
import { GraphSimulator } from './simulators/graph.js';
import { TopdeskSimulator } from './simulators/topdesk.js';
import type { SinkMessage } from './support/smtp-sink.js';
import { eventually, startHarness, wallClockIn, type Harness, type Row } from './support/tenure-harness.js';

const SECRET = 'day-one-secret-never-logged';
const uac = (u: Record<string, unknown> | undefined) => Number(u?.userAccountControl ?? 0);
const isPasswordMail = (m: SinkMessage) => /Inloggegevens voor|Sign-in details for/.test(m.subject);
const passwordIn = (m: SinkMessage) => /Initial password: (\S+)/.exec(m.text)?.[1];

/** Every string and byte array reachable from a (protobuf) object, as one text. */
function rawText(root: unknown): string {
  const parts: Buffer[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 60 || v === null || v === undefined) return;
    if (typeof v === 'string') parts.push(Buffer.from(v));
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v));
    else if (typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const x of Object.values(v as object)) walk(x, depth + 1);
    }
  };
  walk(root, 0);
  return Buffer.concat(parts).toString('utf8');
}

/** The LDAP bind of the new user: resolves to 'ok' or the directory's sub-code (773: must change, 52e: wrong password). */
async function bindAs(userPrincipalName: string, password: string): Promise<string> {
  const c = new LdapClient({ url: requireEnv('AD_URL'), tlsOptions: { rejectUnauthorized: false }, timeout: 10_000 });
  try {
    await c.bind(userPrincipalName, password);
    return 'ok';
  } catch (err) {
    return /data ([0-9a-f]+)/.exec((err as Error).message)?.[1] ?? (err as Error).message;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/** Tables of the vault holding the text anywhere in a row. */
async function vaultTablesHolding(h: Harness, text: string): Promise<string[]> {
  const tables = await h.db.query<{ name: string }>(
    `select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
  );
  const found: string[] = [];
  for (const { name } of tables.rows) {
    const r = await h.db.query(`select 1 from "${name.replace(/"/g, '""')}" t where strpos(t::text, $1) > 0 limit 1`, [
      text,
    ]);
    if ((r.rowCount ?? 0) > 0) found.push(name);
  }
  return found;
}

describe('day-one password at the enable moment, one manager mail for AD + Entra ID + TOPdesk', () => {
  let h: Harness;
  let graph: GraphSimulator;
  let topdesk: TopdeskSimulator;
  const enable = wallClockIn(45);

  before(async () => {
    graph = new GraphSimulator({ tenantId: 'tenant-d1', clientId: 'client-d1', clientSecret: SECRET });
    await graph.start();
    topdesk = new TopdeskSimulator({ appPassword: SECRET });
    await topdesk.start();
    h = await startHarness(
      `
version: "day-one-1"
timeZone: Europe/Amsterdam
defaults:
  timings: { enableAt: "${enable.time}", disableAt: "00:00", createSecondsBeforeStart: 20, deleteAfterDays: 36500 }
targets:
  - id: ad
    kind: ad
    options:
      dayOnePassword: { fallbackMailbox: servicedesk@tenure.test }
  - { id: entra, kind: entra }
  - { id: topdesk, kind: topdesk }
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff] }
      entra: { accountAccess: true }
      topdesk: { accountAccess: true }
`,
      {
        ENTRA_TENANT_ID: 'tenant-d1',
        ENTRA_CLIENT_ID: 'client-d1',
        ENTRA_CLIENT_SECRET: SECRET,
        GRAPH_URL: graph.graphUrl,
        LOGIN_URL: graph.url,
        TOPDESK_URL: topdesk.url,
        TOPDESK_USERNAME: 'tenure-api',
        TOPDESK_APP_PASSWORD: SECRET,
        TOPDESK_DEPARTMENT_WHEN_MISSING: 'create',
      },
    );
  });
  after(async () => {
    await h?.stop();
    await Promise.allSettled([graph?.stop(), topdesk?.stop()]);
  });

  test('the password is mailed at the enable moment, works, and is stored nowhere else; one mail lists three accounts', async () => {
    const manager = h.key();
    const hire = h.key();
    const hireKey = `${h.sourceId}:${hire}`;
    const rows: Row[] = [
      {
        key: manager,
        nick: 'Marieke',
        family: `Baas${manager}`,
        contract: `${manager}c1`,
        start: '2020-01-01',
        dept: 'ZORG',
        location: 'Utrecht',
      },
      {
        key: hire,
        nick: 'Noor',
        family: `Nieuw${hire}`,
        contract: `${hire}c1`,
        start: enable.date,
        dept: 'ZORG',
        location: 'Utrecht',
        manager,
      },
    ];
    h.writeExport(rows);
    await h.poll();

    // The manager (no manager of their own) gets AD enabled at once: the password goes to the fallback mailbox.
    const managerStatus = await eventually(
      () => h.status(`${h.sourceId}:${manager}`),
      (s) => s.accounts.some((a) => a.target === 'ad' && a.enabled) && Boolean(s.email),
      60_000,
    );
    const managerMail = String(managerStatus.email);
    await h.smtp.waitFor((m) => isPasswordMail(m) && m.to.includes('servicedesk@tenure.test'), 30_000);

    // Create moment: the hire's account exists, disabled, and no password mail went out for it.
    const created = await eventually(
      () => h.adUser(hire),
      (u) => u !== undefined,
      60_000,
    );
    assert.ok(created);
    const createdAt = Date.now();
    assert.ok(createdAt < enable.at, 'created before the enable moment');
    assert.equal(uac(created) & 2, 2, 'created disabled');
    const upn = String(created.userPrincipalName);
    assert.ok(!h.smtp.messages.some((m) => isPasswordMail(m) && m.to.includes(managerMail)), 'no password at create');

    // Enable moment: the manager gets the password, not before the enable moment.
    const mail = await h.smtp.waitFor((m) => isPasswordMail(m) && m.to.includes(managerMail), 60_000);
    assert.ok(
      mail.receivedAt.getTime() >= enable.at,
      `mailed at ${mail.receivedAt.toISOString()}, enable ${enable.time}`,
    );
    const password = passwordIn(mail);
    assert.ok(password && password.length >= 20, 'the mail carries the password');
    assert.match(mail.text, /must be changed at the first sign-in/);
    assert.ok(mail.text.includes(String(created.sAMAccountName)));

    // It is the account's password: the directory answers "must change" (773), not "wrong password" (52e).
    const enabled = await eventually(
      () => h.adUser(hire),
      (u) => (uac(u) & 2) === 0,
      30_000,
    );
    assert.equal(uac(enabled) & 2, 0);
    assert.equal(await bindAs(upn, `${password}x`), '52e', 'a wrong password is refused as such');
    assert.equal(await bindAs(upn, password), '773', 'the right password, with must-change-at-next-logon set');
    const read = await h.ldap.search(String(enabled?.dn), { scope: 'base', attributes: ['pwdLastSet'] });
    assert.equal(String(read.searchEntries[0]?.pwdLastSet), '0', 'pwdLastSet = 0');

    // One "accounts ready" mail for the three targets.
    const status = await eventually(
      () => h.status(hireKey),
      (s) => ['ad', 'entra', 'topdesk'].every((t) => s.accounts.some((a) => a.target === t && a.enabled)),
      90_000,
    );
    assert.equal(status.accounts.length, 3);
    const ready = await h.smtp.waitFor((m) => m.to.includes(managerMail) && /klaar|ready/i.test(m.subject), 30_000);
    for (const label of ['Active Directory (ad)', 'Entra ID (entra)', 'TOPdesk (topdesk)'])
      assert.ok(ready.text.includes(label), `${label} listed`);
    await new Promise((r) => setTimeout(r, 3_000));
    const readyMails = h.smtp.messages.filter((m) => m.to.includes(managerMail) && /klaar|ready/i.test(m.subject));
    assert.equal(readyMails.length, 1, 'one mail for the event');

    // The password is nowhere but in that mail.
    const history = await h.client.workflow.getHandle(employeeWorkflowId(hireKey)).fetchHistory();
    const historyText = rawText(history);
    assert.ok(historyText.includes('dayOnePassword'), 'the history was read (it holds the audit line)');
    assert.ok(!historyText.includes(password), 'not in the workflow history');
    assert.deepEqual(await vaultTablesHolding(h, password), [], 'not in any vault table (the audit log included)');
    assert.ok(!collectedLogs.join('\n').includes(password), 'not in the worker logs');
    const statusText = JSON.stringify(await h.status(hireKey));
    assert.ok(!statusText.includes(password), 'not in the status');
    assert.ok(!(await h.runtime.metrics.render()).includes(password), 'not in the metrics');

    // Audited without the password: set, must change, mailed to the manager.
    const audit = await h.audit(hireKey);
    const entry = audit.find((a) => a.target === 'ad' && a.action === 'dayOnePassword');
    assert.equal(entry?.outcome, 'success');
    assert.match(String(entry?.message), /must change at next logon.*mailed to the manager/);
    const delivery = await h.db.query(
      `select state, attempts, channel, must_change from day_one_passwords where person_key = $1`,
      [hireKey],
    );
    assert.deepEqual(delivery.rows, [{ state: 'sent', attempts: 1, channel: 'manager', must_change: true }]);

    // A full check later enables again: no second password.
    await h.client.workflow
      .getHandle(employeeWorkflowId(hireKey))
      .executeUpdate(reprovisionUpdate, { args: [{ requestedBy: 'test', reason: 'full check' }] });
    assert.equal(h.smtp.messages.filter((m) => isPasswordMail(m) && m.to.includes(managerMail)).length, 1);
  });
});

describe('day-one password without must-change, to a department mailbox; no recipient is reported', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness(`
version: "day-one-2"
timeZone: Europe/Amsterdam
defaults:
  timings: { enableAt: "00:00", disableAt: "00:00", createSecondsBeforeStart: 20, deleteAfterDays: 36500 }
targets:
  - id: ad
    kind: ad
    options:
      dayOnePassword: { mustChange: false, departmentMailboxes: { ICT: ict-onboarding@tenure.test } }
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff] }
`);
  });
  after(async () => {
    await h?.stop();
  });

  test('the mailed password binds as the new user; a person without a recipient is enabled and shows failing', async () => {
    const ict = h.key();
    const alone = h.key();
    h.writeExport([
      {
        key: ict,
        nick: 'Ivo',
        family: `Ict${ict}`,
        contract: `${ict}c1`,
        start: '2024-01-01',
        dept: 'ICT',
        location: 'Utrecht',
      },
      {
        key: alone,
        nick: 'Alle',
        family: `Een${alone}`,
        contract: `${alone}c1`,
        start: '2024-01-01',
        dept: 'ZORG',
        location: 'Utrecht',
      },
    ]);
    await h.poll();
    const mail = await h.smtp.waitFor((m) => isPasswordMail(m) && m.to.includes('ict-onboarding@tenure.test'), 60_000);
    const password = passwordIn(mail);
    assert.ok(password);
    assert.doesNotMatch(mail.text, /must be changed/);
    const user = await eventually(
      () => h.adUser(ict),
      (u) => u !== undefined && (uac(u) & 2) === 0,
      30_000,
    );
    assert.equal(await bindAs(String(user?.userPrincipalName), password), 'ok', 'the new user signs in with it');

    // No manager, no department mailbox, no fallback: enabled, the password not set, reported.
    const aloneKey = `${h.sourceId}:${alone}`;
    const status = await eventually(
      () => h.status(aloneKey),
      (s) => s.accounts.some((a) => a.enabled) && s.health === 'failed',
      60_000,
    );
    assert.equal(status.health, 'failed');
    assert.match(String(status.lastError?.message), /no manager on the primary contract and no fallbackMailbox/);
    const audit = await h.audit(aloneKey);
    assert.ok(audit.some((a) => a.action === 'dayOnePassword' && a.outcome === 'failed'));
    assert.ok(!h.smtp.messages.some((m) => isPasswordMail(m) && m.text.includes(`Een${alone}`)));
  });
});

describe('Entra ID: a Temporary Access Pass as the day-one access (Graph simulator)', () => {
  let h: Harness;
  let graph: GraphSimulator;

  before(async () => {
    graph = new GraphSimulator({ tenantId: 'tenant-tap', clientId: 'client-tap', clientSecret: SECRET });
    await graph.start();
    h = await startHarness(
      `
version: "day-one-3"
timeZone: Europe/Amsterdam
defaults:
  timings: { enableAt: "00:00", disableAt: "00:00", createSecondsBeforeStart: 20, deleteAfterDays: 36500 }
targets:
  - id: entra
    kind: entra
    options:
      dayOnePassword: { fallbackMailbox: it-desk@tenure.test, accessPassLifetimeMinutes: 240 }
rules:
  - name: all staff
    entitlements:
      entra: { accountAccess: true }
`,
      {
        ENTRA_TENANT_ID: 'tenant-tap',
        ENTRA_CLIENT_ID: 'client-tap',
        ENTRA_CLIENT_SECRET: SECRET,
        GRAPH_URL: graph.graphUrl,
        LOGIN_URL: graph.url,
      },
    );
  });
  after(async () => {
    await h?.stop();
    await graph?.stop();
  });

  test('the pass Graph issued is mailed at the enable, and is nowhere else', async () => {
    const key = h.key();
    const personKey = `${h.sourceId}:${key}`;
    h.writeExport([
      {
        key,
        nick: 'Tess',
        family: `Tap${key}`,
        contract: `${key}c1`,
        start: '2024-01-01',
        dept: 'ZORG',
        location: 'Utrecht',
      },
    ]);
    await h.poll();
    const mail = await h.smtp.waitFor((m) => isPasswordMail(m) && m.to.includes('it-desk@tenure.test'), 60_000);
    const pass = /Temporary Access Pass: (\S+)/.exec(mail.text)?.[1];
    const status = await eventually(
      () => h.status(personKey),
      (s) => s.accounts.some((a) => a.target === 'entra' && a.enabled),
      30_000,
    );
    const upn = status.accounts.find((a) => a.target === 'entra')?.locator;
    const user = [...graph.users.values()].find((u) => u.userPrincipalName === upn);
    assert.ok(user, 'the Entra ID account');
    const issued = graph.accessPasses.get(user.id);
    assert.ok(pass && issued, 'a pass was issued and mailed');
    assert.equal(pass, issued.temporaryAccessPass, 'the mailed pass is the one Graph holds for the user');
    assert.equal(issued.lifetimeInMinutes, 240);
    assert.match(mail.text, /Valid until: /);
    assert.doesNotMatch(mail.text, /must be changed/);

    const history = await h.client.workflow.getHandle(employeeWorkflowId(personKey)).fetchHistory();
    const historyText = rawText(history);
    assert.ok(historyText.includes('Temporary Access Pass issued'), 'the history was read (it holds the audit line)');
    assert.ok(!historyText.includes(pass), 'not in the workflow history');
    assert.deepEqual(await vaultTablesHolding(h, pass), [], 'not in the vault');
    assert.ok(!collectedLogs.join('\n').includes(pass), 'not in the worker logs');
    assert.ok(!JSON.stringify(await h.status(personKey)).includes(pass), 'not in the status');
    assert.ok(!(await h.runtime.metrics.render()).includes(pass), 'not in the metrics');
  });
});
