// The per-person preview (activities/preview-person.ts) against plans made by planPerson: the same
// decisions as the workflow's reconcile pass, and the apply limits (activities/rules-apply.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planPerson } from '../activities/lifecycle.js';
import { NOTHING_HELD, planActions, type HeldState } from '../activities/preview-person.js';
import { previewTenant, type PreviewTotals } from '../activities/preview.js';
import { DEFAULT_RULES_APPLY_LIMITS, rulesThresholdReasons } from '../activities/rules-apply.js';
import { parseRules } from '../domain/rules.js';
import { contract, person } from './domain/helpers.js';

const rules = parseRules(`
version: "p2"
targets:
  - { id: ad, kind: ad }
rules:
  - name: staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff] }
  - name: finance
    conditions: { department: [FIN] }
    entitlements:
      ad: { permissions: [fin] }
`);
const NOW = Date.parse('2027-04-01T10:00:00Z');
const key = 'file:100234';
const held = (
  permissions: string[],
  enabled = true,
  everEnabled = enabled,
  own: { origin?: 'created' | 'adopted'; disabledAt?: number } = {},
): HeldState => ({
  accounts: { ad: { enabled, everEnabled, permissions, ...own } },
  excluded: false,
  desired: [
    {
      target: 'ad',
      name: 'old',
      dynamic: false,
      reasons: [{ rule: 'legacy', ruleSetVersion: 'p1', contractId: 'c1', matched: {} }],
    },
  ],
});
const short = (a: { action: string; permission?: string }) => `${a.action}${a.permission ? ` ${a.permission}` : ''}`;

test('a new hire: create, grants, enable, each with its rule and contract', () => {
  const p = person({ contracts: [contract('c1', '2027-01-01')] });
  const actions = planActions(key, planPerson(rules, p, NOW), NOTHING_HELD, NOW);
  assert.deepEqual(actions.map(short), ['create', 'grant all-staff', 'grant fin', 'enable']);
  const fin = actions.find((a) => a.permission === 'fin')!;
  assert.deepEqual([fin.rule, fin.ruleSetVersion, fin.contractId], ['finance', 'p2', 'c1']);
  assert.equal(actions[0]!.why, 'rule "staff" (p2) for contract c1');
});

test('an existing employee: only the difference; a revoke names the version and what granted it before', () => {
  const p = person({ contracts: [contract('c1', '2027-01-01', undefined, { department: { code: 'HR' } })] });
  const actions = planActions(key, planPerson(rules, p, NOW), held(['all-staff', 'old']), NOW);
  assert.deepEqual(actions.map(short), ['revoke old']);
  assert.equal(actions[0]!.why, 'no rule of rules p2 grants old (was: rule "legacy" (p1) for contract c1)');
});

test('a leaver: permissions revoked and the account disabled; deleted only after the retention from its own disable moment', () => {
  const p = person({ contracts: [contract('c1', '2026-01-01', '2027-03-01')] });
  assert.deepEqual(planActions(key, planPerson(rules, p, NOW), held(['all-staff']), NOW).map(short), [
    'revoke all-staff',
    'disable',
  ]);
  const later = Date.parse('2027-09-01T10:00:00Z');
  const disabledAt = Date.parse('2027-03-02T00:00:00Z');
  assert.deepEqual(
    planActions(key, planPerson(rules, p, later), held([], false, true, { disabledAt }), later).map(short),
    ['delete'],
  );
  // The HR dates say delete, but Tenure has no disable moment of its own (an end date typed long
  // in the past, the account still enabled): disable now, delete after the retention from now.
  assert.deepEqual(planActions(key, planPerson(rules, p, later), held([], true), later).map(short), ['disable']);
  assert.deepEqual(
    planActions(key, planPerson(rules, p, later), held([], false, true, { disabledAt: later - 1000 }), later),
    [],
  );
});

