import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, traceRules } from '../../domain/entitlements.js';
import { parseRules, RulesError } from '../../domain/rules.js';
import { describeMatch, matchesValue, ValueMatch } from '../../domain/value-match.js';
import { contract, person } from './helpers.js';

test('operators: in, not, prefix, contains, regex; all parts must hold', () => {
  const m = ValueMatch.parse({ prefix: ['ZO', 'WI'], not: ['ZO-OUD'] });
  assert.equal(matchesValue(m, 'ZO-NOORD'), true);
  assert.equal(matchesValue(m, 'WIJK'), true);
  assert.equal(matchesValue(m, 'ZO-OUD'), false, 'not wins over prefix');
  assert.equal(matchesValue(m, 'FIN'), false);
  assert.equal(matchesValue(m, undefined), false, 'an empty field fails a prefix');
  assert.equal(matchesValue(ValueMatch.parse({ contains: ['-ICT'] }), 'ZO-ICT-2'), true);
  assert.equal(matchesValue(ValueMatch.parse({ regex: '^F[0-9]{2}$' }), 'F12'), true);
  assert.equal(matchesValue(ValueMatch.parse({ regex: '^F[0-9]{2}$' }), 'F123'), false);
  assert.equal(matchesValue(ValueMatch.parse({ in: ['A', 'B'] }), 'B'), true);
  assert.equal(matchesValue(ValueMatch.parse({ in: ['A', 'B'] }), 'b'), false, 'case-sensitive');
  assert.equal(matchesValue(['FIN'], 'FIN'), true, 'the plain list is unchanged');
  assert.equal(matchesValue(['FIN'], undefined), false);
});

test('not alone holds for an empty field; with another part it does not', () => {
  assert.equal(matchesValue(ValueMatch.parse({ not: ['FIN'] }), undefined), true);
  assert.equal(matchesValue(ValueMatch.parse({ not: ['FIN'], prefix: ['Z'] }), undefined), false);
});

test('descriptions for explain', () => {
  assert.deepEqual(describeMatch(['FIN', 'HR']), ['FIN', 'HR']);
  assert.deepEqual(describeMatch(ValueMatch.parse({ not: ['FIN'], regex: '^Z' })), ['not FIN', 'regex /^Z/']);
});

test('bad operators are refused with the field named', () => {
  const bad = (conditions: string, message: RegExp) =>
    assert.throws(
      () =>
        parseRules(`version: "x"
targets: [{ id: ad, kind: ad }]
rules:
  - name: r
    conditions: ${conditions}
    entitlements: { ad: { accountAccess: true } }
`),
      (err: unknown) => err instanceof RulesError && message.test(err.message),
    );
  bad('{ department: { regex: "(" } }', /rules\[0\]\.conditions\.department.*regular expression/s);
  bad('{ department: {} }', /rules\[0\]\.conditions\.department/);
  bad('{ department: { startsWith: [A] } }', /rules\[0\]\.conditions\.department/);
  bad('{ department: { prefix: [] } }', /rules\[0\]\.conditions\.department/);
});

test('a rule with operators grants and explains by them', () => {
  const rules = parseRules(`version: "ops-1"
targets: [{ id: ad, kind: ad }]
rules:
  - name: care but not the old wing
    conditions:
      department: { prefix: [ZO], not: [ZO-OUD] }
      title: { regex: "^(VP|VZ)[0-9]+$" }
    entitlements: { ad: { permissions: [care-app] } }
`);
  const p = person({
    contracts: [
      contract('c1', '2020-01-01', undefined, { department: { code: 'ZO-NOORD' }, title: { code: 'VP3' } }),
      contract('c2', '2020-01-01', undefined, { department: { code: 'ZO-OUD' }, title: { code: 'VP3' } }),
    ],
  });
  const ev = evaluate(p, rules, '2026-12-01');
  const care = ev.targets.ad!.permissions.find((x) => x.name === 'care-app');
  assert.deepEqual(
    care?.reasons.map((r) => r.contractId),
    ['c1'],
  );
  const trace = traceRules(p, rules, '2026-12-01');
  const c2 = trace[0]!.contracts.find((c) => c.contractId === 'c2')!;
  const dept = c2.checks.find((c) => c.field === 'department.code')!;
  assert.equal(dept.ok, false);
  assert.deepEqual(dept.allowed, ['not ZO-OUD', 'prefix ZO']);
});
