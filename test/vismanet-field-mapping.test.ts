/**
 * The Visma.net HRM source's field mapping (connectors/sources/vismanet/field-mapping.ts) against the
 * Visma.net analytics simulator: location from an employee user-defined field (the history row valid today), mobile phone,
 * gender, contract type, hours and custom fields from export columns; a value that does not fit
 * named by file, line and column; private, salary and unknown columns refused at config load.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { safeParseTenureConfig } from '../common/tenure-config.js';
import { compileFieldMapping, type SourceFieldMapping } from '../connectors/sources/field-mapping.js';
import { VISMANET_MAPPING_SCOPES, VismaNetError, VismaNetSource } from '../connectors/sources/vismanet.js';
import type { Person } from '../domain/model.js';
import { tenureSourceRegistry } from '../workers/source-registry.js';
import { startVismaNetSim, syntheticDataset, type SimData, type VismaNetSim } from './simulators/vismanet.js';

const CLIENT = { clientId: 'tenure-client', clientSecret: 'S3cr3t-Visma-Client-Secret!', tenantId: 'tenant-0001' };
const TODAY = '2026-07-01';
const sims: VismaNetSim[] = [];
after(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

function mappingOf(fieldMapping: Record<string, string>, customFields?: string[]): SourceFieldMapping {
  const r = compileFieldMapping(fieldMapping, customFields, VISMANET_MAPPING_SCOPES);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.mapping;
}

/** The synthetic export with a work mobile number and an external department per contract. */
function dataset(): SimData {
  const d = syntheticDataset();
  d.employees![0]!.officemobilephonenumber = '06-12345678';
  d.employees![2]!.employeegroupname = 'Staf';
  d.contracts!.forEach((c, i) => (c.extdepartmentname = i === 0 ? 'Stadhuis' : 'Stadskantoor'));
  return d;
}

async function simWith(data = dataset()) {
  const s = await startVismaNetSim({ ...CLIENT, data, pollsUntilDone: 1 });
  sims.push(s);
  return s;
}

function sourceFor(s: VismaNetSim, mapping?: SourceFieldMapping, extra: Record<string, unknown> = {}) {
  return new VismaNetSource(
    {
      ...CLIENT,
      tokenUrl: s.tokenUrl,
      apiBaseUrl: s.url,
      pollIntervalMs: 10,
      pollMaxIntervalMs: 40,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 40,
      ...extra,
    },
    { today: () => TODAY, ...(mapping ? { mapping } : {}) },
  );
}

const MAPPING = {
  location: 'udf.Werk plek',
  mobilePhone: 'employee.officemobilephonenumber',
  gender: 'employee.gender',
  'contract.location': 'contract.extdepartmentname',
  'contract.contractType': 'contract.type',
  'contract.hoursPerWeek': 'contract.weekhoursfixed',
};

