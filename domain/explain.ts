/**
 * `tenure explain`: why a person has or lacks each entitlement under a rules version: the rule, the
 * contract and the condition values that matched or failed, or the window that was not open. Pure:
 * built on `evaluate` (what is granted) and `traceRules` (why each rule did or did not grant it).
 */
import {
  describeCheck,
  describeReason,
  evaluate,
  expandTemplate,
  traceRules,
  type ContractTrace,
  type Reason,
  type RuleTrace,
} from './entitlements.js';
import type { Person } from './model.js';
import type { Rules } from './rules.js';

export type EntitlementKind = 'account' | 'accountAccess' | 'permission';

export interface Candidate {
  rule: string;
  ruleSetVersion: string;
  contractId?: string;
  /** e.g. `department.code=HR fails (allowed: FIN)` or `outside the window 2027-01-01 .. 2027-06-30`. */
  why: string;
  matched: boolean;
}

export interface ExplainItem {
  target: string;
  entitlement: EntitlementKind;
  /** The permission name (for `permission`). */
  name?: string;
  granted: boolean;
  reasons: Reason[];
  /** Every rule and contract that could give it, with why it did not (or did). */
  candidates: Candidate[];
  /** Held in the target now (from the workflow), when known. */
  held?: boolean;
}

export interface Explanation {
  ruleSetVersion: string;
  date: string;
  items: ExplainItem[];
}

function windowText(c: ContractTrace, kind: EntitlementKind): string {
  if (kind === 'accountAccess')
    return `contract ${c.contractId} is not active (${c.startDate} .. ${c.endDate ?? 'open-ended'})`;
  return `outside the window ${c.permissionsFrom} .. ${c.permissionsUntil ?? 'open-ended'} of contract ${c.contractId}`;
}

function candidatesOf(trace: RuleTrace, kind: EntitlementKind, permission?: string, person?: Person): Candidate[] {
  const out: Candidate[] = [];
  const failedPerson = trace.person.filter((c) => !c.ok);
  if (failedPerson.length) {
    out.push({
      rule: trace.rule,
      ruleSetVersion: trace.ruleSetVersion,
      why: failedPerson.map(describeCheck).join(', '),
      matched: false,
    });
    return out;
  }
  if (trace.contracts.length === 0) {
    out.push({
      rule: trace.rule,
      ruleSetVersion: trace.ruleSetVersion,
      why: 'the person has no contracts',
      matched: false,
    });
  }
  for (const c of trace.contracts) {
    const base = { rule: trace.rule, ruleSetVersion: trace.ruleSetVersion, contractId: c.contractId };
    const checks = [...trace.person, ...c.checks];
    if (!c.matched) {
      out.push({
        ...base,
        why: checks
          .filter((x) => !x.ok)
          .map(describeCheck)
          .join(', '),
        matched: false,
      });
      continue;
    }
    if (kind === 'permission' && permission !== undefined && person && !trace.offers.permissions.includes(permission)) {
      // Offered through a template: does it expand to this name for this contract?
      const contract = person.contracts.find((x) => x.id === c.contractId)!;
      const names = trace.offers.dynamicPermissions.map((t) => ({ t, e: expandTemplate(t, contract, person) }));
      if (!names.some((n) => n.e?.name === permission)) {
        out.push({
          ...base,
          why: `conditions match, but ${names.map((n) => `${n.t} gives ${n.e ? n.e.name : 'nothing (a placeholder is empty)'}`).join(', ')}`,
          matched: false,
        });
        continue;
      }
    }
    const open =
      kind === 'account' ? c.windows.account : kind === 'accountAccess' ? c.windows.access : c.windows.permissions;
    const shown = checks.length ? checks.map(describeCheck).join(', ') : 'the rule has no conditions';
    out.push({ ...base, why: open ? shown : `${shown}; but ${windowText(c, kind)}`, matched: open });
  }
  return out;
}

function offers(trace: RuleTrace, kind: EntitlementKind, permission?: string): boolean {
  if (kind === 'account') return trace.offers.account;
  if (kind === 'accountAccess') return trace.offers.accountAccess;
  if (permission === undefined) return false;
  return trace.offers.permissions.includes(permission) || trace.offers.dynamicPermissions.length > 0;
}

/**
 * Every entitlement any rule offers the person (and every permission the workflow holds), or only
 * `only` (a target and permission name), with why it is or is not granted on `today`.
 */
export function explain(
  person: Person,
  rules: Rules,
  today: string,
  opts: { only?: { target: string; permission: string }; held?: Record<string, string[]> } = {},
): Explanation {
  const ev = evaluate(person, rules, today);
  const traces = traceRules(person, rules, today);
  const items: ExplainItem[] = [];
  const targets = Object.keys(ev.targets).filter((t) => !opts.only || t === opts.only.target);
  for (const target of targets) {
    const desired = ev.targets[target]!;
    const tTraces = traces.filter((t) => t.target === target);
    const item = (entitlement: EntitlementKind, name: string | undefined, reasons: Reason[]): ExplainItem => {
      const candidates = tTraces
        .filter((t) => offers(t, entitlement, name))
        .flatMap((t) => candidatesOf(t, entitlement, name, person));
      const held = name !== undefined && opts.held?.[target] ? opts.held[target]!.includes(name) : undefined;
      return { target, entitlement, name, granted: reasons.length > 0, reasons, candidates, held };
    };
    if (!opts.only) {
      if (tTraces.some((t) => t.offers.account)) items.push(item('account', undefined, desired.account?.reasons ?? []));
      if (tTraces.some((t) => t.offers.accountAccess))
        items.push(item('accountAccess', undefined, desired.accountAccess?.reasons ?? []));
    }
    const names = new Set<string>();
    if (opts.only) names.add(opts.only.permission);
    else {
      for (const p of desired.permissions) names.add(p.name);
      for (const t of tTraces) for (const n of t.offers.permissions) names.add(n);
      for (const n of opts.held?.[target] ?? []) names.add(n);
    }
    for (const name of [...names].sort()) {
      const granted = desired.permissions.find((p) => p.name === name)?.reasons ?? [];
      const it = item('permission', name, granted);
      // Templates that never give this name would only add noise to the full listing.
      if (!opts.only)
        it.candidates = it.candidates.filter((c) => granted.length === 0 || c.matched || !/ gives /.test(c.why));
      items.push(it);
    }
  }
  return { ruleSetVersion: rules.version, date: today, items };
}

/** The explanation as text lines for people. */
export function explanationLines(personKey: string, e: Explanation): string[] {
  const lines = [`${personKey} under rules ${e.ruleSetVersion} on ${e.date}`];
  for (const it of e.items) {
    const what =
      it.entitlement === 'permission'
        ? `permission ${it.name}`
        : it.entitlement === 'account'
          ? 'account'
          : 'account access (enabled)';
    const held = it.held === undefined ? '' : it.held ? ' (held now)' : ' (not held now)';
    lines.push('');
    lines.push(`${it.target} ${what}: ${it.granted ? 'granted' : 'not granted'}${held}`);
    for (const r of it.reasons) lines.push(`  because ${describeReason(r)}`);
    for (const c of it.candidates) {
      if (it.granted && c.matched) continue; // already shown as a reason
      const head = `rule "${c.rule}" (${c.ruleSetVersion})${c.contractId ? `, contract ${c.contractId}` : ''}`;
      lines.push(`  ${c.matched ? 'matches' : 'no'}: ${head}: ${c.why}`);
    }
    if (!it.granted && it.candidates.length === 0) lines.push('  no rule offers it');
  }
  return lines;
}
