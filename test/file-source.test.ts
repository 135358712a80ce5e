import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileSource, FileSourceError, REJECTED, parseHrExport } from '../connectors/sources/file.js';
import type { SourceRecordError } from '../connectors/types.js';
import { Person, personKey, unsafeTextReason } from '../domain/model.js';
import { canonicalJson, diffSnapshots, personHash } from '../common/snapshot.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const BAD = join(fixtures, 'hr-export-bad.csv');
const GOOD_CSV = join(fixtures, 'hr-export-good.csv');
const GOOD_JSON = join(fixtures, 'hr-export-good.json');

/** PII values and column names present in the fixtures; none may come out of the connector. */
const PII = [
  '123456782',
  '111222333',
  '999888777',
  '555444333',
  '51000',
  '4500',
  '3900',
  'NL91ABNA0417164300',
  'NL02RABO0123456789',
  '1985-04-01',
  '1980-05-17',
  '1991-02-28',
  '1975-12-01',
  'Dorpsstraat',
  'line one',
  'bsn',
  'salary',
  'iban',
  'birth',
  'private',
  'notes',
];

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tenure-file-source-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});
async function tmpFile(name: string, content: string | Uint8Array): Promise<string> {
  const p = join(tmp, name);
  await writeFile(p, content);
  return p;
}

const e = (line: number | undefined, key: string | undefined, field: string, reason: string, origin = BAD) => {
  const err: SourceRecordError = { source: 'file', origin, field, reason };
  if (line !== undefined) err.line = line;
  if (key !== undefined) err.key = key;
  return err;
};
const r = (reason: string) => `${reason}; ${REJECTED}`;

