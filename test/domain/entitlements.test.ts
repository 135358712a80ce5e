import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeReason, evaluate, expandTemplate, sanitizePermissionName } from '../../domain/entitlements.js';
import { parseRules } from '../../domain/rules.js';
import { EXAMPLE, contract, person } from './helpers.js';

const rules = parseRules(EXAMPLE);

const anna = person({
  name: { nickName: 'Anna', familyName: 'Bakker' },
  location: 'AMS',
  contracts: [
    contract('c1', '2027-01-01', '2027-06-30', {
      department: { code: 'FIN' },
      title: { code: 'CTRL' },
      location: 'Amsterdam',
    }),
    contract('c2', '2027-03-01', undefined, {
      department: { code: 'HR' },
      title: { code: 'ADV' },
      location: 'Utrecht',
    }),
  ],
});

test('desired entitlements per target with reasons (rule, version, contract, matched fields)', () => {
  const ev = evaluate(anna, rules, '2027-04-01');
  assert.equal(ev.ruleSetVersion, '2027.1');
  assert.deepEqual(Object.keys(ev.targets).sort(), ['ad', 'topdesk'], 'the disabled demo target is left out');
  const ad = ev.targets.ad!;
  assert.deepEqual(
    ad.accountAccess?.reasons.map((r) => r.contractId),
    ['c1', 'c2'],
  );
  assert.deepEqual(
    ad.account?.reasons.map((r) => r.rule),
    ['employees', 'employees'],
    'accountAccess implies account',
  );
  assert.deepEqual(
    ad.permissions.map((p) => p.name),
    ['all-staff', 'dept-FIN', 'dept-HR', 'loc-Amsterdam', 'loc-Utrecht', 'sap-finance'],
  );
  const sap = ad.permissions.find((p) => p.name === 'sap-finance')!;
  assert.deepEqual(sap.reasons, [
    {
      rule: 'finance controllers',
      ruleSetVersion: '2027.1',
      contractId: 'c1',
      matched: { 'person.location': 'AMS', 'department.code': 'FIN', 'title.code': 'CTRL' },
    },
  ]);
  const dept = ad.permissions.find((p) => p.name === 'dept-HR')!;
  assert.deepEqual(dept.reasons, [
    {
      rule: 'employees',
      ruleSetVersion: '2027.1',
      contractId: 'c2',
      matched: { 'department.code': 'HR' },
      template: 'dept-{department.code}',
    },
  ]);
  assert.equal(
    ad.permissions.find((p) => p.name === 'all-staff')!.reasons.length,
    2,
    'one reason per in-conditions contract',
  );
  assert.equal(
    describeReason(sap.reasons[0]!),
    'rule "finance controllers" (2027.1), contract c1: person.location=AMS, department.code=FIN, title.code=CTRL',
  );
});

test('OR between values, AND between conditions; person conditions gate the rule', () => {
  const elsewhere = person({ ...anna, location: 'RTM', contracts: anna.contracts });
  assert.equal(
    evaluate(elsewhere, rules, '2027-04-01').targets.ad!.permissions.some((p) => p.name === 'sap-finance'),
    false,
  );
  const ap = person({
    location: 'AMS',
    contracts: [contract('x', '2027-01-01', undefined, { department: { code: 'FIN-AP' }, title: { code: 'CTRL' } })],
  });
  assert.equal(
    evaluate(ap, rules, '2027-04-01').targets.ad!.permissions.some((p) => p.name === 'sap-finance'),
    true,
  );
  const wrongTitle = person({
    location: 'AMS',
    contracts: [contract('x', '2027-01-01', undefined, { department: { code: 'FIN' }, title: { code: 'DEV' } })],
  });
  assert.equal(
    evaluate(wrongTitle, rules, '2027-04-01').targets.ad!.permissions.some((p) => p.name === 'sap-finance'),
    false,
  );
});

test('pre-hire: account and groups from the creation window, access only from the start date', () => {
  const hire = person({ contracts: [contract('n1', '2027-02-01', undefined, { location: 'Amsterdam' })] });
  const early = evaluate(hire, rules, '2027-01-17'); // 15 days before
  assert.equal(early.targets.ad!.account, undefined);
  assert.deepEqual(early.targets.ad!.permissions, []);
  assert.deepEqual(
    early.targets.topdesk!.permissions.map((p) => p.name),
    ['laptop-order'],
    'rule window of 30 days',
  );

  const pre = evaluate(hire, rules, '2027-01-18'); // 14 days before
  assert.ok(pre.targets.ad!.account);
  assert.equal(pre.targets.ad!.accountAccess, undefined);
  assert.deepEqual(
    pre.targets.ad!.permissions.map((p) => p.name),
    ['all-staff', 'dept-FIN', 'loc-Amsterdam'],
  );
  assert.equal(pre.targets.topdesk!.account, undefined, 'topdesk creates only 7 days before');

  const first = evaluate(hire, rules, '2027-02-01');
  assert.ok(first.targets.ad!.accountAccess);
  assert.ok(first.targets.topdesk!.accountAccess);
});

test('leaver: disabled account kept until deletion, permissions revoked after the end date', () => {
  const leaver = person({ contracts: [contract('l1', '2020-01-01', '2027-03-31')] });
  const last = evaluate(leaver, rules, '2027-03-31');
  assert.ok(last.targets.ad!.accountAccess);
  const after = evaluate(leaver, rules, '2027-04-01');
  assert.ok(after.targets.ad!.account);
  assert.equal(after.targets.ad!.accountAccess, undefined);
  assert.deepEqual(after.targets.ad!.permissions, []);
  assert.ok(evaluate(leaver, rules, '2027-06-29').targets.ad!.account, 'day 90 after the end date');
  assert.equal(evaluate(leaver, rules, '2027-06-30').targets.ad!.account, undefined, 'deleted at 00:00 on day 91');
  assert.ok(evaluate(leaver, rules, '2027-04-30').targets.topdesk!.account);
  assert.equal(
    evaluate(leaver, rules, '2027-05-01').targets.topdesk!.account,
    undefined,
    'topdesk deletes after 30 days',
  );
});

test('dynamic permission names: placeholders filled, unsafe characters dropped, missing values skipped', () => {
  const p = person({ location: 'AMS' });
  const c = {
    id: 'c1',
    startDate: '2027-01-01',
    department: { code: 'R&D/Ünit', name: 'Research' },
    location: undefined,
  };
  assert.deepEqual(expandTemplate('dept-{department.code}', c, p), {
    name: 'dept-RDUnit',
    used: { 'department.code': 'R&D/Ünit' },
  });
  assert.equal(expandTemplate('loc-{location}', c, p), undefined);
  assert.deepEqual(expandTemplate('{person.location} {department.name}', c, p)?.name, 'AMS Research');
  assert.equal(sanitizePermissionName('  a\u0000b<>c  d  '), 'abc d');
  assert.equal(expandTemplate('{department.code}', { ...c, department: { code: '***' } }, p), undefined);
});

test('no contracts, no entitlements; evaluation is deterministic', () => {
  const none = evaluate(person(), rules, '2027-04-01');
  assert.deepEqual(none.targets.ad, { targetId: 'ad', kind: 'ad', permissions: [] });
  const shuffled = person({ ...anna, contracts: [...anna.contracts].reverse() });
  assert.deepEqual(evaluate(shuffled, rules, '2027-04-01'), evaluate(anna, rules, '2027-04-01'));
});