describe('Visma.net field mapping', () => {
  test('location, mobile phone, gender, contract type, hours and custom fields come from the mapped fields', async () => {
    const s = await simWith();
    const src = sourceFor(s, mappingOf(MAPPING, ['employee.employeegroupname', 'contract.orgunit']));
    const imp = await src.fetchAll();
    assert.deepEqual(imp.errors, []);
    assert.ok(
      src.lastRun!.jobs.some((j) => j.dataset === 'employees/user-defined-field-histories'),
      'a mapped udf.* field requests the UDF export',
    );
    const byKey = (k: string) => imp.persons.find((p) => p.key === k) as Person;
    const jan = byKey('10001');
    assert.deepEqual([jan.mobilePhone, jan.gender, jan.location], ['06-12345678', 'M', undefined]);
    const [first, second] = jan.contracts;
    assert.deepEqual(
      [first!.location, first!.contractType, first!.hoursPerWeek, first!.custom],
      ['Stadhuis', 'Vast', 32, { orgunit: 'ICT' }],
    );
    assert.deepEqual([second!.location, second!.contractType, second!.hoursPerWeek], ['Stadskantoor', 'Tijdelijk', 4]);
    const sanne = byKey('10003');
    assert.deepEqual([sanne.location, sanne.gender, sanne.custom], ['Gebouw C', 'V', { employeegroupname: 'Staf' }]);
    // Nothing the mapping does not name: no birth date, no private e-mail.
    assert.ok(!JSON.stringify(imp.persons).includes('1980-04-12'));
    assert.ok(!JSON.stringify(imp.persons).includes('example.org'));
  });

  test('without a mapping nothing new is filled and no UDF export is requested', async () => {
    const s = await simWith();
    const src = sourceFor(s);
    const imp = await src.fetchAll();
    assert.deepEqual(imp.errors, []);
    assert.ok(!src.lastRun!.jobs.some((j) => j.dataset === 'employees/user-defined-field-histories'));
    for (const p of imp.persons) {
      assert.deepEqual([p.gender, p.mobilePhone, p.location, p.custom], [undefined, undefined, undefined, {}]);
      for (const c of p.contracts)
        assert.deepEqual(
          [c.location, c.contractType, c.hoursPerWeek, c.custom],
          [undefined, undefined, undefined, undefined],
        );
    }
  });

  test('a value that does not fit rejects that person, with an error naming the record and the column', async () => {
    const data = dataset();
    data.employees![1]!.gender = 'Alien';
    data.contracts![0]!.normalhours = 'veel';
    const s = await simWith(data);
    const imp = await sourceFor(
      s,
      mappingOf({ ...MAPPING, 'contract.hoursPerWeek': 'contract.normalhours' }),
    ).fetchAll();
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['10003'],
    );
    assert.deepEqual(
      imp.errors.map((e) => [e.key, e.origin.split('/')[0], e.line, e.field, e.reason]),
      [
        [
          '10002',
          'employees',
          3,
          'employee.gender',
          'mapped to gender: unknown gender value (expected Male, Female, M, V, X or Not Known); record rejected; the person keeps its last good data',
        ],
        [
          '10001',
          'contracts',
          2,
          'contract.normalhours',
          'mapped to contract.hoursPerWeek: expected a number of hours; record rejected; the person keeps its last good data',
        ],
      ],
    );
  });

  test('a mapped value the model refuses names the column', async () => {
    const data = dataset();
    data.employees![2]!.employeegroupname = 'x'.repeat(600);
    const s = await simWith(data);
    const imp = await sourceFor(s, mappingOf({ 'custom.group': 'employee.employeegroupname' })).fetchAll();
    assert.deepEqual(
      imp.errors.map((e) => [e.key, e.origin.split('/')[0], e.field]),
      [['10003', 'employees', 'employee.employeegroupname']],
    );
    assert.ok(!imp.persons.some((p) => p.key === '10003'));
  });

  test('a mapped column the options exclude from the export is refused', () => {
    assert.throws(
      () =>
        new VismaNetSource(
          { ...CLIENT, employeeFieldsExclude: ['officemobilephonenumber'] },
          { mapping: mappingOf({ mobilePhone: 'employee.officemobilephonenumber' }) },
        ),
      (e: unknown) =>
        e instanceof VismaNetError && /employee\.officemobilephonenumber, which the options exclude/.test(e.message),
    );
  });

  test('the config file refuses private, salary, unknown and out-of-scope columns at load', () => {
    const text = `sources:
  - id: visma
    kind: vismanet
    options: { clientId: tenure, clientSecretEnv: VISMA_SECRET, tenantId: t1 }
    fieldMapping:
      mobilePhone: employee.privatemobilephonenumber
      location: employee.homecity
      custom.dob: employee.dateofbirth
      contract.custom.salary: contract.salaryhour
      contract.custom.scale: contract.scale
      gender: contract.gender
      businessPhone: employee.officephone
    customFields: [employee.maritalstatus]
`;
    const r = safeParseTenureConfig(text, {
      fileName: 'tenure.yaml',
      env: { VISMA_SECRET: 'visma-secret-123' },
      registry: tenureSourceRegistry(),
    });
    assert.equal(r.ok, false);
    const contractCols = '(lower-case names; salary and scale columns are never read; docs/sources/vismanet.md)';
    assert.deepEqual(r.ok ? [] : r.issues.map((i) => `${i.line} ${i.path}: ${i.message}`), [
      "6 sources[0].fieldMapping.mobilePhone: 'employee.privatemobilephonenumber' holds personal data Tenure does not import",
      "7 sources[0].fieldMapping.location: 'employee.homecity' holds personal data Tenure does not import",
      '8 sources[0].fieldMapping["custom.dob"]: \'employee.dateofbirth\' holds personal data Tenure does not import',
      '9 sources[0].fieldMapping["contract.custom.salary"]: \'contract.salaryhour\' holds personal data Tenure does not import',
      `10 sources[0].fieldMapping["contract.custom.scale"]: 'contract.scale' is not a column of the Visma.net contracts export Tenure reads ${contractCols}`,
      "11 sources[0].fieldMapping.gender: 'contract.gender' is not a source field this connector reads for a person field (paths start with employee., udf.)",
      "12 sources[0].fieldMapping.businessPhone: 'employee.officephone' is not a column of the Visma.net employees export Tenure reads (lower-case names, docs/sources/vismanet.md)",
      "13 sources[0].customFields[0]: 'employee.maritalstatus' holds personal data Tenure does not import",
    ]);
  });

  test('a valid mapping loads and reaches the connector', async () => {
    const s = await simWith();
    const text = `sources:
  - id: vismanet
    kind: vismanet
    options:
      clientId: ${CLIENT.clientId}
      clientSecretEnv: VISMA_SECRET
      tenantId: ${CLIENT.tenantId}
      tokenUrl: ${s.tokenUrl}
      apiBaseUrl: ${s.url}
      pollIntervalMs: 10
    fieldMapping:
      location: udf.Werk plek
      contract.hoursPerWeek: contract.weekhoursfixed
`;
    const r = safeParseTenureConfig(text, {
      fileName: 'tenure.yaml',
      env: { VISMA_SECRET: CLIENT.clientSecret },
      registry: tenureSourceRegistry(),
    });
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
    const imp = await r.config.sources[0]!.create().fetchAll();
    const sanne = imp.persons.find((p) => p.key === '10003')!;
    assert.deepEqual([sanne.location, sanne.contracts[0]!.hoursPerWeek], ['Gebouw C', 36]);
  });
});