describe('file source: CSV with bad records', () => {
  test('every bad record gives its error (file, line, key, field, reason); the good ones all come through', async () => {
    const imp = await new FileSource({ path: BAD }).fetchAll();
    assert.deepEqual(imp.errors, [
      e(4, '200002', 'start_date', r('not a real calendar date')),
      e(5, '200003', 'end_date', r('expected a date as YYYY-MM-DD')),
      e(6, '200004', 'contract_id', r('contract id C-DUP is also used by person 200006 (line 10)')),
      // line 7 holds a valid record with a three-line quoted cell: the next record starts on line 10
      e(10, '200006', 'contract_id', r('contract id C-DUP is also used by person 200004 (line 6)')),
      e(12, '200007', 'family_name', r('differs from line 11 for the same person_key')),
      e(13, '200008', 'nick_name', r('longer than 100 characters')),
      e(14, '200009', 'family_name', r('contains control characters')), // quoted line break in a name
      e(16, '200010', 'nick_name', r('contains control characters')), // BEL character
      e(22, undefined, 'person_key', r('is empty')),
      e(23, '200016', 'fte', r('not a number')),
      e(24, '200017', 'department_code', r('is empty')),
      e(25, '200018', 'end_date', r('ends before it starts')),
      e(26, '200019', 'name_convention', r('Invalid option: expected one of "B"|"P"|"BP"|"PB"')),
      e(29, '200021', 'row', r('has 9 fields, the header has 22')),
      e(29, '200021', 'department_code', r('is empty')),
      e(30, '200022', 'business_email', r('Invalid email address')),
    ]);
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['200001', '200005', '200011', '200012', '200013', '200014', '200015', '200020'],
    );
    // 22 distinct person keys plus one row without a key
    assert.equal(imp.recordsRead, 23);
    assert.deepEqual(imp.departments, [{ code: 'OPS', name: 'Operations' }]);
  });

  test('a person with one bad contract row is rejected as a whole', async () => {
    const imp = await new FileSource({ path: BAD }).fetchAll();
    assert.equal(
      imp.persons.find((p) => p.key === '200002'),
      undefined,
    );
    assert.match(imp.errors.find((x) => x.key === '200002')?.reason ?? '', /keeps its last good data/);
  });

  test('LDAP special characters and diacritics pass through unchanged', async () => {
    const imp = await new FileSource({ path: BAD }).fetchAll();
    const by = new Map(imp.persons.map((p) => [p.key, p]));
    assert.equal(by.get('200011')?.name.familyName, "O'Brien, Jr.");
    assert.equal(by.get('200012')?.name.familyName, 'Smith+Jones');
    assert.equal(by.get('200013')?.name.familyName, 'a\\b');
    assert.equal(by.get('200013')?.name.nickName, '#hash');
    assert.deepEqual(by.get('200014')?.name, {
      nickName: 'Zoë',
      given: 'Renée Çelik',
      familyNamePrefix: 'van der',
      familyName: 'Ångström-Øster',
      convention: 'B',
    });
  });

  test('a person row without contract cells is a person without contracts; identical repeated rows count once', async () => {
    const imp = await new FileSource({ path: BAD }).fetchAll();
    const by = new Map(imp.persons.map((p) => [p.key, p]));
    assert.deepEqual(by.get('200015')?.contracts, []);
    assert.deepEqual(
      by.get('200020')?.contracts.map((c) => c.id),
      ['C-200020'],
    );
  });

  test('PII columns (bsn, salary, iban, birth_date) and unknown columns never appear in the result', async () => {
    for (const path of [BAD, GOOD_CSV, GOOD_JSON]) {
      const out = JSON.stringify(await new FileSource({ path }).fetchAll()).toLowerCase();
      for (const value of PII) assert.equal(out.includes(value.toLowerCase()), false, `${path}: ${value}`);
    }
  });

  test('the same contract id twice in one person with different cells rejects that person', () => {
    const csv = [
      'person_key,nick_name,family_name,contract_id,start_date,department_code',
      '1,Jan,Berg,C1,2026-01-01,FIN',
      '1,Jan,Berg,C1,2026-02-01,FIN',
      '2,Piet,Smit,C2,2026-01-01,FIN',
    ].join('\n');
    const imp = parseHrExport(csv, { source: 'file', origin: 'c.csv', format: 'csv' });
    assert.deepEqual(imp.errors, [
      e(3, '1', 'contract_id', r('contract C1 appears again with different data (first on line 2)'), 'c.csv'),
    ]);
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['2'],
    );
  });

  test('a different source id is used for every person and error', async () => {
    const imp = await new FileSource({ id: 'hr-file', path: BAD }).fetchAll();
    assert.ok(imp.persons.every((p) => p.source === 'hr-file'));
    assert.ok(imp.errors.every((x) => x.source === 'hr-file'));
    assert.throws(() => new FileSource({ id: 'Bad Id', path: BAD }), /invalid source id/);
  });
});

