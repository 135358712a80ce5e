/**
 * The Temporal Schedule that runs the admin alert sweep (workflows/admin-alerts.ts) every few
 * minutes: created when missing, brought in line with the settings when present.
 */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { LIFECYCLE_TASK_QUEUE } from '../common/task-queues.js';
import { upsertSchedule } from './schedules.js';

export const ALERT_SWEEP_SCHEDULE_ID = 'admin-alert-sweep';

export async function ensureAlertSweepSchedule(
  client: Client,
  every: string,
  options: { taskQueue?: string; scheduleId?: string } = {},
): Promise<void> {
  const scheduleId = options.scheduleId ?? ALERT_SWEEP_SCHEDULE_ID;
  const parts = {
    spec: { intervals: [{ every }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'adminAlertSweep',
      workflowId: scheduleId,
      taskQueue: options.taskQueue ?? LIFECYCLE_TASK_QUEUE,
      args: [],
      staticSummary: 'Admin alerts: failing persons, pending deliveries, daily digest',
      workflowExecutionTimeout: '15 minutes',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
  };
  await upsertSchedule(client, scheduleId, {
    ...parts,
    note: `Admin alert sweep every ${every} (managed by Tenure)`,
  });
}
