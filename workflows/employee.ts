/**
 * One long-lived workflow per person (lifecycle.md section 4): sleeps until the next lifecycle
 * moment, wakes early on any change, and brings every target in line with the current plan.
 * Handlers only record input; the main loop is the one place that runs activities.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { LifecycleActivities, PersonPlan, TargetPlan } from '../activities/lifecycle.js';
import type { ManagerMailActivities } from '../activities/manager-mail.js';
import type { WriteBackActivities } from '../activities/writeback.js';
import type { AccountOutcome, TargetActivities } from '../activities/targets.js';
import {
  excludeUpdate,
  includeUpdate,
  personChangedSignal,
  personRemovedSignal,
  planInputQuery,
  reprovisionUpdate,
  rulesChangedSignal,
  statusQuery,
  upcomingQuery,
  type AdminRequest,
  type EmployeeWorkflowInput,
  type PersonChanged,
  type ReprovisionResult,
  type TakenAction,
} from '../common/messages.js';
import { targetTaskQueue } from '../common/task-queues.js';
import { addDays } from '../domain/dates.js';
import {
  Department,
  EmployeeId,
  EndDate,
  LifecycleState,
  ProvisioningHealth,
  StartDate,
} from '../common/search-attributes.js';
import {
  applyRemoval,
  initialState,
  phaseAt,
  planInputView,
  statusView,
  type EmployeeState,
  type TargetPhase,
} from './employee-state.js';

/** A start or end longer ago than this is not news for the manager (initial loads). */
const NOTIFY_WITHIN_DAYS = 7;

/** Target kinds that hold the primary account; every other target depends on them. */
const DIRECTORY_KINDS = ['ad'];

const PLAN: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
};
// The task queue is filled in per run: next to the workflow's own queue (see targetTaskQueue).
const TARGET: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    // About three minutes of retries, then the problem shows in status and ProvisioningHealth
    // and the workflow tries the whole pass again later (RETRY_FAILED_AFTER_MS).
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['TargetRejected', 'TargetNotConfigured'],
  },
};
/** After a target step failed for good, the pass is tried again this much later. */
const RETRY_FAILED_AFTER_MS = 5 * 60_000;
const NOTIFY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '5 seconds',
    maximumInterval: '5 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: ['NotificationRejected'],
  },
};

const lifecycle = proxyActivities<LifecycleActivities>(PLAN);
/** Each target's activities run on that target's queue, next to this workflow's own queue. */
function targetOptions(target: string): ActivityOptions {
  return { ...TARGET, taskQueue: targetTaskQueue(workflowInfo().taskQueue, target) };
}
const targetProxies = new Map<string, ReturnType<typeof proxyActivities<TargetActivities>>>();
function targetActivities(target: string) {
  let p = targetProxies.get(target);
  if (!p) targetProxies.set(target, (p = proxyActivities<TargetActivities>(targetOptions(target))));
  return p;
}
const notify = proxyActivities<ManagerMailActivities>(NOTIFY);
// A write-back that keeps failing must not hold up the accounts: bounded, then reported.
const WRITE_BACK: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '10 seconds', maximumAttempts: 5 },
};
const writeBack = proxyActivities<WriteBackActivities>(WRITE_BACK);

