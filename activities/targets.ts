/**
 * Target activities: one per connector action, the same for every target. Each correlates
 * first (so a retry after a timeout never makes a second account), calls the connector, and
 * writes what it did to the audit log with its cause, workflow id and run id.
 *
 * Ownership (docs/ownership.md): every modify, disable and delete is checked against Tenure's own
 * record (vault/accounts.ts) of the account it created or adopted for this person; a correlated
 * account Tenure did not create is adopted only when the target's settings allow it; a delete reads
 * the account again and goes ahead only when it is still disabled and still this person's.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import type { Contract, PersonName } from '../domain/model.js';
import type {
  AccountReference,
  ActionResult,
  AuditEntry,
  DesiredAccount,
  KnownAccount,
  TargetAction,
  TargetConnector,
} from '../connectors/types.js';
import { DEFAULT_OWNERSHIP, type OwnershipSettings } from '../connectors/ownership.js';
import { TARGET_DESCRIPTORS } from '../connectors/targets/descriptors.js';
import { existingAccount, reservationsOf, type ExistingAccount } from './existing-account.js';
import { appendAudit } from '../vault/audit.js';
import {
  grantsOf,
  ownedAccount,
  ownerOf,
  recordCreating,
  recordDeleted,
  recordDisabled,
  recordEnabled,
  recordGrant,
  recordOwned,
  recordRevoke,
} from '../vault/accounts.js';
import { reserve } from '../vault/identities.js';
import { reconcileAccountStep, type ReconcileAccountCall, type StepKit } from './reconcile-account.js';
import type { MailTemplates } from '../alerts/mail-templates.js';
import { deliverDayOnePassword, type DayOneEmployee, type DayOnePasswordSettings } from './day-one-password.js';
import type { MailSender } from './notify.js';

export interface TargetCall {
  target: string;
  personKey: string;
  /** Why: the source change, timer or admin request that led here. */
  cause: string;
}

/**
 * What the engine hands every target: the common attributes, the manager's employee number (each
 * target resolves it to its own reference), and the contracts and name parts for targets that
 * need more than the primary contract (Spend Cloud keeps one role per active contract).
 */
export type ManagedAccount = DesiredAccount & {
  managerEmployeeId?: string;
  contracts?: Contract[];
  name?: PersonName;
  /**
   * Per target id, the contracts the rules select for that target: the contracts of the rules that
   * give it the account (HelloID's "contracts in conditions"). A target that keeps a row per
   * contract (Spend Cloud roles) writes only these. Absent in plans made before it existed.
   */
  selectedContracts?: Record<string, string[]>;
};

export interface TargetDeps {
  pool: pg.Pool;
  targets: Map<string, TargetConnector>;
  /** Per target id: adoption and revoke scope (default: no adoption, revoke only what Tenure granted). */
  ownership?: Map<string, OwnershipSettings & { kind?: string }>;
  /** Day-one passwords (activities/day-one-password.ts): per target id its settings, and the mail to send them by. */
  dayOnePassword?: { settings: Map<string, DayOnePasswordSettings>; mailer: MailSender; templates: MailTemplates };
}

export interface AccountOutcome {
  account: AccountReference | null;
  /** One line per audit entry, for the reprovision result. */
  lines: { action: string; outcome: string; message: string }[];
  /** An adopted account's enabled state as found (createAccount only; a created account is disabled). */
  enabled?: boolean;
  /** What became of the day-one password (enableAccount only, when it applied). */
  dayOnePassword?: { outcome: 'success' | 'unchanged' | 'failed'; message: string };
  /** How Tenure came to hold the account (createAccount only). */
  origin?: 'created' | 'adopted';
  /** An adopted account's own login names, now reserved for the person (createAccount only). */
  adoptedNames?: { username: string; userPrincipalName: string; email: string };
  /** The connector added the account in this call (not found from an earlier attempt, not adopted). */
  createdNow?: boolean;
}

/** Where a step's audit entries go: straight to the log, or into one batch written at the end of a reconcile step. */
export type AuditSink = (call: TargetCall, entries: AuditEntry[]) => Promise<void>;

