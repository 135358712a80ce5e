/**
 * Rule evaluation (docs/lifecycle.md section 2): which entitlements a person should have on `today`,
 * per target, each with its reason.
 *
 * A rule's *field* conditions (department, title, location, employer, cost centre; person fields)
 * are tested against every contract of the person; AND between conditions, OR between values,
 * exact (case-sensitive) comparison. A matching contract is *in conditions* for an entitlement when
 * `today` lies in that entitlement's window (dates inclusive):
 *
 * | entitlement                        | window                                                       |
 * |------------------------------------|--------------------------------------------------------------|
 * | permissions, dynamic permissions   | start − (rule `daysBeforeStart` ?? target creation window) … end + (rule `daysAfterEnd` ?? 0) |
 * | account (exists, maybe disabled)   | start − (rule `daysBeforeStart` ?? target creation window) … end + target deletion window |
 * | accountAccess (enabled)            | start … end (the contract is active)                          |
 *
 * So a pre-hire gets the account (disabled) and the groups from the creation window on, access
 * from the start date, and a leaver keeps a disabled account without groups until deletion.
 * Open-ended contracts have no upper bound. The creation/deletion windows are the target's
 * `createDaysBeforeStart` / `deleteAfterDays`, or their seconds overrides rounded up to days.
 * The exact moments (07:00 enable, 00:00 disable) are the schedule's business (`schedule.ts`);
 * this module works in calendar dates.
 *
 * `accountAccess: true` implies `account: true`. Disabled targets get no entitlements.
 */
import type { Contract, Person } from './model.js';
import { addDays, compareDates, isActiveOn } from './dates.js';
import { removeDiacritics } from './naming.js';
import { describeMatch, matchesValue, type ValueMatch } from './value-match.js';
import { TEMPLATE_FIELDS, timingsFor, type Rule, type Rules, type TemplateField, type Timings } from './rules.js';

/** Why an entitlement is desired. */
export interface Reason {
  rule: string;
  ruleSetVersion: string;
  /** The in-conditions contract that gave it. */
  contractId?: string;
  /** Field values that matched the rule's conditions (and, for a dynamic permission, that filled its template). */
  matched: Record<string, string>;
  /** For a dynamic permission: the template it was expanded from. */
  template?: string;
}

export interface DesiredPermission {
  name: string;
  reasons: Reason[];
}

export interface DesiredTarget {
  targetId: string;
  kind: string;
  /** Present when an account should exist (created disabled). */
  account?: { reasons: Reason[] };
  /** Present when the account should be enabled. */
  accountAccess?: { reasons: Reason[] };
  /** Sorted by name. */
  permissions: DesiredPermission[];
}

export interface Evaluation {
  ruleSetVersion: string;
  date: string;
  /** Every enabled target, keyed by id (an empty entry means: nothing desired). */
  targets: Record<string, DesiredTarget>;
}

const DAY_SECONDS = 86_400;

function creationDays(t: Timings): number {
  return t.createSecondsBeforeStart !== undefined
    ? Math.ceil(t.createSecondsBeforeStart / DAY_SECONDS)
    : t.createDaysBeforeStart;
}

function deletionDays(t: Timings): number {
  return t.deleteAfterSeconds !== undefined ? Math.ceil(t.deleteAfterSeconds / DAY_SECONDS) : t.deleteAfterDays;
}

/** `today` within [start − before, end + after], no upper bound for an open-ended contract. */
function inWindow(c: Contract, today: string, before: number, after: number): boolean {
  if (compareDates(today, addDays(c.startDate, -before)) < 0) return false;
  return c.endDate === undefined || compareDates(today, addDays(c.endDate, after)) <= 0;
}

function contractValue(c: Contract, field: string): string | undefined {
  switch (field) {
    case 'department':
    case 'department.code':
      return c.department.code;
    case 'department.name':
      return c.department.name;
    case 'title':
    case 'title.code':
      return c.title?.code;
    case 'title.name':
      return c.title?.name;
    case 'location':
      return c.location;
    case 'employer':
      return c.employer;
    case 'costCenter':
      return c.costCenter;
    case 'contract.id':
      return c.id;
    default:
      return undefined;
  }
}

const CONTRACT_CONDITIONS = [
  ['department', 'department.code'],
  ['title', 'title.code'],
  ['location', 'location'],
  ['employer', 'employer'],
  ['costCenter', 'costCenter'],
] as const;

/** The person-field matches of a rule, or null when a person condition fails. */
export function matchPerson(rule: Rule, person: Person): Record<string, string> | null {
  const pc = rule.conditions.person;
  const matched: Record<string, string> = {};
  if (!pc) return matched;
  const check = (field: string, allowed: ValueMatch | undefined, value: string | undefined): boolean => {
    if (!allowed) return true;
    if (!matchesValue(allowed, value)) return false;
    if (value !== undefined) matched[field] = value;
    return true;
  };
  if (!check('person.source', pc.source, person.source)) return null;
  if (!check('person.location', pc.location, person.location)) return null;
  if (!check('person.convention', pc.convention, person.name.convention)) return null;
  for (const [name, allowed] of Object.entries(pc.custom ?? {})) {
    if (!check(`person.custom.${name}`, allowed, person.custom[name])) return null;
  }
  return matched;
}

