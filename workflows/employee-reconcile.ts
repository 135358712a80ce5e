/**
 * The reconcile pass of the employee workflow: plan the person, then bring every target in line
 * with the plan for now (create, update, grant, revoke, enable, disable, delete), mail the manager
 * once per event and write the identity back to the source. Called only from the main loop.
 */
import { redactForLog } from '../common/log-redaction.js';
import {
  ActivityFailure,
  ApplicationFailure,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { LifecycleActivities, PersonPlan, TargetPlan } from '../activities/lifecycle.js';
import type { ManagerMailActivities } from '../activities/manager-mail.js';
import type { WriteBackActivities } from '../activities/writeback.js';
import type { ReferenceActivities } from '../activities/references.js';
import type { AccountOutcome, TargetActivities } from '../activities/targets.js';
import type { ReconcileAccountCall, ReconcileAccountResult } from '../activities/reconcile-account.js';
import type { TakenAction } from '../common/messages.js';
import { LANE_PRIORITY, type Lane } from '../common/lanes.js';
import { targetTaskQueue } from '../common/task-queues.js';
import { addDays } from '../domain/dates.js';
import { deletionDue, retentionOf } from '../domain/phases.js';
import { phaseAt, todayOf, type AccountState, type EmployeeState, type TargetPhase } from './employee-state.js';

/** A start or end longer ago than this is not news for the manager (initial loads). */
const NOTIFY_WITHIN_DAYS = 7;

/**
 * Patch ids (old histories replay without them). An account is deleted no earlier than Tenure's
 * own disable moment plus the retention, after reading it again; a withdrawn hire deletes only
 * accounts Tenure created and disables adopted ones.
 */
export const GUARDED_DELETION = 'delete-after-own-disable-plus-retention';
const WITHDRAWN_KEEPS_ADOPTED = 'withdrawn-hire-disables-adopted-accounts';

/**
 * A target that holds the primary account (its descriptor's role, carried in the plan); every other
 * target depends on it. A plan recorded before plans carried the role has none: then the kind
 * decides, as it did (`ad` was the only directory kind), so those histories replay identically.
 * Only data read from the plan changes here, no command, so no patch is needed.
 */
const isDirectory = (t: TargetPlan): boolean => (t.role !== undefined ? t.role === 'directory' : t.kind === 'ad');
/** How summaries name a target's permissions; the same fallback for plans without the noun. */
const permissionNoun = (t: TargetPlan): string => t.permissionNoun ?? (t.kind === 'ad' ? 'group' : 'permission');

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
export const RETRY_FAILED_AFTER_MS = 5 * 60_000;
/** After a step was refused on ownership grounds (e.g. a delete of an account enabled again by hand). */
export const RETRY_REFUSED_AFTER_MS = 24 * 60 * 60_000;
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
/**
 * Planning, the identity reservation and the announcement to the reports run in the worker that
 * runs the workflow, inside its workflow task: no activity task, no extra workflow task, three
 * history events fewer each (docs/temporal.md "Local activities"). They are short reads and one
 * vault transaction; the retry below gives up to the workflow task's own retry after a minute.
 */
const PLAN_LOCAL: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
};
const lifecycleLocal = proxyLocalActivities<LifecycleActivities>(PLAN_LOCAL);
const ANNOUNCE_LOCAL: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
};
const referencesLocal = proxyLocalActivities<ReferenceActivities>(ANNOUNCE_LOCAL);
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
const references = proxyActivities<ReferenceActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
/** Patch id: after creating accounts, the reports' workflows are told (references converge). */
const ANNOUNCE_ACCOUNTS = 'announce-new-accounts-to-reports';
/**
 * Patch id: the manager gets one mail per event (accounts ready, accounts disabled) listing every
 * target of the pass, sent at the end of the pass, instead of one mail per target as it happened.
 */
export const ONE_MAIL_PER_EVENT = 'one-mail-per-event';
/**
 * Patch id: one reconcileAccount activity per target per pass (create or update, grants, revokes,
 * enable or disable, one-off grants) instead of one activity per action. Histories from before
 * replay the single actions below.
 */
export const RECONCILE_STEP = 'reconcile-account-step';
/**
 * Patch id: planPerson, reserveIdentity and announceAccount run as local activities. Histories
 * from before schedule them as activities and replay that way.
 */
