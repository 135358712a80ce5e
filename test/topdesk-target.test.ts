import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import type { AccountReference, ActionResult, DesiredAccount } from '../connectors/types.js';
import {
  TopdeskTargetConnector,
  TopdeskUnavailableError,
  ticketExternalNumber,
  ticketPermission,
  topdeskConfigFromEnv,
  type TopdeskConfigInput,
} from '../connectors/targets/topdesk.js';
import { TopdeskSimulator, type TopdeskSimulatorOptions } from './simulators/topdesk.js';

const PASSWORD = 'sim-app-password-do-not-log';
const sims: TopdeskSimulator[] = [];
const connectors: TopdeskTargetConnector[] = [];

async function start(opts: TopdeskSimulatorOptions = {}) {
  const sim = new TopdeskSimulator({ appPassword: PASSWORD, ...opts });
  sims.push(sim);
  await sim.start();
  return sim;
}

const TICKETS: TopdeskConfigInput['tickets'] = {
  kinds: {
    onboarding: {
      type: 'change',
      templateNumber: 'ws 006',
      briefDescription: 'Aanvraag laptop ({{firstName}} {{surName}})',
      request: 'Graag een laptop klaarzetten.\nPersoneelsnummer: {{employeeNumber}}\nAfdeling: {{department}}',
      changeType: 'Simple',
      category: 'Middelen',
      priority: 'P1',
    },
    offboarding: {
      type: 'incident',
      briefDescription: 'Inname laptop ({{dynamicName}}) {{unknownVariable}}',
      request: '<b>Laptop innemen</b><br>Personeelsnummer: {{employeeNumber}}',
      operatorGroup: 'werkplekbeheer',
      category: 'Accounts',
      subcategory: 'Nieuw',
      callType: 'Aanvraag',
      status: 'secondLine',
    },
    transfer: null,
  },
};

function connector(sim: TopdeskSimulator, over: Partial<TopdeskConfigInput> = {}) {
  const c = new TopdeskTargetConnector({
    url: sim.url,
    username: 'tenure-api',
    appPassword: PASSWORD,
    http: { timeoutMs: 2000, concurrency: 2, maxRetries: 2, retryBaseMs: 20, retryMaxMs: 100 },
    tickets: TICKETS,
    ...over,
  });
  connectors.push(c);
  return c;
}

function desired(over: Partial<DesiredAccount> = {}): DesiredAccount {
  return {
    personKey: 'hr:1001',
    employeeId: '1001',
    username: 'jjansen',
    userPrincipalName: 'j.jansen@example.org',
    email: 'jan.jansen@example.org',
    emailAliases: [],
    displayName: 'Jan Jansen',
    givenName: 'Jan',
    familyName: 'Jansen',
    initials: 'J.',
    title: 'Controller',
    department: 'Finance',
    location: 'Baarn',
    ...over,
  };
}

/** What activities/targets.ts createAccount does: correlate first, then update or create. */
async function createAccount(c: TopdeskTargetConnector, d: DesiredAccount): Promise<ActionResult> {
  const existing = await c.correlate(d.employeeId);
  if (existing) return c.update(existing, d);
  return c.create(d);
}

const person = (sim: TopdeskSimulator, ref: AccountReference) => sim.persons.get(ref.id) as Record<string, unknown>;
const outcomes = (r: ActionResult) => r.audit.map((a) => `${a.action}:${a.outcome}`);
const noSecret = (v: unknown) => assert.ok(!JSON.stringify(v).includes(PASSWORD), 'secret leaked');