export async function employeeLifecycle(input: EmployeeWorkflowInput): Promise<ReprovisionResult> {
  const s: EmployeeState = (input.carried as EmployeeState | undefined) ?? initialState(input.personKey);
  s.runId = workflowInfo().runId;

  // ---- handlers: validate and record; the main loop does the work
  setHandler(personChangedSignal, (change: PersonChanged) => {
    if (change.contentHash === s.contentHash) return; // the same snapshot again (a re-sent poll)
    s.person = change.person;
    s.contentHash = change.contentHash;
    s.removed = false;
    s.pendingCauses.push(change.cause);
  });
  setHandler(personRemovedSignal, (removal) => {
    if (s.removed || !s.person) return;
    s.removed = true;
    s.person = applyRemoval(
      s.person,
      todayFromPlan(s),
      Object.values(s.accounts).some((a) => a.everEnabled),
    );
    s.contentHash = undefined;
    s.pendingCauses.push(removal.cause);
  });
  setHandler(rulesChangedSignal, (change) => {
    if (s.lastRulesApply === change.applyId) return; // the same apply again (a retried batch)
    s.lastRulesApply = change.applyId;
    s.pendingCauses.push(change.cause);
  });
  setHandler(statusQuery, () => statusView(s));
  setHandler(planInputQuery, () => planInputView(s));
  setHandler(upcomingQuery, () => (s.excluded ? [] : (s.plan?.upcoming ?? [])));
  setHandler(
    reprovisionUpdate,
    async (req: AdminRequest) => {
      const id = `reprovision by ${req.requestedBy}${req.reason ? `: ${req.reason}` : ''}`;
      s.adminRequests.push(id);
      await condition(() => s.adminResults[id] !== undefined);
      const result = s.adminResults[id]!;
      delete s.adminResults[id];
      return result;
    },
    { validator: validateAdmin },
  );
  setHandler(
    excludeUpdate,
    (req: AdminRequest) => {
      s.excluded = true;
      s.lastCause = `excluded by ${req.requestedBy}${req.reason ? `: ${req.reason}` : ''}`;
      publish(s);
      return statusView(s);
    },
    { validator: validateAdmin },
  );
  setHandler(
    includeUpdate,
    async (req: AdminRequest) => {
      s.excluded = false;
      const id = `included by ${req.requestedBy}${req.reason ? `: ${req.reason}` : ''}`;
      s.adminRequests.push(id);
      await condition(() => s.adminResults[id] !== undefined);
      const result = s.adminResults[id]!;
      delete s.adminResults[id];
      return result;
    },
    { validator: validateAdmin },
  );

  upsertSearchAttributes([{ key: EmployeeId, value: s.personKey }]);

  // ---- main loop
  for (;;) {
    const admin = s.adminRequests.shift();
    const cause =
      admin ?? (s.pendingCauses.length ? s.pendingCauses.splice(0).join('; ') : (s.wakeCause ?? 'workflow start'));
    s.pendingCauses = [];
    const actions = s.excluded && !admin ? [] : await reconcile(s, cause, Boolean(admin));
    if (admin) s.adminResults[admin] = { state: s.state, actions };
    publish(s);

    if (s.state === 'deleted' || s.state === 'rescinded') {
      await condition(allHandlersFinished);
      return { state: s.state, actions };
    }
    if (workflowInfo().continueAsNewSuggested && s.adminRequests.length === 0 && s.pendingCauses.length === 0) {
      await condition(allHandlersFinished);
      if (s.adminRequests.length === 0 && s.pendingCauses.length === 0) {
        await continueAsNew<typeof employeeLifecycle>({ personKey: s.personKey, carried: { ...s, adminResults: {} } });
      }
    }

    // Measured from when the plan was made: a moment that passed while the activities ran
    // (a long queue in front of the directory) is due now, not skipped.
    const wake = s.excluded ? undefined : nextWake(s, s.plannedAt ?? Date.now());
    s.wakeCause = undefined;
    const woke = await condition(
      () => s.pendingCauses.length > 0 || s.adminRequests.length > 0,
      wake === undefined ? undefined : Math.max(wake.at - Date.now(), 1),
    );
    if (!woke && wake) s.wakeCause = `timer: ${wake.what} at ${new Date(wake.at).toISOString()}`;
  }
}

function validateAdmin(req: AdminRequest): void {
  if (!req || typeof req.requestedBy !== 'string' || req.requestedBy.trim() === '') {
    throw new Error('requestedBy (the operator asking) is required');
  }
}