export const LOCAL_BOOKKEEPING = 'local-planning-and-reservation';
/**
 * Patch id: the search attributes are upserted only when one of them changed (a pass that changes
 * nothing adds no history event). Histories from before upsert on every pass.
 */
export const PUBLISH_CHANGED_ONLY = 'upsert-search-attributes-when-changed';
/**
 * Patch id: an account records the snapshot hash the pass built its desired attributes from.
 * Before, it recorded the workflow's hash after the step, so a change signalled while the step ran
 * (a name changed in HR while the account was being created) counted as written and never reached
 * the target. Histories from before record the hash after the step, as they did.
 */
export const HASH_OF_THE_PASS = 'record-the-hash-the-pass-built-from';
/**
 * Every patch a pass may ask for after its first local activity. Under load the SDK can close the
 * workflow task right after a local activity's marker and run the rest of the pass in the next
 * task. A patch asked for the first time there is not yet announced when that code replays, so
 * the replay takes the old branch and then meets the patch marker: a nondeterminism error that
 * leaves the workflow stuck (seen in CI after a worker restart). Asking for them all before the
 * first local activity puts their markers ahead of it. Histories recorded before local activities
 * never get here (`local` is false for them).
 */
const PATCHES_ASKED_BEFORE_LOCAL_ACTIVITIES = [
  WITHDRAWN_KEEPS_ADOPTED,
  GUARDED_DELETION,
  RECONCILE_STEP,
  ONE_MAIL_PER_EVENT,
  ANNOUNCE_ACCOUNTS,
  PUBLISH_CHANGED_ONLY,
];

