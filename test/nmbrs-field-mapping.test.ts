/**
 * The Nmbrs source's field mapping (connectors/sources/nmbrs/field-mapping.ts) against the Nmbrs SOAP
 * simulator: mobile phone, gender, contract location, type, hours and custom fields from the
 * records the connector reads anyway (no extra call), a value that does not fit named by record and
 * field, and the config file refusing private or unknown Nmbrs fields.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { safeParseTenureConfig } from '../common/tenure-config.js';
import { compileFieldMapping, type SourceFieldMapping } from '../connectors/sources/field-mapping.js';
import { NMBRS_MAPPING_SCOPES, NmbrsSource } from '../connectors/sources/nmbrs.js';
import type { Person } from '../domain/model.js';
import { tenureSourceRegistry } from '../workers/source-registry.js';
import { NmbrsSimulator, syntheticTenant, type SimTenant } from './simulators/nmbrs.js';

const TODAY = '2026-07-01';
const sims: NmbrsSimulator[] = [];
after(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

function mappingOf(fieldMapping: Record<string, string>, customFields?: string[]): SourceFieldMapping {
  const r = compileFieldMapping(fieldMapping, customFields, NMBRS_MAPPING_SCOPES);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.mapping;
}

/** The synthetic tenant with tenant-specific Employment fields and a personal title. */
function tenant(): SimTenant {
  const t = syntheticTenant();
  const [jan, petra, sanne] = t.employees;
  const extra = (e: object, type: string, hours: string) =>
    Object.assign(e, { EmploymentType: type, HoursPerWeek: hours });
  extra(jan!.employments[0]!, 'Vast', '32');
  extra(jan!.employments[1]!, 'Tijdelijk', '4,5');
  extra(petra!.employments[0]!, 'Vast', '36');
  extra(sanne!.employments[0]!, 'Vast', '24');
  // Numeric gender codes as the spec's HelloID mapping knows them: 2 = vrouw.
  sanne!.personalInfos[0]!.Gender = '2';
  sanne!.personalInfos[0]!.Title = 'ir.';
  return t;
}

async function importWith(mapping: SourceFieldMapping | undefined, t = tenant()) {
  const sim = new NmbrsSimulator({ tenant: t, today: TODAY });
  sims.push(sim);
  await sim.start();
  const { auth } = sim.tenant;
  const source = new NmbrsSource(
    {
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
    },
    mapping ? { mapping } : {},
  );
  const imp = await source.fetchAll();
  return { imp, calls: source.callCount };
}

const MAPPING = {
  mobilePhone: 'personalInfo.TelephoneMobileWork',
  gender: 'personalInfo.Gender',
  'contract.location': 'department.Description',
  'contract.contractType': 'employment.EmploymentType',
  'contract.hoursPerWeek': 'employment.HoursPerWeek',
  'contract.custom.functionId': 'function.Id',
};

