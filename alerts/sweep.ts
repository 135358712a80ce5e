/**
 * The alert sweep activity, run every few minutes by the `adminAlertSweep` schedule: finds the
 * persons whose ProvisioningHealth is failed or retrying (Temporal visibility), raises alerts for
 * those failing too long, retries pending deliveries and sends the daily digest when it is due.
 */
import type { Client } from '@temporalio/client';
import { EMPLOYEE_WORKFLOW_TYPE } from '../common/messages.js';
import { EmployeeId, ProvisioningHealth } from '../common/search-attributes.js';
import type { AdminAlerts, FailingPerson } from './admin-alerts.js';

export interface SweepResult {
  failing: number;
  raised: number;
  mailed: number;
  webhooks: number;
  failedDeliveries: number;
  digested: number;
}

/** At most this many failing persons are tracked per sweep (an outage can make thousands fail). */
const MAX_FAILING = 5000;

export async function failingPersons(client: Client): Promise<FailingPerson[]> {
  const query =
    `WorkflowType = '${EMPLOYEE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' ` +
    `AND ProvisioningHealth IN ('failed', 'retrying')`;
  const out: FailingPerson[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const personKey = wf.typedSearchAttributes.get(EmployeeId);
    const health = wf.typedSearchAttributes.get(ProvisioningHealth);
    if (personKey && health) out.push({ personKey, workflowId: wf.workflowId, health });
    if (out.length >= MAX_FAILING) break;
  }
  return out;
}

export function createAlertSweepActivities(deps: { alerts: AdminAlerts; client: Client }) {
  return {
    async sweepAdminAlerts(): Promise<SweepResult> {
      const failing = await failingPersons(deps.client);
      const raised = await deps.alerts.sweepFailingPersons(failing);
      const delivered = await deps.alerts.deliver();
      const digested = await deps.alerts.sendDigestIfDue();
      return {
        failing: failing.length,
        raised,
        mailed: delivered.mailed,
        webhooks: delivered.webhooks,
        failedDeliveries: delivered.failed,
        digested,
      };
    },
  };
}

export type AlertSweepActivities = ReturnType<typeof createAlertSweepActivities>;