/** Why a delete goes ahead: the retention ended after Tenure disabled it, or a hire was withdrawn. */
export type DeleteReason = 'retention' | 'withdrawn';

export function createTargetActivities(deps: TargetDeps) {
  const settingsOf = (id: string) => deps.ownership?.get(id) ?? DEFAULT_OWNERSHIP;
  const connector = (id: string): TargetConnector => {
    const c = deps.targets.get(id);
    if (!c)
      throw ApplicationFailure.nonRetryable(`target '${id}' is not configured in this worker`, 'TargetNotConfigured');
    return c;
  };

  const rowsOf = (call: TargetCall, entries: AuditEntry[]) => {
    const info = Context.current().info.workflowExecution;
    return entries.map((e) => ({
      personKey: call.personKey,
      target: call.target,
      action: e.action,
      outcome: e.outcome,
      cause: call.cause,
      workflowId: info?.workflowId,
      runId: info?.runId,
      message: e.message,
      details: e.details,
    }));
  };
  async function record(call: TargetCall, entries: AuditEntry[]): Promise<void> {
    await appendAudit(deps.pool, rowsOf(call, entries));
  }

  /** Collects a reconcile step's audit entries (each with its own cause) for one multi-row insert. */
  function auditBatch() {
    const rows: ReturnType<typeof rowsOf> = [];
    return {
      sink: (async (call, entries) => {
        rows.push(...rowsOf(call, entries));
      }) as AuditSink,
      flush: async () => {
        await appendAudit(deps.pool, rows.splice(0));
      },
    };
  }

  /** Runs a connector action, turning permanent rejections into non-retryable failures. */
  async function run(
    call: TargetCall,
    name: TargetAction,
    action: () => Promise<ActionResult>,
    sink: AuditSink = record,
  ): Promise<AccountOutcome> {
    let result: ActionResult;
    try {
      result = await action();
    } catch (err) {
      const e = err as Error & { type?: string };
      if (e.name === 'TargetRejected' || e.type === 'TargetRejected') {
        await sink(call, [{ target: call.target, action: name, outcome: 'failed', message: e.message }]).catch(
          () => undefined,
        );
        throw ApplicationFailure.nonRetryable(e.message, 'TargetRejected');
      }
      throw err;
    }
    await sink(call, result.audit);
    const out: AccountOutcome = {
      account: result.account,
      lines: result.audit.map((a) => ({ action: a.action, outcome: a.outcome, message: a.message })),
    };
    if (result.enabled !== undefined) out.enabled = result.enabled;
    return out;
  }

  /** Audits a refusal and fails the step for good: nothing was changed in the target. */
  async function refuse(
    call: TargetCall,
    action: TargetAction,
    message: string,
    sink: AuditSink = record,
  ): Promise<never> {
    await sink(call, [{ target: call.target, action, outcome: 'failed', message }]);
    throw ApplicationFailure.nonRetryable(message, 'NotTenuresAccount');
  }

  /**
   * The account is the one Tenure's record holds for this person. Accounts from before the record
   * existed are taken into it from the workflow's own state (which only ever held accounts Tenure
   * created or correlated); an account recorded for someone else, or another account than the
   * one recorded, is refused.
   */
  async function assertOwned(
    call: TargetCall & { account: AccountReference },
    action: TargetAction,
    sink: AuditSink = record,
  ) {
    const owner = await ownerOf(deps.pool, call.target, call.account.id);
    if (owner && owner.personKey !== call.personKey)
      return refuse(call, action, `${action}: account ${call.account.id} is recorded for another person`, sink);
    const own = await ownedAccount(deps.pool, call.target, call.personKey);
    if (!own || own.deletedAt || (own.origin === 'creating' && !own.accountId)) {
      await recordOwned(deps.pool, call.target, call.personKey, 'created', call.account);
      return (await ownedAccount(deps.pool, call.target, call.personKey))!;
    }
    if (own.accountId !== call.account.id)
      return refuse(
        call,
        action,
        `${action}: account ${call.account.id} is not the account Tenure recorded for this person (${own.accountId})`,
        sink,
      );
    return own;
  }

  async function resolveManager(target: TargetConnector, desired: ManagedAccount): Promise<DesiredAccount> {
    const { managerEmployeeId, ...rest } = desired;
    if (!managerEmployeeId || managerEmployeeId === desired.employeeId) return rest;
    const manager = await target.correlate(managerEmployeeId);
    return manager ? { ...rest, managerLocator: manager.locator } : rest;
  }

  /** The account as it is now (correlated by employee id), or null. */
  async function current(call: TargetCall & { employeeId: string }): Promise<AccountReference | null> {
    return connector(call.target).correlate(call.employeeId);
  }

  /**
   * Takes over an existing in-scope account for the person (the target allows it; existingAccount
   * decided). Its login names are reserved for the person, whether they are kept or replaced by the
   * generated ones (`ownership.renameAdopted`).
   */
  async function adopt(
    call: TargetCall,
    c: TargetConnector,
    found: Extract<ExistingAccount, { kind: 'adopt' }>,
    desired: DesiredAccount,
    sink: AuditSink = record,
  ): Promise<AccountOutcome> {
    const names = found.names;
    const reserved = await reserve(deps.pool, call.personKey, [
      ...reservationsOf(found.found),
      ...(found.renamed ? reservationsOf(names) : []),
    ]);
    if (!reserved)
      return refuse(
        call,
        'create',
        "create account: the existing account's login names are reserved for another person",
        sink,
      );
    await recordOwned(deps.pool, call.target, call.personKey, 'adopted', found.account, found.enabled);
    const out = await run(
      call,
      'update',
      async () => {
        const updated = await c.update(found.account, { ...desired, ...names });
        return {
          account: updated.account ?? found.account,
          audit: [
            {
              target: call.target,
              action: 'correlate',
              outcome: 'success',
              message: found.renamed
                ? 'adopted an existing account in scope; it gets the generated login names (ownership.renameAdopted), its old ones stay reserved'
                : 'adopted an existing account in scope; its login names are kept',
              details: { adopted: true, renamed: found.renamed },
            },
            ...updated.audit,
          ],
        };
      },
      sink,
    );
    // Renamed: the generated names stay the person's identity; kept: the account's names become it.
    return { ...out, origin: 'adopted', adoptedNames: found.renamed ? undefined : names, enabled: found.enabled };
  }

  /**
   * Creates the account (disabled, or enabled in the same call when asked and the connector can),
   * or finds the one a timed-out earlier attempt created. An existing account that correlates
   * (inside the target's scope) and that Tenure did not create is adopted when the target allows
   * it, keeping its login names unless `renameAdopted`; otherwise the create is refused.
   */
  async function createOrAdopt(
    call: TargetCall,
    c: TargetConnector,
    desired: DesiredAccount,
    sink: AuditSink = record,
    options: { enabled?: boolean } = {},
  ): Promise<AccountOutcome> {
    const found = await existingAccount(
      { pool: deps.pool, connector: c, settings: settingsOf(call.target) },
      call,
      desired,
    );
    if (found.kind === 'refused') return refuse(call, 'create', found.why, sink);
    if (found.kind === 'adopt') return adopt(call, c, found, desired, sink);
    if (found.kind === 'none') await recordCreating(deps.pool, call.target, call.personKey);
    // The connector correlates first and finishes a create that got partly through (a worker
    // killed between the add and the password); a correlated account is then brought in line.
    // Nothing found just now: the connector need not look again before its add.
    let createdNow = false;
    const out = await run(
      call,
      'create',
      async () => {
        const created = await c.create(desired, found.kind === 'none' ? { absent: true, ...options } : {});
        if (!created.account || !created.audit.some((a) => a.action === 'correlate')) {
          createdNow = created.account !== null;
          return created;
        }
        const updated = await c.update(created.account, desired);
        return { account: updated.account ?? created.account, audit: [...created.audit, ...updated.audit] };
      },
      sink,
    );
    if (out.account)
      await recordOwned(deps.pool, call.target, call.personKey, 'created', out.account, out.enabled ?? false);
    return { ...out, origin: 'created', createdNow };
  }

  /**
   * The one way an account becomes enabled, for enableAccount and the reconcile step: the connector
   * enables it (unless the create already did, in the add), then Tenure records it. Anything to do
   * when an account is enabled (a day-one password) belongs here, so both paths get it.
   */
  async function enableOwned(
    call: TargetCall & { account: AccountReference; employee?: DayOneEmployee },
    c: TargetConnector,
    opts: { sink?: AuditSink; known?: KnownAccount; enabledByCreate?: boolean } = {},
  ): Promise<AccountOutcome> {
    // The first enable of an account Tenure created: its day-one password is set and mailed first.
    const day = deps.dayOnePassword;
    const dayOne = day
      ? await deliverDayOnePassword(
          {
            pool: deps.pool,
            mailer: day.mailer,
            templates: day.templates,
            settings: day.settings.get(call.target),
            kind: deps.ownership?.get(call.target)?.kind ?? call.target,
          },
          call,
          c,
        )
      : null;
    const out: AccountOutcome = opts.enabledByCreate
      ? { account: call.account, lines: [] }
      : await run(call, 'enable', () => c.enable(call.account, opts.known), opts.sink);
    await recordEnabled(deps.pool, call.target, call.personKey);
    if (!dayOne) return out;
    return {
      ...out,
      lines: [{ action: dayOne.action, outcome: dayOne.outcome, message: dayOne.message }, ...out.lines],
      dayOnePassword: { outcome: dayOne.outcome, message: dayOne.message },
    };
  }

  /** A day-one password is set at this target's first enable: the account is then not created enabled. */
  const dayOneOn = (target: string) => deps.dayOnePassword?.settings.get(target) !== undefined;

  /** The permissions a full check may revoke (see listPermissions below). */
  async function managedPermissions(call: TargetCall & { account: AccountReference }): Promise<string[]> {
    const held = await connector(call.target).listPermissions(call.account);
    const settings = settingsOf(call.target);
    const kind = deps.ownership?.get(call.target)?.kind;
    const scoped = kind !== undefined && TARGET_DESCRIPTORS.get(kind)?.listsOnlyManagedPermissions === true;
    if (scoped && settings.managedPermissions.length === 0) return held;
    const granted = new Set(await grantsOf(deps.pool, call.target, call.personKey));
    return held.filter((p) => granted.has(p) || settings.managedPermissions.includes(p));
  }

  const stepKit: StepKit = {
    pool: deps.pool,
    connector,
    auditBatch,
    run,
    assertOwned,
    resolveManager,
    createOrAdopt,
    enableOwned,
    dayOneOn,
    managedPermissions,
  };

  return {
    /**
     * Creates the account disabled, or finds the one a timed-out earlier attempt created. An
     * existing account that correlates (inside the target's scope) and that Tenure did not create is
     * adopted when the target allows it, keeping its login names unless `renameAdopted`; otherwise
     * the create is refused.
     */
    async createAccount(call: TargetCall & { desired: ManagedAccount }): Promise<AccountOutcome> {
      const c = connector(call.target);
      const { createdNow: _, ...out } = await createOrAdopt(call, c, await resolveManager(c, call.desired));
      return out;
    },

    /** Writes only the attributes that differ; renames and moves when the name or location changed. */
    async updateAccount(
      call: TargetCall & { account: AccountReference; desired: ManagedAccount },
    ): Promise<AccountOutcome> {
      const c = connector(call.target);
      await assertOwned(call, 'update');
      const desired = await resolveManager(c, call.desired);
      return run(call, 'update', () => c.update(call.account, desired));
    },

    /**
     * Enables the account. The first enable of an account Tenure created sets and mails its
     * day-one password first, when the target has that on (`employee` says who it is for).
     */
    async enableAccount(
      call: TargetCall & { account: AccountReference; employee?: DayOneEmployee },
    ): Promise<AccountOutcome> {
      await assertOwned(call, 'enable');
      return enableOwned(call, connector(call.target));
    },

    async disableAccount(call: TargetCall & { account: AccountReference }): Promise<AccountOutcome> {
      await assertOwned(call, 'disable');
      const out = await run(call, 'disable', () => connector(call.target).disable(call.account));
      await recordDisabled(deps.pool, call.target, call.personKey);
      return out;
    },

    /**
     * Deletes only an account Tenure holds for this person, and only when, read again now, it is
     * still disabled, still in scope and still carries the person's correlation value; for the
     * retention, no earlier than Tenure's own disable moment plus `retentionMs`; for a withdrawn
     * hire, only an account Tenure created and never enabled. Otherwise nothing is deleted.
     */
    async deleteAccount(
      call: TargetCall & {
        account: AccountReference;
        /** Absent in calls from workflows older than the guarded deletion: treated as retention. */
        reason?: DeleteReason;
        employeeId?: string;
        retentionMs?: number;
      },
    ): Promise<AccountOutcome> {
      const c = connector(call.target);
      const own = await assertOwned(call, 'delete');
      const reason = call.reason ?? 'retention';
      if (reason === 'withdrawn' && (own.origin !== 'created' || own.everEnabled))
        return refuse(
          call,
          'delete',
          'delete refused: a withdrawn hire deletes only accounts Tenure created and never enabled',
        );
      if (reason === 'retention' && call.retentionMs !== undefined) {
        if (!own.disabledAt)
          return refuse(call, 'delete', 'delete refused: Tenure has no record of disabling this account');
        const due = own.disabledAt.getTime() + call.retentionMs;
        if (Date.now() < due)
          return refuse(
            call,
            'delete',
            `delete refused: the retention runs until ${new Date(due).toISOString()} (from Tenure's disable moment)`,
          );
      }
      if (c.inspect) {
        const now = await c.inspect(call.account);
        if (now) {
          const problems: string[] = [];
          if (now.enabled) problems.push('the account is enabled again');
          if (!now.inScope) problems.push('the account is outside the target scope');
          if (call.employeeId !== undefined && now.correlationValue !== call.employeeId)
            problems.push("the account no longer carries this person's correlation value");
          if (problems.length) return refuse(call, 'delete', `delete refused: ${problems.join('; ')}`);
        }
      }
      const out = await run(call, 'delete', () => c.delete(call.account));
      await recordDeleted(deps.pool, call.target, call.personKey);
      return out;
    },

    async grantPermission(
      call: TargetCall & { account: AccountReference; permission: string; createIfMissing: boolean },
    ): Promise<AccountOutcome> {
      await assertOwned(call, 'grantPermission');
      const out = await run(call, 'grantPermission', () =>
        connector(call.target).grantPermission(call.account, {
          name: call.permission,
          createIfMissing: call.createIfMissing,
        }),
      );
      await recordGrant(deps.pool, call.target, call.personKey, call.permission);
      return out;
    },

    async revokePermission(
      call: TargetCall & { account: AccountReference; permission: string },
    ): Promise<AccountOutcome> {
      await assertOwned(call, 'revokePermission');
      const out = await run(call, 'revokePermission', () =>
        connector(call.target).revokePermission(call.account, { name: call.permission }),
      );
      await recordRevoke(deps.pool, call.target, call.personKey, call.permission);
      return out;
    },

    /**
     * The permissions the account holds now that a full check may revoke: what Tenure granted, and
     * the target's configured managed set; for AD without a configured set, every group in the
     * groups OU (the connector's own scope). Anything else (break-glass, approvers, products
     * requested by hand) is never listed, so never revoked.
     */
    async listPermissions(call: TargetCall & { account: AccountReference }): Promise<string[]> {
      return managedPermissions(call);
    },

    /**
     * One pass's whole change to one account in one activity (workflows/employee-reconcile.ts):
     * create or adopt, update, grants, revokes, enable or disable and one-off grants, with the
     * same ownership checks as the single actions and one audit insert (activities/reconcile-account.ts).
     */
    async reconcileAccount(call: ReconcileAccountCall) {
      return reconcileAccountStep(stepKit, call);
    },

    async findAccount(call: TargetCall & { employeeId: string }): Promise<AccountReference | null> {
      return current(call);
    },
  };
}

export type TargetActivities = ReturnType<typeof createTargetActivities>;
