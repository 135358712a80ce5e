/**
 * The poll workflow (lifecycle.md section 5): one run per scheduled poll of one source
 * (workers/schedules.ts). It orchestrates the activities of activities/poll.ts and carries only
 * a poll id, counts and cursors: the persons stay in the vault's staging table.
 *
 *   startPoll → importAndDiff → [thresholds: issue 4] → signalChanges (batch by batch)
 *             → acceptSnapshot → finishPoll
 *
 * A poll that fails before acceptSnapshot leaves the last snapshot in place: the next scheduled
 * poll finds the same changes and signals them again (employee workflows de-duplicate by hash).
 */
import {
  ApplicationFailure,
  CancellationScope,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PollInput, PollSummary } from '../common/messages.js';
import { PollState, SourceId, type PollStateValue } from '../common/search-attributes.js';
import type { PollActivities, PollCounts } from '../activities/poll.js';

export interface PollSourceInput extends PollInput {
  /** Signals per signalChanges activity. Default 500. */
  batchSize?: number;
}

export const DEFAULT_POLL_BATCH_SIZE = 500;

const { startPoll, finishPoll, acceptSnapshot } = proxyActivities<PollActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

// Fetching a source can take a while (a 200 MB export, a slow API); staging heartbeats.
const { importAndDiff } = proxyActivities<PollActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 5 },
});

// One bounded batch; heartbeats after every acknowledged signal. A retry continues with the
// batch's unsignalled rows. After the attempts run out the poll fails unaccepted and the next
// scheduled poll re-sends.
const { signalChanges } = proxyActivities<PollActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 5 },
});

// Not exported: every function exported from the workflows entry becomes a workflow type.
/** `412 persons read, 3 added, 5 changed, 1 removed, 2 invalid records` */
function describeCounts(c: PollCounts): string {
  const parts = [
    `${c.recordsRead} ${c.recordsRead === 1 ? 'person' : 'persons'} read`,
    `${c.added} added`,
    `${c.changed} changed`,
    `${c.removed} removed`,
    `${c.errors} invalid ${c.errors === 1 ? 'record' : 'records'}`,
  ];
  if (c.kept) parts.push(`${c.kept} kept (rejected record)`);
  return parts.join(', ');
}

type GateDecision = { proceed: true } | { proceed: false; outcome: 'held' | 'rejected'; reason: string };

/**
 * HOOK for issue 4 (thresholds, lifecycle.md section 5): before anything is signalled, compare
 * what the import would do (removed, ending today, total changes) with the source's absolute and
 * percentage limits. Over a limit the poll holds (PollState `held`) and waits for an admin
 * `approve` or `reject` update; `reject` ends it with outcome `rejected`, unaccepted.
 * Until then every import that is not empty proceeds.
 */
async function thresholdGate(_sourceId: string, _pollId: number, _counts: PollCounts): Promise<GateDecision> {
  return { proceed: true };
}

function setPollState(state: PollStateValue): void {
  upsertSearchAttributes([{ key: PollState, value: state }]);
}

export async function pollSource(input: PollSourceInput): Promise<PollSummary> {
  const { sourceId } = input;
  const batchSize = Math.max(1, Math.floor(input.batchSize ?? DEFAULT_POLL_BATCH_SIZE));
  const info = workflowInfo();
  upsertSearchAttributes([
    { key: SourceId, value: sourceId },
    { key: PollState, value: 'running' },
  ]);
  setCurrentDetails(`Polling source ${sourceId}`);

  const pollId = await startPoll({ sourceId, workflowId: info.workflowId, runId: info.runId });
  const summary: PollSummary = {
    pollId,
    sourceId,
    recordsRead: 0,
    personsValid: 0,
    added: 0,
    changed: 0,
    removed: 0,
    unchanged: 0,
    errors: 0,
    signalled: 0,
    outcome: 'failed',
  };

  try {
    const counts = await importAndDiff({ pollId, sourceId });
    Object.assign(summary, {
      recordsRead: counts.recordsRead,
      personsValid: counts.personsValid,
      added: counts.added,
      changed: counts.changed,
      removed: counts.removed,
      unchanged: counts.unchanged,
      errors: counts.errors,
    });
    const described = describeCounts(counts);
    setCurrentDetails(`Poll ${sourceId}#${pollId}: ${described}`);

    if (counts.empty) {
      summary.outcome = 'empty';
      log.warn('empty import ignored', {
        sourceId,
        pollId,
        recordsRead: counts.recordsRead,
        previous: counts.previous,
      });
      setCurrentDetails(
        `Poll ${sourceId}#${pollId}: empty import ignored (${described}; ${counts.previous} persons in the last snapshot). Nobody was signalled.`,
      );
      await finishPoll({ pollId, outcome: 'empty', signalled: 0 });
      setPollState('empty');
      return summary;
    }

    const gate = await thresholdGate(sourceId, pollId, counts);
    if (!gate.proceed) {
      summary.outcome = gate.outcome;
      setCurrentDetails(`Poll ${sourceId}#${pollId}: ${gate.outcome} (${gate.reason}); ${described}`);
      await finishPoll({ pollId, outcome: gate.outcome, signalled: 0 });
      setPollState(gate.outcome);
      return summary;
    }

    const total = counts.added + counts.changed + counts.removed;
    let afterKey: string | undefined;
    let batches = 0;
    for (let done = total === 0; !done;) {
      const batch = await signalChanges({ pollId, batchSize, ...(afterKey === undefined ? {} : { afterKey }) });
      summary.signalled = batch.totalSignalled;
      afterKey = batch.lastKey;
      done = batch.done;
      batches++;
      setCurrentDetails(`Poll ${sourceId}#${pollId}: ${described}; signalled ${summary.signalled} of ${total}`);
      if (batches > total + 1) {
        // Each batch handles at least one row unless done; this cannot loop forever, but be sure.
        throw ApplicationFailure.nonRetryable(`poll ${pollId}: signalling made no progress`, 'NoProgress');
      }
    }

    await acceptSnapshot({ pollId });
    summary.outcome = 'accepted';
    await finishPoll({ pollId, outcome: 'accepted', signalled: summary.signalled });
    setPollState('accepted');
    setCurrentDetails(`Poll ${sourceId}#${pollId} accepted: ${described}; ${summary.signalled} signalled`);
    return summary;
  } catch (err) {
    summary.outcome = 'failed';
    // Record the failure even when the workflow is being cancelled.
    await CancellationScope.nonCancellable(() =>
      finishPoll({ pollId, outcome: 'failed', signalled: summary.signalled }),
    ).catch(() => undefined);
    setPollState('failed');
    setCurrentDetails(
      `Poll ${sourceId}#${pollId} failed after ${summary.signalled} signals; the snapshot was not accepted, the next poll sends the changes again`,
    );
    throw err;
  }
}
