import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { HttpClient, parseRetryAfter } from '../connectors/http.js';
import { RaetError, RaetSource, type RaetSourceOptions } from '../connectors/sources/raet.js';
import type { SourceImport } from '../connectors/types.js';
import { displayName } from '../domain/naming.js';
import type { Person } from '../domain/model.js';
import {
  RaetSimulator,
  beaufortDataset,
  businessDataset,
  generateTenant,
  type RaetSimulatorOptions,
} from './simulators/raet.js';

const TODAY = '2026-07-01';
const SECRET = 'sim-secret-do-not-log';
const sims: RaetSimulator[] = [];

async function start(data = beaufortDataset(), opts: RaetSimulatorOptions = {}) {
  const sim = new RaetSimulator(data, { today: TODAY, windowMs: 1000, fractionalRetryAfter: true, ...opts });
  sims.push(sim);
  await sim.start();
  return sim;
}

/** A source on the simulator with test-sized limits (the real spacing of 0.6 s is off). */
function source(sim: RaetSimulator, over: Partial<RaetSourceOptions> = {}) {
  return new RaetSource({
    baseUrl: sim.url,
    tokenUrl: `${sim.url}/connect/token`,
    clientId: 'sim-client',
    clientSecret: SECRET,
    tenantId: 'sim-tenant',
    today: TODAY,
    pageSize: 2,
    rateLimit: { callsPerWindow: 100, windowMs: 1000, concurrency: 3, minSpacingMs: 0 },
    retries: { max: 2, baseMs: 10, maxMs: 50 },
    timeouts: { requestMs: 5000, tokenMs: 5000 },
    ...over,
  });
}

const byKey = (imp: SourceImport, key: string) => imp.persons.find((p) => p.key === key) as Person;
const noSecret = (v: unknown) => assert.ok(!JSON.stringify(v).includes(SECRET), 'secret leaked');

afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});
after(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

describe('http helper', () => {
  test('Retry-After as seconds, fractions and HTTP dates', () => {
    assert.equal(parseRetryAfter('2', 0), 2000);
    assert.equal(parseRetryAfter('0.25', 0), 250);
    assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:00:05 GMT', 1000), 4000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(null, 0), undefined);
  });

  test('budget per window and concurrency hold', async () => {
    const sim = await start(beaufortDataset(), { callsPerWindow: 5, windowMs: 300, concurrent: 2 });
    const token = (await (
      await fetch(`${sim.url}/connect/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'sim-client',
          client_secret: SECRET,
          tenant_id: 'sim-tenant',
        }),
      })
    ).json()) as { access_token: string };
    // The server counts arrivals, the client counts sends: on a loaded machine the two drift apart
    // by more than the default slack of a 300 ms window, so this test gives the client a wide one.
    const http = new HttpClient({ callsPerWindow: 5, windowMs: 300, windowSlackMs: 150, concurrency: 2 });
    const t0 = Date.now();
    const res = await Promise.all(
      Array.from({ length: 12 }, () =>
        http.request(`${sim.url}/iam/v1.0/jobProfiles`, { headers: { authorization: `Bearer ${token.access_token}` } }),
      ),
    );
    assert.ok(res.every((r) => r.status === 200));
    assert.equal(sim.stats.rateLimited, 0, 'the client stayed within the budget');
    assert.ok(Date.now() - t0 >= 600, 'twelve calls at five per 300 ms take two extra windows');
    assert.ok(http.stats.maxInFlight <= 2);
  });
});

describe('raet source: synthetic Beaufort tenant (docs/sources/raet.md)', () => {
  test('full import: names, conventions, prefixes, two contracts, leaver, managers, departments', async () => {
    const sim = await start();
    const src = source(sim);
    const imp = await src.fetchAll();
    assert.deepEqual(imp.persons.map((p) => p.key).sort(), ['100001', '100002', '100003']);
    assert.equal(imp.recordsRead, 4);

    const jan = byKey(imp, '100001');
    assert.equal(jan.source, 'raet');
    assert.deepEqual(JSON.parse(JSON.stringify(jan.name)), {
      given: 'Jan Pieter',
      nickName: 'Jan',
      initials: 'J.P.',
      familyName: 'Vries',
      familyNamePrefix: 'de',
      convention: 'B',
    });
    assert.equal(jan.businessEmail, 'j.devries@voorbeeld.nl');
    assert.equal(jan.businessPhone, '030-1234567');
    assert.deepEqual(
      jan.contracts.map((c) => [c.id, c.department.code, c.title?.code, c.costCenter, c.startDate, c.endDate]),
      [
        ['A-9001', 'ICT', 'TLICT', 'KP100', '2015-03-01', undefined],
        ['A-9002', 'PZ', 'HRADV', 'KP200', '2026-01-01', '2026-12-31'],
      ],
    );
    assert.equal(jan.contracts[0]?.fte, 0.8889);
    assert.equal(jan.contracts[0]?.department.name, 'Informatievoorziening');
    assert.equal(jan.contracts[0]?.employer, '0001');
    assert.equal(jan.contracts[0]?.managerKey, undefined, 'manager of his own department, ORG has no manager');

    const petra = byKey(imp, '100002');
    assert.deepEqual(
      petra.contracts.map((c) => [c.id, c.endDate]),
      [['A-9003', '2026-05-15']],
      'archived A-8000 dropped, leaver keeps her end date',
    );

    const sanne = byKey(imp, '100003');
    assert.equal(sanne.name.convention, 'PB');
    assert.equal(sanne.name.familyNamePrefix, 'van den');
    assert.equal(sanne.name.partnerNamePrefix, 'de');
    assert.equal(displayName(sanne.name), 'Sanne de Jong - van den Berg');
    assert.equal(sanne.contracts[0]?.id, 'A-9004');
    assert.equal(sanne.contracts[0]?.managerKey, '100001', 'manager from the MGR role on ICT');

    assert.deepEqual(JSON.parse(JSON.stringify([...imp.departments].sort((a, b) => a.code.localeCompare(b.code)))), [
      { code: 'ICT', name: 'Informatievoorziening', managerKey: '100001', parentCode: 'ORG' },
      { code: 'ORG', name: 'Gemeente Voorbeeld' },
      { code: 'PZ', name: 'Personeelszaken', parentCode: 'ORG' },
    ]);
    // The record without a personCode is ignored with a note; nothing else is wrong.
    assert.deepEqual(
      imp.errors.map((e) => [e.origin, e.field, e.key]),
      [['/iam/v1.0/persons', 'personCode', undefined]],
    );
    // No birth date, gender or private mail in the result.
    const text = JSON.stringify(imp);
    for (const pii of ['1980-04-12', 'jan.devries@mail.example', 'Male', '06-12345678'])
      assert.ok(!text.includes(pii), pii);
    assert.equal(src.tokensFetched, 1);
    assert.equal(sim.stats.tokensIssued, 1);
  });

  test('paging over several pages, nulls in pages, cached token reused across imports', async () => {
    const sim = await start(beaufortDataset(), { nullItems: true });
    const src = source(sim, { pageSize: 1 });
    const a = await src.fetchAll();
    const b = await src.fetchAll();
    assert.deepEqual(a, b);
    assert.equal(a.persons.length, 3);
    assert.equal(src.stats.callsByEndpoint['/iam/v1.0/persons'], 4, 'four persons, one per page');
    assert.equal(src.stats.callsByEndpoint['/iam/v1.0/assignments'], 4, 'archived A-8000 is past retention');
    assert.equal(src.tokensFetched, 1, 'one token for both imports');
  });

  test('employment mode, department key id, extensions', async () => {
    const sim = await start();
    const imp = await source(sim, {
      contractSource: 'employments',
      departmentKey: 'id',
      includeExtensions: true,
    }).fetchAll();
    const jan = byKey(imp, '100001');
    assert.deepEqual(
      jan.contracts.map((c) => [c.id, c.department.code, c.sequence, c.fte]),
      [
        ['E-100001-1', '1100', 1, 0.8889],
        ['E-100001-2', '1200', 2, 0.1111],
      ],
    );
    assert.deepEqual(byKey(imp, '100003').custom, { P9001: 'Gebouw B' });
    assert.ok(imp.departments.some((d) => d.code === '1100' && d.parentCode === '1000' && d.managerKey === '100001'));
  });

  test('90-day retention: a leaver past the window vanishes from the API', async () => {
    const sim = await start(beaufortDataset(), { today: '2026-08-20' });
    const imp = await source(sim, { today: '2026-08-20' }).fetchAll();
    assert.deepEqual(imp.persons.map((p) => p.key).sort(), ['100001', '100003']);
  });
});

describe('raet source: limits and faults', () => {
  test('rate limit obeyed: a 10-per-second budget gives no 429 and never more than 3 at once', async () => {
    const sim = await start(generateTenant({ persons: 60, contracts: 70, seed: 1 }), {
      callsPerWindow: 10,
      windowMs: 1000,
    });
    const src = source(sim, {
      pageSize: 20,
      rateLimit: { callsPerWindow: 10, windowMs: 1000, concurrency: 3, minSpacingMs: 0 },
    });
    const imp = await src.fetchAll();
    assert.equal(imp.persons.length, 60);
    assert.equal(sim.stats.rateLimited, 0);
    assert.ok(sim.stats.maxConcurrent <= 3);
    assert.ok(sim.stats.dataCalls > 10, 'needed more than one window');
  });

  test('429 storm and a client configured above the server limit: waits, then completes', async () => {
    const sim = await start(beaufortDataset(), { callsPerWindow: 6, windowMs: 500 });
    sim.faults.tooManyStorm = { count: 8, retryAfterSec: 0.05 };
    const src = source(sim, {
      pageSize: 1,
      rateLimit: { callsPerWindow: 1000, windowMs: 1000, concurrency: 3, minSpacingMs: 0 },
    });
    const imp = await src.fetchAll();
    assert.equal(imp.persons.length, 3);
    assert.ok(sim.stats.rateLimited >= 8, `429s: ${sim.stats.rateLimited}`);
    assert.ok(src.stats.rateLimited >= 8);
  });

  test('expired token mid-import: one new token, import continues', async () => {
    const sim = await start();
    sim.faults.revokeTokensAfterCalls = 4;
    const src = source(sim, { pageSize: 1 });
    const imp = await src.fetchAll();
    assert.equal(imp.persons.length, 3);
    assert.equal(src.tokensFetched, 2);
    assert.ok(sim.stats.unauthorized >= 1);
  });

  test('token lifetime: an expired cached token is replaced before use', async () => {
    let now = Date.parse('2026-07-01T08:00:00Z');
    const sim = await start(beaufortDataset(), { tokenLifetimeSec: 3600, now: () => now, expiresInAsString: true });
    const src = new RaetSource({ ...optionsFor(sim), tokenRefreshMarginSec: 60 }, { now: () => now });
    await src.fetchAll();
    now += 3500_000;
    await src.fetchAll();
    assert.equal(src.tokensFetched, 1, 'still valid');
    now += 100_000;
    await src.fetchAll();
    assert.equal(src.tokensFetched, 2, 'within the margin: renewed');
    assert.equal(sim.stats.unauthorized, 0);
  });

  test('5xx mid-paging fails the whole import cleanly; a transient one is retried', async () => {
    const sim = await start();
    sim.faults.serverErrorAt = { path: 'employments', page: 2, status: 503 };
    const src = source(sim, { pageSize: 1 });
    await assert.rejects(src.fetchAll(), (e: unknown) => {
      assert.ok(e instanceof RaetError);
      assert.match(e.message, /employments: server error 503 \(after 2 retries\)/);
      noSecret(e.message);
      return true;
    });
    const sim2 = await start();
    sim2.faults.serverErrorAt = { path: 'employments', page: 2, status: 502, times: 1 };
    const imp = await source(sim2, { pageSize: 1 }).fetchAll();
    assert.equal(imp.persons.length, 3);
    assert.equal(sim2.stats.serverErrors, 1);
  });

  test('malformed records are skipped with a clear error; the rest is imported', async () => {
    const data = beaufortDataset();
    (data.persons[2] as Record<string, unknown>).emailAddresses = 'not a list';
    data.assignments.push({ id: 'A-X', personCode: '100001', employmentCode: '1', startDate: 20260101 });
    data.employments.push({ id: 'E-X', personCode: '100002', employmentCode: '3', hireDate: '2026-02-30' });
    data.persons.push({ id: '100004', personCode: '100004', lastNameAtBirth: 'Zonder' });
    data.employments.push({
      id: 'E-100004-1',
      personCode: '100004',
      employmentCode: '1',
      hireDate: '2020-01-01',
      organizationUnit: '1100',
    });
    data.assignments.push({
      id: 'A-9100',
      personCode: '100004',
      employmentCode: '1',
      startDate: '2020-01-01',
      organizationUnit: '1100',
    });
    data.persons.push(7 as unknown as Record<string, unknown>);
    const sim = await start(data);
    const imp = await source(sim).fetchAll();
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['100002'],
    );
    const view = imp.errors.map((e) => `${e.origin}|${e.key ?? ''}|${e.field}|${e.reason}`);
    assert.ok(
      view.includes(
        '/iam/v1.0/persons|100003|emailAddresses|Invalid input: expected array, received string; record skipped',
      ),
      view.join('\n'),
    );
    assert.ok(
      view.some((v) => /^\/iam\/v1\.0\/persons\|100004\|knownAs\|.*person rejected/.test(v)),
      view.join('\n'),
    );
    assert.ok(
      view.some((v) => /^\/iam\/v1\.0\/persons\|100001\|personCode\|has malformed employment/.test(v)),
      view.join('\n'),
    );
    assert.ok(
      view.includes(
        '/iam/v1.0/assignments|100001|startDate|Invalid input: expected string, received number; record skipped',
      ),
      view.join('\n'),
    );
    assert.ok(
      view.some((v) =>
        /^\/iam\/v1\.0\/employments\|100002\|assignments\|employment E-X has no active assignment/.test(v),
      ),
    );
    assert.ok(
      view.some((v) => /^\/iam\/v1\.0\/persons\|\|\(record\)\|not an object/.test(v)),
      view.join('\n'),
    );
  });

  test('wrong credentials: a clear error without the secret', async () => {
    const sim = await start();
    const src = new RaetSource({ ...optionsFor(sim), clientSecret: 'wrong-secret-xyz' });
    await assert.rejects(src.fetchAll(), (e: unknown) => {
      assert.ok(e instanceof RaetError);
      assert.equal(e.kind, 'auth');
      assert.match(e.message, /token request rejected \(HTTP 400 \(invalid_client\)\)/);
      assert.ok(!e.message.includes('wrong-secret-xyz'));
      assert.ok(!JSON.stringify(e).includes('wrong-secret-xyz'));
      return true;
    });
    assert.throws(() => new RaetSource({ ...optionsFor(sim), pageSize: 0 }), /pageSize/);
  });
});

function optionsFor(sim: RaetSimulator): RaetSourceOptions {
  return {
    baseUrl: sim.url,
    tokenUrl: `${sim.url}/connect/token`,
    clientId: 'sim-client',
    clientSecret: SECRET,
    tenantId: 'sim-tenant',
    today: TODAY,
    rateLimit: { minSpacingMs: 0, windowMs: 1000 },
    retries: { max: 1, baseMs: 10 },
  };
}

describe('raet source: write-back', () => {
  test('identity and business e-mail land; a repeated write is unchanged', async () => {
    const sim = await start();
    const src = source(sim);
    const values = { userPrincipalName: 'jan.devries@voorbeeld.nl', businessEmail: 'jan.devries@voorbeeld.nl' };
    assert.equal(await src.writeBack('100001', values), 'written');
    assert.equal(sim.data.users.get('100001')?.identityId, 'jan.devries@voorbeeld.nl');
    assert.deepEqual(sim.stats.contactDetailsPosts, [
      { personCode: '100001', emailAddress: 'jan.devries@voorbeeld.nl', phoneNumber: undefined },
    ]);
    assert.equal(await src.writeBack('100001', values), 'unchanged');
    assert.equal(sim.stats.identityPatches.length, 1, 'no second PATCH');
    assert.equal(sim.stats.contactDetailsPosts.length, 1, 'no second POST');
    // The next import sees the new business e-mail.
    assert.equal(byKey(await src.fetchAll(), '100001').businessEmail, 'jan.devries@voorbeeld.nl');
  });

  test('the API erroring on the same value (race) still counts as unchanged', async () => {
    const sim = await start(beaufortDataset(), { sameIdentityStatus: 409 });
    const src = source(sim);
    const user = sim.data.users.get('100003');
    assert.ok(user);
    // Another writer sets the value between our GET and our PATCH.
    const orig = sim.data.users.get.bind(sim.data.users);
    let gets = 0;
    sim.data.users.get = (k: string) => {
      const u = orig(k);
      if (k === '100003' && u && ++gets === 2) u.identityId = 's.jong@voorbeeld.nl';
      return u;
    };
    assert.equal(await src.writeBack('100003', { userPrincipalName: 's.jong@voorbeeld.nl' }), 'unchanged');
  });

  test('failing write-back raises clear errors', async () => {
    const sim = await start();
    const src = source(sim);
    await assert.rejects(
      src.writeBack('100009', { userPrincipalName: 'x@voorbeeld.nl' }),
      /no Youforce user for employee 100009 \(404/,
    );
    await assert.rejects(src.writeBack('100001', { userPrincipalName: '  ' }), /cannot be cleared/);
    await assert.rejects(
      src.writeBack('100002', { businessEmail: 'not-an-address' }),
      (e: unknown) =>
        e instanceof RaetError &&
        e.kind === 'writeBack' &&
        /rejected the business e-mail of person 100002 \(HTTP 400 \(emailAddress is not a valid e-mail address\)\)/.test(
          e.message,
        ),
    );
    await assert.rejects(src.writeBack('../x', { businessEmail: 'a@b.nl' }), /invalid person key/);
    const quiet = source(sim, { writeBack: { identity: false, contactDetails: false } });
    assert.equal(
      await quiet.writeBack('100001', { userPrincipalName: 'a@b.nl', businessEmail: 'a@b.nl' }),
      'unchanged',
    );
  });
});

describe('raet source: HR Core Business (docs/sources/raet.md)', () => {
  test('time slices, digit conventions, OU manager via employee id, legacy auth headers', async () => {
    const sim = await start(businessDataset(), { variant: 'business' });
    const src = source(sim, { variant: 'business', authStyle: 'legacy', tokenUrl: `${sim.url}/authentication/token` });
    const imp = await src.fetchAll();
    // Petra's employment slice ended before today: no contract, so she is not imported (HelloID rule).
    assert.deepEqual(imp.persons.map((p) => p.key).sort(), ['100001', '100003']);
    const jan = byKey(imp, '100001');
    assert.equal(jan.name.convention, 'B');
    assert.equal(jan.businessEmail, 'j.devries@voorbeeld.nl', 'the latest slice wins');
    assert.deepEqual(
      jan.contracts.map((c) => [c.id, c.department.code, c.title?.code, c.endDate, c.employer, c.fte]),
      [['E1', '1100', 'TLICT', undefined, '001', 1]],
    );
    assert.equal(byKey(imp, '100003').name.convention, 'PB');
    assert.equal(byKey(imp, '100003').contracts[0]?.managerKey, '100001');
    assert.equal(byKey(imp, '100003').contracts[0]?.costCenter, 'KP200');
    // With a look-back for employments the leaver stays visible with her end date.
    const withLeavers = await source(sim, {
      variant: 'business',
      authStyle: 'legacy',
      tokenUrl: `${sim.url}/authentication/token`,
      businessEmploymentLookBackDays: 90,
    }).fetchAll();
    assert.deepEqual(
      byKey(withLeavers, '100002').contracts.map((c) => [c.id, c.endDate]),
      [['E2', '2026-05-15']],
    );
    const ict = imp.departments.find((d) => d.code === '1100');
    assert.deepEqual(ict, { code: '1100', name: 'Informatievoorziening', managerKey: '100001', parentCode: '1000' });
  });
});
