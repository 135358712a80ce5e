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
  idempotencyKey: string;
  cause: string;
}

export function createManagerMailActivities(deps: { pool: pg.Pool; notify: NotifyActivities }) {
  return {
    async notifyManagerOf(req: ManagerMailRequest): Promise<{ messageId: string; to: string }> {
      const manager = await deps.pool.query<{ email: string | null; name: string | null }>(
        `select data->>'businessEmail' as email,
                concat_ws(' ', data->'name'->>'nickName', data->'name'->>'familyNamePrefix', data->'name'->>'familyName') as name
           from persons where person_key = $1`,
        [req.managerKey],
      );
      const reserved = await reservationsOf(deps.pool, req.managerKey);
      const address = reserved.emails.at(-1) ?? manager.rows[0]?.email ?? undefined;
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
        managerName: manager.rows[0]?.name || undefined,
        username: req.username,
        email: req.email,
        startDate: req.startDate,
        endDate: req.endDate,
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
          details: { messageId: sent.messageId },
        },
      ]);
      return { messageId: sent.messageId, to: req.managerKey };
    },
  };
}

export type ManagerMailActivities = ReturnType<typeof createManagerMailActivities>;
