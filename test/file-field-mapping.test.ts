/**
 * The file source's field mapping (config `fieldMapping` / `customFields`, connectors/sources/field-mapping.ts):
 * columns the export format does not know by name fill mobile phone, gender, contract type, hours
 * and custom fields; a value that does not fit names the line and the column.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFieldMapping, type SourceFieldMapping } from '../connectors/sources/field-mapping.js';
import { FILE_MAPPING_SCOPES, parseHrExport } from '../connectors/sources/file.js';

function mappingOf(fieldMapping: Record<string, string>, customFields?: string[]): SourceFieldMapping {
  const r = compileFieldMapping(fieldMapping, customFields, FILE_MAPPING_SCOPES);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.mapping;
}

const MAPPING = mappingOf(
  {
    mobilePhone: 'person.Mobiel',
    gender: 'person.geslacht',
    'contract.contractType': 'contract.soort_contract',
    'contract.hoursPerWeek': 'contract.uren',
  },
  ['contract.kostenplaats'],
);

const HEADER =
  'person_key;nick_name;family_name;contract_id;start_date;department_code;mobiel;geslacht;soort_contract;uren;kostenplaats;bsn';

describe('file source field mapping', () => {
  test('CSV: mapped columns fill the model; unmapped unknown columns stay unread', () => {
    const csv = [
      HEADER,
      '1001;Jan;Vries;c1;2026-01-01;ICT;06-1111;Man;Vast;32,5;KP1;123456782',
      '1001;Jan;Vries;c2;2026-03-01;FIN;06-1111;Man;Tijdelijk;4;KP2;123456782',
    ].join('\n');
    const imp = parseHrExport(csv, { source: 'hr', origin: 'hr.csv', format: 'csv', mapping: MAPPING });
    assert.deepEqual(imp.errors, []);
    const p = imp.persons[0]!;
    assert.deepEqual([p.mobilePhone, p.gender], ['06-1111', 'M']);
    assert.deepEqual(
      p.contracts.map((c) => [c.id, c.contractType, c.hoursPerWeek, c.custom]),
      [
        ['c1', 'Vast', 32.5, { kostenplaats: 'KP1' }],
        ['c2', 'Tijdelijk', 4, { kostenplaats: 'KP2' }],
      ],
    );
    assert.ok(!JSON.stringify(imp.persons).includes('123456782'), 'the BSN column is never read');
  });

  test('CSV: a value that does not fit rejects the person, naming the line and the column', () => {
    const csv = [
      HEADER,
      '1001;Jan;Vries;c1;2026-01-01;ICT;;Onzijdig;Vast;32;KP1;',
      '1002;Piet;Bakker;c2;2026-01-01;ICT;;M;Vast;veel;KP1;',
      '1003;Kees;Smit;c3;2026-01-01;ICT;;V;Vast;36;KP1;',
    ].join('\n');
    const imp = parseHrExport(csv, { source: 'hr', origin: 'hr.csv', format: 'csv', mapping: MAPPING });
    assert.deepEqual(
      imp.persons.map((p) => [p.key, p.gender]),
      [['1003', 'V']],
    );
    assert.deepEqual(
      imp.errors.map((e) => [e.key, e.line, e.field, e.reason.split(';')[0]]),
      [
        [
          '1001',
          2,
          'person.geslacht',
          'mapped to gender: unknown gender value (expected Male, Female, M, V, X or Not Known)',
        ],
        ['1002', 3, 'contract.uren', 'mapped to contract.hoursPerWeek: expected a number of hours'],
      ],
    );
  });

  test('JSON: members of the person and of each contract', () => {
    const json = JSON.stringify([
      {
        key: '2001',
        name: { nickName: 'Anna', familyName: 'Jansen' },
        Mobiel: '06-2222',
        geslacht: 'Female',
        contracts: [
          {
            id: 'k1',
            startDate: '2026-01-01',
            department: { code: 'ZORG' },
            soort_contract: 'Vast',
            uren: 24,
            kostenplaats: 'KP9',
          },
        ],
      },
    ]);
    const imp = parseHrExport(json, { source: 'hr', origin: 'hr.json', format: 'json', mapping: MAPPING });
    assert.deepEqual(imp.errors, []);
    const p = imp.persons[0]!;
    assert.deepEqual([p.mobilePhone, p.gender], ['06-2222', 'V']);
    assert.deepEqual(
      [p.contracts[0]!.contractType, p.contracts[0]!.hoursPerWeek, p.contracts[0]!.custom],
      ['Vast', 24, { kostenplaats: 'KP9' }],
    );
  });
});