async function rejects(p: Promise<unknown>, re: RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    const e = err as Error;
    assert.equal(e.name, 'TargetRejected', `expected TargetRejected, got ${e.name}: ${e.message}`);
    assert.match(e.message, re);
    noSecret(e.message);
    return e;
  }
  assert.fail('expected a rejection');
}

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});
after(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

describe('configuration', () => {
  test('from the environment, with errors that never echo the password', () => {
    const cfg = topdeskConfigFromEnv({
      TOPDESK_URL: 'https://customer-test.topdesk.net/tas/api/',
      TOPDESK_USERNAME: 'api',
      TOPDESK_APP_PASSWORD: PASSWORD,
      TOPDESK_DEPARTMENT_WHEN_EMPTY: 'clear',
      TOPDESK_BUDGETHOLDER_FROM: 'departmentCode',
      TOPDESK_TICKETS: JSON.stringify({
        onboarding: { type: 'change', templateNumber: 'Ws 006', briefDescription: 'x' },
      }),
    });
    assert.equal(cfg.url, 'https://customer-test.topdesk.net');
    assert.equal(cfg.department.whenEmpty, 'clear');
    assert.equal(cfg.budgetHolder.from, 'departmentCode');
    assert.equal(cfg.archivingReason, 'Persoon uit organisatie');
    assert.equal(cfg.tickets.kinds.onboarding?.type, 'change');
    assert.throws(
      () =>
        topdeskConfigFromEnv({
          TOPDESK_URL: 'not a url',
          TOPDESK_USERNAME: 'api',
          TOPDESK_APP_PASSWORD: PASSWORD,
          TOPDESK_PARTNER_SOLUTION_ID: 'TOOL001',
        }),
      (e: Error) =>
        /url/.test(e.message) && /TOOL001 is the partner id/.test(e.message) && !e.message.includes(PASSWORD),
    );
    const c = new TopdeskTargetConnector(cfg);
    noSecret(c);
    noSecret(c.config);
  });

  test('ticket permission names and external numbers are deterministic and bounded', () => {
    assert.equal(ticketPermission('onboarding', 'hire:2026-05-01'), 'ticket:onboarding:hire:2026-05-01');
    const ref = { kind: 'onboarding', eventKey: 'x'.repeat(200) };
    const a = ticketExternalNumber('1001', ref, 60);
    assert.equal(a, ticketExternalNumber('1001', ref, 60));
    assert.ok(a.length <= 60);
    assert.notEqual(a, ticketExternalNumber('1002', ref, 60));
    assert.equal(ticketExternalNumber('1001', { kind: 'onboarding', eventKey: 'e1' }, 60), 'tn:1001:onboarding:e1');
  });
});

describe('persons: the whole lifecycle', () => {
  test('hire, start, mover, name change, leaver, rehire, delete', async () => {
    const sim = await start();
    const manager = sim.addPerson({ surName: 'Vries', prefixes: 'de', firstName: 'Anna', employeeNumber: '0700' });
    const c = connector(sim, { partnerSolutionId: 'TENURE01' });

    // hire: created archived (disabled) with the lookups resolved, the manager marked isManager.
    const mgrRef = await c.correlate('0700');
    assert.ok(mgrRef);
    const hire = await createAccount(c, desired({ managerLocator: mgrRef.locator }));
    assert.deepEqual(outcomes(hire), ['create:success']);
    const ref = hire.account as AccountReference;
    let p = person(sim, ref);
    assert.equal(p.status, 'personArchived');
    assert.equal(p.employeeNumber, '1001');
    assert.equal(p.mainframeLoginName, 'Managed by Tenure');
    assert.equal((p.branch as { name: string }).name, 'Baarn');
    assert.equal((p.department as { name: string }).name, 'Finance');
    assert.equal((p.manager as { id: string }).id, manager.id);
    assert.equal(manager.isManager, true);
    assert.equal(manager.status, 'person');
    assert.deepEqual([...sim.stats.partnerIds], ['TENURE01']);

    // a second hire signal (retry, re-poll): correlates, nothing changes.
    const again = await createAccount(c, desired({ managerLocator: mgrRef.locator }));
    assert.deepEqual(outcomes(again), ['update:unchanged']);
    assert.equal(sim.personsByEmployeeNumber('1001').length, 1);

    // start
    assert.deepEqual(outcomes(await c.enable(ref)), ['enable:success']);
    assert.equal(person(sim, ref).status, 'person');
    assert.deepEqual(outcomes(await c.enable(ref)), ['enable:unchanged']);

    // mover: department and branch (case-insensitive lookup), only those fields change
    const patches = () => sim.stats.byRoute.get('PATCH /persons/id/{id}') ?? 0;
    const before = patches();
    const mover = await c.update(
      ref,
      desired({ department: 'sales', location: 'Utrecht', managerLocator: mgrRef.locator }),
    );
    assert.deepEqual(outcomes(mover), ['update:success']);
    assert.deepEqual(mover.audit[0]?.details?.attributes, ['branch', 'department']);
    assert.equal(patches(), before + 1);
    p = person(sim, ref);
    assert.equal((p.branch as { name: string }).name, 'Utrecht');
    assert.equal((p.department as { name: string }).name, 'Sales');

    // name change: surname, e-mail and login names
    const rename = await c.update(
      ref,
      desired({
        familyName: 'Jansen-Bakker',
        email: 'jan.jansen-bakker@example.org',
        userPrincipalName: 'j.jansen-bakker@example.org',
        department: 'Sales',
        location: 'Utrecht',
        managerLocator: mgrRef.locator,
      }),
    );
    assert.deepEqual(rename.audit[0]?.details?.attributes, ['surName', 'email', 'networkLoginName', 'tasLoginName']);
    assert.equal(person(sim, ref).dynamicName, 'Jansen-Bakker, Jan');
    const current = desired({
      familyName: 'Jansen-Bakker',
      email: 'jan.jansen-bakker@example.org',
      userPrincipalName: 'j.jansen-bakker@example.org',
      department: 'Sales',
      location: 'Utrecht',
      managerLocator: mgrRef.locator,
    });
    assert.deepEqual(outcomes(await c.update(ref, current)), ['update:unchanged']);

    // leaver: archived with the configured reason; repeat is unchanged
    const leave = await c.disable(ref);
    assert.deepEqual(outcomes(leave), ['disable:success']);
    p = person(sim, ref);
    assert.equal(p.status, 'personArchived');
    assert.equal((p.archivingReason as { name: string }).name, 'Persoon uit organisatie');
    assert.deepEqual(outcomes(await c.disable(ref)), ['disable:unchanged']);

    // an update while archived: unarchive → PATCH → re-archive (the simulator refuses PATCH on archived)
    const late = await c.update(ref, { ...current, title: 'Senior controller' });
    assert.equal(late.audit[0]?.details?.unarchivedForUpdate, true);
    assert.equal(person(sim, ref).jobTitle, 'Senior controller');
    assert.equal(person(sim, ref).status, 'personArchived');

    // rehire: the same person comes back
    assert.equal((await c.correlate('1001'))?.id, ref.id);
    assert.deepEqual(outcomes(await c.enable(ref)), ['enable:success']);
    assert.equal(person(sim, ref).status, 'person');

    // leaver again, then delete at the end of retention: blanked, marked, archived; repeat unchanged
    await c.disable(ref);
    const del = await c.delete(ref);
    assert.deepEqual(outcomes(del), ['delete:success']);
    assert.equal(del.account, null);
    p = person(sim, ref);
    assert.equal(p.email, '');
    assert.equal(p.tasLoginName, '');
    assert.equal(p.networkLoginName, '');
    assert.equal(p.mainframeLoginName, 'Deleted by Tenure');
    assert.equal(p.status, 'personArchived');
    assert.deepEqual(outcomes(await c.delete(ref)), ['delete:unchanged']);
    assert.equal(sim.persons.size, 2, 'no hard delete, no extra person');

    // gone entirely (removed in TOPdesk by hand): delete/disable succeed as notFound, enable/update fail
    sim.persons.delete(ref.id);
    assert.deepEqual(outcomes(await c.delete(ref)), ['delete:notFound']);
    assert.deepEqual(outcomes(await c.disable(ref)), ['disable:notFound']);
    await rejects(c.enable(ref), /could not be found/);
    await rejects(c.update(ref, current), /could not be found/);
    await rejects(connector(sim, { disableNotFound: 'error' }).disable(ref), /could not be found/);
  });

  test('withdrawn hire: created archived, deleted before the start date', async () => {
    const sim = await start();
    const c = connector(sim);
    const hire = await createAccount(c, desired({ employeeId: '2002', userPrincipalName: 'w@example.org' }));
    const ref = hire.account as AccountReference;
    const del = await c.delete(ref);
    assert.deepEqual(outcomes(del), ['delete:success']);
    const p = person(sim, ref);
    assert.equal(p.status, 'personArchived');
    assert.equal(p.mainframeLoginName, 'Deleted by Tenure');
    assert.equal(p.tasLoginName, '');
    // the hire comes back after all: the same person is correlated and restored
    const back = await createAccount(c, desired({ employeeId: '2002', userPrincipalName: 'w@example.org' }));
    assert.equal(back.account?.id, ref.id);
    assert.equal(person(sim, ref).mainframeLoginName, 'Managed by Tenure');
    assert.equal(person(sim, ref).status, 'personArchived', 'still waiting for the start date');
  });

  test('created active when createArchived is off; archived persons found when the server returns them by default', async () => {
    const sim = await start({
      archivedDefault: 'all',
      emptyStatus: 200,
      createStatus: 200,
      rejectPatchArchived: false,
    });
    const c = connector(sim, { createArchived: false, archivedUpdate: 'direct' });
    const r = await c.create(desired());
    const ref = r.account as AccountReference;
    assert.equal(person(sim, ref).status, 'person');
    await c.disable(ref);
    const u = await c.update(ref, desired({ title: 'CFO' }));
    assert.equal(u.audit[0]?.details?.unarchivedForUpdate, undefined);
    assert.equal(person(sim, ref).jobTitle, 'CFO');
    assert.equal((await c.correlate('1001'))?.id, ref.id);
    assert.equal(await c.correlate('9999'), null);
  });

  test('lookups: branch mandatory, hidden branches, department empty/missing per setting, budget holder', async () => {
    const sim = await start();
    const c = connector(sim);
    await rejects(c.create(desired({ location: 'Atlantis' })), /branch 'Atlantis' not found/);
    await rejects(c.create(desired({ location: 'Hidden Site' })), /branch 'Hidden Site' not found/);
    await rejects(c.create(desired({ location: undefined })), /branch is empty/);
    await rejects(c.create(desired({ department: '' })), /department is empty/);
    const e = await rejects(
      c.create(desired({ location: 'Atlantis', department: 'Marketing' })),
      /branch 'Atlantis' not found in TOPdesk; department 'Marketing' not found/,
    );
    assert.ok(e);
    assert.equal(sim.persons.size, 0);

    const lenient = connector(sim, {
      branch: { fallback: 'Den Haag' },
      department: { whenEmpty: 'clear', whenMissing: 'create' },
      budgetHolder: { from: 'departmentCode' },
    });
    const r = await lenient.create(desired({ location: undefined, department: undefined, departmentCode: 'kp-4200' }));
    const p = person(sim, r.account as AccountReference);
    assert.equal((p.branch as { name: string }).name, 'Den Haag');
    assert.equal(p.department, null);
    assert.equal((p.budgetHolder as { name: string }).name, 'KP-4200');
    const u = await lenient.update(
      r.account as AccountReference,
      desired({ location: 'Baarn', department: 'Marketing', departmentCode: 'KP-4200' }),
    );
    assert.deepEqual(outcomes(u), ['update:success', 'update:success']);
    assert.match(u.audit[0]?.message ?? '', /created department 'Marketing'/);
    assert.ok(sim.data.departments.some((d) => d.name === 'Marketing'));
    await rejects(
      connector(sim, { budgetHolder: { from: 'departmentCode' } }).create(
        desired({ employeeId: '3', departmentCode: 'KP-9' }),
      ),
      /budgetHolder 'KP-9' not found/,
    );
  });

  test('duplicates on employeeNumber, duplicate login names, uniqueness check', async () => {
    const sim = await start();
    sim.addPerson({ surName: 'A', employeeNumber: '5005', tasLoginName: 'a@example.org', email: 'a@example.org' });
    sim.addPerson({ surName: 'B', employeeNumber: '5005', status: 'personArchived' });
    const c = connector(sim);
    await rejects(c.correlate('5005'), /multiple TOPdesk persons \(2\)/);
    await rejects(c.create(desired({ employeeId: '6006', userPrincipalName: 'a@example.org' })), /already in use/);
    assert.equal(
      await c.isTaken({ username: 'x', userPrincipalName: 'a@example.org', email: 'n@example.org' }, '6006'),
      true,
    );
    assert.equal(
      await c.isTaken({ username: 'x', userPrincipalName: 'a@example.org', email: 'a@example.org' }, '5005'),
      false,
    );
    assert.equal(
      await c.isTaken({ username: 'x', userPrincipalName: 'free@example.org', email: 'free@example.org' }, '6006'),
      false,
    );
    // the FIQL value is quoted and escaped
    assert.equal(await c.correlate("10'01;employeeNumber!='x"), null);
  });
});

describe('scope', () => {
  test('a person outside the scope branches is never a match; inspect reads scope, archived state and employee number', async () => {
    const sim = await start();
    sim.addPerson({ surName: 'In', employeeNumber: '7001', branch: { id: 'b-utrecht', name: 'Utrecht' } });
    sim.addPerson({ surName: 'Out', employeeNumber: '7002', branch: { id: 'b-hidden', name: 'Hidden Site' } });
    sim.addPerson({ surName: 'Twin out', employeeNumber: '7001', branch: { id: 'b-hidden', name: 'Hidden Site' } });
    const c = connector(sim, { scopeBranches: ['utrecht', 'Baarn'] });
    const inScope = await c.correlate('7001');
    assert.ok(inScope, 'the in-scope person correlates; its namesake in another branch is no duplicate');
    assert.equal(await c.correlate('7002'), null, 'a person in another branch is never a match');
    assert.deepEqual(await c.inspect(inScope), {
      enabled: true,
      correlationValue: '7001',
      inScope: true,
      names: {},
    });
    const out = [...sim.persons.values()].find((p) => (p as { surName?: string }).surName === 'Out') as { id: string };
    const seen = await c.inspect({ id: out.id, locator: out.id });
    assert.equal(seen?.inScope, false);
    assert.equal(await c.inspect({ id: 'no-such-person', locator: 'x' }), null);
    // Without scope branches every branch is in scope (the default), so the twins are duplicates again.
    await rejects(connector(sim).correlate('7001'), /multiple TOPdesk persons \(2\)/);
  });

  test('scoped: namesakes outside the scope listed first do not hide the one inside; a full page is refused', async () => {
    const sim = await start();
    // Three persons in another branch carry the number before the one in scope (the server's order).
    for (let i = 0; i < 3; i++)
      sim.addPerson({ surName: `Out ${i}`, employeeNumber: '7200', branch: { id: 'b-hidden', name: 'Hidden Site' } });
    sim.addPerson({ surName: 'In', employeeNumber: '7200', branch: { id: 'b-utrecht', name: 'Utrecht' } });
    const c = connector(sim, { scopeBranches: ['Utrecht'] });
    const found = await c.correlate('7200');
    const inside = [...sim.persons.values()].find((p) => (p as { surName?: string }).surName === 'In') as {
      id: string;
    };
    assert.equal(found?.id, inside.id, 'the person in scope is found behind the namesakes outside it');
    // 100 persons with one number: the page is full, so the one in scope may be beyond it.
    for (let i = 0; i < 100; i++)
      sim.addPerson({ surName: `Many ${i}`, employeeNumber: '7300', branch: { id: 'b-hidden', name: 'Hidden Site' } });
    await rejects(c.correlate('7300'), /100 or more TOPdesk persons share this employeeNumber/);
  });

  test('inspect after disable: archived reads as not enabled', async () => {
    const sim = await start();
    const c = connector(sim);
    const made = await createAccount(c, desired({ employeeId: '7100' }));
    await c.enable(made.account!);
    await c.disable(made.account!);
    assert.equal((await c.inspect(made.account!))?.enabled, false);
  });
});

describe('retries never duplicate', () => {
  test('a create whose answer is lost (timeout) leaves exactly one person', async () => {
    const sim = await start();
    sim.latency.push({ method: 'POST', path: '/persons', ms: 600 });
    const c = connector(sim, { http: { timeoutMs: 250, maxRetries: 1, retryBaseMs: 20 } });
    const r = await c.create(desired());
    assert.equal(r.audit.at(-1)?.details?.recoveredAfterLostAnswer, true);
    // the activity retried anyway (Temporal): correlate first finds the same person
    const again = await createAccount(c, desired());
    assert.equal(again.account?.id, r.account?.id);
    await new Promise((res) => setTimeout(res, 400)); // let the slow answer finish server-side
    assert.equal(sim.personsByEmployeeNumber('1001').length, 1);
    assert.equal(sim.stats.byRoute.get('POST /persons'), 1, 'the POST itself is never repeated');
  });

  test('a create answered 502 after the commit: one person; a 502 before the commit: retry creates it', async () => {
    const sim = await start();
    sim.faults.push({ method: 'POST', path: '/persons', status: 502, afterCommit: true });
    const c = connector(sim);
    await c.create(desired());
    assert.equal(sim.personsByEmployeeNumber('1001').length, 1);
    sim.faults.push({ method: 'POST', path: '/persons', status: 503 });
    const err = await c
      .create(desired({ employeeId: '1002', userPrincipalName: 'b@example.org' }))
      .catch((e: Error) => e);
    assert.ok(err instanceof TopdeskUnavailableError, 'transient: Temporal retries it');
    await createAccount(c, desired({ employeeId: '1002', userPrincipalName: 'b@example.org' }));
    assert.equal(sim.personsByEmployeeNumber('1002').length, 1);
  });

  test('429 is waited out', async () => {
    const sim = await start();
    sim.throttle = { count: 3, retryAfterSec: 0.05 };
    const c = connector(sim);
    assert.equal(await c.correlate('1001'), null);
    assert.equal(c.api.http.stats.rateLimited, 3);
  });
});

describe('tickets', () => {
  test('onboarding change created once per event, also when the grant is retried', async () => {
    const sim = await start();
    const c = connector(sim);
    const ref = (await c.create(desired())).account as AccountReference;
    const perm = { name: ticketPermission('onboarding', 'hire-2026-05-01') };
    const g1 = await c.grantPermission(ref, perm);
    assert.deepEqual(outcomes(g1), ['grantPermission:success']);
    assert.equal(sim.changes.length, 1);
    const ch = sim.changes[0] as Record<string, unknown>;
    assert.equal(ch.briefDescription, 'Aanvraag laptop (Jan Jansen)');
    assert.equal(ch.request, 'Graag een laptop klaarzetten.\nPersoneelsnummer: 1001\nAfdeling: Finance');
    assert.equal(ch.changeType, 'simple');
    assert.equal(ch.externalNumber, 'tn:1001:onboarding:hire-2026-05-01');
    assert.deepEqual(ch.template, { id: 't-0006' });
    // the requester was archived (created archived): unarchived for the ticket, archived again
    assert.equal(g1.audit[0]?.details?.requesterUnarchived, true);
    assert.equal(person(sim, ref).status, 'personArchived');

    const g2 = await c.grantPermission(ref, perm);
    assert.deepEqual(outcomes(g2), ['grantPermission:unchanged']);
    assert.equal(sim.changes.length, 1);
    // another event is another ticket
    await c.grantPermission(ref, { name: ticketPermission('onboarding', 'rehire-2027-01-01') });
    assert.equal(sim.changes.length, 2);
    assert.deepEqual(outcomes(await c.revokePermission(ref, perm)), ['revokePermission:unchanged']);
    assert.deepEqual(await c.listPermissions(ref), []);
  });

  test('a ticket POST whose answer is lost (timeout, or 502 after commit) is not posted twice', async () => {
    const sim = await start();
    const c = connector(sim, { http: { timeoutMs: 250, maxRetries: 1, retryBaseMs: 20 }, createArchived: false });
    const ref = (await c.create(desired())).account as AccountReference;
    sim.latency.push({ method: 'POST', path: '/operatorChanges', ms: 600 });
    const perm = { name: ticketPermission('onboarding', 'evt-1') };
    const r = await c.grantPermission(ref, perm);
    assert.equal(r.audit[0]?.details?.recoveredAfterLostAnswer, true);
    // the activity is retried by Temporal after its own timeout, more than once
    for (let i = 0; i < 3; i++)
      assert.deepEqual(outcomes(await c.grantPermission(ref, perm)), ['grantPermission:unchanged']);
    sim.latency.length = 0;
    sim.faults.push({ method: 'POST', path: '/incidents', status: 502, afterCommit: true });
    const off = { name: ticketPermission('offboarding', 'leave-2027-03-31') };
    await c.grantPermission(ref, off);
    await c.grantPermission(ref, off);
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(sim.changes.length, 1);
    assert.equal(sim.incidents.length, 1);
    assert.equal(sim.stats.byRoute.get('POST /operatorChanges'), 1);
  });

  test('offboarding incident: lookups by name, subcategory within its category, archived caller', async () => {
    const sim = await start();
    const c = connector(sim, { tickets: { ...TICKETS, search: 'param' } });
    const ref = (await c.create(desired())).account as AccountReference;
    await c.enable(ref);
    await c.disable(ref);
    const r = await c.grantPermission(ref, { name: ticketPermission('offboarding', 'leave-1') });
    assert.deepEqual(outcomes(r), ['grantPermission:success']);
    const i = sim.incidents[0] as Record<string, unknown>;
    assert.deepEqual(i.subcategory, { id: 'sub-nieuw-a' });
    assert.deepEqual(i.operatorGroup, { id: 'og-ws' });
    assert.deepEqual(i.branch, { id: (person(sim, ref).branch as { id: string }).id });
    assert.equal(i.briefDescription, 'Inname laptop (Jansen, Jan)');
    assert.equal(i.status, 'secondLine');
    assert.equal(person(sim, ref).status, 'personArchived', 're-archived after the ticket');
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: ticketPermission('offboarding', 'leave-1') })), [
      'grantPermission:unchanged',
    ]);
    assert.equal(sim.incidents.length, 1);
  });

  test('disabled, unconfigured and unknown tickets; manager as requester', async () => {
    const sim = await start();
    const mgr = sim.addPerson({ surName: 'Boss', employeeNumber: '0001', isManager: true, email: 'boss@example.org' });
    const c = connector(sim);
    const ref = (await c.create(desired({ managerLocator: mgr.id as string }))).account as AccountReference;
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'ticket:transfer:t1' })), [
      'grantPermission:unchanged',
    ]);
    await rejects(c.grantPermission(ref, { name: 'ticket:welcome:t1' }), /ticket kind 'welcome' is not configured/);
    await rejects(c.grantPermission(ref, { name: 'dept-FIN' }), /only tickets/);
    const off = connector(sim, { tickets: { ...TICKETS, enabled: false } });
    assert.deepEqual(outcomes(await off.grantPermission(ref, { name: ticketPermission('onboarding', 'e') })), [
      'grantPermission:unchanged',
    ]);
    assert.equal(sim.changes.length, 0);
    const viaManager = connector(sim, {
      tickets: {
        kinds: {
          onboarding: { type: 'change', templateNumber: 'Ws 007', briefDescription: 'x', requester: 'manager' },
        },
      },
    });
    await viaManager.grantPermission(ref, { name: ticketPermission('onboarding', 'e') });
    assert.equal((sim.changes[0]?.requester as { id: string }).id, mgr.id);
    const notApplicable = connector(sim, {
      tickets: { kinds: { onboarding: { type: 'change', templateNumber: 'Ws 099', briefDescription: 'x' } } },
    });
    await rejects(notApplicable.grantPermission(ref, { name: ticketPermission('onboarding', 'z') }), /not applicable/);
  });
});

