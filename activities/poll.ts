/**
 * Poll activities (docs/configuration.md): fetch a source, diff it against the snapshot, stage the
 * changes in the vault, check them against the thresholds, signal-with-start the employee
 * workflows in bounded batches, then accept the poll. The SQL is in vault/polls.ts, the threshold
 * check in domain/thresholds.ts.
 *
 * The poll workflow only ever sees poll ids, counts and cursors: the persons themselves go from
 * the connector into `poll_changes` and from there into the signals, never through the poll
 * workflow's history (payload limit 2 MB; a source can hold 50,000 persons).
 *
 * Crash safety: the snapshot (`source_snapshots`) says what was signalled, person by person: each
 * acknowledged signal is recorded with the person's snapshot row, vault record and contracts in
 * one transaction. A poll that dies part-way leaves the snapshot matching the employee workflows,
 * so the next poll sends what is still missing and undoes what the corrected source no longer
 * says. A signal in flight when the poll died leaves its person in doubt: signalled again next
 * time. Employee workflows de-duplicate by `contentHash`, so a repeat costs one ignored signal.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { LIFECYCLE_TASK_QUEUE } from '../common/task-queues.js';
import {
  EMPLOYEE_WORKFLOW_TYPE,
  personChangedSignal,
  personRemovedSignal,
  type EmployeeWorkflowInput,
  type PersonChanged,
  type PersonRemoved,
  type PollPreview,
  type ThresholdReason,
} from '../common/messages.js';
import { EmployeeId, SourceId } from '../common/search-attributes.js';
import type { SourceConnector, SourceRecordError } from '../connectors/types.js';
import { employeeWorkflowId, personKey, type Person } from '../domain/model.js';
import { diffSnapshots } from '../common/snapshot.js';
import { addDays, localDate } from '../domain/dates.js';
import {
  DEFAULT_THRESHOLDS,
  evaluateThresholds,
  type ThresholdFigures,
  type ThresholdSettings,
} from '../domain/thresholds.js';
import {
  acceptPoll,
  countEndingBy,
  insertPoll,
  lastAcceptedRecordsRead,
  loadPoll,
  loadPollForCheck,
  hasAcceptedPoll,
  markInDoubt,
  markSuperseded,
  newerAcceptedPoll,
  nextUnsignalled,
  readSnapshot,
  recordDecision,
  recordPollEnd,
  recordPreview,
  recordSignalled,
  recordThresholdCheck,
  signalProgress,
  stageImport,
  stagedChangeCount,
  windowTotals,
  type AcceptedCounts,
  type PollRow,
  type StagedChange,
  type StagedCounts,
} from '../vault/polls.js';
import { inTransaction } from '../vault/transaction.js';
import { LANE_PRIORITY } from '../common/lanes.js';
import { inActivity } from './activity-context.js';
import { awaitQueuesBelow, type BulkPacingSettings, type CapacityResult } from './bulk-pacing.js';

export interface PollActivityDeps {
  pool: pg.Pool;
  /** Only `client.workflow` is used (signal-with-start). */
  client: Pick<Client, 'workflow'>;
  /** Source connectors by source id. */
  sources: Map<string, SourceConnector>;
  /** Task queue employee workflows are started on. Default LIFECYCLE_TASK_QUEUE. */
  employeeTaskQueue?: string;
  /** Signals in flight at once within a batch. Default 20. */
  signalConcurrency?: number;
  /**
   * Bulk lane and pacing (activities/bulk-pacing.ts): a poll with at least `bulkFrom` changes
   * signals them at a lower priority, in batches of at most half the in-flight limit, and waits
   * for the queues between batches (`queued` measures them). None: every poll is interactive.
   */
  pacing?: BulkPacingSettings & { queued: () => Promise<number> };
  /** Threshold settings by source id (`resolveThresholds`); a source not listed gets DEFAULT_THRESHOLDS. */
  thresholds?: Map<string, ThresholdSettings>;
  /** The clock for "today" and the rolling window (tests). Default `Date.now`. */
  now?: () => number;
  /**
   * The hook for a whole-tenant preview (`tenure preview`): called when a poll holds, its answer
   * is stored with the poll and shown with it (HeldPollView.preview). None: the held poll shows
   * its counts only. A failing preview never blocks the hold.
   */
  previewHeldPoll?: (poll: HeldPollPreviewRequest) => Promise<PollPreview | undefined>;
}

