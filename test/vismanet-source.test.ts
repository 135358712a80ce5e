import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  VismaNetError,
  VismaNetSource,
  VismaNetSourceOptions,
  type VismaNetDeps,
} from '../connectors/sources/vismanet.js';
import type { SourceImport } from '../connectors/types.js';
import type { Person } from '../domain/model.js';
import { displayName } from '../domain/naming.js';
import {
  generateTenant,
  startVismaNetSim,
  syntheticDataset,
  type VismaNetSim,
  type VismaNetSimOptions,
} from './simulators/vismanet.js';

const CLIENT = { clientId: 'tenure-client', clientSecret: 'S3cr3t-Visma-Client-Secret!', tenantId: 'tenant-0001' };
const TODAY = '2026-07-01';

/** Records every wait the connector asks for and waits a little (never more than 30 ms). */
function recordingSleep() {
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
    await new Promise((r) => setTimeout(r, Math.min(ms, 30)));
  };
  return { waits, sleep };
}

const sims: VismaNetSim[] = [];
async function sim(opts: Partial<VismaNetSimOptions> = {}): Promise<VismaNetSim> {
  const s = await startVismaNetSim({ ...CLIENT, data: syntheticDataset(), ...opts });
  sims.push(s);
  return s;
}
after(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

function source(s: VismaNetSim, opts: Partial<VismaNetSourceOptions> = {}, deps: VismaNetDeps = {}) {
  return new VismaNetSource(
    {
      ...CLIENT,
      tokenUrl: s.tokenUrl,
      apiBaseUrl: s.url,
      pollIntervalMs: 10,
      pollMaxIntervalMs: 40,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 40,
      customFields: [{ field: 'Werk plek', key: 'workplace' }],
      ...opts,
    },
    { today: () => TODAY, ...deps },
  );
}

const byKey = (r: SourceImport, key: string) => r.persons.find((p) => p.key === key);

const jan: Person = {
  source: 'vismanet',
  key: '10001',
  name: {
    given: 'Jan Pieter',
    nickName: 'Jan',
    initials: 'J.P.',
    familyName: 'Vries',
    familyNamePrefix: 'de',
    convention: 'B',
  },
  businessEmail: 'j.devries@voorbeeld.nl',
  custom: {},
  contracts: [
    {
      id: '10001_1_1',
      startDate: '2015-03-01',
      department: { code: 'ICT', name: 'Informatievoorziening' },
      title: { code: 'F003', name: 'Teamleider ICT' },
      costCenter: 'KP100',
      employer: 'Gemeente Voorbeeld',
      fte: 0.8889,
    },
    {
      id: '10001_2_1',
      startDate: '2026-01-01',
      endDate: '2026-12-31',
      department: { code: 'PZ', name: 'Personeelszaken' },
      title: { code: 'F002', name: 'HR-adviseur' },
      managerKey: '10002',
      costCenter: 'KP200',
      employer: 'Gemeente Voorbeeld',
      fte: 0.1111,
    },
  ],
};
const petra: Person = {
  source: 'vismanet',
  key: '10002',
  name: { given: 'Petra', nickName: 'Petra', initials: 'P.', familyName: 'Bakker', convention: 'B' },
  businessEmail: 'p.bakker@voorbeeld.nl',
  custom: {},
  contracts: [
    {
      id: '10002_1_1',
      startDate: '2010-06-01',
      endDate: '2026-05-15',
      department: { code: 'PZ', name: 'Personeelszaken' },
      title: { code: 'F002', name: 'HR-adviseur' },
      costCenter: 'KP200',
      employer: 'Gemeente Voorbeeld',
      fte: 1,
    },
  ],
};
const sanne: Person = {
  source: 'vismanet',
  key: '10003',
  name: {
    given: 'Sanne',
    nickName: 'Sanne',
    initials: 'S.',
    familyName: 'Berg',
    familyNamePrefix: 'van den',
    partnerName: 'Jong',
    partnerNamePrefix: 'de',
    convention: 'PB',
  },
  businessEmail: 's.jong@voorbeeld.nl',
  custom: { workplace: 'Gebouw C' },
  contracts: [
    {
      id: '10003_1_1',
      startDate: '2022-09-01',
      department: { code: 'ICT', name: 'Informatievoorziening' },
      title: { code: 'F001', name: 'Systeembeheerder' },
      managerKey: '10001',
      costCenter: 'KP100',
      employer: 'Gemeente Voorbeeld',
      fte: 1,
    },
  ],
};

describe('Visma.net HRM source: the synthetic dataset of docs/sources/vismanet.md', () => {
  let s: VismaNetSim;
  let result: SourceImport;
  let src: VismaNetSource;
  before(async () => {
    s = await sim();
    src = source(s);
    result = await src.fetchAll();
  });

  test('persons, contracts, names, managers, leaver and custom field', () => {
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.persons, [jan, petra, sanne]);
    assert.equal(result.recordsRead, 3 + 4);
    assert.equal(displayName(byKey(result, '10003')!.name), 'Sanne de Jong - van den Berg');
    assert.equal(displayName(byKey(result, '10001')!.name), 'Jan de Vries');
  });

  test('departments: active units only, manager through the users table, parent', () => {
    assert.deepEqual(result.departments, [
      { code: 'ICT', name: 'Informatievoorziening', managerKey: '10001', parentCode: 'ORG' },
      { code: 'ORG', name: 'Gemeente Voorbeeld' },
      { code: 'PZ', name: 'Personeelszaken', parentCode: 'ORG' },
    ]);
  });

  test('no personal data beyond the model leaves the connector', () => {
    const text = JSON.stringify(result);
    for (const pii of ['1980-04-12', '1975-09-30', 'private.', '31.75', 'Own', 'homeemail']) {
      assert.equal(text.includes(pii), false, pii);
    }
  });

  test('protocol: salary columns excluded, downloads without the bearer token, callbackAddress sent', () => {
    const contractsCmd = s.requests.find((r) => r.path === '/v1/command/nl/hrm/contracts');
    assert.ok(contractsCmd);
    const fields = new URLSearchParams(contractsCmd.query).get('fields') ?? '';
    assert.ok(fields.startsWith('!') && fields.includes('salaryhour') && fields.includes('scale'));
    const downloads = s.requests.filter((r) => r.path.startsWith('/files/'));
    assert.equal(downloads.length, 6); // employees, contracts, org units, users, cost centers, UDF
    assert.ok(downloads.every((r) => !r.authorization && r.status === 200));
    assert.equal(s.tokenRequests, 1);
    assert.deepEqual(src.lastRun?.jobs.map((j) => j.dataset).sort(), [
      'contracts',
      'employees',
      'employees/user-defined-field-histories',
      'metadata/cost-centers',
      'metadata/organization-units',
      'users',
    ]);
  });

  test('no write-back (the spec knows no Visma.net HRM write API)', () => {
    assert.equal('writeBack' in src, false);
  });
});

