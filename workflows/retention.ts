import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { RetentionActivities, RetentionSummary } from '../activities/retention.js';

const { purgeExpiredPersons } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1 minute', maximumInterval: '10 minutes', maximumAttempts: 5 },
});

/** The scheduled retention sweep (daily): erases persons whose accounts were deleted long enough ago. */
export async function retentionSweep(): Promise<RetentionSummary> {
  const r = await purgeExpiredPersons();
  setCurrentDetails(`${r.erased} persons erased, ${r.refused} refused`);
  return r;
}