/** Brings every target in line with the plan for `now`. Returns what it did. */
export async function reconcile(
  s: EmployeeState,
  trigger: string,
  fullCheck: boolean,
  lane?: Lane,
): Promise<TakenAction[]> {
  s.lastCause = trigger;
  const taken: TakenAction[] = [];
  if (!s.person) return taken;
  const person = s.person;
  // What this pass builds from; a change signalled while it runs is the next pass's.
  const passHash = s.contentHash;
  const local = patched(LOCAL_BOOKKEEPING);
  if (local) for (const id of PATCHES_ASKED_BEFORE_LOCAL_ACTIVITIES) patched(id);
  // Asked here, before the first local activity, in every shape of the pass.
  const holdPassHash = patched(HASH_OF_THE_PASS);
  const hashOfPass = (): string | undefined => (holdPassHash ? passHash : s.contentHash);
  const planSummary = 'evaluate rules and lifecycle moments';
  const plan: PersonPlan = local
    ? await lifecycleLocal.planPerson.executeWithOptions({ ...PLAN_LOCAL, summary: planSummary }, [
        { person, now: Date.now() },
      ])
    : await lifecycle.planPerson.executeWithOptions({ ...PLAN, summary: planSummary }, [{ person }]);
  s.plan = plan;
  const now = Date.now();
  s.plannedAt = now;
  // Every change below is audited with what triggered it and the rules version that decided it.
  const cause = `${trigger}; rules ${plan.ruleSetVersion}`;

  const note = (target: string, out: AccountOutcome) => {
    for (const l of out.lines) taken.push({ target, action: l.action, outcome: l.outcome, detail: l.message });
  };

  // Withdrawn before start: delete what Tenure pre-created, then the run is over. An adopted
  // account is not Tenure's to delete on a withdrawal: it is disabled and follows the retention.
  if (!plan.employed) {
    const wasEnabled = Object.values(s.accounts).some((a) => a.everEnabled);
    if (!wasEnabled) {
      for (const [target, acct] of Object.entries(s.accounts)) {
        const t = plan.targets.find((x) => x.targetId === target);
        if (acct.origin === 'adopted' && patched(WITHDRAWN_KEEPS_ADOPTED)) {
          await retireAdopted(s, target, acct, t, cause, now, note);
          continue;
        }
        await guarded(s, target, 'deleteAccount', async () => {
          note(
            target,
            await targetActivities(target).deleteAccount.executeWithOptions(
              { ...targetOptions(target), summary: `${target}: delete pre-created account (hire withdrawn)` },
              [
                {
                  target,
                  personKey: s.personKey,
                  cause,
                  account: acct.ref,
                  reason: 'withdrawn',
                  employeeId: plan.account.employeeId,
                },
              ],
            ),
          );
          delete s.accounts[target];
        });
      }
      if (Object.keys(s.accounts).length === 0) s.lifecycle = 'rescinded';
      return taken;
    }
  }

  const identityNeeded = plan.targets.some((t) => t.wantsAccount || s.accounts[t.targetId]);
  if (identityNeeded && (!s.identity || s.identityFor !== hashOfPass())) {
    const reserveSummary = 'reserve username and e-mail';
    const reservation = [{ personKey: s.personKey, person, current: s.identity }] as const;
    const identity = local
      ? await lifecycleLocal.reserveIdentity.executeWithOptions({ ...PLAN_LOCAL, summary: reserveSummary }, [
          ...reservation,
        ])
      : await lifecycle.reserveIdentity.executeWithOptions({ ...PLAN, summary: reserveSummary }, [...reservation]);
    s.identity = identity;
    s.identityFor = hashOfPass();
  }

  const phases: TargetPhase[] = [];
  const created: string[] = [];
  // One mail per event: the targets enabled (or disabled at the leave) in this pass.
  const mailed: Record<MailKind, TargetPlan[]> = { accountReady: [], leaverDisabled: [] };
  // Taken now: a manager's account announced while this pass runs makes the next pass write it.
  const refresh = s.refreshReferences === true;
  s.refreshReferences = false;
  // The directory first (it fixes username and e-mail), then the targets that depend on it side
  // by side, so one that keeps failing does not hold up the others.
  const directory = plan.targets.filter(isDirectory);
  const dependents = plan.targets.filter((t) => !isDirectory(t));
  for (const t of directory) await reconcileTarget(t);
  await Promise.all(dependents.map((t) => reconcileTarget(t)));

  async function reconcileTarget(t: TargetPlan): Promise<void> {
    const acct = s.accounts[t.targetId];
    let phase = phaseAt(t, now);
    // The HR dates say delete; the account is deleted only once Tenure's own disable moment plus
    // the retention has passed (an end date typed long in the past disables now, deletes later).
    if (phase === 'deleted' && acct && !deletionDue(acct, t, now) && patched(GUARDED_DELETION)) phase = 'leaver';
    const call = { target: t.targetId, personKey: s.personKey, cause };
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
      if (phase !== 'deleted' && patched(RECONCILE_STEP)) return reconcileStep(t, phase, acct, desired);
      if (phase === 'deleted') {
        if (acct)
          note(
            t.targetId,
            await targetActivities(t.targetId).deleteAccount.executeWithOptions(
              { ...targetOptions(t.targetId), summary: `${t.targetId}: delete account (retention ended)` },
              [
                {
                  ...call,
                  account: acct.ref,
                  reason: 'retention',
                  employeeId: plan.account.employeeId,
                  retentionMs: acct.disabledAt !== undefined ? retentionOf(t) : undefined,
                },
              ],
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
          enabled: out.enabled ?? false,
          everEnabled: false,
          permissions: [],
          attributesHash: hashOfPass(),
          origin: out.origin,
        };
        created.push(t.targetId);
        if (out.adoptedNames && isDirectory(t)) {
          // An adopted directory account keeps its login names; they are the person's identity from
          // now on (an adopted account elsewhere keeps its own names but does not set the identity).
          s.identity = { ...out.adoptedNames, aliases: s.identity?.aliases ?? [], adopted: true };
          s.identityFor = hashOfPass();
        }
      } else if (
        current.attributesHash !== hashOfPass() ||
        current.identityEmail !== s.identity!.email ||
        fullCheck ||
        refresh
      ) {
        const out = await targetActivities(t.targetId).updateAccount.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: update changed attributes` },
          [{ ...call, account: current.ref, desired }],
        );
        note(t.targetId, out);
        if (out.account) current.ref = out.account;
      }
      current.attributesHash = hashOfPass();
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
            [{ ...call, cause: `${cause}; no rule grants ${name} any more`, account: current.ref, permission: name }],
          ),
        );
        current.permissions = current.permissions.filter((p) => p !== name);
      }

      if (wantEnabled && (!current.enabled || fullCheck)) {
        const changed = await targetActivities(t.targetId).enableAccount.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: enable account` },
          [{ ...call, account: current.ref, employee: dayOneEmployee(plan, s.identity!) }],
        );
        note(t.targetId, changed);
        // A day-one password that could not be delivered shows in the health; the account is enabled.
        if (changed.dayOnePassword?.outcome === 'failed')
          s.lastError = {
            at: new Date().toISOString(),
            target: 'mail',
            action: 'dayOnePassword',
            message: changed.dayOnePassword.message,
          };
        if (changed.account) current.ref = changed.account; // moved into or out of the disabled OU
        current.enabled = true;
        current.everEnabled = true;
        current.disabledAt = undefined;
        current.deleteNotBefore = undefined;
        if (patched(ONE_MAIL_PER_EVENT)) mailed.accountReady.push(t);
        else await notifyOnce(s, [`accountReady:${t.targetId}:${plan.startDate}`], 'accountReady', plan, taken);
      } else if (
        !wantEnabled &&
        (current.enabled ||
          (fullCheck && phase === 'leaver') ||
          // Disabled before Tenure kept its own disable moment: disable again (unchanged in the
          // target) so the moment is recorded and the retention counts from now.
          (phase === 'leaver' && current.disabledAt === undefined && patched(GUARDED_DELETION)))
      ) {
        const changed = await targetActivities(t.targetId).disableAccount.executeWithOptions(
          { ...targetOptions(t.targetId), summary: `${t.targetId}: disable account` },
          [{ ...call, account: current.ref }],
        );
        note(t.targetId, changed);
        if (changed.account) current.ref = changed.account; // moved into or out of the disabled OU
        current.enabled = false;
        markDisabled(current, t, Date.now());
        if (phase === 'leaver') {
          if (patched(ONE_MAIL_PER_EVENT)) mailed.leaverDisabled.push(t);
          else await notifyOnce(s, [`leaverDisabled:${t.targetId}:${plan.endDate}`], 'leaverDisabled', plan, taken);
        }
      }

      // An adopted account found enabled and wanted enabled: the person has started.
      if (wantEnabled && current.enabled) current.everEnabled = true;

      // One-off grants at the employment's start and end (e.g. TOPdesk tickets), once per event.
      const event =
        phase === 'active' && current.enabled && plan.startDate
          ? { names: t.onStart, key: plan.startDate, what: 'start' }
          : phase === 'leaver' && !current.enabled && plan.endDate
            ? { names: t.onLeave, key: plan.endDate, what: 'leave' }
            : undefined;
      for (const name of event?.names ?? []) {
        const marker = `event:${t.targetId}:${name}:${event!.key}`;
        if (s.events.includes(marker)) continue;
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
        s.events.push(marker);
      }
    });
  }

  /** The patched shape: the whole change to one target's account in one activity. */
  async function reconcileStep(
    t: TargetPlan,
    phase: TargetPhase,
    acct: AccountState | undefined,
    desired: ReconcileAccountCall['desired'],
  ): Promise<void> {
    const wantEnabled = phase === 'active' && t.wantsAccess;
    const wanted = phase === 'active' || phase === 'prehire' ? t.permissions : [];
    const update =
      acct !== undefined &&
      (acct.attributesHash !== hashOfPass() || acct.identityEmail !== s.identity!.email || fullCheck || refresh);
    const enabled = acct?.enabled ?? false;
    // Disabled before Tenure kept its own disable moment: disable again (unchanged in the target)
    // so the moment is recorded and the retention counts from now.
    const disableAnyway =
      acct !== undefined &&
      !wantEnabled &&
      !enabled &&
      ((fullCheck && phase === 'leaver') ||
        (phase === 'leaver' && acct.disabledAt === undefined && patched(GUARDED_DELETION)));
    // One-off grants at the employment's start and end (e.g. TOPdesk tickets), once per event. The
    // account ends the step enabled exactly when it is wanted enabled.
    const event =
      phase === 'active' && wantEnabled && plan.startDate
        ? { names: t.onStart, key: plan.startDate, what: 'start' }
        : phase === 'leaver' && !wantEnabled && plan.endDate
          ? { names: t.onLeave, key: plan.endDate, what: 'leave' }
          : undefined;
    const oneOff = (event?.names ?? [])
      .map((name) => ({ name, marker: `event:${t.targetId}:${name}:${event!.key}` }))
      .filter((e) => !s.events.includes(e.marker));
    const held = acct?.permissions ?? [];
    const grants = wanted.filter((p) => !held.includes(p.name));
    const revokes = held.filter((p) => !wanted.some((w) => w.name === p));
    const enable = wantEnabled && (!enabled || fullCheck);
    const disable = !wantEnabled && (enabled || disableAnyway);
    if (acct && !update && !fullCheck && !grants.length && !revokes.length && !enable && !disable && !oneOff.length) {
      // An adopted account found enabled and wanted enabled: the person has started.
      if (wantEnabled && acct.enabled) acct.everEnabled = true;
      return;
    }
    const call: ReconcileAccountCall = {
      target: t.targetId,
      personKey: s.personKey,
      cause,
      account: acct?.ref,
      desired,
      update,
      held,
      enabled,
      fullCheck,
      permissions: wanted.map((p) => ({
        name: p.name,
        createIfMissing: p.dynamic,
        cause: `${cause}; ${reasonText(p.reasons[0])}`,
      })),
      enable: wantEnabled,
      disableAnyway,
      oneOff: oneOff.map((e) => ({
        name: `${e.name}:${event!.key}`,
        createIfMissing: false,
        cause: `${cause}; employment ${event!.what} ${event!.key}`,
      })),
      employee: dayOneEmployee(plan, s.identity!),
    };
    const out: ReconcileAccountResult = await targetActivities(t.targetId).reconcileAccount.executeWithOptions(
      {
        ...targetOptions(t.targetId),
        // Unset: the workflow's own priority (bulk for a person an initial load started).
        ...(lane ? { priority: { priorityKey: LANE_PRIORITY[lane] } } : {}),
        summary: stepSummary(t, { acct, update, fullCheck, grants, revokes, enable, disable, oneOff }),
      },
      [call],
    );
    note(t.targetId, out);
    let current = acct;
    if (!current) {
      current = s.accounts[t.targetId] = {
        ref: out.account,
        enabled: out.enabled,
        everEnabled: false,
        permissions: [],
        attributesHash: hashOfPass(),
        origin: out.origin,
      };
      created.push(t.targetId);
      if (out.adoptedNames && isDirectory(t)) {
        // An adopted directory account keeps its login names (see the single-action path above).
        s.identity = { ...out.adoptedNames, aliases: s.identity?.aliases ?? [], adopted: true };
        s.identityFor = hashOfPass();
      }
    }
    current.ref = out.account;
    current.enabled = out.enabled;
    current.permissions = out.permissions;
    current.attributesHash = hashOfPass();
    current.identityEmail = s.identity!.email;
    if (out.enabledNow) {
      current.everEnabled = true;
      current.disabledAt = undefined;
      current.deleteNotBefore = undefined;
    } else if (out.disabledNow) markDisabled(current, t, Date.now());
    if (wantEnabled && current.enabled) current.everEnabled = true;
    for (const e of oneOff) if (out.oneOffDone.includes(`${e.name}:${event!.key}`)) s.events.push(e.marker);
    // A day-one password that could not be delivered shows in the health; the account is enabled.
    if (out.dayOnePassword?.outcome === 'failed')
      s.lastError = {
        at: new Date().toISOString(),
        target: 'mail',
        action: 'dayOnePassword',
        message: out.dayOnePassword.message,
      };
    if (out.enabledNow) {
      if (patched(ONE_MAIL_PER_EVENT)) mailed.accountReady.push(t);
      else await notifyOnce(s, [`accountReady:${t.targetId}:${plan.startDate}`], 'accountReady', plan, taken);
    } else if (out.disabledNow && phase === 'leaver') {
      if (patched(ONE_MAIL_PER_EVENT)) mailed.leaverDisabled.push(t);
      else await notifyOnce(s, [`leaverDisabled:${t.targetId}:${plan.endDate}`], 'leaverDisabled', plan, taken);
    }
    if (out.failure) {
      // Refused for good part-way (the account is held): shown like a failed single step.
      throw ApplicationFailure.create({ message: out.failure.message, type: out.failure.type, nonRetryable: true });
    }
  }

  for (const kind of ['accountReady', 'leaverDisabled'] as const) {
    // In the plan's order (the directory first), whatever order the dependents finished in.
    const targets = plan.targets.filter((t) => mailed[kind].includes(t));
    const day = kind === 'accountReady' ? plan.startDate : plan.endDate;
    // The per-target markers stay what they were, so a target mailed by an older run is not listed again.
    const fresh = targets.filter((t) => !s.notified.includes(`${kind}:${t.targetId}:${day}`));
    if (fresh.length === 0) continue;
    await notifyOnce(
      s,
      fresh.map((t) => `${kind}:${t.targetId}:${day}`),
      kind,
      plan,
      taken,
      fresh.map((t) => ({ target: t.targetId, kind: t.kind })),
    );
  }

  s.lifecycle = overallState(phases, s);
  if (created.length && patched(ANNOUNCE_ACCOUNTS)) await announce(s, created, taken);
  await writeBackIdentity(s, cause, taken);
  return taken;
}