describe('file source: file-level problems', () => {
  test('missing required columns: a file-level error, then every record fails, recordsRead still counts', async () => {
    const path = await tmpFile(
      'missing.csv',
      'person_key;nick_name;contract_id;department_code;bsn\n1;Jan;C1;FIN;123\n1;Jan;C2;FIN;123\n2;Piet;C3;HR;456\n',
    );
    const imp = await new FileSource({ path }).fetchAll();
    const why = 'required column is missing from the header; every record in this file is rejected';
    assert.deepEqual(imp.errors, [
      e(1, undefined, 'family_name', why, path),
      e(1, undefined, 'start_date', why, path),
      e(2, '1', 'family_name,start_date', r('required column missing from the file'), path),
      e(4, '2', 'family_name,start_date', r('required column missing from the file'), path),
    ]);
    assert.deepEqual(imp.persons, []);
    assert.equal(imp.recordsRead, 2);
  });

  test('a column named twice in the header rejects every record', async () => {
    const path = await tmpFile(
      'twice.csv',
      'person_key,nick_name,family_name,contract_id,start_date,department_code,family_name\n1,Jan,Berg,C1,2026-01-01,FIN,Berg\n',
    );
    const imp = await new FileSource({ path }).fetchAll();
    assert.deepEqual(imp.errors, [
      e(
        1,
        undefined,
        'family_name',
        'column appears more than once in the header; every record in this file is rejected',
        path,
      ),
      e(2, '1', 'family_name', r('column appears more than once in the header'), path),
    ]);
    assert.equal(imp.recordsRead, 1);
  });

  test('size limit, record limit, encoding, unreadable files: throw, never a partial import', async () => {
    await assert.rejects(new FileSource({ path: GOOD_CSV, maxBytes: 100 }).fetchAll(), (err: unknown) => {
      assert.ok(err instanceof FileSourceError);
      assert.match(err.message, /over the limit of 100$/);
      return true;
    });
    await assert.rejects(
      new FileSource({ path: GOOD_CSV, maxRecords: 5 }).fetchAll(),
      /6 records, over the limit of 5/,
    );
    await assert.rejects(
      new FileSource({ path: GOOD_JSON, maxRecords: 6 }).fetchAll(),
      /7 records, over the limit of 6/,
    );
    const latin1 = await tmpFile('latin1.csv', Buffer.from('person_key;nick_name\n1;Zo\xeb\n', 'latin1'));
    await assert.rejects(new FileSource({ path: latin1 }).fetchAll(), /not valid UTF-8/);
    await assert.rejects(new FileSource({ path: join(tmp, 'nope.csv') }).fetchAll(), /cannot read the file \(ENOENT\)/);
    const empty = await tmpFile('empty.csv', '\n');
    await assert.rejects(new FileSource({ path: empty }).fetchAll(), /file is empty/);
    const unterminated = await tmpFile('open.csv', 'person_key,nick_name\n1,"Jan\n');
    await assert.rejects(new FileSource({ path: unterminated }).fetchAll(), /not readable as CSV/);
    const notJson = await tmpFile('x.json', '{"persons": [');
    await assert.rejects(new FileSource({ path: notJson }).fetchAll(), /not readable as JSON/);
    const wrongShape = await tmpFile('y.json', '{"people": []}');
    await assert.rejects(new FileSource({ path: wrongShape }).fetchAll(), /expected an array of persons/);
  });
});

describe('file source: valid exports', () => {
  test('CSV (";", BOM, CRLF, quoted multi-line cell) and JSON give the same persons and departments', async () => {
    const csv = await new FileSource({ path: GOOD_CSV }).fetchAll();
    const json = await new FileSource({ path: GOOD_JSON }).fetchAll();
    assert.deepEqual(csv.errors, []);
    assert.deepEqual(json.errors, []);
    assert.equal(csv.persons.length, 5);
    assert.equal(csv.recordsRead, 5);
    assert.deepEqual(csv, json);
    assert.deepEqual(csv.departments, [
      { code: 'FIN', name: 'Finance', managerKey: '100003' },
      { code: 'HR', name: 'Human Resources' },
    ]);
    const jan = csv.persons[0] as Person;
    assert.deepEqual(jan, {
      source: 'file',
      key: '100001',
      name: {
        nickName: 'Jan',
        given: 'Johannes Petrus',
        initials: 'J.P.',
        familyNamePrefix: 'van den',
        familyName: 'Berg',
        partnerNamePrefix: 'de',
        partnerName: 'Vries',
        convention: 'BP',
      },
      businessEmail: 'jan.vandenberg@example.org',
      businessPhone: '+31 20 555 0101',
      location: 'Amsterdam',
      custom: { badge: 'B-7001' },
      contracts: [
        {
          id: 'C-100001-1',
          startDate: '2020-01-01',
          endDate: '2023-12-31',
          department: { code: 'FIN', name: 'Finance' },
          title: { code: 'ACC', name: 'Accountant' },
          location: 'Amsterdam',
          managerKey: '100003',
          costCenter: 'CC-10',
          employer: 'Example BV',
          fte: 1,
          sequence: 1,
        },
        {
          id: 'C-100001-2',
          startDate: '2024-01-01',
          department: { code: 'FIN', name: 'Finance' },
          title: { code: 'CTRL', name: 'Controller' },
          location: 'Amsterdam',
          managerKey: '100003',
          costCenter: 'CC-10',
          employer: 'Example BV',
          fte: 0.8,
          sequence: 2,
        },
      ],
    });
  });

  test('"," separator detected, or configured; header names are case-insensitive', async () => {
    const body = [
      'Person_Key,NICK_NAME,family_name,contract_id,start_date,department_code,department_name',
      '7,Jan,"Berg, van den",C7,2026-01-01,FIN,"Finance; Control"',
    ].join('\n');
    const auto = await new FileSource({ path: await tmpFile('comma.csv', body) }).fetchAll();
    assert.deepEqual(auto.errors, []);
    assert.equal(auto.persons[0]?.name.familyName, 'Berg, van den');
    assert.equal(auto.persons[0]?.contracts[0]?.department.name, 'Finance; Control');
    const tabs =
      'person_key\tnick_name\tfamily_name\tcontract_id\tstart_date\tdepartment_code\n8\tJan\tBerg\tC8\t2026-01-01\tFIN\n';
    const configured = parseHrExport(tabs, { source: 'file', origin: 'x', format: 'csv', delimiter: '\t' });
    assert.deepEqual(configured.errors, []);
    assert.equal(configured.persons[0]?.contracts[0]?.id, 'C8');
  });

  test('NFC and NFD spellings of a name give the same person', () => {
    const csv = (name: string) =>
      `person_key;nick_name;family_name;contract_id;start_date;department_code\n1;${name};Berg;C1;2026-01-01;FIN\n`;
    const a = parseHrExport(csv('Zo\u00eb'), { source: 'file', origin: 'a', format: 'csv' });
    const b = parseHrExport(csv('Zoe\u0308'), { source: 'file', origin: 'b', format: 'csv' });
    assert.deepEqual(a.persons, b.persons);
  });
});

