/**
 * Target activities: one per connector action, the same for every target. Each correlates
 * first (so a retry after a timeout never makes a second account), calls the connector, and
 * writes what it did to the audit log with its cause, workflow id and run id.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import type { Contract, PersonName } from '../domain/model.js';
import type {
  AccountReference,
  ActionResult,
  AuditEntry,
  DesiredAccount,
  TargetAction,
  TargetConnector,
} from '../connectors/types.js';
import { appendAudit } from '../vault/audit.js';

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
};

export interface TargetDeps {
  pool: pg.Pool;
  targets: Map<string, TargetConnector>;
}

export interface AccountOutcome {
  account: AccountReference | null;
  /** One line per audit entry, for the reprovision result. */
  lines: { action: string; outcome: string; message: string }[];
}

export function createTargetActivities(deps: TargetDeps) {
  const connector = (id: string): TargetConnector => {
    const c = deps.targets.get(id);
    if (!c)
      throw ApplicationFailure.nonRetryable(`target '${id}' is not configured in this worker`, 'TargetNotConfigured');
    return c;
  };

  async function record(call: TargetCall, entries: AuditEntry[]): Promise<void> {
    const info = Context.current().info.workflowExecution;
    await appendAudit(
      deps.pool,
      entries.map((e) => ({
        personKey: call.personKey,
        target: call.target,
        action: e.action,
        outcome: e.outcome,
        cause: call.cause,
        workflowId: info?.workflowId,
        runId: info?.runId,
        message: e.message,
        details: e.details,
      })),
    );
  }

  /** Runs a connector action, turning permanent rejections into non-retryable failures. */
  async function run(
    call: TargetCall,
    name: TargetAction,
    action: () => Promise<ActionResult>,
  ): Promise<AccountOutcome> {
    let result: ActionResult;
    try {
      result = await action();
    } catch (err) {
      const e = err as Error & { type?: string };
      if (e.name === 'TargetRejected' || e.type === 'TargetRejected') {
        await record(call, [{ target: call.target, action: name, outcome: 'failed', message: e.message }]).catch(
          () => undefined,
        );
        throw ApplicationFailure.nonRetryable(e.message, 'TargetRejected');
      }
      throw err;
    }
    await record(call, result.audit);
    return {
      account: result.account,
      lines: result.audit.map((a) => ({ action: a.action, outcome: a.outcome, message: a.message })),
    };
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

  return {
    /** Creates the account disabled, or finds the one a timed-out earlier attempt created. */
    async createAccount(call: TargetCall & { desired: ManagedAccount }): Promise<AccountOutcome> {
      const c = connector(call.target);
      const desired = await resolveManager(c, call.desired);
      // The connector correlates first and finishes a create that got partly through (a worker
      // killed between the add and the password); a correlated account is then brought in line.
      return run(call, 'create', async () => {
        const created = await c.create(desired);
        if (!created.account || !created.audit.some((a) => a.action === 'correlate')) return created;
        const updated = await c.update(created.account, desired);
        return { account: updated.account ?? created.account, audit: [...created.audit, ...updated.audit] };
      });
    },

    /** Writes only the attributes that differ; renames and moves when the name or location changed. */
    async updateAccount(
      call: TargetCall & { account: AccountReference; desired: ManagedAccount },
    ): Promise<AccountOutcome> {
      const c = connector(call.target);
      const desired = await resolveManager(c, call.desired);
      return run(call, 'update', () => c.update(call.account, desired));
    },

    async enableAccount(call: TargetCall & { account: AccountReference }): Promise<AccountOutcome> {
      return run(call, 'enable', () => connector(call.target).enable(call.account));
    },

    async disableAccount(call: TargetCall & { account: AccountReference }): Promise<AccountOutcome> {
      return run(call, 'disable', () => connector(call.target).disable(call.account));
    },

    async deleteAccount(call: TargetCall & { account: AccountReference }): Promise<AccountOutcome> {
      return run(call, 'delete', () => connector(call.target).delete(call.account));
    },

    async grantPermission(
      call: TargetCall & { account: AccountReference; permission: string; createIfMissing: boolean },
    ): Promise<AccountOutcome> {
      return run(call, 'grantPermission', () =>
        connector(call.target).grantPermission(call.account, {
          name: call.permission,
          createIfMissing: call.createIfMissing,
        }),
      );
    },

    async revokePermission(
      call: TargetCall & { account: AccountReference; permission: string },
    ): Promise<AccountOutcome> {
      return run(call, 'revokePermission', () =>
        connector(call.target).revokePermission(call.account, { name: call.permission }),
      );
    },

    /** The managed permissions the account holds in the target now (for reprovision). */
    async listPermissions(call: TargetCall & { account: AccountReference }): Promise<string[]> {
      return connector(call.target).listPermissions(call.account);
    },

    async findAccount(call: TargetCall & { employeeId: string }): Promise<AccountReference | null> {
      return current(call);
    },
  };
}

export type TargetActivities = ReturnType<typeof createTargetActivities>;
