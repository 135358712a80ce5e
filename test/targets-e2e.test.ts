// Every target at once through the employee workflow: Samba AD (directory, first) and the
// dependents HelloID, Entra ID (Graph simulator), TOPdesk (simulator) and Spend Cloud (tables in
// PostgreSQL, CSV over the real sshd). Hire, start, mover, leaver; a dependent that is down does
// not hold up the others and converges when it is back. A withdrawn hire is deleted everywhere, each
// target's account read again first.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ensureExportSchedules } from '../workers/schedules.js';
import { requireEnv } from './support/env.js';
import { GraphSimulator } from './simulators/graph.js';
import { HelloIdSimulator } from './simulators/helloid.js';
import { TopdeskSimulator } from './simulators/topdesk.js';
import { allTargetsRules } from './support/rules-fixtures.js';
import { auditOnce, eventually, startHarness, type Harness, type Row } from './support/tenure-harness.js';

const SECRET = 'e2e-secret-never-logged';
const RULES = allTargetsRules(
  'targets-e2e',
  '{ accountAccess: true, onStart: ["ticket:onboarding"], onLeave: ["ticket:offboarding"] }',
);

describe('all targets through the employee workflow', () => {
  let h: Harness;
  let helloid: HelloIdSimulator;
  let graph: GraphSimulator;
  let topdesk: TopdeskSimulator;

  before(async () => {
    helloid = new HelloIdSimulator(undefined, { apiSecret: SECRET });
    await helloid.start();
    graph = new GraphSimulator({
      tenantId: 'tenant-e2e',
      clientId: 'client-e2e',
      clientSecret: SECRET,
      retryAfterSec: 0.05,
    });
    await graph.start();
    topdesk = new TopdeskSimulator({ appPassword: SECRET });
    await topdesk.start();
    h = await startHarness(RULES, {
      HELLOID_URL: helloid.url,
      HELLOID_API_KEY: 'sim-key',
      HELLOID_API_SECRET: SECRET,
      ENTRA_TENANT_ID: 'tenant-e2e',
      ENTRA_CLIENT_ID: 'client-e2e',
      ENTRA_CLIENT_SECRET: SECRET,
      GRAPH_URL: graph.graphUrl,
      LOGIN_URL: graph.url,
      ENTRA_DELETE_MODE: 'permanent',
      TOPDESK_URL: topdesk.url,
      TOPDESK_USERNAME: 'tenure-api',
      TOPDESK_APP_PASSWORD: SECRET,
      TOPDESK_DEPARTMENT_WHEN_MISSING: 'create',
      TOPDESK_TICKETS: JSON.stringify({
        onboarding: {
          type: 'change',
          templateNumber: 'ws 006',
          briefDescription: 'Laptop voor {{dynamicName}}',
          request: 'Personeelsnummer {{employeeNumber}}',
          changeType: 'Simple',
          category: 'Middelen',
          priority: 'P1',
        },
        offboarding: {
          type: 'incident',
          briefDescription: 'Inname laptop {{dynamicName}}',
          request: 'Personeelsnummer {{employeeNumber}}',
          operatorGroup: 'werkplekbeheer',
          category: 'Accounts',
          subcategory: 'Nieuw',
          callType: 'Aanvraag',
          status: 'secondLine',
        },
      }),
    });
  });
  after(async () => {
    await h?.stop();
    await Promise.allSettled([helloid?.stop(), graph?.stop(), topdesk?.stop()]);
  });

  test('hire, mover and leaver reach every target; one target down does not hold up the others', async () => {
    const key = h.key();
    const personKey = `${h.sourceId}:${key}`;
    const row = (over: Partial<Row> = {}): Row => ({
      key,
      nick: 'Evi',
      family: `Alle${key}`,
      prefix: 'van',
      contract: `${key}c1`,
      start: '2023-01-01',
      dept: 'ZORG',
      location: 'Utrecht',
      ...over,
    });

    // TOPdesk is down when the person arrives: AD and the other dependents go ahead.
    await topdesk.stop();
    h.writeExport([row()]);
    await h.poll();
    const ad = await eventually(
      () => h.adUser(key),
      (u) => u !== undefined && (Number(u.userAccountControl) & 2) === 0,
      60_000,
    );
    assert.ok(ad);
    const status = await eventually(
      () => h.status(personKey),
      (s) => ['ad', 'helloid', 'entra', 'spendcloud'].every((t) => s.accounts.some((a) => a.target === t && a.enabled)),
      90_000,
    );
    assert.ok(!status.accounts.some((a) => a.target === 'topdesk'), 'TOPdesk cannot have it yet');
    await topdesk.start();
    const converged = await eventually(
      () => h.status(personKey),
      (s) => s.accounts.some((a) => a.target === 'topdesk' && a.enabled),
      120_000,
      1_000,
    );
    assert.ok(converged.accounts.some((a) => a.target === 'topdesk'));

    // The username and e-mail fixed by AD are the ones every dependent got.
    const accounts = Object.fromEntries(converged.accounts.map((a) => [a.target, a]));
    assert.equal(accounts.helloid?.locator, ad.userPrincipalName);
    assert.equal(accounts.entra?.locator, ad.userPrincipalName);
    assert.deepEqual(accounts.entra?.permissions, ['dept-ZORG']);

    // Spend Cloud: the daily export schedule the worker sets up (workers/main.ts), run now through
    // the worker to the real sshd, carries the person and one role per active contract.
    const before = await h.db.query(`select coalesce(max(id), 0)::int as id from spendcloud_exports`);
    await ensureExportSchedules(h.client, [{ id: 'spendcloud', at: '06:00', timeZone: 'Europe/Amsterdam' }], {
      taskQueue: `tenure-test-${h.sourceId}`,
    });
    const schedule = h.client.schedule.getHandle('export-spendcloud');
    try {
      await schedule.trigger();
      const exported = await eventually(
        () =>
          h.db.query(`select outcome, persons from spendcloud_exports where target = 'spendcloud' and id > $1`, [
            before.rows[0].id,
          ]),
        (r) => r.rows.some((x) => x.outcome !== 'running'),
        120_000,
        500,
      );
      assert.equal(exported.rows[0]?.outcome, 'uploaded', 'the scheduled export ran and uploaded');
      assert.ok(exported.rows[0]?.persons >= 1);
    } finally {
      await schedule.delete().catch(() => undefined);
    }
    const dir = requireEnv('SFTP_UPLOAD_DIR');
    const persons = parse(readFileSync(join(dir, 'ProActive.csv')), {
      bom: true,
      delimiter: ';',
      columns: true,
    }) as Record<string, string>[];
    assert.ok(
      persons.some((p) => Object.values(p).includes(String(ad.mail))),
      'the person is in the persons file',
    );

    // Mover: every target follows the new department.
    h.writeExport([row({ dept: 'ICT', location: 'Den Haag' })]);
    await h.poll();
    const moved = await eventually(
      () => h.status(personKey),
      (s) =>
        JSON.stringify(s.accounts.find((a) => a.target === 'entra')?.permissions) === '["dept-ICT"]' &&
        JSON.stringify(s.accounts.find((a) => a.target === 'ad')?.permissions) === '["all-staff","dept-ICT"]',
      90_000,
    );
    assert.deepEqual(moved.accounts.find((a) => a.target === 'entra')?.permissions, ['dept-ICT']);
    assert.deepEqual(moved.accounts.find((a) => a.target === 'ad')?.permissions, ['all-staff', 'dept-ICT']);

    // Leaver: every account is disabled.
    h.writeExport([row({ dept: 'ICT', location: 'Den Haag', end: '2024-01-01' })]);
    await h.poll();
    const left = await eventually(
      () => h.status(personKey),
      (s) => s.state === 'leaver' && s.accounts.every((a) => !a.enabled),
      90_000,
    );
    assert.equal(left.accounts.length, 5);

    // TOPdesk tickets: one onboarding change at the start, one offboarding incident at the end,
    // however often the passes ran.
    await eventually(
      async () => topdesk.incidents.length,
      (n) => n >= 1,
      60_000,
    );
    assert.equal(topdesk.changes.length, 1, 'one onboarding change');
    assert.equal(topdesk.incidents.length, 1, 'one offboarding incident');

    const TARGETS = ['ad', 'helloid', 'entra', 'topdesk', 'spendcloud'];
    const audit = await auditOnce(h, personKey, (rows) =>
      TARGETS.every((target) => rows.some((a) => a.target === target && a.action === 'disable')),
    );
    for (const target of TARGETS) {
      assert.ok(
        audit.some((a) => a.target === target && a.action === 'create' && a.outcome === 'success'),
        `${target} create audited`,
      );
      assert.ok(
        audit.some((a) => a.target === target && a.action === 'disable'),
        `${target} disable audited`,
      );
    }
    assert.ok(!JSON.stringify(audit).includes(SECRET));
  });

  test('a withdrawn hire: every target deletes the account it created, after reading it again', async () => {
    const key = h.key();
    const personKey = `${h.sourceId}:${key}`;
    const start = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const row: Row = {
      key,
      nick: 'Wim',
      family: `Weg${key}`,
      contract: `${key}c1`,
      start,
      dept: 'ZORG',
      location: 'Baarn',
    };
    h.writeExport([row]);
    await h.poll();
    // Inside the creation window: created (disabled) in every target before the start date.
    await eventually(
      () => h.status(personKey),
      (s) => s.accounts.length === 5 && s.accounts.every((a) => !a.enabled),
      120_000,
      1_000,
    );
    // An empty export is always held, so someone else (not yet in any creation window) stays in it.
    const filler: Row = { ...row, key: h.key(), contract: 'filler-c1', start: '2099-01-01' };
    h.writeExport([filler]);
    await h.poll();
    const gone = await eventually(
      () => h.status(personKey),
      (s) => s.state === 'rescinded' && s.accounts.length === 0,
      120_000,
      1_000,
    );
    assert.equal(gone.state, 'rescinded');
    const audit = await h.audit(personKey);
    for (const target of ['ad', 'helloid', 'entra', 'topdesk', 'spendcloud'])
      assert.ok(
        audit.some((a) => a.target === target && a.action === 'delete' && a.outcome === 'success'),
        `${target} delete audited`,
      );
    const td = [...topdesk.persons.values()].find(
      (p) =>
        (p as { employeeNumber?: string }).employeeNumber === personKey ||
        (p as { employeeNumber?: string }).employeeNumber === key,
    ) as { mainframeLoginName?: string } | undefined;
    assert.equal(
      td?.mainframeLoginName,
      'Deleted by Tenure',
      'TOPdesk person marked deleted (TOPdesk has no hard delete)',
    );
  });
});
