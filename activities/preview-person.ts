/**
 * What one employee workflow's next pass would do to its targets, computed without doing it: the
 * plan (`planPerson`, the same code the workflow runs) against what the workflow holds. Mirrors the
 * decisions of the workflow's reconcile pass (workflows/employee-reconcile.ts) for a re-evaluation that
 * is not a full check: withdrawn hire (an adopted account is disabled, not deleted), create, delete only
 * after Tenure's own disable moment plus the retention, grants before revokes, enable/disable.
 * Pure: no I/O.
 */
import type { PersonPlan } from './lifecycle.js';
import type { DesiredPermission, EntitlementReason, PlanInputView } from '../common/messages.js';
import { deletionDue, phaseAt } from '../domain/phases.js';

export const PREVIEW_ACTIONS = ['create', 'adopt', 'report', 'enable', 'disable', 'delete', 'grant', 'revoke'] as const;
export type PreviewActionKind = (typeof PREVIEW_ACTIONS)[number];

export interface PreviewAction {
  personKey: string;
  target: string;
  action: PreviewActionKind;
  /** For grant and revoke. */
  permission?: string;
  /** For adopt: the login names the account carries now (kept, unless renameAdopted). */
  names?: { username: string; userPrincipalName: string; email: string };
  /** The rule, rules version and contract behind it (for a revoke: what granted it before). */
  rule?: string;
  ruleSetVersion?: string;
  contractId?: string;
  /** One line for people: why. */
  why: string;
}

/** What a workflow holds, in the shape preview needs (a person without a workflow holds nothing). */
export type HeldState = Pick<PlanInputView, 'accounts' | 'excluded' | 'desired'>;

export const NOTHING_HELD: HeldState = { accounts: {}, excluded: false, desired: [] };

/**
 * What a create would meet in a target, looked up read-only (activities/existing-account.ts): an
 * existing account to adopt, or a refusal that is reported instead of a create.
 */
export type FoundAccount =
  | { kind: 'adopt'; enabled: boolean; names: NonNullable<PreviewAction['names']>; renamed: boolean }
  | { kind: 'refused'; why: string };

function reasonOf(r: EntitlementReason | undefined): Pick<PreviewAction, 'rule' | 'ruleSetVersion' | 'contractId'> {
  return r ? { rule: r.rule, ruleSetVersion: r.ruleSetVersion, contractId: r.contractId } : {};
}

function describe(r: EntitlementReason | undefined): string {
  return r ? `rule "${r.rule}" (${r.ruleSetVersion})${r.contractId ? ` for contract ${r.contractId}` : ''}` : 'no rule';
}

/** The actions, in the order the workflow takes them per target. */
export function planActions(
  personKey: string,
  plan: PersonPlan,
  held: HeldState,
  now: number,
  found: Record<string, FoundAccount> = {},
): PreviewAction[] {
  if (held.excluded) return [];
  const out: PreviewAction[] = [];
  const version = plan.ruleSetVersion;
  const previous = new Map<string, DesiredPermission>(held.desired.map((d) => [`${d.target}\u0000${d.name}`, d]));

  if (!plan.employed && !Object.values(held.accounts).some((a) => a.everEnabled)) {
    for (const [target, acct] of Object.entries(held.accounts)) {
      if (acct.origin === 'adopted') {
        if (acct.enabled || acct.disabledAt === undefined)
          out.push({ personKey, target, action: 'disable', ruleSetVersion: version, why: 'hire withdrawn (adopted)' });
        continue;
      }
      out.push({ personKey, target, action: 'delete', ruleSetVersion: version, why: 'hire withdrawn' });
    }
    return out;
  }

  for (const t of plan.targets) {
    const acct = held.accounts[t.targetId];
    let phase = phaseAt(t, now);
    // HR dates say delete; the workflow deletes only after its own disable moment plus the retention.
    if (phase === 'deleted' && acct && !deletionDue(acct, t, now)) phase = 'leaver';
    if (!acct && (!t.wantsAccount || ['pending', 'leaver', 'deleted', 'none'].includes(phase))) continue;
    const base = { personKey, target: t.targetId };
    if (phase === 'deleted') {
      if (acct) out.push({ ...base, action: 'delete', ruleSetVersion: version, why: 'retention period ended' });
      continue;
    }
    const why = { account: t.accountReason, access: t.accessReason };
    const existing = acct ? undefined : found[t.targetId];
    if (existing?.kind === 'refused') {
      // The create is refused (nothing changes in the target); the person shows as failing.
      out.push({ ...base, action: 'report', ...reasonOf(why.account), why: existing.why });
      continue;
    }
    const current = acct ?? {
      enabled: existing?.enabled ?? false,
      everEnabled: false,
      permissions: [] as string[],
    };
    if (existing?.kind === 'adopt') {
      const n = existing.names;
      out.push({
        ...base,
        action: 'adopt',
        ...reasonOf(why.account),
        names: n,
        why:
          `${describe(why.account)}; existing account in scope ` +
          (existing.renamed
            ? `gets the generated login names; its own (${n.username} / ${n.userPrincipalName} / ${n.email}) stay reserved`
            : `keeps its login names ${n.username} / ${n.userPrincipalName} / ${n.email}`),
      });
    } else if (!acct) {
      out.push({ ...base, action: 'create', ...reasonOf(why.account), why: describe(why.account) });
    }
    const wantEnabled = phase === 'active' && t.wantsAccess;
    const wanted = phase === 'active' || phase === 'prehire' ? t.permissions : [];
    const wantedNames = new Set(wanted.map((p) => p.name));
    for (const p of wanted) {
      if (current.permissions.includes(p.name)) continue;
      out.push({
        ...base,
        action: 'grant',
        permission: p.name,
        ...reasonOf(p.reasons[0]),
        why: describe(p.reasons[0]),
      });
    }
    for (const name of current.permissions) {
      if (wantedNames.has(name)) continue;
      const before = previous.get(`${t.targetId}\u0000${name}`)?.reasons[0];
      out.push({
        ...base,
        action: 'revoke',
        permission: name,
        ...reasonOf(before),
        ruleSetVersion: version,
        why: `no rule of rules ${version} grants ${name}${before ? ` (was: ${describe(before)})` : ''}`,
      });
    }
    if (wantEnabled && !current.enabled) {
      out.push({ ...base, action: 'enable', ...reasonOf(why.access), why: describe(why.access) });
    } else if (!wantEnabled && current.enabled) {
      out.push({
        ...base,
        action: 'disable',
        ruleSetVersion: version,
        why: phase === 'leaver' ? 'employment ended' : `no rule of rules ${version} gives access`,
      });
    }
  }
  return out;
}
