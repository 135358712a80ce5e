import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { FileExportActivities, FileExportSummary } from '../activities/file-exports.js';

const { exportTargetFiles } = proxyActivities<FileExportActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '30 seconds', maximumInterval: '5 minutes', maximumAttempts: 5 },
});

/** The scheduled full dump of a file-based target (Spend Cloud): export, upload, rename. */
export async function exportTargetFilesWorkflow(input: { target: string }): Promise<FileExportSummary> {
  const r = await exportTargetFiles(input);
  setCurrentDetails(
    `${r.persons} persons, ${r.roles} roles, ${r.files} files uploaded in ${r.millis} ms (${r.attempts} attempt(s))`,
  );
  return r;
}