function todayFromPlan(s: EmployeeState): string {
  // The organisation's calendar date now; the plan carries the zone, UTC before the first plan.
  const zone = s.plan?.timeZone ?? 'UTC';
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
  return parts;
}

/** The earliest future moment in the plan, or a contract boundary, to sleep until. */
function nextWake(s: EmployeeState, now: number): { at: number; what: string } | undefined {
  const plan = s.plan;
  if (!plan) return undefined;
  const candidates: { at: number; what: string }[] = [];
  for (const t of plan.targets) {
    const named: [number | undefined, string][] = [
      [t.createAt, `create ${t.targetId} account`],
      [t.enableAt, `enable ${t.targetId} account`],
      [t.disableAt, `disable ${t.targetId} account`],
      [t.deleteAt, `delete ${t.targetId} account`],
    ];
    for (const [at, what] of named) if (at !== undefined && at > now) candidates.push({ at, what });
  }
  if (plan.reevaluateAt !== undefined && plan.reevaluateAt > now)
    candidates.push({ at: plan.reevaluateAt, what: 're-evaluate entitlements at a contract boundary' });
  if (s.lastError && s.lastError.target !== 'mail') {
    candidates.push({
      at: Date.parse(s.lastError.at) + RETRY_FAILED_AFTER_MS,
      what: `retry after the ${s.lastError.target} failure`,
    });
  }
  candidates.sort((a, b) => a.at - b.at);
  return candidates[0];
}

