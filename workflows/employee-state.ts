/** The employee workflow's state, in one place, and the pure functions over it. */
import type { Identity, PersonPlan } from '../activities/lifecycle.js';
import type { Lane } from '../common/lanes.js';
import type { AccountReference } from '../connectors/types.js';
import type {
  LifecycleState,
  PlanInputView,
  ProvisioningHealth,
  ReprovisionResult,
  StatusView,
} from '../common/messages.js';
import { localDate } from '../domain/dates.js';
import type { Person } from '../domain/model.js';
export { phaseAt, type TargetPhase } from '../domain/phases.js';

export interface AccountState {
  ref: AccountReference;
  enabled: boolean;
  /** Enabled at least once in this workflow's life: a withdrawn hire was never enabled. */
  everEnabled: boolean;
  /** Managed permissions the account holds, as far as this workflow knows. */
  permissions: string[];
  /** How Tenure came to hold the account (absent for accounts from before the ownership record: created). */
  origin?: 'created' | 'adopted';
  /** Workflow time at which Tenure disabled the account (the first time since it was last enabled). */
  disabledAt?: number;
  /** Tenure's disable moment plus the retention: the account is not deleted before this. */
  deleteNotBefore?: number;
  /** The person snapshot and e-mail the attributes were last written for. */
  attributesHash?: string;
  identityEmail?: string;
}

export interface EmployeeState {
  personKey: string;
  runId: string;
  person?: Person;
  contentHash?: string;
  removed: boolean;
  /** Where the person's lifecycle stands (runs before the rename carried this as `state`). */
  lifecycle: LifecycleState;
  excluded: boolean;
  identity?: Identity;
  identityFor?: string;
  accounts: Record<string, AccountState>;
  plan?: PersonPlan;
  /** Workflow time at which `plan` was applied; the next wake is measured from here. */
  plannedAt?: number;
  /** Notifications already sent (by key), so a replay or retry never mails twice. */
  notified: string[];
  /** One-off employment events already granted (`event:<target>:<name>:<date>`), never twice. */
  events: string[];
  /** `refused`: Tenure declined the step because the account is not (or no longer) its to change. */
  lastError?: { at: string; target: string; action: string; message: string; refused?: boolean };
  /** Identity last written back to the source (`username|upn|email`), and a write-back that keeps failing. */
  writtenBack?: string;
  writeBackError?: { at: string; target: string; action: string; message: string };
  lastCause?: string;
  memoName?: string;
  /** The search attribute values last upserted (PUBLISH_CHANGED_ONLY), as one comparable string. */
  publishedAttributes?: string;
  // Work handed from handlers to the main loop.
  pendingCauses: string[];
  /** The lane of the pending source changes: interactive if any of them is (common/lanes.ts). */
  pendingLane?: Lane;
  adminRequests: AdminWork[];
  /** Results of admin requests by update id, until the update handler has returned them. */
  adminResults: Record<string, ReprovisionResult>;
  wakeCause?: string;
  /** The last rules apply that re-evaluated this person (a re-sent signal is ignored). */
  lastRulesApply?: string;
  /** A manager's account appeared since the last pass: write references into every account again. */
  refreshReferences?: boolean;
}

/** An admin request waiting for the main loop: the update id its answer is kept under, and the cause. */
export interface AdminWork {
  id: string;
  cause: string;
}

export function initialState(personKey: string): EmployeeState {
  return {
    personKey,
    runId: '',
    removed: false,
    lifecycle: 'pending',
    excluded: false,
    accounts: {},
    notified: [],
    events: [],
    pendingCauses: [],
    adminRequests: [],
    adminResults: {},
  };
}

/** The state as an earlier run carried it over continue-as-new (older field names included). */
type CarriedState = Partial<EmployeeState> & {
  personKey: string;
  state?: LifecycleState;
  adminRequests?: (string | AdminWork)[];
};

/**
 * The state to start a run with: fresh, or carried from the previous run. Runs from before the
 * rename carried the lifecycle as `state`, event markers inside `notified` and admin requests as
 * plain text; all three are read here so a continued run never repeats a ticket or a mail.
 */
export function stateFromCarried(personKey: string, carried: unknown): EmployeeState {
  if (!carried) return initialState(personKey);
  const { state: oldLifecycle, ...c } = carried as CarriedState;
  const notified = c.notified ?? [];
  const events = [...(c.events ?? []), ...notified.filter((m) => m.startsWith('event:'))];
  return {
    ...initialState(personKey),
    ...c,
    lifecycle: c.lifecycle ?? oldLifecycle ?? 'pending',
    notified: notified.filter((m) => !m.startsWith('event:')),
    events: [...new Set(events)],
    adminRequests: (c.adminRequests ?? []).map((r) => (typeof r === 'string' ? { id: r, cause: r } : r)),
    adminResults: {},
  };
}

/**
 * The person left the source. Someone who never started (no account ever enabled) is a withdrawn
 * hire: every contract goes. Otherwise every contract ends today at the latest and contracts that
 * had not started yet are dropped.
 */
export function applyRemoval(person: Person, today: string, everStarted: boolean): Person {
  if (!everStarted) return { ...person, contracts: [] };
  const contracts = person.contracts
    .filter((c) => c.startDate <= today)
    .map((c) => (c.endDate && c.endDate <= today ? c : { ...c, endDate: today }));
  return { ...person, contracts };
}

/** The organisation's calendar date at `now`; the plan carries the zone, UTC before the first plan. */
export function todayOf(s: EmployeeState, now: number): string {
  return localDate(now, s.plan?.timeZone ?? 'UTC');
}

export function health(s: EmployeeState): ProvisioningHealth {
  if (s.excluded) return 'excluded';
  return s.lastError || s.writeBackError ? 'failed' : 'ok';
}

export function statusView(s: EmployeeState): StatusView {
  return {
    personKey: s.personKey,
    state: s.lifecycle,
    excluded: s.excluded,
    health: health(s),
    displayName: s.plan?.displayName,
    username: s.identity?.username,
    email: s.identity?.email,
    primaryContractId: s.plan?.primaryContractId,
    desired: s.plan?.targets.flatMap((t) => t.permissions) ?? [],
    accounts: Object.entries(s.accounts).map(([target, a]) => ({
      target,
      accountId: a.ref.id,
      locator: a.ref.locator,
      enabled: a.enabled,
      permissions: [...a.permissions].sort(),
    })),
    lastError: s.lastError ?? s.writeBackError,
    writeBackError: s.writeBackError,
    lastCause: s.lastCause,
    runId: s.runId,
  };
}

/** The person and what the workflow holds, for preview and explain (read-only). */
export function planInputView(s: EmployeeState): PlanInputView {
  return {
    personKey: s.personKey,
    person: s.person,
    excluded: s.excluded,
    state: s.lifecycle,
    accounts: Object.fromEntries(
      Object.entries(s.accounts).map(([target, a]) => [
        target,
        {
          enabled: a.enabled,
          everEnabled: a.everEnabled,
          permissions: [...a.permissions],
          origin: a.origin,
          disabledAt: a.disabledAt,
        },
      ]),
    ),
    desired: s.plan?.targets.flatMap((t) => t.permissions) ?? [],
    ruleSetVersion: s.plan?.ruleSetVersion,
  };
}