describe('Visma.net HRM source: aggregation and options', () => {
  test("Jan's second contract under a second employee record is merged into one person", async () => {
    const s = await sim({ data: syntheticDataset({ secondEmployeeRecord: true }) });
    const r = await source(s).fetchAll();
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.persons.map((p) => p.key),
      ['10001', '10002', '10003'],
    );
    const merged = byKey(r, '10001')!;
    assert.deepEqual(
      merged.contracts.map((c) => [c.id, c.department.code, c.managerKey]),
      [
        ['10001_1_1', 'ICT', undefined],
        ['10004_1_1', 'PZ', '10002'],
      ],
    );
    assert.equal(r.recordsRead, 4 + 4);
  });

  test('twins (same initials, gender, birth date and birth name, other first name) are reported, never merged', async () => {
    const data = syntheticDataset({ secondEmployeeRecord: true });
    const janRecord = data.employees!.find((e) => e.employeeid === '10001')!;
    data.employees!.push({ ...janRecord, employeeid: '10005', firstname: 'Joost', nickname: 'Joost' });
    const janContract = data.contracts!.find((c) => c.employeeid === '10001')!;
    data.contracts!.push({ ...janContract, employeeid: '10005' });
    const r = await source(await sim({ data })).fetchAll();
    assert.deepEqual(
      r.persons.map((p) => p.key),
      ['10002', '10003'],
      "neither Jan's records nor his twin's become a person that holds the other's contract",
    );
    assert.deepEqual(r.errors.map((e) => e.key).sort(), ['10001', '10004', '10005']);
    for (const e of r.errors) {
      assert.equal(e.field, 'firstname, nickname');
      assert.match(
        e.reason,
        /employee records 10001, 10004, 10005 share the aggregation key but differ in firstname, nickname/,
      );
      assert.ok(!/Jan|Joost|1980/.test(e.reason), 'no name or birth date in the report');
    }
    // With a strong identifier the human is known for certain: Jan's two records merge, the twin stays apart.
    for (const e of data.employees!) e.personnelnumber = e.employeeid === '10004' ? 'P-10001' : `P-${e.employeeid}`;
    const strong = await source(await sim({ data }), {
      aggregation: { strongIdentifier: 'personnelnumber' },
    }).fetchAll();
    assert.deepEqual(strong.errors, []);
    assert.deepEqual(
      strong.persons.map((p) => p.key),
      ['10001', '10002', '10003', '10005'],
    );
    assert.deepEqual(
      byKey(strong, '10001')!.contracts.map((c) => c.id),
      ['10001_1_1', '10004_1_1'],
    );
    assert.deepEqual(
      byKey(strong, '10005')!.contracts.map((c) => c.id),
      ['10005_1_1'],
    );
  });

  test('aggregation off: one person per employee record', async () => {
    const s = await sim({ data: syntheticDataset({ secondEmployeeRecord: true }) });
    const r = await source(s, { aggregation: { enabled: false } }).fetchAll();
    assert.deepEqual(
      r.persons.map((p) => p.key),
      ['10001', '10002', '10003', '10004'],
    );
  });

  test('CutOffDays: a contract ended longer ago is left out, and a person with none left too', async () => {
    const s = await sim();
    const r = await source(s, { cutOffDays: 30 }).fetchAll();
    assert.deepEqual(
      r.persons.map((p) => p.key),
      ['10001', '10003'],
    );
    const all = await source(s, { cutOffDays: 30, excludePersonsWithoutContracts: false }).fetchAll();
    assert.deepEqual(byKey(all, '10002')?.contracts, []);
  });

  test('UDF history: current row vs. the last row (HelloID)', async () => {
    const data = syntheticDataset();
    // The last row of the history is a future value.
    data['employees/user-defined-field-histories']!.push({
      employeeid: '10003',
      fieldname: 'Werk plek',
      listname: 'Gebouwen',
      value: 'Gebouw D',
      startdate: '2027-01-01',
      enddate: '',
    });
    const s = await sim({ data });
    const current = await source(s, {
      customFields: [
        { field: 'Werk plek', key: 'workplace' },
        { field: 'Werk plek', key: 'workplaceSince', attribute: 'startdate' },
      ],
    }).fetchAll();
    assert.deepEqual(byKey(current, '10003')?.custom, { workplace: 'Gebouw C', workplaceSince: '2025-01-01' });
    const last = await source(s, { udfHistory: 'last-row' }).fetchAll();
    assert.deepEqual(byKey(last, '10003')?.custom, { workplace: 'Gebouw D' });
  });

  test('no custom fields configured: the UDF export is not requested', async () => {
    const s = await sim();
    await source(s, { customFields: [] }).fetchAll();
    assert.equal(
      s.requests.some((r) => r.path.includes('user-defined-field-histories')),
      false,
    );
  });

  test('manager resolution via e-mail (pre-2025 HelloID) gives the same managers here', async () => {
    const s = await sim();
    const r = await source(s, { managerVia: 'email' }).fetchAll();
    assert.deepEqual(r.persons, [jan, petra, sanne]);
  });

  test('invalid options are refused without echoing the secret', () => {
    assert.throws(
      () => new VismaNetSource({ ...CLIENT, tenantId: '', pollBackoff: 0 } as VismaNetSourceOptions),
      (e: Error) => {
        assert.ok(e instanceof VismaNetError);
        assert.match(e.message, /tenantId: is empty/);
        assert.match(e.message, /pollBackoff/);
        assert.equal(e.message.includes(CLIENT.clientSecret), false);
        return true;
      },
    );
  });
});