export interface HeldPollPreviewRequest {
  pollId: number;
  sourceId: string;
  /** The source's first poll (go-live). */
  firstPoll: boolean;
}

export interface StartPollInput {
  sourceId: string;
  workflowId: string;
  runId: string;
}

export interface PollRef {
  pollId: number;
}

export interface ImportAndDiffInput {
  pollId: number;
  sourceId: string;
}

/** What importAndDiff reports: the counts it staged. */
export type PollCounts = StagedCounts;

export interface SignalChangesInput {
  pollId: number;
  /** At most this many signals per call. */
  batchSize: number;
  /** Cursor: continue after this person key (exclusive); omit to start at the beginning. */
  afterKey?: string;
}

export interface SignalBatchResult {
  /** Signals sent by this call (a failed earlier attempt's signals not included). */
  signalled: number;
  /** Changes of the poll signalled so far, by all calls and attempts. */
  totalSignalled: number;
  /** The last person key this call handled: the next call's `afterKey`. */
  lastKey?: string;
  /** No unsignalled change is left after `lastKey`. */
  done: boolean;
  /** `bulk`: the poll's changes go in the bulk lane; the workflow waits for capacity between batches. */
  lane?: 'bulk';
}

export type AcceptResult = AcceptedCounts;

export type PollOutcome = 'accepted' | 'held' | 'rejected' | 'failed' | 'empty';

export interface FinishPollInput {
  pollId: number;
  outcome: PollOutcome;
  /** Signals sent in total, for the poll record. */
  signalled?: number;
}

export interface CheckThresholdsInput {
  pollId: number;
}

export interface ThresholdCheck {
  held: boolean;
  reasons: ThresholdReason[];
  current: ThresholdFigures;
  /** Persons in the last accepted snapshot. */
  previous: number;
  /** ISO instant the poll was marked held (held only). */
  heldAt?: string;
  /** The horizon `current.endingToday` was counted with, in days after today. */
  endingHorizonDays: number;
  /** No poll of the source was accepted before this one (go-live). */
  firstPoll: boolean;
  /** The preview attached by `previewHeldPoll` (held only). */
  preview?: PollPreview;
}

export interface DecidePollInput {
  pollId: number;
  decision: 'approved' | 'rejected';
  decidedBy: string;
  reason?: string;
}

/** The cause recorded with every signal of a poll: `poll file#12`. */
export function pollCause(sourceId: string, pollId: number): string {
  return `poll ${sourceId}#${pollId}`;
}

/** The summary shown for an employee workflow in the UI: `Employee file:1001`, no names. */
export function employeeSummary(key: string): string {
  return `Employee ${key}`;
}

/**
 * Person keys of records the source rejected: such persons keep their last good data and are
 * never treated as removed. Errors without a key cannot be tied to a person. A department error
 * also carries a key (the department code); counting it here can only keep someone, never remove.
 */
export function rejectedPersonKeys(sourceId: string, errors: readonly SourceRecordError[]): Set<string> {
  const keys = new Set<string>();
  for (const e of errors) {
    const key = e.key?.trim();
    if (key) keys.add(personKey({ source: e.source || sourceId, key }));
  }
  return keys;
}

function heartbeat(details?: unknown): void {
  inActivity()?.heartbeat(details);
}

async function pollOrFail(db: pg.Pool | pg.PoolClient, pollId: number, lock = false): Promise<PollRow> {
  const row = await loadPoll(db, pollId, lock);
  if (!row) throw ApplicationFailure.nonRetryable(`poll ${pollId} does not exist`, 'PollNotFound');
  return row;
}

