import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, explanationLines } from '../../domain/explain.js';
import { traceRules } from '../../domain/entitlements.js';
import { parseRules } from '../../domain/rules.js';
import { EXAMPLE, contract, person } from './helpers.js';

const rules = parseRules(EXAMPLE);
const anna = person({
  location: 'AMS',
  contracts: [
    contract('c1', '2027-01-01', '2027-06-30', { department: { code: 'FIN' }, title: { code: 'CTRL' } }),
    contract('c2', '2027-03-01', undefined, { department: { code: 'HR' }, title: { code: 'ADV' } }),
  ],
});

test('trace: every rule against every contract with the values seen', () => {
  const traces = traceRules(anna, rules, '2027-04-01');
  const fin = traces.find((t) => t.rule === 'finance controllers' && t.target === 'ad')!;
  assert.deepEqual(fin.person, [{ field: 'person.location', allowed: ['AMS'], value: 'AMS', ok: true }]);
  const [c1, c2] = fin.contracts;
  assert.equal(c1!.matched, true);
  assert.equal(c2!.matched, false);
  assert.deepEqual(c2!.checks, [
    { field: 'department.code', allowed: ['FIN', 'FIN-AP'], value: 'HR', ok: false },
    { field: 'title.code', allowed: ['CTRL'], value: 'ADV', ok: false },
  ]);
  assert.ok(!traces.some((t) => t.target === 'demo'), 'disabled targets are left out');
});

test('explain a granted permission: rule, version, contract and the values that matched', () => {
  const e = explain(anna, rules, '2027-04-01', { only: { target: 'ad', permission: 'sap-finance' } });
  assert.equal(e.items.length, 1);
  const it = e.items[0]!;
  assert.equal(it.granted, true);
  assert.deepEqual(
    it.reasons.map((r) => [r.rule, r.ruleSetVersion, r.contractId]),
    [['finance controllers', '2027.1', 'c1']],
  );
  const lines = explanationLines('file:100234', e);
  assert.ok(lines.includes('ad permission sap-finance: granted'), lines.join('\n'));
  assert.ok(
    lines.includes(
      '  because rule "finance controllers" (2027.1), contract c1: person.location=AMS, department.code=FIN, title.code=CTRL',
    ),
    lines.join('\n'),
  );
  assert.ok(
    lines.includes(
      '  no: rule "finance controllers" (2027.1), contract c2: department.code=HR fails (allowed: FIN, FIN-AP), title.code=ADV fails (allowed: CTRL)',
    ),
    lines.join('\n'),
  );
});

test('explain a lacking permission: the failed condition values, and a closed window', () => {
  const bob = person({
    location: 'UTR',
    contracts: [contract('c9', '2027-01-01', '2027-02-28', { department: { code: 'FIN' }, title: { code: 'CTRL' } })],
  });
  const e = explain(bob, rules, '2027-04-01', { only: { target: 'ad', permission: 'sap-finance' } });
  const lines = explanationLines('file:100234', e);
  assert.ok(lines.includes('ad permission sap-finance: not granted'), lines.join('\n'));
  assert.ok(
    lines.includes('  no: rule "finance controllers" (2027.1): person.location=UTR fails (allowed: AMS)'),
    lines.join('\n'),
  );
  // Matching conditions but after the end date: the window is named.
  const late = explain(person({ location: 'AMS', contracts: bob.contracts }), rules, '2027-04-01', {
    only: { target: 'ad', permission: 'sap-finance' },
  });
  const c = late.items[0]!.candidates.find((x) => x.rule === 'finance controllers')!;
  assert.equal(c.matched, false);
  assert.match(c.why, /but outside the window 2026-12-18 \.\. 2027-02-28 of contract c9$/);
});

test('explain everything: accounts, access and every offered or held permission', () => {
  const e = explain(anna, rules, '2027-04-01', { held: { ad: ['all-staff', 'old-group'] } });
  const ad = e.items.filter((i) => i.target === 'ad');
  assert.deepEqual(
    ad.map((i) => `${i.entitlement}${i.name ? ` ${i.name}` : ''} ${i.granted ? '+' : '-'}`),
    [
      'account +',
      'accountAccess +',
      'permission all-staff +',
      'permission dept-FIN +',
      'permission dept-HR +',
      'permission old-group -',
      'permission sap-finance +',
    ],
  );
  const old = ad.find((i) => i.name === 'old-group')!;
  assert.equal(old.held, true);
  assert.ok(explanationLines('file:100234', e).includes('ad permission old-group: not granted (held now)'));
});
