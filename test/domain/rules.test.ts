import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TIMINGS, RulesError, parseRules, safeParseRules, timingsFor } from '../../domain/rules.js';
import { loadRulesFile } from '../../common/rules-file.js';
import { EXAMPLE } from './helpers.js';

test('a valid rules file parses with defaults filled in', () => {
  const r = parseRules(EXAMPLE);
  assert.equal(r.version, '2027.1');
  assert.equal(r.timeZone, 'Europe/Amsterdam');
  assert.deepEqual(r.primaryContract, ['sequence', 'fte desc', 'startDate']);
  assert.equal(r.targets[0]!.enabled, true);
  assert.equal(r.targets[2]!.enabled, false);
  assert.deepEqual(r.rules[1]!.conditions.department, ['FIN', 'FIN-AP']);
  assert.deepEqual(r.rules[0]!.conditions, {});
  assert.deepEqual(timingsFor(r, 'ad'), DEFAULT_TIMINGS);
  assert.deepEqual(timingsFor(r, 'topdesk'), { ...DEFAULT_TIMINGS, createDaysBeforeStart: 7, deleteAfterDays: 30 });
  assert.equal(timingsFor(r, 'demo').createSecondsBeforeStart, 120);
  assert.equal(timingsFor(r, 'demo').deleteAfterSeconds, 300);
});

test('minimal file: time zone, determinants and timings default; a numeric version becomes a string', () => {
  const r = parseRules('version: 3\ntargets: [{ id: ad, kind: ad }]\n');
  assert.equal(r.version, '3');
  assert.equal(r.timeZone, 'Europe/Amsterdam');
  assert.deepEqual(r.rules, []);
  assert.deepEqual(timingsFor(r, 'ad'), {
    createDaysBeforeStart: 14,
    enableAt: '07:00',
    disableAt: '00:00',
    deleteAfterDays: 90,
  });
});

test('JSON is accepted too', () => {
  const json = JSON.stringify(
    {
      version: '1',
      targets: [{ id: 'ad', kind: 'ad' }],
      rules: [{ name: 'x', entitlements: { ad: { account: true } } }],
    },
    null,
    2,
  );
  assert.equal(parseRules(json, 'rules.json').rules[0]!.name, 'x');
});

test('errors name file, line, column and path', () => {
  const bad = EXAMPLE.replace('department: [FIN, FIN-AP]', 'department: FIN');
  const lines = bad.split('\n');
  const line = lines.findIndex((l) => l.includes('department: FIN')) + 1;
  assert.equal(line, 28);
  assert.throws(
    () => parseRules(bad, 'rules.yaml'),
    (e: unknown) => {
      assert.ok(e instanceof RulesError);
      assert.equal(
        e.message,
        'rules.yaml:28:7: rules[1].conditions.department: expected an array of strings (or an object with in, not, prefix, contains or regex)',
      );
      assert.deepEqual(e.issues[0], {
        file: 'rules.yaml',
        line: 28,
        column: 7,
        path: 'rules[1].conditions.department',
        message: 'expected an array of strings (or an object with in, not, prefix, contains or regex)',
      });
      return true;
    },
  );
});

test('several errors at once, sorted by position', () => {
  const text = [
    'version: "1"', //                       1
    'timeZone: Europe/Amsterdan', //         2
    'targets:', //                           3
    '  - id: AD', //                         4
    '    kind: ad', //                       5
    '    colour: red', //                    6
    'rules:', //                             7
    '  - name: a', //                        8
    '    conditions:', //                    9
    '      title: [DEV, 7]', //              10
    '      daysBeforeStart: -1', //          11
    '    entitlements:', //                  12
    '      ad:', //                          13
    '        dynamicPermissions: ["g-{department.kode}"]', // 14
    '        enableAt: "07:00"', //          15
    '  - entitlements: {}', //               16
  ].join('\n');
  const r = safeParseRules(text, 'x.yaml');
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = r.issues.map((i) => `${i.line}:${i.column} ${i.path}`);
  assert.deepEqual(lines, [
    '2:1 timeZone',
    '4:5 targets[0].id',
    '6:5 targets[0].colour',
    '10:20 rules[0].conditions.title[1]',
    '11:7 rules[0].conditions.daysBeforeStart',
    '14:30 rules[0].entitlements.ad.dynamicPermissions[0]',
    '15:9 rules[0].entitlements.ad.enableAt',
    '16:5 rules[1].name',
  ]);
  assert.match(r.issues[5]!.message, /unknown placeholder \{department\.kode\}/);
  assert.equal(r.issues[6]!.message, 'unknown key');
  assert.match(r.issues[7]!.message, /^missing/);
});

test('cross-references: unknown target, duplicate ids and rule names', () => {
  const text = `version: "1"
targets:
  - { id: ad, kind: ad }
  - { id: ad, kind: entra }
rules:
  - name: a
    entitlements: { entra: { account: true } }
  - name: a
    entitlements: { ad: { account: true } }
`;
  const r = safeParseRules(text);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`),
    [
      "4:7 targets[1].id: duplicate target id 'ad'",
      "7:21 rules[0].entitlements.entra: unknown target 'entra' (targets: ad)",
      "8:5 rules[1].name: duplicate rule name 'a'",
    ],
  );
});

test('YAML syntax errors and empty files are reported with a position', () => {
  const r = safeParseRules('version: "1"\ntargets: [\n', 'r.yaml');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.issues[0]!.file, 'r.yaml');
    assert.ok(r.issues[0]!.line >= 2);
    assert.doesNotMatch(r.issues[0]!.message, /\n/);
  }
  const dup = safeParseRules('version: "1"\nversion: "2"\n');
  assert.ok(!dup.ok && dup.issues[0]!.line === 2);
  const empty = safeParseRules('# nothing\n');
  assert.ok(!empty.ok && empty.issues[0]!.message === 'the file is empty');
  const list = safeParseRules('- a\n');
  assert.ok(!list.ok && list.issues[0]!.line === 1 && list.issues[0]!.path === '');
});

test('loadRulesFile reads from disk and reports errors with the base name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-rules-'));
  writeFileSync(join(dir, 'rules.yaml'), EXAMPLE);
  assert.equal((await loadRulesFile(join(dir, 'rules.yaml'))).rules.length, 3);
  writeFileSync(join(dir, 'broken.yaml'), 'version: "1"\ntargets: []\n');
  await assert.rejects(
    loadRulesFile(join(dir, 'broken.yaml')),
    /^RulesError: broken\.yaml:2:1: targets: at least one target is needed$/,
  );
});