/** The contract-field matches of a rule, or null when a contract condition fails. */
export function matchContract(rule: Rule, c: Contract): Record<string, string> | null {
  const matched: Record<string, string> = {};
  for (const [condition, field] of CONTRACT_CONDITIONS) {
    const allowed = rule.conditions[condition];
    if (!allowed) continue;
    const value = contractValue(c, field);
    if (!matchesValue(allowed, value)) return null;
    if (value !== undefined) matched[field] = value;
  }
  return matched;
}

/** Only these characters survive in an expanded dynamic permission name. */
export function sanitizePermissionName(s: string): string {
  return removeDiacritics(s)
    .replace(/[^A-Za-z0-9 ._-]/g, '')
    .replace(/ +/g, ' ')
    .trim();
}

/**
 * Expands `dept-{department.code}` for a contract. Returns undefined when a placeholder has no
 * value for this contract or the result sanitises to nothing (no permission is granted then).
 */
export function expandTemplate(
  template: string,
  contract: Contract,
  person: Person,
): { name: string; used: Record<string, string> } | undefined {
  const used: Record<string, string> = {};
  let missing = false;
  const raw = template.replace(/\{([^{}]*)\}/g, (_, f: string) => {
    const field = f.trim() as TemplateField;
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(field)) {
      missing = true;
      return '';
    }
    const value =
      field === 'person.location'
        ? person.location
        : field === 'person.source'
          ? person.source
          : contractValue(contract, field);
    if (value === undefined || value === '') {
      missing = true;
      return '';
    }
    used[field] = value;
    return value;
  });
  if (missing) return undefined;
  const name = sanitizePermissionName(raw);
  return name ? { name, used } : undefined;
}

function sortedContracts(contracts: readonly Contract[]): Contract[] {
  return [...contracts].sort(
    (a, b) => compareDates(a.startDate, b.startDate) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** Desired entitlements per enabled target on `today`, each with its reasons. */
export function evaluate(person: Person, rules: Rules, today: string): Evaluation {
  const version = rules.version;
  const contracts = sortedContracts(person.contracts);
  const targets: Record<string, DesiredTarget> = {};
  const permissionMaps = new Map<string, Map<string, Reason[]>>();
  for (const t of rules.targets) {
    if (!t.enabled) continue;
    targets[t.id] = { targetId: t.id, kind: t.kind, permissions: [] };
    permissionMaps.set(t.id, new Map());
  }

  for (const rule of rules.rules) {
    const personMatched = matchPerson(rule, person);
    if (!personMatched) continue;
    const matches = contracts.flatMap((c) => {
      const m = matchContract(rule, c);
      return m ? [{ contract: c, matched: { ...personMatched, ...m } }] : [];
    });
    if (matches.length === 0) continue;

    for (const [targetId, ent] of Object.entries(rule.entitlements)) {
      const desired = targets[targetId];
      const perms = permissionMaps.get(targetId);
      if (!desired || !perms) continue; // disabled target
      const timings = timingsFor(rules, targetId);
      const before = rule.conditions.daysBeforeStart ?? creationDays(timings);
      const after = rule.conditions.daysAfterEnd ?? 0;

      for (const { contract, matched } of matches) {
        const reason: Reason = {
          rule: rule.name,
          ruleSetVersion: version,
          contractId: contract.id,
          matched: { ...matched },
        };
        if ((ent.account || ent.accountAccess) && inWindow(contract, today, before, deletionDays(timings))) {
          (desired.account ??= { reasons: [] }).reasons.push(reason);
        }
        if (ent.accountAccess && isActiveOn(contract, today)) {
          (desired.accountAccess ??= { reasons: [] }).reasons.push(reason);
        }
        if (!inWindow(contract, today, before, after)) continue;
        for (const name of ent.permissions ?? []) {
          const list = perms.get(name) ?? [];
          list.push(reason);
          perms.set(name, list);
        }
        for (const template of ent.dynamicPermissions ?? []) {
          const expanded = expandTemplate(template, contract, person);
          if (!expanded) continue;
          const list = perms.get(expanded.name) ?? [];
          list.push({ ...reason, matched: { ...matched, ...expanded.used }, template });
          perms.set(expanded.name, list);
        }
      }
    }
  }

  for (const [targetId, perms] of permissionMaps) {
    targets[targetId]!.permissions = [...perms.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, reasons]) => ({ name, reasons }));
  }
  return { ruleSetVersion: version, date: today, targets };
}

