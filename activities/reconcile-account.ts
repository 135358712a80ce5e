/**
 * The reconcile step: one activity per target per pass (workflows/employee-reconcile.ts) that
 * brings one person's account to the state the workflow wants: created (or adopted, or found
 * after a timed-out attempt), its attributes written, the wanted permissions granted and the
 * others revoked, enabled or disabled, and the one-off grants of a start or an end. It keeps every
 * ownership check of the single actions in activities/targets.ts (it is built from the same
 * functions), is idempotent (a retry correlates first and finds what an earlier attempt did), and
 * writes its audit entries in one insert at the end, also when it fails half-way.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import type {
  AccountReference,
  ActionResult,
  DesiredAccount,
  KnownAccount,
  TargetAction,
  TargetConnector,
} from '../connectors/types.js';
import { recordDisabled, recordGrant, recordRevoke, type OwnedAccount } from '../vault/accounts.js';
import type { AccountOutcome, AuditSink, ManagedAccount, TargetCall } from './targets.js';
import type { DayOneEmployee } from './day-one-password.js';

export interface WantedPermission {
  name: string;
  /** Create the permission when missing (dynamic department groups). */
  createIfMissing: boolean;
  /** The cause audited for this grant (the rule that grants it, or the employment event). */
  cause: string;
}

export interface ReconcileAccountCall extends TargetCall {
  /** The account the workflow holds; absent: create it (or adopt one, or find the one a timed-out attempt made). */
  account?: AccountReference;
  desired: ManagedAccount;
  /** Write the attributes of the held account (they changed, a full check, or references to refresh). */
  update: boolean;
  /** The permissions the workflow believes the account holds, and whether it is enabled now. */
  held: string[];
  enabled: boolean;
  /** Read the held permissions from the target first (a full check); only managed ones are revoked. */
  fullCheck: boolean;
  /** Every permission the account should hold; the others it holds are revoked (after the grants). */
  permissions: WantedPermission[];
  /** Enabled at the end of the step, or not. */
  enable: boolean;
  /** Disable even when the workflow believes it is disabled (a leaver's full check, no own disable moment yet). */
  disableAnyway: boolean;
  /** One-off grants of an employment start or end (e.g. TOPdesk tickets), after the enable or disable. */
  oneOff: WantedPermission[];
  /** Who the day-one password is for, when the account is enabled for the first time. */
  employee?: DayOneEmployee;
}

export interface ReconcileAccountResult {
  account: AccountReference;
  /** The step took the account into Tenure's hold (created, adopted, or found after a timed-out create). */
  created: boolean;
  origin?: 'created' | 'adopted';
  adoptedNames?: { username: string; userPrincipalName: string; email: string };
  enabled: boolean;
  /** This step enabled (or, for a created account, created it enabled) / disabled the account. */
  enabledNow: boolean;
  disabledNow: boolean;
  permissions: string[];
  /** What became of the day-one password, when the step enabled the account for the first time. */
  dayOnePassword?: AccountOutcome['dayOnePassword'];
  /** The one-off grants made (their names as asked), so each is asked for once. */
  oneOffDone: string[];
  /** One line per audit entry, in order. */
  lines: AccountOutcome['lines'];
  /**
   * A change refused for good after the account was held (a group that does not exist, an account
   * recorded for someone else): the state so far is returned so the workflow keeps the account.
   */
  failure?: { action: TargetAction; message: string; type: string };
}

/** What the step uses from activities/targets.ts: the very functions the single actions use. */
export interface StepKit {
  pool: pg.Pool;
  connector(id: string): TargetConnector;
  auditBatch(): { sink: AuditSink; flush(): Promise<void> };
  run(
    call: TargetCall,
    name: TargetAction,
    action: () => Promise<ActionResult>,
    sink?: AuditSink,
  ): Promise<AccountOutcome>;
  assertOwned(
    call: TargetCall & { account: AccountReference },
    action: TargetAction,
    sink?: AuditSink,
  ): Promise<OwnedAccount>;
  resolveManager(c: TargetConnector, desired: ManagedAccount): Promise<DesiredAccount>;
  createOrAdopt(
    call: TargetCall,
    c: TargetConnector,
    desired: DesiredAccount,
    sink?: AuditSink,
    options?: { enabled?: boolean },
  ): Promise<AccountOutcome>;
  enableOwned(
    call: TargetCall & { account: AccountReference; employee?: DayOneEmployee },
    c: TargetConnector,
    opts?: { sink?: AuditSink; known?: KnownAccount; enabledByCreate?: boolean },
  ): Promise<AccountOutcome>;
  managedPermissions(call: TargetCall & { account: AccountReference }): Promise<string[]>;
  /** The target sets a day-one password at the first enable (so the account is not created enabled). */
  dayOneOn(target: string): boolean;
}

/** The first change a step on a held account makes, for the refusal's wording. */
function firstAction(call: ReconcileAccountCall): TargetAction {
  if (call.update) return 'update';
  if (call.permissions.length || call.fullCheck) return 'grantPermission';
  return call.enable ? 'enable' : 'disable';
}