describe('simulator', () => {
  test('paging with start/page_size, 206 for a partial page, 204 when empty, page size cap', async () => {
    const sim = await start();
    for (let i = 0; i < 5; i++) sim.addPerson({ surName: `P${i}`, employeeNumber: `70${i}` });
    const auth = `Basic ${Buffer.from(`tenure-api:${PASSWORD}`).toString('base64')}`;
    const get = (q: string) => fetch(`${sim.url}/tas/api/persons?${q}`, { headers: { authorization: auth } });
    const p1 = await get('start=0&page_size=2');
    assert.equal(p1.status, 206);
    assert.equal(((await p1.json()) as unknown[]).length, 2);
    const p3 = await get('start=4&page_size=2');
    assert.equal(p3.status, 200);
    assert.equal(((await p3.json()) as unknown[]).length, 1);
    assert.equal((await get('start=10&page_size=2')).status, 204);
    assert.equal((await get("query=employeeNumber=='nobody'")).status, 204);
    assert.equal((await get('page_size=101')).status, 400);
    assert.equal((await fetch(`${sim.url}/tas/api/persons`)).status, 401);
  });
});

describe('outages and credentials', () => {
  test('TOPdesk down for a while, then back on the same address', async () => {
    const sim = await start();
    const c = connector(sim, { http: { timeoutMs: 500, maxRetries: 1, retryBaseMs: 20, retryMaxMs: 50 } });
    const ref = (await c.create(desired())).account as AccountReference;
    await sim.stop();
    const t0 = Date.now();
    const err = await c.enable(ref).catch((e: Error) => e);
    assert.ok(err instanceof TopdeskUnavailableError, 'retryable, not a rejection');
    assert.notEqual((err as Error).name, 'TargetRejected');
    assert.ok(Date.now() - t0 < 3000, 'bounded');
    noSecret((err as Error).message);
    await sim.start();
    assert.deepEqual(outcomes(await c.enable(ref)), ['enable:success']);

    // down while a call is retrying: the call itself rides it out
    const patient = connector(sim, { http: { timeoutMs: 500, maxRetries: 5, retryBaseMs: 100, retryMaxMs: 400 } });
    await sim.stop();
    const back = setTimeout(() => void sim.start(), 300);
    try {
      assert.deepEqual(outcomes(await patient.disable(ref)), ['disable:success']);
    } finally {
      clearTimeout(back);
    }
  });

  test('wrong application password: a clear rejection naming the user, never the password', async () => {
    const sim = await start();
    const c = new TopdeskTargetConnector({ url: sim.url, username: 'tenure-api', appPassword: `${PASSWORD}-wrong` });
    connectors.push(c);
    const e = await rejects(c.correlate('1001'), /rejected the credentials of API user 'tenure-api' \(401\)/);
    assert.ok(!e.message.includes(`${PASSWORD}-wrong`));
    assert.ok(!JSON.stringify(c).includes(PASSWORD));
    assert.equal(sim.stats.unauthorized, 1, 'a 401 is not retried');
  });
});
