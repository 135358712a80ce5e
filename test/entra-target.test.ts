import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActionResult, AuditEntry, DesiredAccount } from '../connectors/types.js';
import {
  EntraConfigSchema,
  EntraTargetConnector,
  TargetRejectedError,
  TargetUnavailableError,
  entraConfigFromEnv,
  odataString,
  type EntraConfigInput,
} from '../connectors/targets/entra.js';
import { GraphSimulator, type GraphSimulatorOptions } from './simulators/graph.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const SECRET = 'sim-graph-secret-never-print';
const sims: GraphSimulator[] = [];
/** Everything the connector returned or threw, to check that no secret or password leaks. */
const seen: unknown[] = [];

async function start(opts: GraphSimulatorOptions = {}) {
  const sim = new GraphSimulator({
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: SECRET,
    retryAfterSec: 0.05,
    ...opts,
  });
  sims.push(sim);
  await sim.start();
  return sim;
}

function connector(sim: GraphSimulator, over: Partial<EntraConfigInput> = {}) {
  return new EntraTargetConnector({
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: SECRET,
    graphUrl: sim.graphUrl,
    loginUrl: sim.url,
    usageLocation: 'nl',
    ...over,
    http: { timeoutMs: 3000, tokenTimeoutMs: 3000, maxRetries: 3, retryBaseMs: 20, retryMaxMs: 200, ...over.http },
  });
}

function desired(over: Partial<DesiredAccount> = {}): DesiredAccount {
  return {
    personKey: 'file:1001',
    employeeId: '1001',
    username: 'jdevries',
    userPrincipalName: 'jan.devries@tenure.test',
    email: 'jan.devries@tenure.test',
    emailAliases: [],
    displayName: 'Jan de Vries',
    givenName: 'Jan',
    familyName: 'de Vries',
    title: 'Accountant',
    department: 'Finance',
    company: 'Tenure BV',
    location: 'Utrecht',
    ...over,
  };
}

function keep<T>(r: T): T {
  seen.push(r);
  return r;
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    seen.push({ name: (e as Error).name, message: (e as Error).message });
    return e as Error;
  }
  assert.fail('expected a rejection');
}

const outcomes = (r: ActionResult) => r.audit.map((a: AuditEntry) => `${a.action}:${a.outcome}`);

afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});
after(() => {
  // Neither the client secret nor any initial password appears in any result or error.
  const text = JSON.stringify(seen);
  assert.ok(!text.includes(SECRET), 'client secret leaked');
  assert.ok(!/passwordProfile|"password"/.test(text), 'password leaked');
});

describe('config', () => {
  test('environment: defaults, settings, and errors without values', () => {
    const c = entraConfigFromEnv({ ENTRA_TENANT_ID: TENANT, ENTRA_CLIENT_ID: CLIENT, ENTRA_CLIENT_SECRET: SECRET });
    assert.equal(c.graphUrl, 'https://graph.microsoft.com/v1.0');
    assert.equal(c.loginUrl, 'https://login.microsoftonline.com');
    assert.equal(c.scope, 'https://graph.microsoft.com/.default');
    assert.equal(c.forceChangePasswordNextSignIn, true);
    assert.equal(c.deleteMode, 'soft');
    assert.equal(c.http.timeoutMs, 30_000);
    const d = entraConfigFromEnv({
      ENTRA_TENANT_ID: TENANT,
      ENTRA_CLIENT_ID: CLIENT,
      ENTRA_CLIENT_SECRET: SECRET,
      GRAPH_URL: 'http://127.0.0.1:1/v1.0/',
      ENTRA_GROUP_PREFIXES: 'app-, lic-',
      ENTRA_DELETE_MODE: 'permanent',
      ENTRA_USAGE_LOCATION: 'nl',
    });
    assert.equal(d.graphUrl, 'http://127.0.0.1:1/v1.0');
    assert.deepEqual(d.managedGroupPrefixes, ['app-', 'lic-']);
    assert.equal(d.usageLocation, 'NL');
    assert.throws(
      () => entraConfigFromEnv({ ENTRA_TENANT_ID: TENANT, ENTRA_CLIENT_ID: '', ENTRA_CLIENT_SECRET: SECRET }),
      (e: Error) => /clientId/.test(e.message) && !e.message.includes(SECRET),
    );
    assert.throws(() =>
      EntraConfigSchema.parse({ tenantId: 't', clientId: 'c', clientSecret: 's', usageLocation: 'NLD' }),
    );
    const conn = new EntraTargetConnector({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET });
    assert.ok(!JSON.stringify(conn).includes(SECRET));
    assert.ok(!JSON.stringify(conn.config).includes(SECRET));
  });

  test('OData string literals double the quote', () => {
    assert.equal(odataString("O'Neil"), "'O''Neil'");
    assert.equal(odataString("''"), "''''''");
  });
});