/** One line per reason, for `explain`: `rule "x" (v2027.1), contract c1: department.code=FIN`. */
export function describeReason(r: Reason): string {
  const fields = Object.entries(r.matched)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `rule "${r.rule}" (${r.ruleSetVersion})${r.contractId ? `, contract ${r.contractId}` : ''}${fields ? `: ${fields}` : ''}${
    r.template ? ` [from ${r.template}]` : ''
  }`;
}

// ---------------------------------------------------------------------------------------------
// Trace (`tenure explain`): every rule against every contract, with the values that matched or failed.

/** One condition of a rule tested against a person or contract value. */
export interface ConditionCheck {
  /** `department.code`, `person.location`, ... */
  field: string;
  allowed: string[];
  /** The person's or contract's value (undefined: the field is empty). */
  value?: string;
  ok: boolean;
}

/** What one rule makes of one contract for one target. */
export interface ContractTrace {
  contractId: string;
  startDate: string;
  endDate?: string;
  checks: ConditionCheck[];
  /** Every person and contract condition holds. */
  matched: boolean;
  /** `today` lies in the windows of this target (whatever the conditions say). */
  windows: { account: boolean; access: boolean; permissions: boolean };
  /** Window bounds for people: permissions from/until (inclusive; until undefined: open-ended). */
  permissionsFrom: string;
  permissionsUntil?: string;
}

export interface RuleTrace {
  rule: string;
  ruleSetVersion: string;
  target: string;
  /** What the rule offers in this target. */
  offers: { account: boolean; accountAccess: boolean; permissions: string[]; dynamicPermissions: string[] };
  person: ConditionCheck[];
  contracts: ContractTrace[];
}

function checkPerson(rule: Rule, person: Person): ConditionCheck[] {
  const pc = rule.conditions.person;
  if (!pc) return [];
  const checks: ConditionCheck[] = [];
  const add = (field: string, allowed: ValueMatch | undefined, value: string | undefined) => {
    if (allowed) checks.push({ field, allowed: describeMatch(allowed), value, ok: matchesValue(allowed, value) });
  };
  add('person.source', pc.source, person.source);
  add('person.location', pc.location, person.location);
  add('person.convention', pc.convention, person.name.convention);
  for (const [name, allowed] of Object.entries(pc.custom ?? {}))
    add(`person.custom.${name}`, allowed, person.custom[name]);
  return checks;
}

function checkContract(rule: Rule, c: Contract): ConditionCheck[] {
  const checks: ConditionCheck[] = [];
  for (const [condition, field] of CONTRACT_CONDITIONS) {
    const allowed = rule.conditions[condition];
    if (!allowed) continue;
    const value = contractValue(c, field);
    checks.push({ field, allowed: describeMatch(allowed), value, ok: matchesValue(allowed, value) });
  }
  return checks;
}

/**
 * Every rule that offers something in a target, against every contract, on `today`: the same
 * tests `evaluate` makes, with the values seen. Disabled targets are left out.
 */
export function traceRules(person: Person, rules: Rules, today: string): RuleTrace[] {
  const enabled = new Set(rules.targets.filter((t) => t.enabled).map((t) => t.id));
  const contracts = sortedContracts(person.contracts);
  const out: RuleTrace[] = [];
  for (const rule of rules.rules) {
    const personChecks = checkPerson(rule, person);
    const personOk = personChecks.every((c) => c.ok);
    for (const [targetId, ent] of Object.entries(rule.entitlements)) {
      if (!enabled.has(targetId)) continue;
      const timings = timingsFor(rules, targetId);
      const before = rule.conditions.daysBeforeStart ?? creationDays(timings);
      const after = rule.conditions.daysAfterEnd ?? 0;
      out.push({
        rule: rule.name,
        ruleSetVersion: rules.version,
        target: targetId,
        offers: {
          account: Boolean(ent.account || ent.accountAccess),
          accountAccess: Boolean(ent.accountAccess),
          permissions: ent.permissions ?? [],
          dynamicPermissions: ent.dynamicPermissions ?? [],
        },
        person: personChecks,
        contracts: contracts.map((c) => {
          const checks = checkContract(rule, c);
          return {
            contractId: c.id,
            startDate: c.startDate,
            endDate: c.endDate,
            checks,
            matched: personOk && checks.every((x) => x.ok),
            windows: {
              account: inWindow(c, today, before, deletionDays(timings)),
              access: isActiveOn(c, today),
              permissions: inWindow(c, today, before, after),
            },
            permissionsFrom: addDays(c.startDate, -before),
            permissionsUntil: c.endDate ? addDays(c.endDate, after) : undefined,
          };
        }),
      });
    }
  }
  return out;
}

/** `department.code=FIN ✓ (allowed FIN, FIN-AP)` / `title.code=MW ✗ (allowed CTRL)`. */
export function describeCheck(c: ConditionCheck): string {
  return `${c.field}=${c.value ?? '(empty)'} ${c.ok ? 'matches' : 'fails'} (allowed: ${c.allowed.join(', ')})`;
}