test('an existing account a create would meet: adopt (enable only when disabled now) or report', () => {
  const p = person({ contracts: [contract('c1', '2027-01-01')] });
  const plan = planPerson(rules, p, NOW);
  const names = { username: 'legacy19', userPrincipalName: 'legacy19@example.org', email: 'l.egacy@example.org' };
  const enabled = planActions(key, plan, NOTHING_HELD, NOW, {
    ad: { kind: 'adopt', enabled: true, names, renamed: false },
  });
  assert.deepEqual(enabled.map(short), ['adopt', 'grant all-staff', 'grant fin']);
  assert.deepEqual(enabled[0]!.names, names);
  assert.deepEqual([enabled[0]!.rule, enabled[0]!.contractId], ['staff', 'c1']);
  assert.match(enabled[0]!.why, /keeps its login names legacy19 \/ legacy19@example.org \/ l.egacy@example.org/);
  const disabled = planActions(key, plan, NOTHING_HELD, NOW, {
    ad: { kind: 'adopt', enabled: false, names, renamed: true },
  });
  assert.deepEqual(disabled.map(short), ['adopt', 'grant all-staff', 'grant fin', 'enable']);
  assert.match(disabled[0]!.why, /gets the generated login names; its own \(legacy19/);
  const refused = planActions(key, plan, NOTHING_HELD, NOW, { ad: { kind: 'refused', why: 'adoption is off' } });
  assert.deepEqual(refused.map(short), ['report']);
  assert.equal(refused[0]!.why, 'adoption is off');
  // A person who holds the account already: what a look-up found is not used.
  assert.deepEqual(
    planActions(key, plan, held(['all-staff', 'fin']), NOW, { ad: { kind: 'refused', why: 'x' } }).map(short),
    [],
  );
});

test('a withdrawn hire never enabled: its accounts are deleted, an adopted one disabled; excluded persons: nothing', () => {
  const p = person({ contracts: [] });
  assert.deepEqual(planActions(key, planPerson(rules, p, NOW), held([], false), NOW).map(short), ['delete']);
  const adopted = held([], true, false, { origin: 'adopted' });
  assert.deepEqual(planActions(key, planPerson(rules, p, NOW), adopted, NOW).map(short), ['disable']);
  const q = person({ contracts: [contract('c1', '2027-01-01')] });
  assert.deepEqual(planActions(key, planPerson(rules, q, NOW), { ...held([]), excluded: true }, NOW), []);
});

test('apply limits: revokes, disables and deletes over max or percent hold; grants never do', () => {
  const totals = (byAction: Record<string, number>, persons = 1000): PreviewTotals => ({
    persons,
    affected: 0,
    excluded: 0,
    withoutWorkflow: 0,
    invalid: 0,
    byAction,
    byTarget: {},
    byPermission: {},
  });
  assert.deepEqual(rulesThresholdReasons(totals({ grant: 1000, create: 1000 }), DEFAULT_RULES_APPLY_LIMITS), []);
  const r = rulesThresholdReasons(totals({ revoke: 51, disable: 11, delete: 3 }), DEFAULT_RULES_APPLY_LIMITS);
  assert.deepEqual(
    r.map((x) => x.message),
    ['revoke: 51 over 1000 persons; limit 50', 'disable: 11 over 1000 persons; limit 10'],
  );
  const pct = rulesThresholdReasons(totals({ revoke: 6 }, 100), DEFAULT_RULES_APPLY_LIMITS);
  assert.deepEqual(
    pct.map((x) => x.message),
    ['revoke: 6 over 100 persons (6.0%); limit 5%'],
  );
  assert.deepEqual(rulesThresholdReasons(totals({ revoke: 6 }, 10), DEFAULT_RULES_APPLY_LIMITS), [], 'small: max only');
});

test('look-ups stop at their time budget: the rest show as creates and are counted', async () => {
  const persons = ['1', '2'].map((k) => person({ key: k, contracts: [contract(`c${k}`, '2027-01-01')] }));
  const r = await previewTenant({
    rules,
    persons: { imported: persons },
    now: NOW,
    accounts: () => Promise.reject(new Error('no look-up after the budget')),
    lookupUntil: 0,
  });
  assert.equal(r.totals.createsNotLookedUp, 2);
  assert.equal(r.totals.byAction.create, 2);
});

test('the plan names, per target, the contracts the rules select for it (Spend Cloud roles follow them)', () => {
  const selecting = parseRules(`
version: "sel1"
targets:
  - { id: ad, kind: ad }
  - { id: spendcloud, kind: spendcloud }
rules:
  - name: staff
    entitlements:
      ad: { accountAccess: true }
  - name: finance spend
    conditions: { department: [FIN] }
    entitlements:
      spendcloud: { accountAccess: true }
`);
  const p = person({
    contracts: [
      contract('c1', '2027-01-01'),
      contract('c2', '2027-02-01', undefined, { department: { code: 'HR', name: 'HR' } }),
    ],
  });
  const plan = planPerson(selecting, p, NOW);
  assert.deepEqual(plan.account.selectedContracts, { ad: ['c1', 'c2'], spendcloud: ['c1'] });
  assert.deepEqual(
    plan.account.contracts?.map((c) => c.id),
    ['c1', 'c2'],
    'every contract still travels',
  );
});
