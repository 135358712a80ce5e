import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { AlertSweepActivities, SweepResult } from '../alerts/sweep.js';

const { sweepAdminAlerts } = proxyActivities<AlertSweepActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '30 seconds', maximumInterval: '2 minutes', maximumAttempts: 3 },
});

/** One run of the admin alert sweep (scheduled every few minutes: workers/alert-schedule.ts). */
export async function adminAlertSweep(): Promise<SweepResult> {
  const r = await sweepAdminAlerts();
  setCurrentDetails(
    `${r.failing} persons failing or retrying, ${r.raised} new alerts; delivered ${r.mailed} mails and ${r.webhooks} webhooks ` +
      `(${r.failedDeliveries} failed); digest: ${r.digested} alerts`,
  );
  return r;
}