describe('file source: JSON with bad records', () => {
  test('the array index is the line, the field is the model path', () => {
    const persons = [
      {
        key: 'a',
        name: { nickName: 'Ann', familyName: 'Ek' },
        contracts: [{ id: 'A1', startDate: '2026-01-01', department: { code: 'X' } }],
      },
      {
        key: 'b',
        name: { nickName: 'Bob', familyName: 'Ek' },
        bsn: '123456782',
        contracts: [
          { id: 'B1', startDate: '2026-01-01', department: { code: 'X' } },
          { id: 'B2', startDate: '2026-02-30', department: { code: 'X' }, fte: '1' },
        ],
      },
      'not a person',
      { key: 'c', name: { nickName: 'Cor' }, contracts: [] },
      { key: 'a', name: { nickName: 'Ann', familyName: 'Eklund' }, contracts: [] },
      {
        key: 'd',
        name: { nickName: 'Dee', familyName: 'Ek' },
        contracts: [{ id: 'A1', startDate: '2026-01-01', department: { code: 'Y' } }],
      },
      { key: 'e', name: { nickName: 'Eva', familyName: 'Ek' }, contracts: [] },
      { key: 'e', name: { nickName: 'Eva', familyName: 'Ek' }, contracts: [] },
    ];
    const imp = parseHrExport(JSON.stringify(persons), { source: 'file', origin: 'hr.json', format: 'json' });
    const j = (line: number, key: string | undefined, field: string, reason: string) =>
      e(line, key, field, reason, 'hr.json');
    assert.deepEqual(imp.errors, [
      j(0, 'a', 'contracts.0.id', r('contract id A1 is also used by person d (index 5)')),
      j(1, 'b', 'contracts.1.startDate', r('not a real calendar date')),
      j(1, 'b', 'contracts.1.fte', r('Invalid input: expected number, received string')),
      j(2, undefined, '', r('not an object')),
      j(3, 'c', 'name.familyName', r('is required')),
      j(4, 'a', 'key', r('person appears again with different data (first at index 0)')),
      j(5, 'd', 'contracts.0.id', r('contract id A1 is also used by person a (index 0)')),
    ]);
    // a: conflicting duplicate; d: shares a contract id with a; e: identical duplicate counts once
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['e'],
    );
    assert.equal(imp.recordsRead, 8);
  });
});