describe('Entra ID connector against the Graph simulator', () => {
  test('whole lifecycle: hire, start, mover, name change, leaver, rehire, delete', async () => {
    const sim = await start();
    const c = connector(sim);
    const manager = sim.addUser({ userPrincipalName: 'boss@tenure.test', displayName: 'Boss', employeeId: '900' });
    const fin = sim.addGroup('dept-FIN');
    const hr = sim.addGroup('dept-HR');
    const lic = sim.addGroup('lic-M365-E3');

    // Hire: created disabled, with a strong password that is never returned.
    assert.equal(await c.correlate('1001'), null);
    const created = keep(await c.create(desired({ managerLocator: 'boss@tenure.test' })));
    assert.deepEqual(outcomes(created), ['create:success']);
    const ref = created.account!;
    const u = sim.users.get(ref.id)!;
    assert.equal(ref.locator, 'jan.devries@tenure.test');
    assert.equal(u.accountEnabled, false);
    assert.equal(u.employeeId, '1001');
    assert.equal(u.mailNickname, 'jdevries');
    assert.equal(u.usageLocation, 'NL');
    assert.equal(u.jobTitle, 'Accountant');
    assert.equal(u.managerId, manager.id);
    const pw = sim.passwordOf(ref.id)!;
    assert.ok(pw.length >= 24 && /[A-Z]/.test(pw) && /[a-z]/.test(pw) && /\d/.test(pw));
    assert.ok(!JSON.stringify(created).includes(pw));
    assert.deepEqual(await c.correlate('1001'), ref);
    // Create again (a retry): correlates, nothing new.
    const again = keep(await c.create(desired({ managerLocator: 'boss@tenure.test' })));
    assert.deepEqual(outcomes(again), ['correlate:success']);
    assert.equal(sim.usersByEmployeeId('1001').length, 1);

    for (const g of ['dept-FIN', 'lic-M365-E3']) keep(await c.grantPermission(ref, { name: g }));
    assert.deepEqual(outcomes(keep(await c.grantPermission(ref, { name: 'dept-FIN' }))), ['grantPermission:unchanged']);
    assert.deepEqual(await c.listPermissions(ref), ['dept-FIN', 'lic-M365-E3']);

    // Start: enabled; enabling twice is unchanged.
    assert.deepEqual(outcomes(keep(await c.enable(ref))), ['enable:success']);
    assert.equal(u.accountEnabled, true);
    assert.deepEqual(outcomes(keep(await c.enable(ref))), ['enable:unchanged']);

    // Mover: new group granted before the old one is revoked; attributes updated, only those.
    const patchesBefore = sim.stats.log.filter((l) => l.startsWith('PATCH')).length;
    const moved = desired({ department: 'Human Resources', title: 'HR Advisor', managerLocator: 'boss@tenure.test' });
    const upd = keep(await c.update(ref, moved));
    assert.deepEqual(upd.audit[0]?.details, { attributes: ['jobTitle', 'department'] });
    assert.equal(sim.stats.log.filter((l) => l.startsWith('PATCH')).length, patchesBefore + 1);
    keep(await c.grantPermission(ref, { name: 'dept-HR' }));
    assert.deepEqual(await c.listPermissions(ref), ['dept-FIN', 'dept-HR', 'lic-M365-E3']);
    assert.deepEqual(outcomes(keep(await c.revokePermission(ref, { name: 'dept-FIN' }))), ['revokePermission:success']);
    assert.deepEqual(outcomes(keep(await c.revokePermission(ref, { name: 'dept-FIN' }))), [
      'revokePermission:unchanged',
    ]);
    assert.ok(hr.members.has(ref.id) && !fin.members.has(ref.id));
    assert.deepEqual(outcomes(keep(await c.update(ref, moved))), ['update:unchanged']);

    // Name change: display name, surname and mail; the old address stays as an alias in proxyAddresses.
    const renamed = desired({
      ...moved,
      displayName: 'Jan Jansen',
      familyName: 'Jansen',
      email: 'jan.jansen@tenure.test',
      emailAliases: ['jan.devries@tenure.test'],
    });
    const rn = keep(await c.update(ref, renamed));
    assert.deepEqual(rn.audit[0]?.details, { attributes: ['displayName', 'surname', 'mail'] });
    assert.equal(u.displayName, 'Jan Jansen');
    assert.equal(u.userPrincipalName, 'jan.devries@tenure.test', 'UPN unchanged (setting off by default)');
    assert.deepEqual(u.proxyAddresses, ['SMTP:jan.jansen@tenure.test', 'smtp:jan.devries@tenure.test']);

    // Leaver: disabled (and signed out: sessions revoked by default), permissions revoked.
    assert.deepEqual(outcomes(keep(await c.disable(ref))), ['disable:success', 'disable:success']);
    assert.equal(u.sessionsRevoked, 1);
    assert.equal(u.accountEnabled, false);
    assert.deepEqual(outcomes(keep(await c.disable(ref))), ['disable:unchanged']);
    for (const g of await c.listPermissions(ref)) keep(await c.revokePermission(ref, { name: g }));
    assert.deepEqual(await c.listPermissions(ref), []);
    assert.equal(lic.members.size, 0);

    // Rehire before the delete moment: same account, enabled again, groups back.
    const rehired = keep(await c.create(renamed));
    assert.deepEqual(rehired.account, ref);
    assert.deepEqual(outcomes(rehired), ['correlate:success']);
    keep(await c.enable(ref));
    keep(await c.grantPermission(ref, { name: 'dept-HR' }));
    assert.equal(u.accountEnabled, true);
    assert.equal(sim.usersByEmployeeId('1001').length, 1);

    // Delete: soft delete; afterwards the not-found matrix of docs/connector-contract.md.
    keep(await c.disable(ref));
    const del = keep(await c.delete(ref));
    assert.deepEqual(outcomes(del), ['delete:success']);
    assert.equal(del.account, null);
    assert.ok(sim.deletedUsers.has(ref.id) && !sim.users.has(ref.id));
    assert.equal(hr.members.size, 0);
    assert.deepEqual(outcomes(keep(await c.delete(ref))), ['delete:notFound']);
    assert.deepEqual(outcomes(keep(await c.disable(ref))), ['disable:notFound']);
    assert.deepEqual(outcomes(keep(await c.revokePermission(ref, { name: 'dept-HR' }))), ['revokePermission:notFound']);
    assert.deepEqual(await c.listPermissions(ref), []);
    for (const p of [c.enable(ref), c.update(ref, renamed), c.grantPermission(ref, { name: 'dept-HR' })]) {
      const e = await rejects(p);
      assert.equal(e.name, 'TargetRejected');
      assert.match(e.message, /could not be found, possibly deleted/);
    }
    assert.equal(await c.correlate('1001'), null);
  });

  test('a retried create after a timeout leaves exactly one user, even with replication delay', async () => {
    const sim = await start();
    const c = connector(sim, { http: { timeoutMs: 300 } });
    // The POST is processed but the answer comes after the client gave up; $filter lags 5 queries.
    sim.faults.latency = { ms: 800, method: 'POST', pathPrefix: '/v1.0/users', times: 1, afterProcessing: true };
    sim.faults.replicationDelay = { filterCalls: 5 };
    const e = await rejects(c.create(desired()));
    assert.equal(e.name, 'TargetUnavailable', 'retryable, not rejected');
    assert.ok(e instanceof TargetUnavailableError);
    assert.match(e.message, /timed out.*a retry correlates/);
    assert.equal(sim.usersByEmployeeId('1001').length, 1);

    // The activity retry: correlate first (not visible yet), then create.
    assert.equal(await c.correlate('1001'), null);
    const r = keep(await c.create(desired()));
    assert.deepEqual(outcomes(r).slice(0, 1), ['correlate:success']);
    assert.match(r.audit[0]!.message, /found by userPrincipalName/);
    assert.equal(sim.usersByEmployeeId('1001').length, 1);
    assert.equal(r.account!.id, sim.usersByEmployeeId('1001')[0]!.id);

    // Without replication delay the retry correlates on employeeId directly.
    sim.faults = { latency: { ms: 800, method: 'POST', times: 1, afterProcessing: true } };
    await rejects(
      c.create(
        desired({ employeeId: '1002', userPrincipalName: 'p2@tenure.test', email: 'p2@tenure.test', username: 'p2' }),
      ),
    );
    const r2 = keep(
      await c.create(
        desired({ employeeId: '1002', userPrincipalName: 'p2@tenure.test', email: 'p2@tenure.test', username: 'p2' }),
      ),
    );
    assert.deepEqual(outcomes(r2), ['correlate:success']);
    assert.equal(sim.usersByEmployeeId('1002').length, 1);
    assert.equal(sim.users.size, 2);
  });

  test('conflicts with someone else are rejected clearly; a quote in the employee id is escaped', async () => {
    const sim = await start();
    const c = connector(sim);
    sim.addUser({ userPrincipalName: 'jan.devries@tenure.test', displayName: 'Other Jan', employeeId: '777' });
    const e = await rejects(c.create(desired()));
    assert.equal(e.name, 'TargetRejected');
    assert.match(e.message, /the userPrincipalName is already used by another account/);
    assert.ok(!e.message.includes('jan.devries'), 'the message names the attribute, not the address');
    assert.equal(
      await c.isTaken(
        { username: 'jdevries', userPrincipalName: 'jan.devries@tenure.test', email: 'x@tenure.test' },
        '1001',
      ),
      true,
    );
    assert.equal(
      await c.isTaken(
        { username: 'jdv2', userPrincipalName: 'jan.devries2@tenure.test', email: 'jd2@tenure.test' },
        '1001',
      ),
      false,
    );

    const quoted = desired({
      employeeId: "O'B-7",
      userPrincipalName: 'obrien@tenure.test',
      email: 'obrien@tenure.test',
      username: "o'brien",
    });
    const r = keep(await c.create(quoted));
    assert.deepEqual(await c.correlate("O'B-7"), r.account);
    assert.ok(
      sim.stats.log.some((l) => l.includes('employeeId%20eq%20%27O%27%27B-7%27')),
      'quote doubled, spaces as %20',
    );
    // The simulator is strict like Graph: an unescaped quote is a syntax error, `+` is not a space.
    const tok = (await (
      await fetch(`${sim.url}/${TENANT}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: CLIENT,
          client_secret: SECRET,
          scope: 'https://graph.microsoft.com/.default',
        }),
      })
    ).json()) as { access_token: string };
    const auth = { authorization: `Bearer ${tok.access_token}` };
    const raw = await fetch(`${sim.graphUrl}/users?$filter=employeeId%20eq%20'O'B-7'`, { headers: auth });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: { code: string } }).error.code, 'BadRequest');
    assert.equal((await fetch(`${sim.graphUrl}/users?$filter=employeeId+eq+'1'`, { headers: auth })).status, 400);
    // An address held as a proxy address by someone else counts as taken; one's own does not.
    assert.equal(
      await c.isTaken({ username: 'x', userPrincipalName: 'x@tenure.test', email: 'obrien@tenure.test' }, '1001'),
      true,
    );
    assert.equal(
      await c.isTaken(
        { username: "o'brien", userPrincipalName: 'obrien@tenure.test', email: 'obrien@tenure.test' },
        "O'B-7",
      ),
      false,
    );
    // Invalid data is rejected before any call.
    assert.equal((await rejects(c.create(desired({ employeeId: '12345678901234567' })))).name, 'TargetRejected');
  });

  test('soft delete keeps addresses held (rehire after delete is rejected clearly); permanent delete frees them', async () => {
    const sim = await start();
    const soft = connector(sim);
    const a = keep(await soft.create(desired()));
    keep(await soft.delete(a.account!));
    const e = await rejects(soft.create(desired()));
    assert.equal(e.name, 'TargetRejected');
    assert.match(e.message, /proxyAddresses is already used.*soft-deleted/);

    const hard = connector(sim, { deleteMode: 'permanent' });
    const b = keep(
      await hard.create(
        desired({ employeeId: '2001', userPrincipalName: 'p@tenure.test', email: 'p@tenure.test', username: 'p' }),
      ),
    );
    keep(await hard.delete(b.account!));
    assert.equal(sim.deletedUsers.has(b.account!.id), false);
    const again = keep(
      await hard.create(
        desired({ employeeId: '2001', userPrincipalName: 'p@tenure.test', email: 'p@tenure.test', username: 'p' }),
      ),
    );
    assert.deepEqual(outcomes(again), ['create:success']);
  });

  test('a throttling storm is waited out (Retry-After)', async () => {
    const sim = await start();
    const c = connector(sim);
    sim.addGroup('dept-FIN');
    sim.faults.throttleStorm = { count: 8, retryAfterSec: 0.05 };
    const t0 = Date.now();
    const r = keep(await c.create(desired()));
    keep(await c.grantPermission(r.account!, { name: 'dept-FIN' }));
    const ms = Date.now() - t0;
    assert.equal(sim.stats.throttled, 8);
    assert.equal(c.graph.http.stats.rateLimited, 8);
    assert.ok(ms >= 8 * 50 - 20, `waited ${ms} ms`);
    assert.equal(sim.users.size, 1);
    assert.deepEqual(await c.listPermissions(r.account!), ['dept-FIN']);
  });

  test('paging over several pages (memberOf, correlation, group lookup)', async () => {
    const sim = await start();
    const c = connector(sim, { pageSize: 3 });
    const r = keep(await c.create(desired()));
    const id = r.account!.id;
    for (let i = 1; i <= 8; i++) sim.addGroup(`app-${String(i).padStart(2, '0')}`, { members: [id] });
    sim.addGroup('other-group', { members: [id] });
    sim.addRole('Helpdesk Administrator', [id]);
    const all = await c.listPermissions(r.account!);
    assert.equal(all.length, 9);
    assert.ok(!all.includes('Helpdesk Administrator'), 'directory roles are not permissions');
    const memberOfCalls = sim.stats.log.filter((l) => l.includes('/memberOf'));
    assert.equal(memberOfCalls.length, 4, '10 objects in pages of 3');
    assert.ok(memberOfCalls.slice(1).every((l) => l.includes('$skiptoken=')));
    const prefixed = connector(sim, { pageSize: 3, managedGroupPrefixes: ['app-'] });
    assert.equal((await prefixed.listPermissions(r.account!)).length, 8);

    // A duplicate on the second page is still seen: correlation refuses to pick one.
    sim.addUser({ userPrincipalName: 'dup1@tenure.test', displayName: 'Dup', employeeId: '1001' });
    sim.addUser({ userPrincipalName: 'dup2@tenure.test', displayName: 'Dup', employeeId: '1001' });
    sim.addUser({ userPrincipalName: 'dup3@tenure.test', displayName: 'Dup', employeeId: '1001' });
    const e = await rejects(connector(sim, { pageSize: 3 }).correlate('1001'));
    assert.match(e.message, /multiple accounts \(4\)/);
    // Two groups with the same name: ambiguous; the object id works.
    const g1 = sim.addGroup('same-name');
    sim.addGroup('same-name');
    assert.match((await rejects(c.grantPermission(r.account!, { name: 'same-name' }))).message, /ambiguous/);
    keep(await c.grantPermission(r.account!, { name: g1.id }));
    assert.ok(g1.members.has(id));
  });

  test('Graph down for a while, then back', async () => {
    const sim = await start();
    const c = connector(sim, { http: { maxRetries: 4, retryBaseMs: 100, retryMaxMs: 400 } });
    const r = keep(await c.create(desired()));
    // Down for 300 ms: the retries (100 + 200 + 400 ms) outlast it.
    sim.faults.down = { until: Date.now() + 300 };
    assert.deepEqual(outcomes(keep(await c.enable(r.account!))), ['enable:success']);
    assert.ok(sim.stats.unavailable >= 1 && c.graph.http.stats.retried >= 1);
    // Down longer than the retries: a retryable error (the activity retries later), then success.
    sim.faults.down = { calls: 1000 };
    const e = await rejects(c.disable(r.account!));
    assert.equal(e.name, 'TargetUnavailable');
    assert.ok(!(e instanceof TargetRejectedError));
    assert.match(e.message, /Microsoft Graph unavailable \(server error 503, serviceNotAvailable\)/);
    sim.faults = {};
    assert.deepEqual(outcomes(keep(await c.disable(r.account!))), ['disable:success', 'disable:success']);
  });

  test('wrong credentials: a clear error without the secret; tokens cached and renewed', async () => {
    const sim = await start();
    const bad = connector(sim, { clientSecret: 'wrong-secret-value-xyz' });
    const e = await rejects(bad.correlate('1001'));
    assert.equal(e.name, 'TargetRejected');
    assert.match(e.message, /sign-in failed .*invalid_client: AADSTS7000215: Invalid client secret provided/);
    assert.match(e.message, /check ENTRA_CLIENT_SECRET/);
    assert.ok(!e.message.includes('wrong-secret-value-xyz') && !e.message.includes(SECRET));
    assert.ok(!/Trace ID/.test(e.message));
    const t = await rejects(connector(sim, { tenantId: 'no-such-tenant' }).correlate('1001'));
    assert.match(t.message, /AADSTS90002.*check ENTRA_TENANT_ID/);
    const cl = await rejects(connector(sim, { clientId: 'nope' }).correlate('1001'));
    assert.match(cl.message, /AADSTS700016.*check ENTRA_CLIENT_ID/);

    const c = connector(sim);
    for (let i = 0; i < 5; i++) await c.correlate(String(i));
    assert.equal(c.graph.tokensFetched, 1);
    sim.expireTokens();
    assert.equal(await c.correlate('1001'), null);
    assert.equal(c.graph.tokensFetched, 2);
    assert.ok(sim.stats.unauthorized >= 1);
  });

  test('advanced queries send ConsistencyLevel: eventual with $count; revoke sessions on disable', async () => {
    const sim = await start();
    const c = connector(sim, { advancedQuery: true, revokeSessionsOnDisable: true });
    const r = keep(await c.create(desired()));
    assert.ok(sim.stats.consistencyLevels.length > 0);
    assert.ok(sim.stats.consistencyLevels.every((v) => v === 'eventual'));
    assert.ok(sim.stats.log.some((l) => l.includes('$count=true')));
    keep(await c.enable(r.account!));
    const d = keep(await c.disable(r.account!));
    assert.deepEqual(outcomes(d), ['disable:success', 'disable:success']);
    assert.equal(sim.users.get(r.account!.id)!.sessionsRevoked, 1);
    // Without the header Graph refuses $count (simulated): the plain mode never sends it.
    const plain = connector(sim);
    assert.equal((await plain.correlate('1001'))?.id, r.account!.id);
  });

  test('the token POST never follows a redirect: a cross-origin 307 does not get the client secret', async () => {
    const sim = await start();
    const received: string[] = [];
    const thief = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x","expires_in":3600}');
      });
    });
    await new Promise<void>((r) => thief.listen(0, '127.0.0.1', r));
    try {
      sim.faults.tokenRedirect = `http://127.0.0.1:${(thief.address() as AddressInfo).port}/steal`;
      const c = connector(sim);
      const err = await rejects(c.correlate('1001'));
      assert.match(err.message, /redirect/);
      assert.ok(!err.message.includes(SECRET), 'the secret is not in the error');
      assert.deepEqual(received, [], 'nothing, and so no client secret, reached the other origin');
    } finally {
      await new Promise<void>((r) => thief.close(() => r()));
    }
  });

  test('disable revokes the sign-in sessions by default', async () => {
    const sim = await start();
    const c = connector(sim);
    const r = keep(await c.create(desired()));
    keep(await c.enable(r.account!));
    const d = keep(await c.disable(r.account!));
    assert.deepEqual(outcomes(d), ['disable:success', 'disable:success']);
    assert.ok(d.audit.some((a) => a.message === 'revoked sign-in sessions'));
    assert.equal(sim.users.get(r.account!.id)!.sessionsRevoked, 1);
    const off = connector(sim, { revokeSessionsOnDisable: false });
    const r2 = keep(
      await off.create(
        desired({
          employeeId: '1002',
          personKey: 'file:1002',
          username: 'p.pietersen',
          userPrincipalName: 'p.pietersen@tenure.test',
          email: 'p.pietersen@tenure.test',
        }),
      ),
    );
    keep(await off.enable(r2.account!));
    keep(await off.disable(r2.account!));
    assert.equal(sim.users.get(r2.account!.id)!.sessionsRevoked, 0, 'only when switched off explicitly');
  });

  test('a missing group is created when allowed, else the grant is rejected; mail-enabled groups refused', async () => {
    const sim = await start();
    const c = connector(sim);
    const r = keep(await c.create(desired()));
    assert.equal((await rejects(c.grantPermission(r.account!, { name: 'dept-NEW' }))).name, 'TargetRejected');
    sim.faults.replicationDelay = { filterCalls: 3 };
    const g = keep(await c.grantPermission(r.account!, { name: 'dept-NEW', createIfMissing: true }));
    assert.deepEqual(outcomes(g), ['grantPermission:success', 'grantPermission:success']);
    // The new group is not yet visible to $filter; the connector remembers it.
    keep(await c.grantPermission(r.account!, { name: 'dept-NEW', createIfMissing: true }));
    assert.equal([...sim.groups.values()].filter((x) => x.displayName === 'dept-NEW').length, 1);
    sim.addGroup('mail-sec', { mailEnabled: true });
    const e = await rejects(c.grantPermission(r.account!, { name: 'mail-sec' }));
    assert.match(e.message, /mail-enabled security groups/);
    assert.deepEqual(outcomes(keep(await c.revokePermission(r.account!, { name: 'no-such-group' }))), [
      'revokePermission:unchanged',
    ]);
  });
});
