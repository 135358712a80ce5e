import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { NmbrsError, NmbrsFaultError, NmbrsSource, type NmbrsSourceOptions } from '../connectors/sources/nmbrs.js';
import { mapNaamstelling, nmbrsDate } from '../connectors/sources/nmbrs/mapping.js';
import { buildEnvelope } from '../connectors/sources/nmbrs/soap.js';
import { PERSONAL_INFO_ORDER } from '../connectors/sources/nmbrs/options.js';
import type { SourceImport } from '../connectors/types.js';
import type { Person } from '../domain/model.js';
import { displayName } from '../domain/naming.js';
import {
  DEFAULT_REQUIRED_UPDATE_FIELDS,
  generateTenant,
  NmbrsSimulator,
  syntheticTenant,
  type NmbrsSimulatorOptions,
  type SimPersonalInfo,
} from './simulators/nmbrs.js';

const TODAY = '2026-07-01';

/** Fast settings for tests: short timeouts, tiny backoff, no client-side pacing to speak of. */
function optionsFor(sim: NmbrsSimulator, extra: Partial<NmbrsSourceOptions> = {}): NmbrsSourceOptions {
  const { auth } = sim.tenant;
  return {
    baseUrl: sim.url,
    username: auth.username,
    token: auth.token,
    domain: auth.domain,
    companies: [12345],
    debtorIds: [777],
    today: TODAY,
    timeoutMs: 2000,
    bulkTimeoutMs: 5000,
    retryBaseDelayMs: 5,
    maxCallsPerSecond: 10_000,
    ...extra,
  };
}

async function withSim(opts: Partial<NmbrsSimulatorOptions> = {}, tenant = syntheticTenant()): Promise<NmbrsSimulator> {
  const sim = new NmbrsSimulator({ tenant, ...opts });
  await sim.start();
  return sim;
}

const byKey = (imp: SourceImport, key: string): Person => {
  const p = imp.persons.find((x) => x.key === key);
  assert.ok(p, `person ${key} imported`);
  return p;
};

describe('nmbrs source: synthetic dataset (docs/sources/nmbrs.md)', () => {
  let sim: NmbrsSimulator;
  let imp: SourceImport;
  before(async () => {
    sim = await withSim();
    imp = await new NmbrsSource(optionsFor(sim)).fetchAll();
  });
  after(() => sim.stop());

  test('three persons, no errors, departments from the debtor', () => {
    assert.deepEqual(imp.errors, []);
    assert.equal(imp.recordsRead, 3);
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['501', '502', '503'],
    );
    assert.deepEqual(imp.departments, [
      { code: '1', name: 'Personeelszaken' },
      { code: '2', name: 'Informatievoorziening' },
    ]);
  });

  test('A: newest personal-info version, two contracts, current department/function/cost center', () => {
    const a = byKey(imp, '501');
    assert.equal(a.source, 'nmbrs');
    assert.deepEqual(a.name, {
      given: 'Jan Pieter',
      nickName: 'Jan',
      initials: 'J.P.',
      familyName: 'Vries',
      familyNamePrefix: 'de',
      convention: 'B',
    });
    assert.equal(a.businessEmail, 'j.devries@voorbeeld.nl', 'EmailWork of the newest version');
    assert.equal(a.businessPhone, undefined, 'the mobile number was only on the old version');
    assert.deepEqual(a.custom, { companyId: '12345', employeeNumber: '12345_1' });
    assert.deepEqual(a.contracts, [
      {
        id: 'Employment_7701',
        startDate: '2015-03-01',
        department: { code: '2', name: 'Informatievoorziening' },
        title: { code: '100', name: 'Teamleider ICT' },
        costCenter: 'KP100',
        employer: '12345',
      },
      {
        id: 'Employment_7702',
        startDate: '2026-01-01',
        endDate: '2026-12-31',
        department: { code: '2', name: 'Informatievoorziening' },
        title: { code: '100', name: 'Teamleider ICT' },
        costCenter: 'KP100',
        employer: '12345',
      },
    ]);
    assert.equal(displayName(a.name), 'Jan de Vries');
  });

  test('B: leaver inside the threshold, manager by e-mail, function Code "0" falls back to Id', () => {
    const b = byKey(imp, '502');
    assert.equal(b.contracts.length, 1);
    assert.equal(b.contracts[0]?.endDate, '2026-05-15');
    assert.equal(b.contracts[0]?.managerKey, '501');
    assert.deepEqual(b.contracts[0]?.title, { code: '43', name: 'HR-adviseur' });
    assert.deepEqual(b.contracts[0]?.department, { code: '1', name: 'Personeelszaken' });
  });

  test('C: Naamstelling 3 = PB with partner name and prefixes; manager 501', () => {
    const c = byKey(imp, '503');
    assert.equal(c.name.convention, 'PB');
    assert.equal(c.name.familyNamePrefix, 'van den');
    assert.equal(c.name.partnerNamePrefix, 'de');
    assert.equal(c.name.partnerName, 'Jong');
    assert.equal(displayName(c.name), 'Sanne de Jong - van den Berg');
    assert.equal(c.contracts[0]?.managerKey, '501');
    assert.equal(c.contracts[0]?.endDate, undefined);
    assert.equal(c.custom.honorificSuffix, 'MSc');
  });

  test('no BSN, birthday or gender in the import', () => {
    const json = JSON.stringify(imp);
    for (const pii of ['123456782', '1980-04-12', '1975-09-30', 'female', 'male', 'Birthday', 'BSN']) {
      assert.ok(!json.includes(pii), `${pii} must not be imported`);
    }
  });

  test('call volume: 3 company-wide calls + Department_GetList + 4 per employee; SOAP 1.2 with domain', () => {
    const ops = sim.calls.map((c) => c.operation);
    for (const op of ['Department_GetCurrent', 'Function_GetCurrent', 'Manager_GetCurrent', 'CostCenter_GetCurrent']) {
      assert.equal(ops.filter((o) => o === op).length, 3, op);
    }
    assert.equal(ops.length, 4 + 12);
    assert.ok(sim.calls.every((c) => c.soapVersion === '1.2' && c.status === 200));
    assert.deepEqual(sim.callsOf('List_GetByCompany')[0]?.params, { CompanyId: '12345', EmployeeType: '2' });
  });
});

