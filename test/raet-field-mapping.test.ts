/**
 * The Raet source's field mapping (connectors/sources/field-mapping.ts) against the Raet simulator:
 * location, mobile phone, gender, contract type, hours and custom fields from the API's own fields,
 * and a value that does not fit named by record and field.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { compileFieldMapping, type SourceFieldMapping } from '../connectors/sources/field-mapping.js';
import { RAET_MAPPING_SCOPES, RaetSource } from '../connectors/sources/raet.js';
import type { Person } from '../domain/model.js';
import { RaetSimulator, beaufortDataset } from './simulators/raet.js';

const TODAY = '2026-07-01';
const sims: RaetSimulator[] = [];
after(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

function mappingOf(fieldMapping: Record<string, string>, customFields?: string[]): SourceFieldMapping {
  const r = compileFieldMapping(fieldMapping, customFields, RAET_MAPPING_SCOPES);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.mapping;
}

async function importWith(mapping: SourceFieldMapping, data = beaufortDataset()) {
  const sim = new RaetSimulator(data, { today: TODAY, windowMs: 1000 });
  sims.push(sim);
  await sim.start();
  const source = new RaetSource(
    {
      baseUrl: sim.url,
      tokenUrl: `${sim.url}/connect/token`,
      clientId: 'sim-client',
      clientSecret: 'sim-secret-do-not-log',
      tenantId: 'sim-tenant',
      today: TODAY,
      rateLimit: { callsPerWindow: 100, windowMs: 1000, concurrency: 3, minSpacingMs: 0 },
    },
    { mapping },
  );
  return source.fetchAll();
}

const MAPPING = {
  location: 'extension.P9001',
  mobilePhone: 'person.phone.Mobile',
  gender: 'person.gender',
  'contract.contractType': 'employment.employmentTypeName',
  'contract.hoursPerWeek': 'employment.workingAmount.amountOfWork',
  'contract.custom.employmentType': 'employment.employmentType',
};

describe('Raet field mapping', () => {
  test('location, mobile phone, gender, contract type, hours and custom fields come from the mapped fields', async () => {
    const imp = await importWith(mappingOf(MAPPING, ['orgUnit.costCenterCode']));
    const byKey = (k: string) => imp.persons.find((p) => p.key === k) as Person;
    const jan = byKey('100001');
    assert.equal(jan.mobilePhone, '06-12345678');
    assert.equal(jan.gender, 'M');
    assert.equal(jan.location, undefined, 'no extension value: no location');
    const first = jan.contracts.find((c) => c.id === 'A-9001')!;
    assert.deepEqual(
      { type: first.contractType, hours: first.hoursPerWeek, custom: first.custom },
      { type: 'Vast', hours: 32, custom: { employmentType: '01', costCenterCode: 'KP100' } },
    );
    const second = jan.contracts.find((c) => c.id === 'A-9002')!;
    assert.deepEqual([second.contractType, second.hoursPerWeek], ['Tijdelijk', 4]);
    const sanne = byKey('100003');
    assert.equal(sanne.location, 'Gebouw B', 'the person extension P 9001 (Werkplek)');
    assert.equal(sanne.gender, 'V');
    // Nothing the mapping does not name: no birth date, no private mail.
    assert.ok(!JSON.stringify(imp.persons).includes('1980-04-12'));
    assert.ok(!JSON.stringify(imp.persons).includes('mail.example'));
  });

  test('without a mapping nothing new is filled (an upgrade changes no snapshot)', async () => {
    const imp = await importWith(mappingOf({}));
    for (const p of imp.persons) {
      assert.equal(p.gender, undefined);
      assert.equal(p.mobilePhone, undefined);
      for (const c of p.contracts)
        assert.deepEqual([c.contractType, c.hoursPerWeek, c.custom], [undefined, undefined, undefined]);
    }
  });

  test('a value that does not fit rejects that person, with an error naming the record and the field', async () => {
    const data = beaufortDataset();
    (data.persons[1] as Record<string, unknown>).gender = 'Alien';
    // A tenant-specific field the connector does not know, mapped as the hours: not a number.
    (data.employments[0] as Record<string, unknown>).contractHours = 'veel';
    const imp = await importWith(mappingOf({ ...MAPPING, 'contract.hoursPerWeek': 'employment.contractHours' }), data);
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['100003'],
    );
    const mapped = imp.errors.filter((e) => e.reason.includes('mapped to'));
    assert.deepEqual(
      mapped.map((e) => [e.key, e.origin, e.line, e.field, e.reason]),
      [
        [
          '100002',
          '/iam/v1.0/persons',
          1,
          'person.gender',
          'mapped to gender: unknown gender value (expected Male, Female, M, V, X or Not Known); person rejected; it keeps its last good data',
        ],
        [
          '100001',
          '/iam/v1.0/assignments',
          0,
          'employment.contractHours',
          'mapped to contract.hoursPerWeek: expected a number of hours; person rejected; it keeps its last good data',
        ],
      ],
    );
  });
});
