import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import type { ActionResult, DesiredAccount } from '../connectors/types.js';
import {
  HelloIdConfigSchema,
  HelloIdTargetConnector,
  TargetRejectedError,
  helloIdConfigFromEnv,
  type HelloIdConfigInput,
} from '../connectors/targets/helloid.js';
import { HelloIdSimulator, seed81, type HelloIdSimulatorOptions } from './simulators/helloid.js';

const SECRET = 'sim-secret-do-not-log';
const sims: HelloIdSimulator[] = [];
const connectors: HelloIdTargetConnector[] = [];

async function start(opts: HelloIdSimulatorOptions = {}, data = seed81()) {
  const sim = new HelloIdSimulator(data, { apiSecret: SECRET, ...opts });
  sims.push(sim);
  await sim.start();
  return sim;
}

function connector(sim: HelloIdSimulator, over: Partial<HelloIdConfigInput> = {}) {
  const c = new HelloIdTargetConnector({
    url: sim.url,
    apiKey: 'sim-key',
    apiSecret: SECRET,
    pageSize: 2,
    http: { timeoutMs: 2000, retryBaseMs: 20, retryMaxMs: 100, maxRetries: 3 },
    ...over,
  });
  connectors.push(c);
  return c;
}

const jan: DesiredAccount = {
  personKey: 'raet:E1001',
  employeeId: 'E1001',
  username: 'jjansen',
  userPrincipalName: 'j.jansen@example.org',
  email: 'jan.jansen@example.org',
  emailAliases: [],
  displayName: 'Jan Jansen',
  givenName: 'Jan',
  familyName: 'Jansen',
  title: 'Controller',
  department: 'Finance',
  departmentCode: 'FIN',
};