describe('nmbrs source: thresholds, versions and switches', () => {
  let sim: NmbrsSimulator;
  afterEach(() => sim?.stop());

  test('B is emitted until today - 90 days passes her end date (2026-08-13), then not at all', async () => {
    sim = await withSim();
    const on12 = await new NmbrsSource(optionsFor(sim, { today: '2026-08-12' })).fetchAll();
    assert.ok(on12.persons.some((p) => p.key === '502'));
    const on13 = await new NmbrsSource(optionsFor(sim, { today: '2026-08-13' })).fetchAll();
    assert.deepEqual(
      on13.persons.map((p) => p.key),
      ['501', '503'],
    );
    assert.deepEqual(on13.errors, []);
    const short = await new NmbrsSource(optionsFor(sim, { endDateThresholdDays: 10 })).fetchAll();
    assert.ok(!short.persons.some((p) => p.key === '502'));
  });

  test('SOAP 1.1 with SOAPAction, Naamstelling as enum names, departments from contracts', async () => {
    sim = await withSim({ naamstellingFormat: 'name' });
    const imp = await new NmbrsSource(optionsFor(sim, { soapVersion: '1.1', debtorIds: [] })).fetchAll();
    assert.deepEqual(imp.errors, []);
    assert.equal(byKey(imp, '503').name.convention, 'PB');
    assert.equal(byKey(imp, '501').name.convention, 'B');
    assert.ok(sim.calls.every((c) => c.soapVersion === '1.1' && c.status === 200));
    assert.deepEqual(imp.departments, [
      { code: '2', name: 'Informatievoorziening' },
      { code: '1', name: 'Personeelszaken' },
    ]);
    // digits only + names on the wire: unknown → B by default, or rejected when configured
    const digitOnly = await new NmbrsSource(optionsFor(sim, { naamstellingFormat: 'digit' })).fetchAll();
    assert.equal(byKey(digitOnly, '503').name.convention, 'B');
    const strict = await new NmbrsSource(
      optionsFor(sim, { naamstellingFormat: 'digit', unknownNaamstelling: 'reject' }),
    ).fetchAll();
    assert.deepEqual(
      strict.errors.map((e) => [e.key, e.field, e.origin]),
      [
        ['501', 'Naamstelling', 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany'],
        ['502', 'Naamstelling', 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany'],
        ['503', 'Naamstelling', 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany'],
      ],
    );
  });

  test('Naamstelling table and date sentinels', () => {
    const s = { naamstellingFormat: 'auto', naamstellingNames: { Eigen: 'B' }, unknownNaamstelling: 'B' } as const;
    assert.deepEqual(
      ['1', '2', '3', '4', '', undefined, '9', 'eigen'].map((v) => mapNaamstelling(v, s)),
      ['B', 'P', 'PB', 'BP', 'B', 'B', 'B', 'B'].map((convention) => ({ convention })),
    );
    assert.deepEqual(nmbrsDate('0001-01-01T00:00:00'), { date: undefined });
    assert.deepEqual(nmbrsDate('  '), { date: undefined });
    assert.deepEqual(nmbrsDate('2026-02-29T00:00:00'), { error: 'not a real calendar date' });
    assert.deepEqual(nmbrsDate('2026-12-31T00:00:00'), { date: '2026-12-31' });
  });

  test('plain AuthHeader when the domain is not required; hostname domain form', async () => {
    sim = await withSim({ requireDomain: false, acceptedDomainForms: 'hostname' });
    const plain = await new NmbrsSource(optionsFor(sim, { authHeader: 'plain', domain: undefined })).fetchAll();
    assert.equal(plain.persons.length, 3);
    const host = await new NmbrsSource(optionsFor(sim, { domainFormat: 'hostname' })).fetchAll();
    assert.equal(host.persons.length, 3);
    await assert.rejects(new NmbrsSource(optionsFor(sim)).fetchAll(), (e: NmbrsFaultError) => {
      assert.equal(e.kind, 'auth');
      assert.equal(e.code, 1003);
      return true;
    });
  });

  test('an employee missing from the bulk list is read with PersonalInfo_GetCurrent', async () => {
    const tenant = syntheticTenant();
    (tenant.employees[2] as { missingFromBulk?: boolean }).missingFromBulk = true;
    sim = await withSim({}, tenant);
    const imp = await new NmbrsSource(optionsFor(sim)).fetchAll();
    assert.deepEqual(imp.errors, []);
    assert.equal(imp.recordsRead, 3);
    assert.equal(byKey(imp, '503').name.convention, 'PB');
    assert.deepEqual(
      sim.callsOf('PersonalInfo_GetCurrent').map((c) => c.params.EmployeeId),
      ['503'],
    );
  });
});

describe('nmbrs source: failures', () => {
  let sim: NmbrsSimulator;
  beforeEach(async () => {
    sim = await withSim();
  });
  afterEach(() => sim.stop());

  test('a SOAP fault mid-import fails the import with a clear error', async () => {
    sim.inject({ operation: 'Function_GetCurrent', after: 1, kind: 'fault', code: 9000, text: 'Unknown error' });
    await assert.rejects(new NmbrsSource(optionsFor(sim, { concurrency: 1 })).fetchAll(), (e: NmbrsFaultError) => {
      assert.ok(e instanceof NmbrsFaultError);
      assert.equal(e.code, 9000);
      assert.match(e.message, /^Nmbrs EmployeeService\.Function_GetCurrent: SOAP fault Receiver: 9000: Unknown error$/);
      return true;
    });
  });

  test('a dropped connection mid-import is retried, then fails the import (bounded)', async () => {
    sim.inject({ operation: 'Employment_GetAll_AllEmployeesByCompany', kind: 'reset', times: 100 });
    await assert.rejects(new NmbrsSource(optionsFor(sim, { maxRetries: 2 })).fetchAll(), (e: NmbrsError) => {
      assert.equal(e.kind, 'transport');
      assert.match(e.message, /Employment_GetAll_AllEmployeesByCompany: .*gave up after 3 attempts/);
      return true;
    });
    assert.equal(sim.callsOf('Employment_GetAll_AllEmployeesByCompany').length, 3);
  });

  test('a timeout is retried and reported as such', async () => {
    sim.inject({ operation: 'Manager_GetCurrent', kind: 'delay', ms: 400, times: 10 });
    await assert.rejects(
      new NmbrsSource(optionsFor(sim, { timeoutMs: 100, maxRetries: 1, concurrency: 1 })).fetchAll(),
      /Manager_GetCurrent: no answer within 100 ms; gave up after 2 attempts/,
    );
  });

  test('transient 503 is retried with backoff; 429 waits for Retry-After', async () => {
    sim.inject({ operation: 'Department_GetCurrent', kind: 'http', status: 503, times: 2 });
    sim.inject({ operation: 'Manager_GetCurrent', kind: 'http', status: 429, retryAfter: '2', times: 2 });
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const imp = await new NmbrsSource(optionsFor(sim, { retryBaseDelayMs: 100, concurrency: 1 }), { sleep }).fetchAll();
    assert.equal(imp.persons.length, 3);
    assert.deepEqual(
      waits.filter((w) => w >= 100).sort((a, b) => a - b),
      [100, 200, 2000, 2000],
    );
    assert.equal(sim.callsOf('Department_GetCurrent').length, 3 + 2);
    assert.equal(sim.callsOf('Manager_GetCurrent').length, 3 + 2);
  });

  test('429 for ever gives up after maxRateLimitWaits', async () => {
    sim.inject({
      operation: 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany',
      kind: 'http',
      status: 429,
      retryAfter: '1',
      times: 99,
    });
    await assert.rejects(
      new NmbrsSource(optionsFor(sim, { maxRateLimitWaits: 3 }), { sleep: async () => {} }).fetchAll(),
      /still rate limited \(429\) after 3 waits/,
    );
  });

  test('wrong token: clear auth error without the token, even when the server echoes it', async () => {
    const leaky = await withSim({ echoTokenInAuthFault: true });
    try {
      for (const s of [sim, leaky]) {
        const secret = 'wrong-secret-7f3e9a';
        await assert.rejects(new NmbrsSource(optionsFor(s, { token: secret })).fetchAll(), (e: NmbrsFaultError) => {
          assert.equal(e.kind, 'auth');
          assert.equal(e.code, 1002);
          assert.match(e.message, /authentication failed .*check the username, token and domain/);
          assert.ok(!e.message.includes(secret) && !String(e.stack).includes(secret), 'token not in the error');
          assert.ok(!JSON.stringify(e).includes(secret));
          return true;
        });
      }
    } finally {
      await leaky.stop();
    }
  });

  test('options are validated without echoing the token', () => {
    assert.throws(
      () => new NmbrsSource(optionsFor(sim, { domain: undefined, token: 'tok-secret-1' })),
      (e: Error) => /domain: required/.test(e.message) && !e.message.includes('tok-secret-1'),
    );
    assert.throws(
      () => new NmbrsSource({ ...optionsFor(sim), companies: [], token: 'tok-secret-2' }),
      (e: Error) => /companies/.test(e.message) && !e.message.includes('tok-secret-2'),
    );
  });
});

describe('nmbrs source: malformed records', () => {
  let sim: NmbrsSimulator;
  afterEach(() => sim.stop());

  test('a bad record is skipped with a clear error; the others are imported', async () => {
    const tenant = syntheticTenant();
    const petra = tenant.employees[1]!;
    (petra.personalInfos[0] as SimPersonalInfo).LastName = null;
    const sanne = tenant.employees[2]!;
    sanne.employments[0]!.StartDate = '01-09-2022';
    sim = await withSim({}, tenant);
    const imp = await new NmbrsSource(optionsFor(sim)).fetchAll();
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['501'],
    );
    assert.deepEqual(imp.errors, [
      {
        source: 'nmbrs',
        origin: 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany',
        line: 1,
        key: '502',
        field: 'LastName',
        reason: 'is empty; record rejected; the person keeps its last good data',
      },
      {
        source: 'nmbrs',
        origin: 'Employment_GetAll_AllEmployeesByCompany',
        line: 2,
        key: '503',
        field: 'StartDate',
        reason: 'not a date (expected YYYY-MM-DDTHH:MM:SS); record rejected; the person keeps its last good data',
      },
    ]);
  });

  test('no current department, bad e-mail, empty Nickname (FirstName fallback or rejected)', async () => {
    const tenant = syntheticTenant();
    tenant.employees[0]!.department = null;
    (tenant.employees[1]!.personalInfos[0] as SimPersonalInfo).EmailWork = 'not-an-email';
    (tenant.employees[2]!.personalInfos[0] as SimPersonalInfo).Nickname = null;
    sim = await withSim({}, tenant);
    const imp = await new NmbrsSource(optionsFor(sim)).fetchAll();
    assert.deepEqual(
      imp.persons.map((p) => [p.key, p.name.nickName]),
      [['503', 'Sanne']],
    );
    assert.deepEqual(
      imp.errors.map((e) => [e.key, e.origin, e.field]),
      [
        ['501', 'Department_GetCurrent', 'Code'],
        ['502', 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany', 'EmailWork'],
      ],
    );
    const strict = await new NmbrsSource(optionsFor(sim, { nickNameFallback: 'none' })).fetchAll();
    assert.ok(strict.errors.some((e) => e.key === '503' && e.field === 'Nickname' && /^is empty/.test(e.reason)));
  });
});

describe('nmbrs source: write-back of the work e-mail (docs/sources/nmbrs.md)', () => {
  let sim: NmbrsSimulator;
  afterEach(() => sim.stop());

  test("read, modify, write: in the simulator's clear mode every other field survives the update", async () => {
    // clear: the update keeps only what it is sent (what Nmbrs might do; unconfirmed).
    sim = await withSim({ omittedUpdateFields: 'clear' });
    const before = { ...sim.currentInfo(501)! };
    assert.ok(before.FirstName && before.Naamstelling !== undefined, 'the record has fields to lose');
    const src = new NmbrsSource(optionsFor(sim));
    assert.equal(await src.writeBack('501', { businessEmail: 'jan.nieuw@voorbeeld.nl' }), 'written');
    const after = sim.currentInfo(501)!;
    assert.equal(after.EmailWork, 'jan.nieuw@voorbeeld.nl');
    // Every field of the update's schema; DisplayName and BSN are read-only parts of the answer.
    const kept = Object.keys(before).filter(
      (k) => k !== 'Id' && k !== 'EmailWork' && (PERSONAL_INFO_ORDER as readonly string[]).includes(k),
    );
    assert.ok(kept.length >= 8, kept.join(', '));
    for (const k of kept) {
      const was = before[k];
      assert.equal(String(after[k] ?? ''), String(was ?? ''), `${k} unchanged`);
    }
    const sent = sim.callsOf('PersonalInfo_UpdateCurrent')[0]!.params.PersonalInfo as Record<string, string>;
    assert.ok(!('BSN' in sent), 'BSN is never sent');
    // The smallest update (mandatory fields only) would have wiped them: the damage this prevents.
    const minimal = new NmbrsSource(optionsFor(sim, { writeBackFields: 'mandatory' }));
    assert.equal(await minimal.writeBack('501', { businessEmail: 'jan.weer@voorbeeld.nl' }), 'written');
    assert.equal(sim.currentInfo(501)!.FirstName, undefined, 'clear mode drops what is not sent');
  });

  test('written with the mandatory fields in schema order; repeated write is unchanged', async () => {
    sim = await withSim();
    const src = new NmbrsSource(optionsFor(sim, { writeBackFields: 'mandatory' }));
    assert.equal(await src.writeBack('503', { businessEmail: 'sanne.dejong@voorbeeld.nl' }), 'written');
    const upd = sim.callsOf('PersonalInfo_UpdateCurrent');
    assert.equal(upd.length, 1);
    assert.deepEqual(upd[0]?.personalInfoOrder, [
      'Id',
      'Number',
      'EmployeeNumber',
      'LastName',
      'EmailWork',
      'Birthday',
    ]);
    assert.deepEqual(upd[0]?.params, {
      EmployeeId: '503',
      PersonalInfo: {
        Id: '9301',
        Number: '3',
        EmployeeNumber: '3',
        LastName: 'Berg',
        EmailWork: 'sanne.dejong@voorbeeld.nl',
        Birthday: '0001-01-01T00:00:00',
      },
    });
    const cur = sim.currentInfo(503)!;
    assert.equal(cur.EmailWork, 'sanne.dejong@voorbeeld.nl');
    assert.equal(cur.Naamstelling, 3, 'other fields kept');
    assert.equal(await src.writeBack('503', { businessEmail: 'sanne.dejong@voorbeeld.nl' }), 'unchanged');
    assert.equal(sim.callsOf('PersonalInfo_UpdateCurrent').length, 1, 'no second update');
    // the next import sees the new address
    const imp = await src.fetchAll();
    assert.equal(byKey(imp, '503').businessEmail, 'sanne.dejong@voorbeeld.nl');
    // username / UPN only: nothing to write
    assert.equal(await src.writeBack('503', { username: 'sdejong' }), 'unchanged');
  });

  test('a missing Birthday is resent as the 0001-01-01 sentinel', async () => {
    const tenant = syntheticTenant();
    (tenant.employees[1]!.personalInfos[0] as SimPersonalInfo).Birthday = null;
    sim = await withSim({}, tenant);
    assert.equal(
      await new NmbrsSource(optionsFor(sim)).writeBack('502', { businessEmail: 'petra@voorbeeld.nl' }),
      'written',
    );
    const pi = sim.callsOf('PersonalInfo_UpdateCurrent')[0]?.params.PersonalInfo as Record<string, string>;
    assert.equal(pi.Birthday, '0001-01-01T00:00:00');
  });

  test('a mandatory field the connector does not send: clear fault, then resent with the setting', async () => {
    sim = await withSim({ requiredUpdateFields: [...DEFAULT_REQUIRED_UPDATE_FIELDS, 'FirstName'] });
    await assert.rejects(
      new NmbrsSource(optionsFor(sim, { writeBackFields: 'mandatory' })).writeBack('501', {
        businessEmail: 'jan@voorbeeld.nl',
      }),
      (e: NmbrsFaultError) => {
        assert.equal(e.code, 2000);
        assert.match(
          e.message,
          /PersonalInfo_UpdateCurrent: SOAP fault Receiver: 2000: Invalid or missing field FirstName/,
        );
        return true;
      },
    );
    assert.equal(sim.currentInfo(501)?.EmailWork, 'j.devries@voorbeeld.nl', 'nothing written');
    const src = new NmbrsSource(
      optionsFor(sim, {
        writeBackFields: 'mandatory',
        writeBackResendFields: ['Id', 'Number', 'EmployeeNumber', 'FirstName', 'LastName', 'Birthday'],
      }),
    );
    assert.equal(await src.writeBack('501', { businessEmail: 'jan@voorbeeld.nl' }), 'written');
    const last = sim.callsOf('PersonalInfo_UpdateCurrent').at(-1)!;
    assert.deepEqual(last.personalInfoOrder, [
      'Id',
      'Number',
      'EmployeeNumber',
      'FirstName',
      'LastName',
      'EmailWork',
      'Birthday',
    ]);
    assert.equal(sim.currentInfo(501)?.EmailWork, 'jan@voorbeeld.nl');
    assert.equal(sim.currentInfo(501)?.FirstName, 'Jan Pieter');
  });

  test('unknown employee, bad key, bad address: clear errors, nothing written', async () => {
    sim = await withSim();
    const src = new NmbrsSource(optionsFor(sim));
    await assert.rejects(src.writeBack('999', { businessEmail: 'x@voorbeeld.nl' }), /2004: Employee 999 not found/);
    await assert.rejects(src.writeBack('abc', { businessEmail: 'x@voorbeeld.nl' }), /not a numeric Nmbrs EmployeeId/);
    await assert.rejects(src.writeBack('501', { businessEmail: 'x y@z' }), /not a valid address/);
    const nilSim = await withSim({ unknownEmployee: 'nil' });
    try {
      await assert.rejects(
        new NmbrsSource(optionsFor(nilSim)).writeBack('999', { businessEmail: 'x@voorbeeld.nl' }),
        (e: NmbrsError) =>
          e.kind === 'notFound' && /employee 999 not found; no account will be created/.test(e.message),
      );
    } finally {
      await nilSim.stop();
    }
    assert.equal(sim.callsOf('PersonalInfo_UpdateCurrent').length, 0);
  });

  test('clearing the work e-mail (delete) sends an empty EmailWork', async () => {
    sim = await withSim();
    assert.equal(await new NmbrsSource(optionsFor(sim)).writeBack('502', { businessEmail: '' }), 'written');
    assert.equal(sim.currentInfo(502)?.EmailWork, '');
  });
});

describe('nmbrs source: XML special characters', () => {
  let sim: NmbrsSimulator;
  afterEach(() => sim.stop());

  test('&, <, > and quotes in names round-trip through import and write-back', async () => {
    const tenant = syntheticTenant();
    const pi = tenant.employees[2]!.personalInfos[0] as SimPersonalInfo;
    pi.LastName = `Berg & <Zoon> "O'Neil"`;
    pi.Nickname = `Sa"n'ne`;
    pi.Prefix = 'van & den';
    tenant.employees[2]!.department = { Id: 31, Code: 'R&D<1>', Description: `Onderzoek & "Ontwikkeling"` };
    tenant.debtors[0]!.departments.push({ Id: 32, Code: 'R&D<1>', Description: `Onderzoek & "Ontwikkeling"` });
    sim = await withSim({}, tenant);
    const src = new NmbrsSource(optionsFor(sim));
    const imp = await src.fetchAll();
    assert.deepEqual(imp.errors, []);
    const c = byKey(imp, '503');
    assert.equal(c.name.familyName, `Berg & <Zoon> "O'Neil"`);
    assert.equal(c.name.nickName, `Sa"n'ne`);
    assert.equal(c.name.familyNamePrefix, 'van & den');
    assert.deepEqual(c.contracts[0]?.department, { code: 'R&D<1>', name: `Onderzoek & "Ontwikkeling"` });
    assert.ok(imp.departments.some((d) => d.code === 'R&D<1>'));

    assert.equal(await src.writeBack('503', { businessEmail: "o'neil@voorbeeld.nl" }), 'written');
    const cur = sim.currentInfo(503)!;
    assert.equal(cur.LastName, `Berg & <Zoon> "O'Neil"`);
    assert.equal(cur.EmailWork, "o'neil@voorbeeld.nl");
    assert.equal(await src.writeBack('503', { businessEmail: "o'neil@voorbeeld.nl" }), 'unchanged');
  });

  test('the envelope escapes values (built, not concatenated)', () => {
    const xml = buildEnvelope({
      soapVersion: '1.2',
      namespace: 'https://api.nmbrs.nl/soap/v3/EmployeeService',
      operation: 'X',
      params: { LastName: `a&b<c>"d"'e'`, Nil: null },
    });
    assert.match(xml, /<n:LastName>a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;<\/n:LastName>/);
    assert.match(xml, /<n:Nil xsi:nil="true"><\/n:Nil>/);
  });
});

describe('nmbrs source: generated tenant', () => {
  test('all companies, 120 employees over 3 companies, managers by e-mail, fair-use throttle', async () => {
    const tenant = generateTenant({ employees: 120, companies: 3, seed: 7 });
    tenant.employees[5]!.missingFromBulk = true;
    const sim = new NmbrsSimulator({ tenant, throttle: { maxPerSecond: 150, delayMs: 5 } });
    await sim.start();
    try {
      const src = new NmbrsSource(
        optionsFor(sim, { companies: 'all', debtorIds: [888], concurrency: 4, maxCallsPerSecond: 10_000 }),
      );
      const started = Date.now();
      const imp = await src.fetchAll();
      const ms = Date.now() - started;
      assert.deepEqual(imp.errors, []);
      assert.equal(imp.recordsRead, 120);
      const goneLongAgo = tenant.employees.filter((_, i) => i % 16 === 15 && i % 10 !== 3).length;
      assert.equal(imp.persons.length, 120 - goneLongAgo);
      assert.equal(imp.departments.length, 8);
      const twoContracts = imp.persons.filter((p) => p.contracts.length === 2).length;
      // i % 10 === 3 has a second employment; for i % 16 === 15 the first one ended long ago
      assert.equal(twoContracts, tenant.employees.filter((_, i) => i % 10 === 3 && i % 16 !== 15).length);
      const withManager = imp.persons.filter((p) => p.contracts[0]?.managerKey).length;
      assert.equal(withManager, imp.persons.length - 8, 'everyone but the 8 department heads');
      assert.ok(imp.persons.every((p) => p.name.nickName));
      assert.equal(sim.callsOf('List_GetAll').length, 1);
      assert.equal(sim.callsOf('PersonalInfo_GetCurrent').length, 1);
      console.log(`# generated tenant: ${imp.persons.length} persons, ${src.callCount} calls in ${ms} ms`);
    } finally {
      await sim.stop();
    }
  });
});