/** Brings every target in line with the plan for `now`. Returns what it did. */
async function reconcile(s: EmployeeState, cause: string, fullCheck: boolean): Promise<TakenAction[]> {
  s.lastCause = cause;
  const taken: TakenAction[] = [];
  if (!s.person) return taken;
  const person = s.person;
  const plan: PersonPlan = await lifecycle.planPerson.executeWithOptions(
    { ...PLAN, summary: 'evaluate rules and lifecycle moments' },
    [{ person }],
  );
  s.plan = plan;
  const now = Date.now();
  s.plannedAt = now;

  const note = (target: string, out: AccountOutcome) => {
    for (const l of out.lines) taken.push({ target, action: l.action, outcome: l.outcome, detail: l.message });
  };

  // Withdrawn before start: delete what was pre-created, then the run is over.
  if (!plan.employed) {
    const wasEnabled = Object.values(s.accounts).some((a) => a.everEnabled);
    if (!wasEnabled) {
      for (const [target, acct] of Object.entries(s.accounts)) {
        await guarded(s, target, 'deleteAccount', async () => {
          note(
            target,
            await targetActivities(target).deleteAccount.executeWithOptions(
              { ...targetOptions(target), summary: `${target}: delete pre-created account (hire withdrawn)` },
              [{ target, personKey: s.personKey, cause: `${cause}; rules ${plan.ruleSetVersion}`, account: acct.ref }],
            ),
          );
          delete s.accounts[target];
        });
      }
      if (Object.keys(s.accounts).length === 0) s.state = 'rescinded';
      return taken;
    }
  }

  const identityNeeded = plan.targets.some((t) => t.wantsAccount || s.accounts[t.targetId]);
  if (identityNeeded && (!s.identity || s.identityFor !== s.contentHash)) {
    const identity = await lifecycle.reserveIdentity.executeWithOptions(
      { ...PLAN, summary: 'reserve username and e-mail' },
      [{ personKey: s.personKey, person, current: s.identity }],
    );
    s.identity = identity;
    s.identityFor = s.contentHash;
  }

  const phases: TargetPhase[] = [];
  // The directory first (it fixes username and e-mail), then the targets that depend on it side
  // by side, so one that keeps failing does not hold up the others.
  const directory = plan.targets.filter((t) => DIRECTORY_KINDS.includes(t.kind));
  const dependents = plan.targets.filter((t) => !DIRECTORY_KINDS.includes(t.kind));
  for (const t of directory) await reconcileTarget(t);
  await Promise.all(dependents.map((t) => reconcileTarget(t)));

  async function reconcileTarget(t: TargetPlan): Promise<void> {
    const phase = phaseAt(t, now);
    const acct = s.accounts[t.targetId];
    const call = { target: t.targetId, personKey: s.personKey, cause: `${cause}; rules ${plan.ruleSetVersion}` };
    if (
      !acct &&
      (!t.wantsAccount || phase === 'pending' || phase === 'leaver' || phase === 'deleted' || phase === 'none')
    ) {
      phases.push(phase);
      return;
    }
    phases.push(phase);
    await guarded(s, t.targetId, phase, async () => {
      const id = s.identity!;
      const desired = {
        ...plan.account,
        username: id.username,
        userPrincipalName: id.userPrincipalName,
        email: id.email,
        emailAliases: id.aliases,
      };
      if (phase === 'deleted') {
        if (acct)
          note(
            t.targetId,
            await targetActivities(t.targetId).deleteAccount.executeWithOptions(
              { ...targetOptions(t.targetId), summary: `${t.targetId}: delete account (retention ended)` },
              [{ ...call, account: acct.ref }],
            ),
          );
        delete s.accounts[t.targetId];
        return;
      }
      let current = acct;
      if (!current) {
        const out = await targetActivities(t.targetId).createAccount.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: create account (disabled)` },
          [{ ...call, desired }],
        );
        note(t.targetId, out);
        current = s.accounts[t.targetId] = {
          ref: out.account!,
          enabled: false,
          everEnabled: false,
          permissions: [],
          attributesHash: s.contentHash,
        };
      } else if (current.attributesHash !== s.contentHash || current.identityEmail !== s.identity!.email || fullCheck) {
        const out = await targetActivities(t.targetId).updateAccount.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: update changed attributes` },
          [{ ...call, account: current.ref, desired }],
        );
        note(t.targetId, out);
        if (out.account) current.ref = out.account;
      }
      current.attributesHash = s.contentHash;
      current.identityEmail = s.identity!.email;

      const wantEnabled = phase === 'active' && t.wantsAccess;
      const wantedPermissions = phase === 'active' || phase === 'prehire' ? t.permissions.map((p) => p.name) : [];
      if (fullCheck) {
        current.permissions = await targetActivities(t.targetId).listPermissions.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: read current permissions` },
          [{ ...call, account: current.ref }],
        );
      }
      // Mover: grant the new permissions before revoking the old ones.
      for (const name of wantedPermissions.filter((p) => !current!.permissions.includes(p))) {
        const dynamic = t.permissions.find((p) => p.name === name)?.dynamic ?? false;
        note(
          t.targetId,
          await targetActivities(t.targetId).grantPermission.executeWithOptions(
            { ...targetOptions(t.targetId), summary: `${t.targetId}: grant ${name}` },
            [
              {
                ...call,
                cause: `${cause}; ${reasonText(t.permissions.find((p) => p.name === name)?.reasons[0])}`,
                account: current.ref,
                permission: name,
                createIfMissing: dynamic,
              },
            ],
          ),
        );
        current.permissions.push(name);
      }
      for (const name of current.permissions.filter((p) => !wantedPermissions.includes(p))) {
        note(
          t.targetId,
          await targetActivities(t.targetId).revokePermission.executeWithOptions(
            { ...targetOptions(t.targetId), summary: `${t.targetId}: revoke ${name}` },
            [
              {
                ...call,
                cause: `${cause}; no rule of rules ${plan.ruleSetVersion} grants ${name}`,
                account: current.ref,
                permission: name,
              },
            ],
          ),
        );
        current.permissions = current.permissions.filter((p) => p !== name);
      }

      if (wantEnabled && (!current.enabled || fullCheck)) {
        const changed = await targetActivities(t.targetId).enableAccount.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: enable account` },
          [{ ...call, account: current.ref }],
        );
        note(t.targetId, changed);
        if (changed.account) current.ref = changed.account; // moved into or out of the disabled OU
        current.enabled = true;
        current.everEnabled = true;
        await notifyOnce(s, `accountReady:${t.targetId}:${plan.startDate}`, 'accountReady', plan, taken);
      } else if (!wantEnabled && (current.enabled || (fullCheck && phase === 'leaver'))) {
        const changed = await targetActivities(t.targetId).disableAccount.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: disable account` },
          [{ ...call, account: current.ref }],
        );
        note(t.targetId, changed);
        if (changed.account) current.ref = changed.account; // moved into or out of the disabled OU
        current.enabled = false;
        if (phase === 'leaver')
          await notifyOnce(s, `leaverDisabled:${t.targetId}:${plan.endDate}`, 'leaverDisabled', plan, taken);
      }

      // One-off grants at the employment's start and end (e.g. TOPdesk tickets), once per event.
      const event =
        phase === 'active' && current.enabled && plan.startDate
          ? { names: t.onStart, key: plan.startDate, what: 'start' }
          : phase === 'leaver' && !current.enabled && plan.endDate
            ? { names: t.onLeave, key: plan.endDate, what: 'leave' }
            : undefined;
      for (const name of event?.names ?? []) {
        const marker = `event:${t.targetId}:${name}:${event!.key}`;
        if (s.notified.includes(marker)) continue;
        note(
          t.targetId,
          await targetActivities(t.targetId).grantPermission.executeWithOptions(
            { ...targetOptions(t.targetId), summary: `${t.targetId}: ${name} (employment ${event!.what})` },
            [
              {
                ...call,
                cause: `${cause}; employment ${event!.what} ${event!.key}`,
                account: current.ref,
                permission: `${name}:${event!.key}`,
                createIfMissing: false,
              },
            ],
          ),
        );
        s.notified.push(marker);
      }
    });
  }

  s.state = overallState(phases, s);
  await writeBackIdentity(s, cause, taken);
  return taken;
}

/** Last in the order: the generated username, UPN and e-mail go back to the HR source. */
async function writeBackIdentity(s: EmployeeState, cause: string, taken: TakenAction[]): Promise<void> {
  const id = s.identity;
  if (!id || Object.keys(s.accounts).length === 0 || s.state === 'leaver') return;
  const key = `${id.username}|${id.userPrincipalName}|${id.email}`;
  if (s.writtenBack === key) return;
  try {
    const result = await writeBack.writeBackToSource.executeWithOptions(
      { ...WRITE_BACK, summary: 'write username and e-mail back to the HR source' },
      [
        {
          personKey: s.personKey,
          values: { username: id.username, userPrincipalName: id.userPrincipalName, businessEmail: id.email },
          cause,
        },
      ],
    );
    s.writtenBack = key;
    s.writeBackError = undefined;
    if (result !== 'skipped')
      taken.push({ target: 'source', action: 'writeBack', outcome: result, detail: 'username and e-mail' });
  } catch (err) {
    s.writeBackError = {
      at: new Date().toISOString(),
      target: 'source',
      action: 'writeBack',
      message: failureMessage(err),
    };
    taken.push({ target: 'source', action: 'writeBack', outcome: 'failed', detail: failureMessage(err) });
  }
}

function reasonText(r: { rule: string; ruleSetVersion: string; contractId?: string } | undefined): string {
  return r ? `rule "${r.rule}" (${r.ruleSetVersion})${r.contractId ? ` for contract ${r.contractId}` : ''}` : 'rule';
}

function overallState(phases: TargetPhase[], s: EmployeeState): EmployeeState['state'] {
  if (phases.length === 0 || phases.every((p) => p === 'none'))
    return Object.keys(s.accounts).length ? s.state : 'pending';
  if (phases.every((p) => p === 'deleted' || p === 'none') && Object.keys(s.accounts).length === 0) return 'deleted';
  const order: TargetPhase[] = ['active', 'prehire', 'leaver', 'pending', 'deleted', 'none'];
  for (const p of order) if (phases.includes(p)) return p === 'none' ? 'pending' : p;
  return 'pending';
}

async function notifyOnce(
  s: EmployeeState,
  key: string,
  kind: 'accountReady' | 'leaverDisabled',
  plan: PersonPlan,
  taken: TakenAction[],
): Promise<void> {
  if (s.notified.includes(key)) return;
  s.notified.push(key);
  // Only news is mailed: at go-live, staff who started (or left) long ago are not announced.
  const day = kind === 'accountReady' ? plan.startDate : plan.endDate;
  if (day && day < addDays(todayFromPlan(s), -NOTIFY_WITHIN_DAYS)) {
    taken.push({
      target: 'mail',
      action: 'notifyManager',
      outcome: 'unchanged',
      detail: `${kind}: ${day} is not recent`,
    });
    return;
  }
  if (!plan.managerKey || !s.identity) {
    taken.push({
      target: 'mail',
      action: 'notifyManager',
      outcome: 'unchanged',
      detail: 'no manager on the primary contract',
    });
    return;
  }
  try {
    await notify.notifyManagerOf.executeWithOptions(
      { ...NOTIFY, summary: `mail the manager: ${kind === 'accountReady' ? 'account ready' : 'leaver disabled'}` },
      [
        {
          kind,
          personKey: s.personKey,
          managerKey: plan.managerKey,
          employeeDisplayName: plan.displayName,
          username: s.identity.username,
          email: s.identity.email,
          startDate: plan.startDate,
          endDate: plan.endDate,
          idempotencyKey: `${s.personKey}:${key}`,
          cause: s.lastCause ?? '',
        },
      ],
    );
    taken.push({ target: 'mail', action: 'notifyManager', outcome: 'success', detail: kind });
  } catch (err) {
    // A mail that cannot be sent never blocks the accounts; it shows in the status.
    s.lastError = {
      at: new Date().toISOString(),
      target: 'mail',
      action: 'notifyManager',
      message: failureMessage(err),
    };
    taken.push({ target: 'mail', action: 'notifyManager', outcome: 'failed', detail: failureMessage(err) });
  }
}

/** Runs one target's step; a permanent failure is recorded and the other targets go on. */
async function guarded(s: EmployeeState, target: string, action: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
    if (s.lastError?.target === target) s.lastError = undefined;
  } catch (err) {
    if (!(err instanceof ActivityFailure) && !(err instanceof ApplicationFailure)) throw err;
    s.lastError = { at: new Date().toISOString(), target, action, message: failureMessage(err) };
    log.warn('target step failed', { target, action, error: s.lastError.message });
  }
}

function failureMessage(err: unknown): string {
  const e = err as { cause?: { message?: string }; message?: string };
  return e.cause?.message ?? e.message ?? String(err);
}

/** Keeps search attributes, memo and the UI's current details in line with the state. */
function publish(s: EmployeeState): void {
  const plan = s.plan;
  upsertSearchAttributes([
    { key: LifecycleState, value: s.state },
    { key: ProvisioningHealth, value: statusView(s).health },
    { key: Department, value: plan?.departmentCode ?? null },
    { key: StartDate, value: plan?.startDate ? new Date(`${plan.startDate}T00:00:00Z`) : null },
    { key: EndDate, value: plan?.endDate ? new Date(`${plan.endDate}T00:00:00Z`) : null },
  ]);
  if (plan && plan.displayName !== s.memoName) {
    upsertMemo({ displayName: plan.displayName });
    s.memoName = plan.displayName;
  }
  const next = plan?.upcoming[0];
  setCurrentDetails(
    [
      `**${s.state}**${s.excluded ? ' (excluded)' : ''}`,
      next ? `next: ${next.description} on ${next.local}` : 'nothing planned',
      s.lastError ? `last error (${s.lastError.target} ${s.lastError.action}): ${s.lastError.message}` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
}