export async function reconcileAccountStep(kit: StepKit, call: ReconcileAccountCall): Promise<ReconcileAccountResult> {
  const c = kit.connector(call.target);
  const batch = kit.auditBatch();
  const lines: AccountOutcome['lines'] = [];
  const note = (out: AccountOutcome) => {
    lines.push(...out.lines);
    return out;
  };
  const base = { target: call.target, personKey: call.personKey, cause: call.cause };
  let ref: AccountReference | undefined = call.account;
  let enabled = call.enabled;
  let known: KnownAccount | undefined;
  let held: string[] = [...call.held];
  let stage: TargetAction = call.account ? firstAction(call) : 'create';
  const result: Partial<ReconcileAccountResult> = { created: false };
  const oneOffDone: string[] = [];
  const outcome = (account: AccountReference): ReconcileAccountResult => ({
    ...result,
    account,
    created: result.created === true,
    enabled,
    enabledNow: result.enabledNow === true,
    disabledNow: result.disabledNow === true,
    permissions: held,
    oneOffDone,
    lines,
  });
  try {
    if (!call.account) {
      const desired = await kit.resolveManager(c, call.desired);
      // Enabled in the create itself when wanted now, unless a day-one password comes first.
      const out = note(
        await kit.createOrAdopt(base, c, desired, batch.sink, { enabled: call.enable && !kit.dayOneOn(call.target) }),
      );
      if (!out.account) throw new Error(`create account in ${call.target}: the connector returned no account`);
      ref = out.account;
      held = [];
      enabled = out.enabled ?? false;
      Object.assign(result, { created: true, origin: out.origin, adoptedNames: out.adoptedNames });
      // Created by the connector just now: it knows where the account is and how it is set.
      if (out.createdNow) known = { createdNow: true, enabled };
      if (out.createdNow && enabled) {
        const on = note(
          await kit.enableOwned({ ...base, account: ref, employee: call.employee }, c, {
            sink: batch.sink,
            enabledByCreate: true,
          }),
        );
        result.enabledNow = true;
        if (on.dayOnePassword) result.dayOnePassword = on.dayOnePassword;
      }
    } else {
      ref = call.account;
      await kit.assertOwned({ ...base, account: ref }, stage, batch.sink);
      if (call.update) {
        const desired = await kit.resolveManager(c, call.desired);
        const account = ref;
        const out = note(await kit.run({ ...base }, 'update', () => c.update(account, desired), batch.sink));
        if (out.account) ref = out.account;
      }
    }

    if (call.fullCheck && !known) held = await kit.managedPermissions({ ...base, account: ref });
    // Mover: the new permissions before the old ones are revoked.
    stage = 'grantPermission';
    for (const p of call.permissions.filter((x) => !held.includes(x.name))) {
      const account = ref;
      note(
        await kit.run(
          { ...base, cause: p.cause },
          'grantPermission',
          () => c.grantPermission(account, { name: p.name, createIfMissing: p.createIfMissing }, known),
          batch.sink,
        ),
      );
      await recordGrant(kit.pool, call.target, call.personKey, p.name);
      held.push(p.name);
    }
    const wanted = new Set(call.permissions.map((p) => p.name));
    stage = 'revokePermission';
    for (const name of held.filter((x) => !wanted.has(x))) {
      const account = ref;
      note(
        await kit.run(
          { ...base, cause: `${call.cause}; no rule grants ${name} any more` },
          'revokePermission',
          () => c.revokePermission(account, { name }),
          batch.sink,
        ),
      );
      await recordRevoke(kit.pool, call.target, call.personKey, name);
      held.splice(held.indexOf(name), 1);
    }

    stage = call.enable ? 'enable' : 'disable';
    if (call.enable && (!enabled || (call.fullCheck && !result.enabledNow))) {
      const out = note(
        await kit.enableOwned({ ...base, account: ref, employee: call.employee }, c, { sink: batch.sink, known }),
      );
      if (out.account) ref = out.account; // moved out of the disabled OU
      if (out.dayOnePassword) result.dayOnePassword = out.dayOnePassword;
      enabled = true;
      result.enabledNow = true;
    } else if (!call.enable && (enabled || call.disableAnyway)) {
      const account = ref;
      const out = note(await kit.run(base, 'disable', () => c.disable(account), batch.sink));
      await recordDisabled(kit.pool, call.target, call.personKey);
      if (out.account) ref = out.account; // moved into the disabled OU
      enabled = false;
      result.disabledNow = true;
    }

    stage = 'grantPermission';
    for (const p of call.oneOff) {
      const account = ref;
      note(
        await kit.run(
          { ...base, cause: p.cause },
          'grantPermission',
          () => c.grantPermission(account, { name: p.name, createIfMissing: p.createIfMissing }, known),
          batch.sink,
        ),
      );
      await recordGrant(kit.pool, call.target, call.personKey, p.name);
      oneOffDone.push(p.name);
    }
    await batch.flush();
    return outcome(ref);
  } catch (err) {
    // What was done before the failure is audited all the same.
    await batch.flush().catch(() => undefined);
    // Refused for good once the account is held: the workflow keeps what was done and shows the refusal.
    if (ref && err instanceof ApplicationFailure && err.nonRetryable && stage !== 'create')
      return { ...outcome(ref), failure: { action: stage, message: err.message, type: err.type ?? 'TargetRejected' } };
    throw err;
  }
}