/** Run `fn` over `items` with at most `limit` calls in flight; stops starting new ones after a failure. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const lane = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw firstError;
}

export function createPollActivities(deps: PollActivityDeps) {
  const { pool, client, sources } = deps;
  const employeeTaskQueue = deps.employeeTaskQueue ?? LIFECYCLE_TASK_QUEUE;
  const concurrency = deps.signalConcurrency ?? 20;
  const now = deps.now ?? Date.now;

  /** Register a poll run in the vault; the same workflow run always gets the same poll id. */
  async function startPoll(input: StartPollInput): Promise<number> {
    if (!sources.has(input.sourceId)) {
      throw ApplicationFailure.nonRetryable(`source ${input.sourceId} is not configured`, 'UnknownSource');
    }
    return insertPoll(pool, input.sourceId, input.workflowId, input.runId);
  }

  /**
   * Fetch the source, record its rejected records, diff against the last accepted snapshot and
   * stage the changes. Retrying for the same poll starts over (staging and errors are replaced).
   */
  async function importAndDiff(input: ImportAndDiffInput): Promise<PollCounts> {
    const { pollId, sourceId } = input;
    const connector = sources.get(sourceId);
    if (!connector) throw ApplicationFailure.nonRetryable(`source ${sourceId} is not configured`, 'UnknownSource');
    const poll = await pollOrFail(pool, pollId);
    if (poll.source !== sourceId) {
      throw ApplicationFailure.nonRetryable(`poll ${pollId} belongs to source ${poll.source}`, 'PollMismatch');
    }
    if (poll.outcome !== 'running') {
      throw ApplicationFailure.nonRetryable(`poll ${pollId} is already ${poll.outcome}`, 'PollFinished');
    }

    heartbeat({ phase: 'fetch' });
    // A big export or a slow API can take longer than the heartbeat timeout: keep beating.
    const beating = setInterval(() => heartbeat({ phase: 'fetch' }), 15_000);
    let imported: Awaited<ReturnType<SourceConnector['fetchAll']>>;
    try {
      imported = await connector.fetchAll();
    } finally {
      clearInterval(beating);
    }
    heartbeat({ phase: 'diff' });

    const previous = await readSnapshot(pool, sourceId);

    // Persons of another source in this connector's output would corrupt both snapshots.
    const foreign = imported.persons.find((p) => p.source !== sourceId);
    if (foreign) {
      throw ApplicationFailure.nonRetryable(
        `source ${sourceId} returned a person of source ${foreign.source}`,
        'SourceMismatch',
      );
    }

    const empty = previous.size > 0 && (imported.recordsRead === 0 || imported.persons.length === 0);
    const keep = rejectedPersonKeys(sourceId, imported.errors);
    const diff = diffSnapshots(previous, imported.persons, { keep });

    const counts: PollCounts = {
      recordsRead: imported.recordsRead,
      personsValid: imported.persons.length,
      added: empty ? 0 : diff.added.length,
      changed: empty ? 0 : diff.changed.length,
      removed: empty ? 0 : diff.removed.length,
      unchanged: diff.unchanged,
      errors: imported.errors.length,
      kept: diff.kept.length,
      previous: previous.size,
      empty,
    };

    const changes: StagedChange[] = [];
    if (!empty) {
      for (const p of diff.added) changes.push({ key: personKey(p), kind: 'added', person: p, hash: null });
      for (const p of diff.changed) changes.push({ key: personKey(p), kind: 'changed', person: p, hash: null });
      for (const key of diff.removed) changes.push({ key, kind: 'removed', person: null, hash: null });
      for (const s of changes) if (s.person) s.hash = diff.hashes.get(s.key) ?? null;
    }
    await stageImport(pool, {
      pollId,
      sourceId,
      errors: imported.errors,
      changes,
      departments: empty ? [] : imported.departments,
      counts,
      onStaged: (staged) => heartbeat({ phase: 'stage', staged }),
    });
    return counts;
  }

  /**
   * Signal-with-start the next batch of staged, not yet signalled changes after `afterKey`, at
   * most `concurrency` at a time. Each acknowledged signal is recorded with the snapshot and the
   * vault's person (vault/polls.ts recordSignalled), so a retry continues where the last attempt
   * got to, and a poll that fails part-way leaves the vault saying what was signalled: the next
   * poll diffs against that and undoes a wrong removal. Persons whose signal was in flight when
   * the activity died are in doubt and are signalled again by the next poll.
   */
  async function signalChanges(input: SignalChangesInput): Promise<SignalBatchResult> {
    const { pollId } = input;
    const batchSize = Math.max(1, Math.floor(input.batchSize));
    const poll = await pollOrFail(pool, pollId);
    if (poll.outcome !== 'running') {
      throw ApplicationFailure.nonRetryable(`poll ${pollId} is already ${poll.outcome}`, 'PollFinished');
    }
    // An older poll must not overwrite what a newer accepted one recorded.
    const newer = await newerAcceptedPoll(pool, pollId);
    if (newer !== undefined) {
      await markSuperseded(pool, pollId);
      throw ApplicationFailure.nonRetryable(
        `poll ${pollId} was superseded by poll ${newer}; the next poll diffs again`,
        'PollSuperseded',
      );
    }
    const cause = pollCause(poll.source, pollId);
    const pacing = deps.pacing;
    const bulk = pacing !== undefined && (await stagedChangeCount(pool, pollId)) >= pacing.bulkFrom;
    const limit = bulk ? Math.min(batchSize, Math.max(1, Math.floor(pacing.inFlight / 2))) : batchSize;
    const rows = await nextUnsignalled(pool, pollId, input.afterKey, limit);
    const lane = bulk ? ({ lane: 'bulk' } as const) : {};
    await markInDoubt(
      pool,
      poll.source,
      rows.filter((r) => r.kind !== 'added').map((r) => r.person_key),
    );

    const ctx = inActivity();
    const done: string[] = [];
    try {
      await forEachLimited(rows, concurrency, async (row) => {
        if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
        const common = {
          workflowId: employeeWorkflowId(row.person_key),
          taskQueue: employeeTaskQueue,
          args: [{ personKey: row.person_key }] as [EmployeeWorkflowInput],
          workflowIdConflictPolicy: 'USE_EXISTING' as const,
          typedSearchAttributes: [
            { key: EmployeeId, value: row.person_key },
            { key: SourceId, value: poll.source },
          ],
          staticSummary: employeeSummary(row.person_key),
          // A workflow this starts keeps the bulk priority for its own tasks (common/lanes.ts).
          ...(bulk ? { priority: { priorityKey: LANE_PRIORITY.bulk } } : {}),
        };
        if (row.kind === 'removed') {
          const removed: PersonRemoved = { personKey: row.person_key, cause, ...lane };
          await client.workflow.signalWithStart(EMPLOYEE_WORKFLOW_TYPE, {
            ...common,
            signal: personRemovedSignal,
            signalArgs: [removed],
          });
        } else {
          const changed: PersonChanged = {
            person: row.person as Person,
            contentHash: row.content_hash as string,
            cause,
            ...lane,
          };
          await client.workflow.signalWithStart(EMPLOYEE_WORKFLOW_TYPE, {
            ...common,
            signal: personChangedSignal,
            signalArgs: [changed],
          });
        }
        done.push(row.person_key);
        ctx?.heartbeat({ afterKey: input.afterKey, signalled: done.length });
      });
    } finally {
      await recordSignalled(pool, pollId, poll.source, done);
    }

    const lastKey = rows.length ? (rows[rows.length - 1] as { person_key: string }).person_key : input.afterKey;
    const progress = await signalProgress(pool, pollId, lastKey);
    const result: SignalBatchResult = {
      signalled: done.length,
      totalSignalled: progress.total,
      done: !progress.more,
      ...lane,
    };
    if (lastKey !== undefined) result.lastKey = lastKey;
    return result;
  }

  /**
   * Between the batches of a bulk poll: returns once fewer tasks than the in-flight limit wait on
   * Tenure's queues (at most the settings' maxWaitMs later).
   */
  async function awaitCapacity(input: PollRef): Promise<CapacityResult> {
    const pacing = deps.pacing;
    if (!pacing) return { queued: 0, waitedMs: 0, gaveUp: false };
    const result = await awaitQueuesBelow(pacing, pacing.queued);
    if (result.gaveUp) {
      console.warn(
        `[poll] poll ${input.pollId}: ${result.queued} tasks still queued after ${Math.round(result.waitedMs / 1000)} s; signalling the next batch anyway`,
      );
    }
    return result;
  }

  /**
   * Make the poll's import the accepted snapshot (vault/polls.ts acceptPoll). Refused while any
   * change is unsignalled, and when another poll of the source was accepted after this one diffed.
   */
  async function acceptSnapshot(input: PollRef): Promise<AcceptResult> {
    const { pollId } = input;
    const r = await acceptPoll(pool, pollId);
    switch (r.status) {
      case 'accepted':
        return r.counts;
      case 'missing':
        throw ApplicationFailure.nonRetryable(`poll ${pollId} does not exist`, 'PollNotFound');
      case 'finished':
        throw ApplicationFailure.nonRetryable(`poll ${pollId} is already ${r.outcome}`, 'PollFinished');
      case 'nothing-to-accept':
        throw ApplicationFailure.nonRetryable(`poll ${pollId} has no import to accept`, 'NothingToAccept');
      case 'unsignalled':
        throw ApplicationFailure.nonRetryable(
          `poll ${pollId} still has ${r.pending} unsignalled changes`,
          'UnsignalledChanges',
        );
      case 'superseded':
        throw ApplicationFailure.nonRetryable(
          `poll ${pollId} was superseded by poll ${r.by}; the next poll diffs again`,
          'PollSuperseded',
        );
    }
  }

  /**
   * Count what the diffed poll would do (removed, ending within the horizon, total changes), add
   * the source's accepted polls of the rolling window, compare the records read with the last
   * accepted poll, and check it all against the source's limits; the first poll of a source holds
   * when the setting says so. Over a limit the poll is marked `held` with its reasons (and the
   * preview of `previewHeldPoll`, when there is one); nothing is signalled until an admin
   * decides. Idempotent.
   */
  async function checkThresholds(input: CheckThresholdsInput): Promise<ThresholdCheck> {
    const { pollId } = input;
    const check = await inTransaction(pool, async (db): Promise<ThresholdCheck & { source: string }> => {
      const poll = await loadPollForCheck(db, pollId);
      if (!poll) throw ApplicationFailure.nonRetryable(`poll ${pollId} does not exist`, 'PollNotFound');
      if (!poll.diffed_at || poll.empty) {
        throw ApplicationFailure.nonRetryable(`poll ${pollId} has no import to check`, 'NothingToCheck');
      }
      if (poll.outcome !== 'running' && poll.outcome !== 'held') {
        throw ApplicationFailure.nonRetryable(`poll ${pollId} is already ${poll.outcome}`, 'PollFinished');
      }
      const settings = deps.thresholds?.get(poll.source) ?? DEFAULT_THRESHOLDS;
      const nowMs = now();
      const lastDay = addDays(localDate(nowMs, settings.timeZone), settings.endingHorizonDays);
      const firstPoll = !(await hasAcceptedPoll(db, poll.source, pollId));

      const ending = await countEndingBy(db, pollId, lastDay);
      const current: ThresholdFigures = {
        removed: poll.removed,
        endingToday: poll.removed + ending,
        changes: poll.added + poll.changed + poll.removed,
      };

      const w = await windowTotals(db, poll.source, pollId, new Date(nowMs - settings.windowMs));
      const lastRecordsRead = await lastAcceptedRecordsRead(db, poll.source, pollId);

      const reasons = evaluateThresholds(settings, {
        current,
        base: poll.previous,
        window: {
          figures: {
            removed: w.removed + current.removed,
            endingToday: w.ending_today + current.endingToday,
            changes: w.changes + current.changes,
          },
          // The largest population of the window: a leak is measured against what there was.
          base: Math.max(w.base ?? 0, poll.previous),
          polls: w.polls,
        },
        recordsRead: poll.records_read,
        ...(lastRecordsRead !== undefined ? { lastRecordsRead } : {}),
        firstPoll,
        added: poll.added,
      });

      const held = reasons.length > 0;
      const { endingHorizonDays } = settings;
      const heldAt = await recordThresholdCheck(db, pollId, {
        endingToday: current.endingToday,
        endingHorizonDays,
        firstPoll,
        held,
        reasons,
      });
      const result: ThresholdCheck & { source: string } = {
        held,
        reasons,
        current,
        previous: poll.previous,
        endingHorizonDays,
        firstPoll,
        source: poll.source,
      };
      if (held && heldAt) result.heldAt = heldAt.toISOString();
      return result;
    });
    if (check.held && deps.previewHeldPoll) {
      const preview = await deps
        .previewHeldPoll({ pollId, sourceId: check.source, firstPoll: check.firstPoll })
        .catch(() => undefined);
      if (preview) {
        await recordPreview(pool, pollId, preview);
        check.preview = preview;
      }
    }
    const { source: _source, ...result } = check;
    return result;
  }

  /**
   * Record an admin's decision on a held poll (who, when, why). Approved: the poll runs on
   * (signalling, then acceptance). Rejected: it ends unaccepted; the last snapshot stays.
   * Idempotent; a poll decided the other way already is refused.
   */
  async function decidePoll(input: DecidePollInput): Promise<void> {
    if (!(await recordDecision(pool, input))) {
      throw ApplicationFailure.nonRetryable(
        `poll ${input.pollId} is not held (or was decided otherwise already)`,
        'PollNotHeld',
      );
    }
  }

  /** Record how the poll ended. An accepted poll stays accepted. */
  async function finishPoll(input: FinishPollInput): Promise<void> {
    await recordPollEnd(pool, input.pollId, input.outcome, input.signalled);
  }

  return {
    startPoll,
    importAndDiff,
    checkThresholds,
    decidePoll,
    signalChanges,
    awaitCapacity,
    acceptSnapshot,
    finishPoll,
  };
}

export type PollActivities = ReturnType<typeof createPollActivities>;