describe('Visma.net HRM source: export jobs and files', () => {
  test('a result of several files is read completely (header in each file, or only in the first)', async () => {
    for (const headerInEveryFile of [true, false]) {
      const s = await sim({ rowsPerFile: 1, headerInEveryFile });
      const src = source(s);
      const r = await src.fetchAll();
      assert.deepEqual(r.errors, [], `headerInEveryFile ${headerInEveryFile}`);
      assert.deepEqual(r.persons, [jan, petra, sanne]);
      const files = Object.fromEntries(src.lastRun!.jobs.map((j) => [j.dataset, j.files.length]));
      assert.equal(files.employees, 3);
      assert.equal(files.contracts, 4);
      assert.equal(files['metadata/organization-units'], 4);
      assert.equal(s.requests.filter((x) => x.path.startsWith('/files/')).length, 3 + 4 + 4 + 2 + 2 + 2);
    }
  });

  test('CSV encoding is a setting: a Windows-1252 export is refused as UTF-8 and read as Windows-1252', async () => {
    const data = syntheticDataset();
    data.employees![2]!.nickname = 'Zoë';
    const s = await sim({ data, encoding: 'latin1' });
    await assert.rejects(source(s).fetchAll(), /employees\/\S+part1\.csv: not valid utf-8/);
    const r = await source(s, { encoding: 'windows-1252' }).fetchAll();
    assert.equal(byKey(r, '10003')?.name.nickName, 'Zoë');
  });

  test('polling: queued → in progress → completed with growing, capped intervals', async () => {
    const s = await sim({ pollsUntilDone: 5, queuedPolls: 1, queuedStatus: 'Queued' });
    const { waits, sleep } = recordingSleep();
    const src = source(
      s,
      {
        pendingStatuses: ['Queued', 'InProgress'],
        pollIntervalMs: 10,
        pollBackoff: 2,
        pollMaxIntervalMs: 50,
        maxConcurrentJobs: 1,
      },
      { sleep },
    );
    const r = await src.fetchAll();
    assert.equal(r.persons.length, 3);
    // Six jobs one after the other, each polled five times: 10, 20, 40, 50, 50 ms.
    assert.deepEqual(waits, Array.from({ length: 6 }, () => [10, 20, 40, 50, 50]).flat());
    assert.ok(src.lastRun!.jobs.every((j) => j.polls === 5));
  });

  test('an unknown status fails the job (the pending statuses are a setting)', async () => {
    const s = await sim({ queuedPolls: 1, queuedStatus: 'Queued' });
    await assert.rejects(source(s).fetchAll(), /ended with status "Queued"/);
  });

  test('a job that never completes is given up after the bound', async () => {
    const s = await sim({ faults: { neverComplete: ['users'] } });
    const t0 = Date.now();
    await assert.rejects(
      source(s, { jobTimeoutMs: 300, pollIntervalMs: 20, pollMaxIntervalMs: 60 }).fetchAll(),
      (e: Error) => {
        assert.ok(e instanceof VismaNetError);
        assert.match(e.message, /export users: job \S+ still InProgress after \d+ polls; gave up after 300 ms/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 5_000);
  });

  test('a status poll that does not answer times out, is retried, then fails the import', async () => {
    const s = await sim({ faults: { stallStatusMs: 1_000 } });
    await assert.rejects(
      source(s, { requestTimeoutMs: 100, maxRetries: 1, maxConcurrentJobs: 1 }).fetchAll(),
      /export employees: GET \S+\/v1\/query\/nl\/hrm\/employees\/\S+ failed: no answer within 100 ms \(after 2 attempts\)/,
    );
  });

  test('a failed export job fails the import', async () => {
    const s = await sim({ faults: { failJobs: ['contracts'] } });
    await assert.rejects(source(s).fetchAll(), (e: Error) => {
      assert.ok(e instanceof VismaNetError);
      assert.match(e.message, /Visma\.net export contracts: job \S+ ended with status "Failed"/);
      return true;
    });
  });

  test('a download that keeps failing fails the import; the signature is not in the message', async () => {
    const s = await sim({ faults: { download500: { employees: Infinity } } });
    await assert.rejects(source(s, { maxRetries: 2 }).fetchAll(), (e: Error) => {
      assert.ok(e instanceof VismaNetError);
      assert.match(
        e.message,
        /export employees download: GET http:\/\/127\.0\.0\.1:\d+\/files\/\S+part1\.csv failed: HTTP 500 \(after 3 attempts\)/,
      );
      assert.equal(e.message.includes('sig='), false);
      return true;
    });
    assert.equal(s.requests.filter((r) => r.path.startsWith('/files/') && r.status === 500).length, 3);
  });

  test('a transient download error is retried', async () => {
    const s = await sim({ faults: { download500: { contracts: 2 } } });
    const r = await source(s, { maxRetries: 2 }).fetchAll();
    assert.deepEqual(r.persons, [jan, petra, sanne]);
  });

  test('429 answers are waited out (Retry-After), not failed', async () => {
    const s = await sim({ faults: { rateLimitEvery: 3, retryAfterSeconds: 2 } });
    const { waits, sleep } = recordingSleep();
    const r = await source(s, {}, { sleep }).fetchAll();
    assert.deepEqual(r.persons, [jan, petra, sanne]);
    const limited = s.requests.filter((x) => x.status === 429).length;
    assert.ok(limited >= 3);
    assert.equal(waits.filter((w) => w === 2000).length, limited);
  });
});

describe('Visma.net HRM source: authentication', () => {
  test('wrong credentials give a clear error without the secret', async () => {
    const s = await sim();
    const secret = 'Wr0ng-S3cret-value-42';
    await assert.rejects(source(s, { clientSecret: secret }).fetchAll(), (e: Error) => {
      assert.ok(e instanceof VismaNetError);
      assert.match(e.message, /Visma Connect token request was refused: HTTP 400 invalid_client \(check the client id/);
      assert.equal(`${e.message}\n${e.stack}`.includes(secret), false);
      assert.equal(JSON.stringify(e).includes(secret), false);
      return true;
    });
    assert.equal(
      s.requests.some((r) => r.path.startsWith('/v1/')),
      false,
    );
  });

  test('a missing scope gives 401 on the data call, with a hint', async () => {
    const s = await sim({
      grantedScopes: [
        'hrmanalytics:nlhrm:exportemployees',
        'hrmanalytics:nlhrm:exportcontracts',
        'hrmanalytics:nlhrm:exportorganizationunits',
        'hrmanalytics:nlhrm:exportmetadata',
      ],
    });
    await assert.rejects(
      source(s).fetchAll(),
      /export users: POST \S+\/v1\/command\/nl\/hrm\/users answered HTTP 401 .*scope/,
    );
  });

  test('an expired token is renewed and the import goes on', async () => {
    const s = await sim({ tokenMaxUses: 4, pollsUntilDone: 3 });
    const r = await source(s).fetchAll();
    assert.deepEqual(r.persons, [jan, petra, sanne]);
    assert.ok(s.tokenRequests >= 3, `token requests: ${s.tokenRequests}`);
    assert.ok(s.requests.some((x) => x.status === 401));
  });

  test('a token is renewed before its advertised expiry', async () => {
    let clock = Date.parse('2026-07-01T08:00:00Z');
    const s = await sim({ advertisedExpiresIn: 120 });
    const src = source(
      s,
      { maxConcurrentJobs: 1, tokenRenewBeforeMs: 60_000 },
      {
        now: () => clock,
        sleep: async () => {
          clock += 20_000;
          await new Promise((r) => setTimeout(r, 1));
        },
      },
    );
    await src.fetchAll();
    // 120 s tokens renewed at 60 s, 20 s of (fake) time per poll: several tokens, never a 401.
    assert.ok(s.tokenRequests >= 3, `token requests: ${s.tokenRequests}`);
    assert.equal(s.requests.filter((x) => x.status === 401).length, 0);
  });
});

describe('Visma.net HRM source: malformed rows', () => {
  test('a malformed row is skipped with a clear error; the rest is imported', async () => {
    const s = await sim({
      faults: {
        rawAppend: {
          // 10005: no nickname; 10006: a row with too few cells.
          employees:
            '10005,ORG1,K.,Kees,,Eigen,Own,Smit,,,,Kees Smit,1970-01-01,M,1,Gemeente Voorbeeld,k.smit@voorbeeld.nl,\r\n10006,ORG1\r\n',
          // Petra: a second contract with an impossible date; 10005: a good contract.
          contracts:
            '10002,9,1,2026-02-30,,Vast,PZ,Personeelszaken,F002,HR-adviseur,Kostenplaats P&O,36,,\r\n' +
            '10005,1,1,2020-01-01,,Vast,PZ,Personeelszaken,F002,HR-adviseur,Kostenplaats P&O,36,,\r\n',
        },
      },
    });
    const src = source(s);
    const r = await src.fetchAll();
    assert.deepEqual(r.persons, [jan, sanne]);
    const files = Object.fromEntries(src.lastRun!.jobs.map((j) => [j.dataset, j.files[0]]));
    assert.deepEqual(r.errors, [
      {
        source: 'vismanet',
        origin: files.employees,
        line: 5,
        key: '10005',
        field: 'nickname',
        reason: 'is empty; record rejected; the person keeps its last good data',
      },
      {
        source: 'vismanet',
        origin: files.employees,
        line: 6,
        key: '10006',
        field: '(row)',
        reason: 'has 2 cells where the header has 18; record rejected; the person keeps its last good data',
      },
      {
        source: 'vismanet',
        origin: files.contracts,
        line: 6,
        key: '10002',
        field: 'startdate',
        reason: 'is not a date (YYYY-MM-DD); record rejected; the person keeps its last good data',
      },
    ]);
    assert.equal(r.recordsRead, 5 + 6);
    assert.match(files.employees!, /^employees\/employees-\S+-part1\.csv$/);
  });

  test('a contract row for an unknown employee is reported and skipped', async () => {
    const s = await sim({
      faults: { rawAppend: { contracts: '99999,1,1,2020-01-01,,Vast,PZ,Personeelszaken,F002,HR-adviseur,,36,,\r\n' } },
    });
    const r = await source(s).fetchAll();
    assert.deepEqual(r.persons, [jan, petra, sanne]);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.key, '99999');
    assert.match(r.errors[0]!.reason, /no employee record 99999/);
  });
});

describe('Visma.net HRM source: generated tenant', () => {
  test('a tenant of 400 people split over several files, merged and complete', async () => {
    const tenant = generateTenant({ humans: 400, seed: 7, twoRecordShare: 0.15 });
    const s = await sim({ data: tenant.data, rowsPerFile: 150 });
    const t0 = performance.now();
    const r = await source(s).fetchAll();
    const ms = performance.now() - t0;
    assert.deepEqual(r.errors, []);
    assert.equal(r.persons.length, tenant.humans);
    assert.equal(r.persons.filter((p) => p.contracts.length === 2).length, tenant.mergedHumans);
    assert.ok(tenant.mergedHumans > 20);
    assert.equal(
      r.persons.reduce((n, p) => n + p.contracts.length, 0),
      tenant.contracts,
    );
    assert.equal(r.departments.length, tenant.units);
    // Everyone but the unit managers has a manager on the first contract.
    assert.equal(r.persons.filter((p) => p.contracts[0]?.managerKey).length, tenant.humans - 20);
    assert.ok(r.persons.every((p) => p.custom.workplace?.startsWith('Gebouw ')));
    console.log(`# generated tenant: ${tenant.humans} persons, ${tenant.contracts} contracts in ${ms.toFixed(0)} ms`);
  });
});
