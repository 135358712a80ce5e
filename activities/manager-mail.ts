/**
 * Finds the manager's mail address and name in the vault and sends the notification through
 * activities/notify.ts; the sent mail is written to the audit log like any target change.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { appendAudit } from '../vault/audit.js';
import { reservationsOf } from '../vault/identities.js';
import type { NotifyActivities } from './notify.js';

export interface ManagerMailRequest {
  kind: 'accountReady' | 'leaverDisabled';
  personKey: string;
  /** The manager's person key, e.g. `file:1001`. */
  managerKey: string;
  employeeDisplayName: string;
  username?: string;
  email?: string;
  startDate?: string;
  endDate?: string;
  /** One mail per event: every target's account the event concerns. */
  accounts?: { target: string; kind: string }[];
  idempotencyKey: string;
  cause: string;
}

/**
 * The manager's mail address as Tenure knows it: the address Tenure issued to the manager's own
 * account (the newest reservation), else the business e-mail from the HR source; and the name.
 */
export async function managerContact(pool: pg.Pool, managerKey: string): Promise<{ address?: string; name?: string }> {
  const manager = await pool.query<{ email: string | null; name: string | null }>(
    `select data->>'businessEmail' as email,
            concat_ws(' ', data->'name'->>'nickName', data->'name'->>'familyNamePrefix', data->'name'->>'familyName') as name
       from persons where person_key = $1`,
    [managerKey],
  );
  const reserved = await reservationsOf(pool, managerKey);
  return {
    address: reserved.emails.at(-1) ?? manager.rows[0]?.email ?? undefined,
    name: manager.rows[0]?.name || undefined,
  };
}

export function createManagerMailActivities(deps: { pool: pg.Pool; notify: NotifyActivities }) {
  return {
    async notifyManagerOf(req: ManagerMailRequest): Promise<{ messageId: string; to: string }> {
      const { address, name } = await managerContact(deps.pool, req.managerKey);
      if (!address)
        throw ApplicationFailure.nonRetryable(
          `manager ${req.managerKey} has no e-mail address in the vault`,
          'NotificationRejected',
        );
      const sent = await deps.notify.notifyManager({
        kind: req.kind,
        personKey: req.personKey,
        employeeDisplayName: req.employeeDisplayName,
        managerEmail: address,
        managerName: name,
        username: req.username,
        email: req.email,
        startDate: req.startDate,
        endDate: req.endDate,
        ...(req.accounts ? { accounts: req.accounts } : {}),
        idempotencyKey: req.idempotencyKey,
      });
      const info = Context.current().info.workflowExecution;
      await appendAudit(deps.pool, [
        {
          personKey: req.personKey,
          target: 'mail',
          action: req.kind === 'accountReady' ? 'notifyManagerAccountReady' : 'notifyManagerLeaverDisabled',
          outcome: 'success',
          cause: req.cause,
          workflowId: info?.workflowId,
          runId: info?.runId,
          message: `mailed manager ${req.managerKey}`,
          details: {
            messageId: sent.messageId,
            ...(req.accounts ? { targets: req.accounts.map((a) => a.target) } : {}),
          },
        },
      ]);
      return { messageId: sent.messageId, to: req.managerKey };
    },
  };
}

export type ManagerMailActivities = ReturnType<typeof createManagerMailActivities>;