describe('file source: departments', () => {
  test('a departments file wins over the contract rows; conflicting department rows are reported', async () => {
    const depts = await tmpFile(
      'depts.csv',
      'department_code;department_name;department_manager_key;department_parent_code\nFIN;Finance & Control;100003;ORG\nORG;Example;;\n',
    );
    const imp = await new FileSource({ path: GOOD_CSV, departmentsPath: depts }).fetchAll();
    assert.deepEqual(imp.errors, []);
    assert.deepEqual(imp.departments, [
      { code: 'FIN', name: 'Finance & Control', managerKey: '100003', parentCode: 'ORG' },
      { code: 'ORG', name: 'Example' },
      { code: 'HR', name: 'Human Resources' },
    ]);

    const rows = [
      'person_key;nick_name;family_name;contract_id;start_date;department_code;department_name;department_manager_key',
      '1;Jan;Berg;C1;2026-01-01;FIN;Finance;9',
      '2;Piet;Smit;C2;2026-01-01;FIN;Finance;8',
      '3;Kees;Vos;C3;2026-01-01;HR;HR;bad key!',
    ].join('\n');
    const conflict = parseHrExport(rows, { source: 'file', origin: 'd.csv', format: 'csv' });
    assert.deepEqual(conflict.errors, [
      e(
        3,
        'FIN',
        'department_manager_key',
        'differs from line 2 for the same department; department rejected',
        'd.csv',
      ),
      e(
        4,
        'HR',
        'department_manager_key',
        'may only contain letters, digits, dot, underscore and hyphen; department rejected',
        'd.csv',
      ),
    ]);
    assert.deepEqual(conflict.departments, []);
    assert.equal(conflict.persons.length, 3, 'a department problem does not reject persons');
  });
});

describe('snapshots', () => {
  const load = async () => (await new FileSource({ path: GOOD_CSV }).fetchAll()).persons;

  test('the hash is stable under row reordering and key order, and changes with the content', async () => {
    const csv = [
      'person_key;nick_name;family_name;contract_id;start_date;department_code;fte',
      '1;Jan;Berg;C1;2020-01-01;FIN;1',
      '2;Piet;Smit;C3;2021-01-01;HR;1',
      '1;Jan;Berg;C2;2024-01-01;FIN;0,5',
    ];
    const reordered = [csv[0], csv[3], csv[2], csv[1]];
    const a = parseHrExport(csv.join('\n'), { source: 'file', origin: 'a', format: 'csv' }).persons;
    const b = parseHrExport((reordered as string[]).join('\r\n'), {
      source: 'file',
      origin: 'b',
      format: 'csv',
    }).persons;
    const hashes = (ps: Person[]) => new Map(ps.map((p) => [personKey(p), personHash(p)]));
    assert.deepEqual(hashes(a), hashes(b));
    assert.notDeepEqual(a[0]?.contracts, b.find((p) => p.key === '1')?.contracts); // really reordered
    assert.match(personHash(a[0] as Person), /^[0-9a-f]{64}$/);

    const p = (await load())[0] as Person;
    const shuffled = JSON.parse(canonicalJson(p)) as Person; // same data, keys in another order
    assert.equal(personHash(shuffled), personHash(p));
    assert.notEqual(personHash({ ...p, location: 'Utrecht' }), personHash(p));
  });

  test('diff finds added, changed, removed and unchanged; unchanged persons get no entry', async () => {
    const persons = await load();
    const previous = new Map(persons.map((p) => [personKey(p), personHash(p)]));
    previous.set('file:000001', 'deadbeef'); // gone from the source
    previous.set('file:000002', 'deadbeef'); // its record failed this time

    const current = persons
      .filter((p) => p.key !== '100004') // removed
      .map((p) => (p.key === '100002' ? { ...p, businessPhone: '+31 30 555 0199' } : p)); // changed
    const newcomer: Person = {
      source: 'file',
      key: '100099',
      name: { nickName: 'Nieuw', familyName: 'Persoon', convention: 'B' },
      custom: {},
      contracts: [],
    };
    const d = diffSnapshots(previous, [newcomer, ...current].reverse(), { keep: ['file:000002'] });
    assert.deepEqual(
      d.added.map((p) => p.key),
      ['100099'],
    );
    assert.deepEqual(
      d.changed.map((p) => p.key),
      ['100002'],
    );
    assert.deepEqual(d.removed, ['file:000001', 'file:100004']);
    assert.deepEqual(d.kept, ['file:000002']);
    assert.equal(d.unchanged, 3);
    assert.equal(d.hashes.size, 5);
    assert.equal(d.hashes.get('file:100099'), personHash(newcomer));

    const same = diffSnapshots(new Map(persons.map((p) => [personKey(p), personHash(p)])), persons);
    assert.deepEqual([same.added, same.changed, same.removed, same.unchanged], [[], [], [], 5]);
  });

  test('diff output is sorted by person key and refuses a duplicate person', async () => {
    const persons = await load();
    const d = diffSnapshots(new Map(), [...persons].reverse());
    assert.deepEqual(
      d.added.map((p) => p.key),
      ['100001', '100002', '100003', '100004', '100005'],
    );
    assert.throws(() => diffSnapshots(new Map(), [persons[0] as Person, persons[0] as Person]), /appears twice/);
  });
});