/** Who a day-one password is for (activities/day-one-password.ts); the password itself is never here. */
function dayOneEmployee(plan: PersonPlan, id: NonNullable<EmployeeState['identity']>) {
  return {
    displayName: plan.displayName,
    username: id.username,
    userPrincipalName: id.userPrincipalName,
    managerKey: plan.managerKey,
    departmentCode: plan.departmentCode,
    startDate: plan.startDate,
  };
}

/** Tells the reports' workflows that this person's new accounts exist; never holds up the pass. */
async function announce(s: EmployeeState, targets: string[], taken: TakenAction[]): Promise<void> {
  try {
    const summary = 'tell the reports: account exists';
    const args = [{ personKey: s.personKey, targets }] as const;
    const told = patched(LOCAL_BOOKKEEPING)
      ? await referencesLocal.announceAccount.executeWithOptions({ ...ANNOUNCE_LOCAL, summary }, [...args])
      : await references.announceAccount.executeWithOptions(
          { startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 5 }, summary },
          [...args],
        );
    if (told) taken.push({ target: 'references', action: 'announce', outcome: 'success', detail: `${told} reports` });
  } catch (err) {
    log.warn('announcing the new account to the reports failed', { error: redactForLog(failureMessage(err)) });
  }
}

/** Last in the order: the generated username, UPN and e-mail go back to the HR source. */
async function writeBackIdentity(s: EmployeeState, cause: string, taken: TakenAction[]): Promise<void> {
  const id = s.identity;
  if (!id || Object.keys(s.accounts).length === 0 || s.lifecycle === 'leaver') return;
  const key = `${id.username}|${id.userPrincipalName}|${id.email}`;
  if (s.writtenBack === key) return;
  // A source that cannot take write-backs (a file export): no activity to find that out.
  if (s.plan?.sourceWritesBack === false && patched(RECONCILE_STEP)) {
    s.writtenBack = key;
    return;
  }
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

/** Notes Tenure's own disable moment (the first one) and when the retention from it ends. */
function markDisabled(acct: AccountState, t: TargetPlan | undefined, at: number): void {
  acct.disabledAt ??= at;
  if (t) acct.deleteNotBefore = acct.disabledAt + retentionOf(t);
}

/** A withdrawn hire's adopted account: disabled now, deleted after the retention from that moment. */
async function retireAdopted(
  s: EmployeeState,
  target: string,
  acct: AccountState,
  t: TargetPlan | undefined,
  cause: string,
  now: number,
  note: (target: string, out: AccountOutcome) => void,
): Promise<void> {
  const call = { target, personKey: s.personKey, cause };
  await guarded(s, target, 'disableAccount', async () => {
    if (acct.enabled || acct.disabledAt === undefined) {
      const out = await targetActivities(target).disableAccount.executeWithOptions(
        { ...targetOptions(target), summary: `${target}: disable adopted account (hire withdrawn)` },
        [{ ...call, account: acct.ref }],
      );
      note(target, out);
      if (out.account) acct.ref = out.account;
      acct.enabled = false;
      markDisabled(acct, t, Date.now());
      return;
    }
    if (t && deletionDue(acct, t, now)) {
      note(
        target,
        await targetActivities(target).deleteAccount.executeWithOptions(
          { ...targetOptions(target), summary: `${target}: delete adopted account (retention ended)` },
          [
            {
              ...call,
              account: acct.ref,
              reason: 'retention',
              employeeId: s.plan?.account.employeeId,
              retentionMs: retentionOf(t),
            },
          ],
        ),
      );
      delete s.accounts[target];
    }
  });
}

/** The reconcile step as the Temporal UI shows it, e.g. `ad: create, grant 2 groups, enable`. */
function stepSummary(
  t: TargetPlan,
  step: {
    acct: AccountState | undefined;
    update: boolean;
    fullCheck: boolean;
    grants: unknown[];
    revokes: unknown[];
    enable: boolean;
    disable: boolean;
    oneOff: { name: string }[];
  },
): string {
  const what = (n: number) => `${n} ${permissionNoun(t)}${n === 1 ? '' : 's'}`;
  const parts: string[] = [];
  if (!step.acct) parts.push('create');
  else if (step.update) parts.push('update');
  if (step.fullCheck) parts.push('full check');
  if (step.grants.length) parts.push(`grant ${what(step.grants.length)}`);
  if (step.revokes.length) parts.push(`revoke ${what(step.revokes.length)}`);
  if (step.enable) parts.push('enable');
  if (step.disable) parts.push('disable');
  for (const e of step.oneOff) parts.push(e.name);
  return `${t.targetId}: ${parts.join(', ') || 'check'}`;
}

function reasonText(r: { rule: string; ruleSetVersion: string; contractId?: string } | undefined): string {
  return r ? `rule "${r.rule}" (${r.ruleSetVersion})${r.contractId ? ` for contract ${r.contractId}` : ''}` : 'rule';
}

function overallState(phases: TargetPhase[], s: EmployeeState): EmployeeState['lifecycle'] {
  if (phases.length === 0 || phases.every((p) => p === 'none'))
    return Object.keys(s.accounts).length ? s.lifecycle : 'pending';
  if (phases.every((p) => p === 'deleted' || p === 'none') && Object.keys(s.accounts).length === 0) return 'deleted';
  const order: TargetPhase[] = ['active', 'prehire', 'leaver', 'pending', 'deleted', 'none'];
  for (const p of order) if (phases.includes(p)) return p === 'none' ? 'pending' : p;
  return 'pending';
}

type MailKind = 'accountReady' | 'leaverDisabled';

/**
 * Mails the manager once for the event the markers stand for (one marker per target). Without
 * `accounts`: the per-target mail of histories from before ONE_MAIL_PER_EVENT.
 */
async function notifyOnce(
  s: EmployeeState,
  keys: string[],
  kind: MailKind,
  plan: PersonPlan,
  taken: TakenAction[],
  accounts?: { target: string; kind: string }[],
): Promise<void> {
  if (keys.every((k) => s.notified.includes(k))) return;
  for (const k of keys) if (!s.notified.includes(k)) s.notified.push(k);
  // Only news is mailed: at go-live, staff who started (or left) long ago are not announced.
  const day = kind === 'accountReady' ? plan.startDate : plan.endDate;
  if (day && day < addDays(todayOf(s, Date.now()), -NOTIFY_WITHIN_DAYS)) {
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
          idempotencyKey: `${s.personKey}:${keys.join('+')}`,
          cause: s.lastCause ?? '',
          ...(accounts ? { accounts } : {}),
        },
      ],
    );
    taken.push({
      target: 'mail',
      action: 'notifyManager',
      outcome: 'success',
      detail: accounts ? `${kind}: ${accounts.map((a) => a.target).join(', ')}` : kind,
    });
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
export async function guarded(
  s: EmployeeState,
  target: string,
  action: string,
  step: () => Promise<void>,
): Promise<void> {
  try {
    await step();
    if (s.lastError?.target === target) s.lastError = undefined;
  } catch (err) {
    if (!(err instanceof ActivityFailure) && !(err instanceof ApplicationFailure)) throw err;
    s.lastError = { at: new Date().toISOString(), target, action, message: failureMessage(err) };
    // A step refused because the account is not (or no longer) Tenure's to change is not a
    // passing fault: it is looked at again a day later (or on a change or reprovision), not every few minutes.
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === 'NotTenuresAccount') s.lastError.refused = true;
    log.warn('target step failed', { target, action, error: redactForLog(s.lastError.message) });
  }
}

export function failureMessage(err: unknown): string {
  const e = err as { cause?: { message?: string }; message?: string };
  return e.cause?.message ?? e.message ?? String(err);
}
