/**
 * Reprovision many persons (`tenure reprovision --all | --department | --query`): lists the
 * selected employee workflows page by page and sends each the `reprovision` update with at most
 * `concurrency` in flight. A workflow, not a loop in the CLI: it carries on when the CLI is
 * interrupted, the CLI re-attaches by workflow id, and a worker restart resumes where it was.
 * Continues as new between pages when the history grows, carrying its progress along.
 */
import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BulkReprovisionActivities, ReprovisionOutcome } from '../activities/bulk-reprovision.js';
import { bulkProgressQuery, type BulkProgress, type BulkReprovisionInput } from '../common/bulk-reprovision.js';

const PAGE_SIZE = 200;

const { countSelected, listSelected } = proxyActivities<BulkReprovisionActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumInterval: '1 minute' },
});
const { reprovisionOne } = proxyActivities<BulkReprovisionActivities>({
  // The update returns when the person's workflow has done its work on every target.
  startToCloseTimeout: '15 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 10 },
});

export async function bulkReprovision(input: BulkReprovisionInput): Promise<BulkProgress> {
  const concurrency = Math.min(50, Math.max(1, Math.floor(input.concurrency)));
  const filter = input.filter ? { filter: input.filter } : {};
  const progress: BulkProgress = input.progress ?? {
    total: await countSelected(filter),
    done: 0,
    failed: 0,
    actions: {},
    failures: [],
    finished: false,
  };
  setHandler(bulkProgressQuery, () => progress);
  const runId = workflowInfo().workflowId;
  let page = input.page;
  for (;;) {
    const listed = await listSelected({ ...filter, pageSize: PAGE_SIZE, ...(page ? { page } : {}) });
    let next = 0;
    const lane = async () => {
      while (next < listed.personKeys.length) {
        const personKey = listed.personKeys[next++] as string;
        const r: ReprovisionOutcome = await reprovisionOne({
          personKey,
          request: input.request,
          updateId: `${runId}/${personKey}`,
        });
        progress.done++;
        if (!r.ok) {
          progress.failed++;
          if (progress.failures.length < 20) progress.failures.push({ personKey, error: r.error ?? 'failed' });
        }
        for (const a of r.actions) progress.actions[a] = (progress.actions[a] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, listed.personKeys.length) }, lane));
    if (!listed.next) break;
    page = listed.next;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 8000) {
      await continueAsNew<typeof bulkReprovision>({ ...input, progress, page });
    }
  }
  progress.total = Math.max(progress.total, progress.done);
  progress.finished = true;
  return progress;
}
