/**
 * The poll workflow (docs/lifecycle.md section 5): one run per scheduled poll of one source
 * (workers/schedules.ts). It orchestrates the activities of activities/poll.ts and carries only
 * a poll id, counts and cursors: the persons stay in the vault's staging table.
 *
 *   startPoll → importAndDiff → checkThresholds → [held: wait for approve / reject]
 *             → signalChanges (batch by batch) → acceptSnapshot → finishPoll
 *
 * Thresholds (docs/lifecycle.md section 5): checkThresholds counts what the import would do (removed,
 * ending today, total changes; this import and the rolling window; truncation) against the
 * source's limits. Over a limit the poll HOLDS: nothing is signalled, PollState `held`, the
 * current details say which limit tripped with the numbers, and the run waits for an admin
 * `approve` or `reject` update (common/messages.ts). Approve: signal and accept as usual.
 * Reject: nothing is signalled or accepted, the last snapshot stays, PollState `rejected`.
 * While a poll holds it is the source's running workflow, so the Schedule's overlap SKIP keeps
 * the next scheduled polls from piling up.
 *
 * The first poll of a source (go-live) holds the same way unless its setting `firstPoll` is
 * `accept`. A poll that fails part-way leaves the vault saying what was actually signalled,
 * person by person: the next poll diffs against that, so it sends what was not signalled and
 * undoes what the corrected source no longer says (activities/poll.ts signalChanges).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  approvePollUpdate,
  heldPollQuery,
  rejectPollUpdate,
  type AdminRequest,
  type HeldPollView,
  type PollDecision,
  type PollInput,
  type PollSummary,
} from '../common/messages.js';
import { PollState, SourceId, type PollStateValue } from '../common/search-attributes.js';
import type { PollActivities, PollCounts } from '../activities/poll.js';

export interface PollSourceInput extends PollInput {
  /** Signals per signalChanges activity. Default 500. */
  batchSize?: number;
}

export const DEFAULT_POLL_BATCH_SIZE = 500;

const { startPoll, finishPoll, acceptSnapshot, checkThresholds, decidePoll } = proxyActivities<PollActivities>({
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

// Between the batches of a bulk poll (activities/bulk-pacing.ts): waits for the queues to drain,
// at most ten minutes, heartbeating.
const { awaitCapacity } = proxyActivities<PollActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 5 },
});
/**
 * Patch id: a bulk poll waits for capacity between its batches. Histories from before signal
 * batch after batch.
 */
export const PACED_BULK_SIGNALS = 'paced-bulk-signals';

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

type Decision = { decision: 'approved' | 'rejected'; request: AdminRequest; at: string };

/** The approve / reject validator: synchronous, rejects without a trace in the history. */
function validateDecision(request: AdminRequest, held: HeldPollView | undefined, decided: boolean): void {
  const by = typeof request?.requestedBy === 'string' ? request.requestedBy.trim() : '';
  if (!by) throw new Error('requestedBy is required: who approves or rejects, for the record');
  if (request.reason !== undefined && typeof request.reason !== 'string') throw new Error('reason must be text');
  if (!held) throw new Error('this poll is not held: nothing to approve or reject');
  if (decided) throw new Error('this poll was decided already');
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

  let held: HeldPollView | undefined;
  let decision: Decision | undefined;
  const decide = (kind: Decision['decision'], request: AdminRequest): PollDecision => {
    const at = new Date().toISOString(); // workflow time: deterministic
    const reason = request.reason?.trim();
    decision = {
      decision: kind,
      request: { requestedBy: request.requestedBy.trim(), ...(reason ? { reason } : {}) },
      at,
    };
    const h = held as HeldPollView;
    return {
      pollId: h.pollId,
      sourceId,
      workflowId: info.workflowId,
      decision: kind,
      decidedBy: decision.request.requestedBy,
      ...(reason ? { reason } : {}),
      decidedAt: at,
      changes: h.added + h.changed + h.removed,
    };
  };
  setHandler(heldPollQuery, () => (held && !decision ? held : null));
  setHandler(approvePollUpdate, (request) => decide('approved', request), {
    validator: (request) => validateDecision(request, held, decision !== undefined),
  });
  setHandler(rejectPollUpdate, (request) => decide('rejected', request), {
    validator: (request) => validateDecision(request, held, decision !== undefined),
  });

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

    const check = await checkThresholds({ pollId });
    if (check.held) {
      held = {
        pollId,
        sourceId,
        workflowId: info.workflowId,
        heldAt: check.heldAt ?? new Date().toISOString(),
        reasons: check.reasons,
        recordsRead: counts.recordsRead,
        previous: check.previous,
        added: counts.added,
        changed: counts.changed,
        removed: counts.removed,
        endingToday: check.current.endingToday,
        // Absent from the results of checks recorded before these existed.
        ...(check.endingHorizonDays !== undefined ? { endingHorizonDays: check.endingHorizonDays } : {}),
        ...(check.firstPoll ? { firstPoll: true } : {}),
        ...(check.preview ? { preview: check.preview } : {}),
      };
      summary.outcome = 'held';
      setPollState('held');
      const why = check.reasons.map((r) => r.message).join('; ');
      const horizon = check.endingHorizonDays ?? 0;
      const ending = `${check.current.endingToday} ending ${horizon === 0 ? 'today' : `within ${horizon} days`}`;
      const preview = check.preview ? ` Preview: ${check.preview.summary}.` : '';
      log.warn('poll held over a threshold', { sourceId, pollId, limits: check.reasons.length });
      setCurrentDetails(
        `Poll ${sourceId}#${pollId} HELD, nothing signalled: ${why}. Would do: ${described}; ${ending}.${preview} ` +
          `Waiting for an admin: tenure approve ${info.workflowId} | tenure reject ${info.workflowId}`,
      );
      await condition(() => decision !== undefined);
      const d = decision as unknown as Decision;
      await decidePoll({
        pollId,
        decision: d.decision,
        decidedBy: d.request.requestedBy,
        ...(d.request.reason ? { reason: d.request.reason } : {}),
      });
      const by = `${d.request.requestedBy}${d.request.reason ? ` (${d.request.reason})` : ''}`;
      if (d.decision === 'rejected') {
        summary.outcome = 'rejected';
        await finishPoll({ pollId, outcome: 'rejected', signalled: 0 });
        setPollState('rejected');
        setCurrentDetails(
          `Poll ${sourceId}#${pollId} rejected by ${by} at ${d.at}: nothing signalled, the last snapshot stays (${why})`,
        );
        return summary;
      }
      summary.outcome = 'failed'; // until accepted
      setPollState('running');
      setCurrentDetails(`Poll ${sourceId}#${pollId} approved by ${by} at ${d.at}: signalling; ${described}`);
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
      const bulk = batch.lane === 'bulk' ? ' (bulk lane)' : '';
      setCurrentDetails(`Poll ${sourceId}#${pollId}: ${described}; signalled ${summary.signalled} of ${total}${bulk}`);
      if (batches > total + 1) {
        // Each batch handles at least one row unless done; this cannot loop forever, but be sure.
        throw ApplicationFailure.nonRetryable(`poll ${pollId}: signalling made no progress`, 'NoProgress');
      }
      if (!done && batch.lane === 'bulk' && patched(PACED_BULK_SIGNALS)) await awaitCapacity({ pollId });
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
      `Poll ${sourceId}#${pollId} failed after ${summary.signalled} signals; the vault records what was signalled, the next poll diffs against that and sends the rest (or undoes what the source corrected)`,
    );
    throw err;
  }
}