const noSecret = (v: unknown) => {
  const s = v instanceof Error ? `${v.message}\n${v.stack ?? ''}\n${JSON.stringify(v)}` : JSON.stringify(v);
  assert.ok(!s.includes(SECRET), 'secret leaked');
  assert.ok(!s.includes(Buffer.from(`sim-key:${SECRET}`).toString('base64')), 'auth header leaked');
};
const outcomes = (r: ActionResult) => r.audit.map((a) => `${a.action}:${a.outcome}`);

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});
after(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

describe('config', () => {
  test('defaults, URL normalisation and env without echoing the secret', () => {
    const c = HelloIdConfigSchema.parse({ url: 'https://t.helloid.com/', apiKey: 'k', apiSecret: 's' });
    assert.equal(c.url, 'https://t.helloid.com/api/v1');
    assert.equal(c.correlationField, 'userAttributes.employeeId');
    assert.equal(c.userNameFrom, 'userPrincipalName');
    assert.equal(c.http.timeoutMs, 60_000);
    const e = helloIdConfigFromEnv({
      HELLOID_URL: 'https://t.helloid.com/api/v1/',
      HELLOID_API_KEY: 'k',
      HELLOID_API_SECRET: 's',
      HELLOID_PAGE_SIZE: '500',
      HELLOID_SET_MANAGER: 'false',
    });
    assert.equal(e.url, 'https://t.helloid.com/api/v1');
    assert.equal(e.pageSize, 500);
    assert.equal(e.setManager, false);
    assert.throws(
      () => helloIdConfigFromEnv({ HELLOID_URL: 'ftp://x', HELLOID_API_KEY: 'k', HELLOID_API_SECRET: SECRET }),
      (err: Error) => {
        assert.match(err.message, /url/);
        assert.ok(!err.message.includes(SECRET));
        return true;
      },
    );
    assert.throws(() => helloIdConfigFromEnv({ HELLOID_URL: 'https://x' }), /apiKey/);
  });

  test('the connector does not serialise its secret', async () => {
    const sim = await start();
    const c = connector(sim);
    noSecret(c);
    noSecret(c.config);
  });
});

describe('lifecycle against the simulator', () => {
  test('hire, start, mover, name change, leaver, delete', async () => {
    const sim = await start();
    const manager = sim.addUser({ userName: 'm.manager@example.org', userAttributes: { employeeId: 'E0001' } });
    for (let i = 0; i < 5; i++)
      sim.addUser({ userName: `other${i}@example.org`, userAttributes: { employeeId: `X${i}` } });
    const c = connector(sim);

    // hire: create disabled
    assert.equal(await c.correlate('E1001'), null);
    const created = await c.create({ ...jan, managerLocator: 'm.manager@example.org' });
    assert.deepEqual(outcomes(created), ['create:success']);
    const ref = created.account!;
    const u = sim.users.get(ref.id)!;
    assert.equal(ref.locator, 'j.jansen@example.org');
    assert.equal(u.isEnabled, false);
    assert.equal(u.userAttributes.employeeId, 'E1001');
    assert.equal(u.userAttributes.department, 'Finance');
    assert.equal(u.contactEmail, 'jan.jansen@example.org');
    assert.equal(u.source, 'Local');
    assert.equal(u.mustChangePassword, true);
    assert.equal(u.managedByUserGUID, manager.userGUID);
    assert.ok(u.password && u.password.length >= 16, 'an initial password was set');
    assert.ok(!JSON.stringify(created).includes(u.password), 'password not in the result');
    assert.deepEqual(await c.correlate('E1001'), ref);

    // a second create correlates
    const again = await c.create(jan);
    assert.deepEqual(outcomes(again), ['correlate:success']);
    assert.equal(sim.usersWith('employeeId', 'E1001').length, 1);

    // start: enable
    assert.deepEqual(outcomes(await c.enable(ref)), ['enable:success']);
    assert.equal(u.isEnabled, true);
    assert.deepEqual(outcomes(await c.enable(ref)), ['enable:unchanged']);

    // rules: a group and a product
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'department_FIN' })), ['grantPermission:success']);
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'department_FIN' })), ['grantPermission:unchanged']);
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'product:Laptop standaard' })), [
      'grantPermission:success',
    ]);
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'product:Laptop standaard' })), [
      'grantPermission:unchanged',
    ]);
    assert.deepEqual(await c.listPermissions(ref), ['department_FIN', 'product:Laptop standaard']);

    // mover: grant the new ones before revoking the old one
    sim.stats.log.length = 0;
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'department_HR' })), ['grantPermission:success']);
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'department_OPS', createIfMissing: true })), [
      'grantPermission:success',
      'grantPermission:success',
    ]);
    assert.deepEqual(outcomes(await c.revokePermission(ref, { name: 'department_FIN' })), ['revokePermission:success']);
    assert.deepEqual(outcomes(await c.revokePermission(ref, { name: 'department_FIN' })), [
      'revokePermission:unchanged',
    ]);
    const writes = sim.stats.log.filter((l) => l.method !== 'GET').map((l) => `${l.method} ${l.path.split('/')[1]}`);
    assert.deepEqual(writes, ['POST users', 'POST groups', 'POST users', 'DELETE users']);
    assert.deepEqual(await c.listPermissions(ref), ['department_HR', 'department_OPS', 'product:Laptop standaard']);
    const moved = await c.update(ref, { ...jan, department: 'Operations', title: undefined });
    assert.deepEqual(outcomes(moved), ['update:success']);
    assert.deepEqual(moved.audit[0]?.details?.attributes, [
      'userAttributes.department',
      'userAttributes.title',
      'managedByUserGUID',
    ]);
    assert.equal(u.userAttributes.department, 'Operations');
    assert.ok(!('title' in u.userAttributes));
    assert.equal(u.managedByUserGUID, null, 'no manager wanted any more');

    // name change: only the differing fields, userName through IdentifierObject
    sim.stats.log.length = 0;
    const renamed = {
      ...jan,
      department: 'Operations',
      title: undefined,
      familyName: 'de Vries',
      userPrincipalName: 'j.devries@example.org',
      email: 'jan.devries@example.org',
    };
    const r = await c.update(ref, renamed);
    assert.deepEqual(outcomes(r), ['update:success', 'rename:success']);
    assert.deepEqual(r.audit[0]?.details?.attributes, ['lastName', 'contactEmail', 'userName']);
    assert.equal(r.account?.locator, 'j.devries@example.org');
    assert.equal(u.userName, 'j.devries@example.org');
    assert.equal(u.lastName, 'de Vries');
    const put = sim.stats.log.find((l) => l.method === 'PUT');
    assert.deepEqual(put?.body?.IdentifierObject, { userName: 'j.devries@example.org' });
    assert.deepEqual(outcomes(await c.update(ref, renamed)), ['update:unchanged']);
    assert.equal(sim.calls('PUT', /^\/users\//), 1, 'no PUT without changes');

    // leaver: permissions revoked, disabled
    assert.deepEqual(outcomes(await c.revokePermission(ref, { name: 'product:Laptop standaard' })), [
      'revokePermission:success',
    ]);
    assert.deepEqual(outcomes(await c.revokePermission(ref, { name: 'product:Laptop standaard' })), [
      'revokePermission:unchanged',
    ]);
    assert.deepEqual(outcomes(await c.disable(ref)), ['disable:success']);
    assert.equal(u.isEnabled, false);
    assert.deepEqual(outcomes(await c.disable(ref)), ['disable:unchanged']);

    // delete, and what the not-found matrix says afterwards
    assert.deepEqual(outcomes(await c.delete(ref)), ['delete:success']);
    assert.equal(u.isDeleted, true);
    assert.equal(await c.correlate('E1001'), null);
    assert.deepEqual(outcomes(await c.delete(ref)), ['delete:notFound']);
    assert.deepEqual(outcomes(await c.disable(ref)), ['disable:notFound']);
    assert.deepEqual(outcomes(await c.revokePermission(ref, { name: 'department_HR' })), ['revokePermission:notFound']);
    await assert.rejects(c.enable(ref), TargetRejectedError);
    await assert.rejects(c.update(ref, jan), TargetRejectedError);
    await assert.rejects(c.grantPermission(ref, { name: 'department_HR' }), TargetRejectedError);
    assert.deepEqual(await c.listPermissions(ref), []);
  });

  test('missing group without createIfMissing and missing product are rejected clearly', async () => {
    const sim = await start();
    const c = connector(sim);
    const ref = (await c.create(jan)).account!;
    await assert.rejects(c.grantPermission(ref, { name: 'department_XYZ' }), (e: Error) => {
      assert.equal(e.name, 'TargetRejected');
      assert.match(e.message, /group department_XYZ does not exist/);
      return true;
    });
    await assert.rejects(c.grantPermission(ref, { name: 'product:Telefoon', createIfMissing: true }), (e: Error) => {
      assert.equal(e.name, 'TargetRejected');
      assert.match(e.message, /product Telefoon does not exist.*cannot be created/);
      return true;
    });
    assert.deepEqual(outcomes(await c.revokePermission(ref, { name: 'department_XYZ' })), [
      'revokePermission:unchanged',
    ]);
  });

  test('duplicate membership answered with an error or as a no-op: grant stays idempotent', async () => {
    for (const mode of ['error', 'noop'] as const) {
      const sim = await start({ duplicateMembership: mode });
      const c = connector(sim);
      const ref = (await c.create(jan)).account!;
      const g = [...sim.groups.values()].find((x) => x.name === 'department_FIN')!;
      g.users.push(ref.id); // someone added the member behind the connector's back
      assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'department_FIN' })), [
        'grantPermission:unchanged',
      ]);
      assert.equal(g.users.filter((x) => x === ref.id).length, 1);
    }
  });

  test('products needing approval are requested once', async () => {
    const sim = await start({ productApproval: 'manual' });
    const c = connector(sim);
    const ref = (await c.create(jan)).account!;
    const first = await c.grantPermission(ref, { name: 'product:Laptop standaard' });
    assert.deepEqual(outcomes(first), ['grantPermission:success']);
    assert.equal(first.audit[0]?.details?.pending, true);
    assert.deepEqual(outcomes(await c.grantPermission(ref, { name: 'product:Laptop standaard' })), [
      'grantPermission:unchanged',
    ]);
    assert.equal(sim.calls('POST', /^\/selfservice\/products\/request$/), 1);
    sim.approvePending();
    assert.deepEqual(await c.listPermissions(ref), ['product:Laptop standaard']);
  });

  test('an existing user with the same userName and no employee number is not adopted by default', async () => {
    const sim = await start();
    const pre = sim.addUser({ userName: 'j.jansen@example.org' });
    const c = connector(sim);
    assert.equal(
      await c.isTaken({ username: 'x', userPrincipalName: 'j.jansen@example.org', email: '' }, 'E1001'),
      true,
      'the name is taken: naming picks another one',
    );
    await assert.rejects(c.create(jan), /adoption is off/);
    assert.equal(pre.userAttributes?.employeeId, undefined, 'the existing user is untouched');
    assert.equal(sim.users.size, 1);
  });

  test('adoptByUserName: same userName without employee number is adopted, with another one is a conflict', async () => {
    const sim = await start();
    const pre = sim.addUser({ userName: 'j.jansen@example.org' });
    const c = connector(sim, { adoptByUserName: true });
    assert.equal(
      await c.isTaken({ username: 'x', userPrincipalName: 'j.jansen@example.org', email: '' }, 'E1001'),
      false,
    );
    const r = await c.create(jan);
    assert.deepEqual(outcomes(r), ['correlate:success']);
    assert.equal(r.account?.id, pre.userGUID);
    assert.equal(pre.userAttributes.employeeId, 'E1001');
    assert.equal(sim.users.size, 1);

    const other = { ...jan, employeeId: 'E2002', personKey: 'raet:E2002' };
    assert.equal(
      await c.isTaken({ username: 'x', userPrincipalName: 'j.jansen@example.org', email: '' }, 'E2002'),
      true,
    );
    await assert.rejects(c.create(other), /already used by another person/);
    assert.equal(sim.users.size, 1);
  });

  test('not-found as 400 with the text only, and bare-array paging everywhere', async () => {
    const sim = await start({ notFoundStatus: 400, listStyle: 'array' });
    for (let i = 0; i < 7; i++) sim.addUser({ userName: `u${i}@example.org`, userAttributes: { employeeId: `Y${i}` } });
    const c = connector(sim);
    assert.equal((await c.correlate('Y6'))?.locator, 'u6@example.org', 'found on the last page');
    const ghost = { id: '00000000-0000-4000-8000-000000000000', locator: 'ghost@example.org' };
    assert.deepEqual(outcomes(await c.disable(ghost)), ['disable:notFound']);
    assert.deepEqual(outcomes(await c.delete(ghost)), ['delete:notFound']);
    await assert.rejects(c.enable(ghost), /could not be found/);
  });
});

