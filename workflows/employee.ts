/**
 * One long-lived workflow per person (docs/lifecycle.md section 4): sleeps until the next lifecycle moment,
 * wakes early on any change, and brings every target in line with the current plan. This file is
 * the main loop and the message handlers; handlers only record input, the loop is the one place
 * that runs activities (the reconcile pass: employee-reconcile.ts; state: employee-state.ts).
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  excludeUpdate,
  includeUpdate,
  personChangedSignal,
  personRemovedSignal,
  referencesChangedSignal,
  planInputQuery,
  reprovisionUpdate,
  rulesChangedSignal,
  statusQuery,
  upcomingQuery,
  type AdminRequest,
  type EmployeeWorkflowInput,
  type PersonChanged,
  type ReferencesChanged,
  type ReprovisionResult,
} from '../common/messages.js';
import {
  Department,
  EmployeeId,
  EndDate,
  LifecycleState,
  ProvisioningHealth,
  StartDate,
} from '../common/search-attributes.js';
import type { Lane } from '../common/lanes.js';
import { checkPersonChanged, checkPersonRemoved } from '../common/signal-payloads.js';
import {
  PUBLISH_CHANGED_ONLY,
  RETRY_FAILED_AFTER_MS,
  RETRY_REFUSED_AFTER_MS,
  reconcile,
} from './employee-reconcile.js';
import {
  applyRemoval,
  planInputView,
  stateFromCarried,
  statusView,
  todayOf,
  type EmployeeState,
} from './employee-state.js';

export async function employeeLifecycle(input: EmployeeWorkflowInput): Promise<ReprovisionResult> {
  const s: EmployeeState = stateFromCarried(input.personKey, input.carried);
  s.runId = workflowInfo().runId;

  // ---- handlers: validate and record; the main loop does the work
  // A signal can be sent by anyone with access to the namespace: a payload that is not what the
  // poller sends, or is meant for another person, is refused (the reason names a field, not a value).
  // The patch marker is written only when a signal is refused, so earlier histories replay as they were.
  const refused = (check: { ok: true } | { ok: false; reason: string }): boolean => {
    if (check.ok || !patched('validate-signal-payloads')) return false;
    log.warn('signal refused', { personKey: s.personKey, reason: check.reason });
    return true;
  };
  setHandler(personChangedSignal, (change: PersonChanged) => {
    if (refused(checkPersonChanged(change, s.personKey))) return;
    if (change.contentHash === s.contentHash) return; // the same snapshot again (a re-sent poll)
    s.person = change.person;
    s.contentHash = change.contentHash;
    s.removed = false;
    s.pendingCauses.push(change.cause);
    s.pendingLane = laneAfter(s.pendingLane, change.lane);
  });
  setHandler(personRemovedSignal, (removal) => {
    if (refused(checkPersonRemoved(removal, s.personKey))) return;
    if (s.removed || !s.person) return;
    s.removed = true;
    s.person = applyRemoval(
      s.person,
      todayOf(s, Date.now()),
      Object.values(s.accounts).some((a) => a.everEnabled),
    );
    s.contentHash = undefined;
    s.pendingCauses.push(removal.cause);
    s.pendingLane = laneAfter(s.pendingLane, removal.lane);
  });
  setHandler(referencesChangedSignal, (r: ReferencesChanged) => {
    // The manager's account exists now: the next pass writes the reference into ours.
    if (!s.person) return;
    s.refreshReferences = true;
    s.pendingCauses.push(r.cause);
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
    (req: AdminRequest) => runAdmin(`reprovision by ${req.requestedBy}${req.reason ? `: ${req.reason}` : ''}`),
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
      return runAdmin(`included by ${req.requestedBy}${req.reason ? `: ${req.reason}` : ''}`);
    },
    { validator: validateAdmin },
  );

  /** Hands an admin request to the main loop and waits for its answer, kept under this update's id. */
  async function runAdmin(cause: string): Promise<ReprovisionResult> {
    const id = currentUpdateInfo()?.id ?? `${cause}#${s.adminRequests.length}`;
    s.adminRequests.push({ id, cause });
    await condition(() => s.adminResults[id] !== undefined);
    const result = s.adminResults[id]!;
    delete s.adminResults[id];
    return result;
  }

  upsertSearchAttributes([{ key: EmployeeId, value: s.personKey }]);

  // ---- main loop
  for (;;) {
    const admin = s.adminRequests.shift();
    const cause =
      admin?.cause ??
      (s.pendingCauses.length ? s.pendingCauses.splice(0).join('; ') : (s.wakeCause ?? 'workflow start'));
    s.pendingCauses = [];
    const lane: Lane | undefined = admin ? 'interactive' : s.pendingLane;
    s.pendingLane = undefined;
    const actions = s.excluded && !admin ? [] : await reconcile(s, cause, Boolean(admin), lane);
    if (admin) s.adminResults[admin.id] = { state: s.lifecycle, actions };
    publish(s);

    if (s.lifecycle === 'deleted' || s.lifecycle === 'rescinded') {
      await condition(allHandlersFinished);
      return { state: s.lifecycle, actions };
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

/** A source change in the bulk lane leaves a pending interactive one interactive. */
function laneAfter(pending: Lane | undefined, signalled: 'bulk' | undefined): Lane {
  return signalled === 'bulk' && pending !== 'interactive' ? 'bulk' : 'interactive';
}

function validateAdmin(req: AdminRequest): void {
  if (!req || typeof req.requestedBy !== 'string' || req.requestedBy.trim() === '') {
    throw new Error('requestedBy (the operator asking) is required');
  }
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
  for (const [target, a] of Object.entries(s.accounts)) {
    // A deletion the HR dates made due but that waits for Tenure's own disable moment plus retention.
    const deleteAt = plan.targets.find((t) => t.targetId === target)?.deleteAt;
    if (a.deleteNotBefore !== undefined && a.deleteNotBefore > now && (deleteAt === undefined || deleteAt <= now))
      candidates.push({ at: a.deleteNotBefore, what: `delete ${target} account (retention from the disable moment)` });
  }
  if (plan.reevaluateAt !== undefined && plan.reevaluateAt > now)
    candidates.push({ at: plan.reevaluateAt, what: 're-evaluate entitlements at a contract boundary' });
  if (s.lastError && s.lastError.target !== 'mail') {
    candidates.push({
      at: Date.parse(s.lastError.at) + (s.lastError.refused ? RETRY_REFUSED_AFTER_MS : RETRY_FAILED_AFTER_MS),
      what: `retry after the ${s.lastError.target} failure`,
    });
  }
  candidates.sort((a, b) => a.at - b.at);
  return candidates[0];
}

/** Keeps search attributes, memo and the UI's current details in line with the state. */
function publish(s: EmployeeState): void {
  const plan = s.plan;
  const values = {
    lifecycle: s.lifecycle,
    health: statusView(s).health,
    department: plan?.departmentCode ?? null,
    start: plan?.startDate ?? null,
    end: plan?.endDate ?? null,
  };
  const published = JSON.stringify(values);
  if (published !== s.publishedAttributes || !patched(PUBLISH_CHANGED_ONLY)) {
    upsertSearchAttributes([
      { key: LifecycleState, value: values.lifecycle },
      { key: ProvisioningHealth, value: values.health },
      { key: Department, value: values.department },
      { key: StartDate, value: values.start ? new Date(`${values.start}T00:00:00Z`) : null },
      { key: EndDate, value: values.end ? new Date(`${values.end}T00:00:00Z`) : null },
    ]);
    s.publishedAttributes = published;
  }
  if (plan && plan.displayName !== s.memoName) {
    upsertMemo({ displayName: plan.displayName });
    s.memoName = plan.displayName;
  }
  const next = plan?.upcoming[0];
  setCurrentDetails(
    [
      `**${s.lifecycle}**${s.excluded ? ' (excluded)' : ''}`,
      next ? `next: ${next.description} on ${next.local}` : 'nothing planned',
      s.lastError ? `last error (${s.lastError.target} ${s.lastError.action}): ${s.lastError.message}` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
}