describe('spoofing characters at the source boundary', () => {
  test('bidi overrides, zero-width characters and lone surrogates reject that record, naming the field', () => {
    const csv = [
      'person_key,nick_name,family_name,contract_id,start_date,department_code,department_name',
      '1,Jan,Berg,C1,2026-01-01,FIN,Financiën',
      '2,\u202eJan,Smit,C2,2026-01-01,FIN,Financiën',
      '3,Piet,Sm\u200bit,C3,2026-01-01,FIN,Financiën',
      '4,Kees,\ud800Vos,C4,2026-01-01,FIN,Financiën',
      '5,Anna,\u2066Bos\u2069,C5,2026-01-01,FIN,Financiën',
      '6,Els,Mol,C6,2026-01-01,FIN,Fin\ufeffanciën',
    ].join('\n');
    const imp = parseHrExport(csv, { source: 'file', origin: 'c.csv', format: 'csv' });
    assert.deepEqual(
      imp.persons.map((p) => p.key),
      ['1'],
      'only the clean record comes through',
    );
    const byKey = new Map(imp.errors.map((x) => [x.key, x]));
    // Person 6's department name is bad too: the department record is reported under its code.
    assert.deepEqual([...byKey.keys()].sort(), ['2', '3', '4', '5', '6', 'FIN']);
    assert.match(byKey.get('2')!.reason, /invisible or direction-changing character \(U\+202E\)/);
    assert.match(byKey.get('3')!.reason, /U\+200B/);
    assert.match(byKey.get('4')!.reason, /broken character/);
    assert.match(byKey.get('5')!.reason, /U\+2066/);
    assert.match(byKey.get('6')!.reason, /U\+FEFF/);
    assert.match(byKey.get('2')!.field, /nick/);
    assert.match(byKey.get('3')!.field, /family/);
    for (const x of imp.errors) assert.ok(!/Jan|Smit|Vos|Bos|Piet/.test(x.reason), 'the reason never quotes the name');
  });

  test('the model refuses them whichever source maps into it', () => {
    const base = {
      source: 'raet',
      key: '9',
      name: { nickName: 'Noor', familyName: 'Groot' },
      contracts: [],
    };
    assert.ok(Person.safeParse(base).success);
    const bad = Person.safeParse({ ...base, name: { nickName: 'Noor', familyName: 'Gro\u202dot' } });
    assert.ok(!bad.success);
    assert.deepEqual(bad.error.issues[0]!.path, ['name', 'familyName']);
    // An API source's JSON can carry a lone surrogate as an escape.
    const lone = Person.safeParse({ ...base, name: JSON.parse('{"nickName":"No\\ud800or","familyName":"Groot"}') });
    assert.ok(!lone.success);
    assert.match(lone.error.issues[0]!.message, /lone UTF-16 surrogate/);
    assert.equal(unsafeTextReason('Zoë van den D\u2019Angelo'), undefined, 'real names are fine');
    assert.equal(unsafeTextReason('Ørjan Ødegård-Müller'), undefined);
  });
});