describe('resilience', () => {
  test('a create retried after a timeout leaves exactly one user', async () => {
    const sim = await start();
    const c = connector(sim, { http: { timeoutMs: 200, retryBaseMs: 20, maxRetries: 0 } });
    sim.faults.latency = { ms: 600, method: 'POST', path: /^\/users$/ };
    const t0 = Date.now();
    await assert.rejects(c.create(jan), (e: Error) => {
      assert.notEqual(e.name, 'TargetRejected', 'a timeout is retryable');
      assert.match(e.message, /unreachable or too slow/);
      noSecret(e);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000);
    await sim.idle(); // the server finished the create after the client gave up
    sim.faults.latency = undefined;
    assert.equal(sim.usersWith('employeeId', 'E1001').length, 1);
    const retried = await c.create(jan);
    assert.deepEqual(outcomes(retried), ['correlate:success']);
    assert.equal(sim.usersWith('employeeId', 'E1001').length, 1);
    assert.equal(sim.calls('POST', /^\/users$/), 1);
  });

  test('a 429 storm is waited out', async () => {
    const sim = await start();
    const c = connector(sim);
    sim.faults.tooManyStorm = { count: 12, retryAfterSec: 0.02 };
    const t0 = Date.now();
    const ref = (await c.create(jan)).account!;
    await c.enable(ref);
    await c.grantPermission(ref, { name: 'department_FIN' });
    assert.equal(sim.stats.rateLimited, 12);
    assert.equal(c.api.http.stats.rateLimited, 12);
    assert.equal(sim.users.get(ref.id)?.isEnabled, true);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('HelloID down for a while, then back: the retried call succeeds', async () => {
    const sim = await start();
    const c = connector(sim, { http: { retryBaseMs: 100, retryMaxMs: 400, maxRetries: 5 } });
    const ref = (await c.create(jan)).account!;
    await sim.goDown();
    const back = new Promise<void>((resolve) => setTimeout(() => void sim.comeBack().then(resolve), 300));
    const r = await c.enable(ref);
    await back;
    assert.deepEqual(outcomes(r), ['enable:success']);
    assert.ok(c.api.http.stats.retried >= 1);

    // down for longer than the retries: a retryable error, not a rejection
    await sim.goDown();
    const quick = connector(sim, { http: { retryBaseMs: 10, retryMaxMs: 20, maxRetries: 1 } });
    await assert.rejects(quick.disable(ref), (e: Error) => {
      assert.equal(e.name, 'TargetUnavailable');
      noSecret(e);
      return true;
    });
    await sim.comeBack();
    assert.deepEqual(outcomes(await quick.disable(ref)), ['disable:success']);
  });

  test('wrong credentials: a clear permanent error without the secret', async () => {
    const sim = await start();
    const c = new HelloIdTargetConnector({ url: sim.url, apiKey: 'sim-key', apiSecret: 'wrong-secret-123' });
    connectors.push(c);
    await assert.rejects(c.correlate('E1001'), (e: Error) => {
      assert.equal(e.name, 'TargetRejected');
      assert.match(e.message, /refused the API credentials \(401/);
      assert.match(e.message, /HELLOID_API_KEY/);
      assert.ok(!e.message.includes('wrong-secret-123'));
      assert.ok(!JSON.stringify(e).includes('wrong-secret-123'));
      return true;
    });
    sim.faults.keyDisabled = true;
    await assert.rejects(connector(sim).create(jan), /401/);
    sim.faults.keyDisabled = false;
    sim.faults.allowedIps = ['10.0.0.1'];
    await assert.rejects(connector(sim).create(jan), /401/);
    assert.equal(sim.users.size, 0);
  });
});