describe('Nmbrs field mapping', () => {
  test('mobile phone, gender, contract location, type, hours and custom fields come from the mapped fields', async () => {
    const plain = await importWith(undefined);
    const { imp, calls } = await importWith(mappingOf(MAPPING, ['personalInfo.Title']));
    assert.deepEqual(imp.errors, []);
    assert.equal(calls, plain.calls, 'a mapping over fetched records adds no SOAP call');
    const byKey = (k: string) => imp.persons.find((p) => p.key === k) as Person;
    const jan = byKey('501');
    assert.equal(jan.gender, 'M', 'male');
    assert.equal(jan.mobilePhone, undefined, 'the newest version has no mobile number');
    const first = jan.contracts.find((c) => c.id === 'Employment_7701')!;
    assert.deepEqual(
      [first.location, first.contractType, first.hoursPerWeek, first.custom],
      ['Informatievoorziening', 'Vast', 32, { functionId: '42' }],
    );
    const second = jan.contracts.find((c) => c.id === 'Employment_7702')!;
    assert.deepEqual([second.contractType, second.hoursPerWeek], ['Tijdelijk', 4.5]);
    const sanne = byKey('503');
    assert.equal(sanne.gender, 'V', 'code 2');
    assert.equal(sanne.custom.Title, 'ir.');
    assert.equal(sanne.custom.honorificSuffix, 'MSc', "the connector's own custom fields stay");
    assert.equal(byKey('502').contracts[0]!.location, 'Personeelszaken');
    // Nothing the mapping does not name: no birth date, no BSN.
    assert.ok(!JSON.stringify(imp.persons).includes('1980-04-12'));
    assert.ok(!JSON.stringify(imp.persons).includes('123456782'));
  });

  test('contract type and hours from the contract list, read (one call per company) only when mapped', async () => {
    const t = tenant();
    const con = (id: number, created: string, start: string, end: string | null, type: string, hours: number) => ({
      ContractID: id,
      CreationDate: created,
      StartDate: `${start}T00:00:00`,
      EndDate: end === null ? null : `${end}T00:00:00`,
      EmployementType: type,
      HoursPerWeek: hours,
    });
    t.employees[0]!.contracts = [
      con(1, '2015-02-20T10:00:00', '2015-03-01', '2019-12-31', 'Bepaalde tijd', 40),
      con(2, '2019-12-01T10:00:00', '2020-01-01', null, 'Onbepaalde tijd', 36),
      // The same ContractID again, newer: wins.
      con(2, '2024-01-10T10:00:00', '2020-01-01', null, 'Onbepaalde tijd', 32),
      con(3, '2025-12-01T10:00:00', '2026-01-01', '2026-12-31', 'Bepaalde tijd', 4),
    ];
    t.employees[2]!.contracts = [con(9, '2022-08-15T14:30:00', '2022-09-01', null, 'Onbepaalde tijd', 24.5)];
    const plain = await importWith(mappingOf({ 'contract.hoursPerWeek': 'employment.HoursPerWeek' }), t);
    const { imp, calls } = await importWith(
      mappingOf(
        { 'contract.contractType': 'contract.EmployementType', 'contract.hoursPerWeek': 'contract.HoursPerWeek' },
        ['contract.Indefinite'],
      ),
      t,
    );
    assert.deepEqual(imp.errors, []);
    assert.equal(calls, plain.calls + 1, 'Contract_GetAll_AllEmployeesByCompany once for the one company');
    const c = (key: string, id: string) => imp.persons.find((p) => p.key === key)!.contracts.find((x) => x.id === id)!;
    // Employment 7701 (2015-): contracts 1 and 2 (3 starts in the later employment 7702); 2 is valid today.
    assert.deepEqual(
      [c('501', 'Employment_7701').contractType, c('501', 'Employment_7701').hoursPerWeek],
      ['Onbepaalde tijd', 32],
    );
    // Employment 7702 (2026-01-01 – 2026-12-31): contract 3.
    assert.deepEqual(
      [c('501', 'Employment_7702').contractType, c('501', 'Employment_7702').hoursPerWeek],
      ['Bepaalde tijd', 4],
    );
    assert.equal(c('503', 'Employment_7901').hoursPerWeek, 24.5);
    // No contract records: nothing filled, no error.
    assert.deepEqual(
      [c('502', 'Employment_7801').contractType, c('502', 'Employment_7801').hoursPerWeek],
      [undefined, undefined],
    );
    const bad = tenant();
    bad.employees[2]!.contracts = [
      { ...con(9, '2022-08-15T14:30:00', '2022-09-01', null, 'Vast', 0), HoursPerWeek: 'veel' },
    ];
    const rejected = await importWith(mappingOf({ 'contract.hoursPerWeek': 'contract.HoursPerWeek' }), bad);
    assert.deepEqual(
      rejected.imp.errors.map((e) => [e.key, e.origin, e.field]),
      [['503', 'Contract_GetAll_AllEmployeesByCompany', 'contract.HoursPerWeek']],
    );
  });

  test('a mobile number in the newest version arrives', async () => {
    const t = tenant();
    t.employees[1]!.personalInfos[0]!.TelephoneMobileWork = '06-87654321';
    const { imp } = await importWith(mappingOf(MAPPING), t);
    assert.equal(imp.persons.find((p) => p.key === '502')!.mobilePhone, '06-87654321');
  });

  test('without a mapping nothing new is filled (an upgrade changes no snapshot)', async () => {
    const { imp } = await importWith(undefined);
    assert.deepEqual(imp.errors, []);
    for (const p of imp.persons) {
      assert.deepEqual([p.gender, p.mobilePhone, p.location], [undefined, undefined, undefined]);
      for (const c of p.contracts)
        assert.deepEqual(
          [c.location, c.contractType, c.hoursPerWeek, c.custom],
          [undefined, undefined, undefined, undefined],
        );
    }
  });

  test('a value that does not fit rejects that person, with an error naming the record and the field', async () => {
    const t = tenant();
    t.employees[1]!.personalInfos[0]!.Gender = 'alien';
    Object.assign(t.employees[0]!.employments[1]!, { HoursPerWeek: 'veel' });
    const { imp } = await importWith(mappingOf(MAPPING), t);
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['503'],
    );
    assert.deepEqual(
      imp.errors.map((e) => [e.key, e.origin, e.field, e.reason]),
      [
        [
          '501',
          'Employment_GetAll_AllEmployeesByCompany',
          'employment.HoursPerWeek',
          'mapped to contract.hoursPerWeek: expected a number of hours; record rejected; the person keeps its last good data',
        ],
        [
          '502',
          'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany',
          'personalInfo.Gender',
          'mapped to gender: unknown gender value (expected Male, Female, M, V, X or Not Known); record rejected; the person keeps its last good data',
        ],
      ],
    );
  });

  test('a mapped value the model refuses names the Nmbrs field', async () => {
    const t = tenant();
    t.employees[2]!.personalInfos[0]!.Title = 'x'.repeat(600);
    const { imp } = await importWith(mappingOf({ 'custom.title': 'personalInfo.Title' }), t);
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['501', '502'],
    );
    assert.deepEqual(
      imp.errors.map((e) => [e.key, e.origin, e.field]),
      [['503', 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany', 'personalInfo.Title']],
    );
  });

  test('the config file refuses private, unknown and out-of-scope Nmbrs fields at load', () => {
    const text = `sources:
  - id: nm
    kind: nmbrs
    options: { username: api@voorbeeld.nl, tokenEnv: NMBRS_TOKEN, domain: voorbeeld, companies: [1] }
    fieldMapping:
      gender: personalInfo.BSN
      custom.birthday: personalInfo.Birthday
      mobilePhone: personalInfo.TelephoneMobilePrivate
      location: personalInfo.Werkplek
      contract.costCenter: costCenter.Code
      contract.title.name: function.Name
      businessPhone: employment.Phone
      contract.hoursPerWeek: contract.Hours
    customFields: [personalInfo.BurgerlijkeStaat]
`;
    const r = safeParseTenureConfig(text, {
      fileName: 'tenure.yaml',
      env: { NMBRS_TOKEN: 'tok-123456' },
      registry: tenureSourceRegistry(),
    });
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.issues.map((i) => `${i.line} ${i.path}: ${i.message}`), [
      "6 sources[0].fieldMapping.gender: 'personalInfo.BSN' holds personal data Tenure does not import",
      '7 sources[0].fieldMapping["custom.birthday"]: \'personalInfo.Birthday\' holds personal data Tenure does not import',
      "8 sources[0].fieldMapping.mobilePhone: 'personalInfo.TelephoneMobilePrivate' holds personal data Tenure does not import",
      "9 sources[0].fieldMapping.location: 'personalInfo.Werkplek' is not a PersonalInfo field Tenure reads (one of Id, EmployeeNumber, DisplayName, FirstName, Initials, Prefix, LastName, Nickname, Gender, TelephoneWork, TelephoneMobileWork, EmailWork, Naamstelling, PartnerPrefix, PartnerLastName, Title, TitleAfter, CreationDate, StartPeriod, StartYear)",
      '10 sources[0].fieldMapping["contract.costCenter"]: \'costCenter.Code\' is not a source field this connector reads for a contract field (paths start with personalInfo., employment., contract., department., function.)',
      '11 sources[0].fieldMapping["contract.title.name"]: \'function.Name\' is not a field of the current function (Id, Code or Description)',
      "12 sources[0].fieldMapping.businessPhone: 'employment.Phone' is not a source field this connector reads for a person field (paths start with personalInfo.)",
      '13 sources[0].fieldMapping["contract.hoursPerWeek"]: \'contract.Hours\' is not an EmployeeContract field (one of ContractID, StartDate, EndDate, TrialPeriod, EmployementType, EmploymentSequenceTaxId, Indefinite, PhaseClassification, WrittenContract, HoursPerWeek)',
      "14 sources[0].customFields[0]: 'personalInfo.BurgerlijkeStaat' holds personal data Tenure does not import",
    ]);
  });

  test('a valid mapping loads and reaches the connector', async () => {
    const sim = new NmbrsSimulator({ tenant: tenant(), today: TODAY });
    sims.push(sim);
    await sim.start();
    const { auth } = sim.tenant;
    const text = `sources:
  - id: nmbrs
    kind: nmbrs
    options:
      baseUrl: ${sim.url}
      username: ${auth.username}
      tokenEnv: NMBRS_TOKEN
      domain: ${auth.domain}
      companies: [12345]
      debtorIds: [777]
      today: "${TODAY}"
      maxCallsPerSecond: 10000
    fieldMapping:
      gender: personalInfo.Gender
      contract.hoursPerWeek: employment.HoursPerWeek
`;
    const r = safeParseTenureConfig(text, {
      fileName: 'tenure.yaml',
      env: { NMBRS_TOKEN: auth.token },
      registry: tenureSourceRegistry(),
    });
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
    const imp = await r.config.sources[0]!.create().fetchAll();
    const sanne = imp.persons.find((p) => p.key === '503')!;
    assert.deepEqual([sanne.gender, sanne.contracts[0]!.hoursPerWeek], ['V', 24]);
  });
});
