/**
 * Poll activities (lifecycle.md section 5, temporal.md 1.2, 1.11): fetch a source, diff it against
 * the last accepted snapshot, stage the changes in the vault, signal-with-start the employee
 * workflows in bounded batches, then accept the snapshot.
 *
 * The poll workflow only ever sees poll ids, counts and cursors: the persons themselves go from
 * the connector into `poll_changes` and from there into the signals, never through the poll
 * workflow's history (payload limit 2 MB; a source can hold 50,000 persons).
 *
 * Crash safety: the snapshot (`source_snapshots`) moves on only in `acceptSnapshot`, after every
 * staged change was signalled. A poll that dies before that leaves the old snapshot in place, so
 * the next poll finds the same changes and signals them again. Employee workflows de-duplicate by
 * `contentHash`, so a signal sent twice costs one ignored signal.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
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
} from '../common/messages.js';
import { EmployeeId, SourceId } from '../common/search-attributes.js';
import type { SourceConnector, SourceRecordError } from '../connectors/types.js';
import { employeeWorkflowId, personKey, type Person } from '../domain/model.js';
import { diffSnapshots } from '../domain/snapshot.js';

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

export interface PollCounts {
  recordsRead: number;
  personsValid: number;
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  /** Record errors of this import (source_record_errors rows). */
  errors: number;
  /** Persons in the previous snapshot whose record was rejected this time: kept, not removed. */
  kept: number;
  /** Persons in the previous snapshot. */
  previous: number;
  /**
   * Nothing (or nothing valid) was read while the previous snapshot is not empty: the import is
   * ignored. Nothing is staged or signalled and the snapshot is left as it was.
   */
  empty: boolean;
}

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
}

export interface AcceptResult {
  added: number;
  changed: number;
  removed: number;
}

export type PollOutcome = 'accepted' | 'held' | 'rejected' | 'failed' | 'empty';

export interface FinishPollInput {
  pollId: number;
  outcome: PollOutcome;
  /** Signals sent in total, for the poll record. */
  signalled?: number;
}

/** Rows per multi-row INSERT while staging. */
const STAGE_CHUNK = 1000;

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

function inActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function heartbeat(details?: unknown): void {
  inActivity()?.heartbeat(details);
}

async function inTransaction<T>(pool: pg.Pool, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  const db = await pool.connect();
  try {
    await db.query('begin');
    const result = await fn(db);
    await db.query('commit');
    return result;
  } catch (err) {
    await db.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

interface PollRow {
  id: string;
  source: string;
  outcome: string;
  empty: boolean;
  diffed_at: Date | null;
}

async function loadPoll(db: pg.Pool | pg.PoolClient, pollId: number, lock = false): Promise<PollRow> {
  const { rows } = await db.query<PollRow>(
    `select id, source, outcome, empty, diffed_at from source_polls where id = $1${lock ? ' for update' : ''}`,
    [pollId],
  );
  const row = rows[0];
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

  /** Register a poll run in the vault; the same workflow run always gets the same poll id. */
  async function startPoll(input: StartPollInput): Promise<number> {
    if (!sources.has(input.sourceId)) {
      throw ApplicationFailure.nonRetryable(`source ${input.sourceId} is not configured`, 'UnknownSource');
    }
    const { rows } = await pool.query<{ id: string }>(
      `insert into source_polls (source, workflow_id, run_id) values ($1, $2, $3)
       on conflict (workflow_id, run_id) do update set source = excluded.source
       returning id`,
      [input.sourceId, input.workflowId, input.runId],
    );
    return Number((rows[0] as { id: string }).id);
  }

  /**
   * Fetch the source, record its rejected records, diff against the last accepted snapshot and
   * stage the changes. Retrying for the same poll starts over (staging and errors are replaced).
   */
  async function importAndDiff(input: ImportAndDiffInput): Promise<PollCounts> {
    const { pollId, sourceId } = input;
    const connector = sources.get(sourceId);
    if (!connector) throw ApplicationFailure.nonRetryable(`source ${sourceId} is not configured`, 'UnknownSource');
    const poll = await loadPoll(pool, pollId);
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

    const { rows: snap } = await pool.query<{ person_key: string; content_hash: string }>(
      'select person_key, content_hash from source_snapshots where source = $1',
      [sourceId],
    );
    const previous = new Map(snap.map((r) => [r.person_key, r.content_hash]));

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

    await inTransaction(pool, async (db) => {
      await db.query('delete from poll_changes where poll_id = $1', [pollId]);
      await db.query('delete from poll_departments where poll_id = $1', [pollId]);
      await db.query('delete from source_record_errors where poll_id = $1', [pollId]);

      for (let i = 0; i < imported.errors.length; i += STAGE_CHUNK) {
        const chunk = imported.errors.slice(i, i + STAGE_CHUNK);
        await db.query(
          `insert into source_record_errors (poll_id, source, origin, line, record_key, field, reason)
           select $1, coalesce(nullif(s, ''), $2), o, l, k, f, r
           from unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[]) as t(s, o, l, k, f, r)`,
          [
            pollId,
            sourceId,
            chunk.map((e) => e.source),
            chunk.map((e) => e.origin),
            chunk.map((e) => e.line ?? null),
            chunk.map((e) => e.key ?? null),
            chunk.map((e) => e.field),
            chunk.map((e) => e.reason),
          ],
        );
      }

      if (!empty) {
        const staged: {
          key: string;
          kind: 'added' | 'changed' | 'removed';
          person: Person | null;
          hash: string | null;
        }[] = [];
        for (const p of diff.added) staged.push({ key: personKey(p), kind: 'added', person: p, hash: null });
        for (const p of diff.changed) staged.push({ key: personKey(p), kind: 'changed', person: p, hash: null });
        for (const key of diff.removed) staged.push({ key, kind: 'removed', person: null, hash: null });
        for (const s of staged) if (s.person) s.hash = diff.hashes.get(s.key) ?? null;
        for (let i = 0; i < staged.length; i += STAGE_CHUNK) {
          const chunk = staged.slice(i, i + STAGE_CHUNK);
          await db.query(
            `insert into poll_changes (poll_id, person_key, kind, person, content_hash)
             select $1, k, kind, p, h from unnest($2::text[], $3::text[], $4::jsonb[], $5::text[]) as t(k, kind, p, h)`,
            [
              pollId,
              chunk.map((s) => s.key),
              chunk.map((s) => s.kind),
              chunk.map((s) => (s.person ? JSON.stringify(s.person) : null)),
              chunk.map((s) => s.hash),
            ],
          );
          heartbeat({ phase: 'stage', staged: i + chunk.length });
        }
        const depts = imported.departments;
        for (let i = 0; i < depts.length; i += STAGE_CHUNK) {
          const chunk = depts.slice(i, i + STAGE_CHUNK);
          await db.query(
            `insert into poll_departments (poll_id, code, data)
             select $1, c, d from unnest($2::text[], $3::jsonb[]) as t(c, d)
             on conflict (poll_id, code) do update set data = excluded.data`,
            [pollId, chunk.map((d) => d.code), chunk.map((d) => JSON.stringify(d))],
          );
        }
      }

      await db.query(
        `update source_polls set records_read = $2, persons_valid = $3, added = $4, changed = $5, removed = $6,
           unchanged = $7, errors = $8, kept = $9, empty = $10, diffed_at = now()
         where id = $1`,
        [
          pollId,
          counts.recordsRead,
          counts.personsValid,
          counts.added,
          counts.changed,
          counts.removed,
          counts.unchanged,
          counts.errors,
          counts.kept,
          counts.empty,
        ],
      );
    });
    return counts;
  }

  /**
   * Signal-with-start the next batch of staged, not yet signalled changes after `afterKey`, at
   * most `concurrency` at a time. Each acknowledged signal is marked, so a retry after a crash
   * continues where the last attempt got to.
   */
  async function signalChanges(input: SignalChangesInput): Promise<SignalBatchResult> {
    const { pollId } = input;
    const batchSize = Math.max(1, Math.floor(input.batchSize));
    const poll = await loadPoll(pool, pollId);
    if (poll.outcome !== 'running') {
      throw ApplicationFailure.nonRetryable(`poll ${pollId} is already ${poll.outcome}`, 'PollFinished');
    }
    const cause = pollCause(poll.source, pollId);
    const { rows } = await pool.query<{
      person_key: string;
      kind: 'added' | 'changed' | 'removed';
      person: Person | null;
      content_hash: string | null;
    }>(
      `select person_key, kind, person, content_hash from poll_changes
       where poll_id = $1 and signalled_at is null and ($2::text is null or person_key > $2)
       order by person_key limit $3`,
      [pollId, input.afterKey ?? null, batchSize],
    );

    const ctx = inActivity();
    const done: string[] = [];
    const markDone = async () => {
      if (!done.length) return;
      await pool.query(
        'update poll_changes set signalled_at = now() where poll_id = $1 and person_key = any($2::text[])',
        [pollId, done],
      );
    };
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
        };
        if (row.kind === 'removed') {
          const removed: PersonRemoved = { personKey: row.person_key, cause };
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
      await markDone();
    }

    const lastKey = rows.length ? (rows[rows.length - 1] as { person_key: string }).person_key : input.afterKey;
    const { rows: progress } = await pool.query<{ more: boolean; total: number }>(
      `select exists (select 1 from poll_changes
                where poll_id = $1 and signalled_at is null and ($2::text is null or person_key > $2)) as more,
              (select count(*)::int from poll_changes where poll_id = $1 and signalled_at is not null) as total`,
      [pollId, lastKey ?? null],
    );
    const result: SignalBatchResult = {
      signalled: done.length,
      totalSignalled: progress[0]?.total ?? 0,
      done: !progress[0]?.more,
    };
    if (lastKey !== undefined) result.lastKey = lastKey;
    return result;
  }

  /**
   * Make the poll's import the accepted snapshot, in one transaction: snapshot hashes, the vault's
   * persons, contracts and departments, and the poll's outcome. Refused while any change is
   * unsignalled, and when another poll of the source was accepted after this one diffed.
   */
  async function acceptSnapshot(input: PollRef): Promise<AcceptResult> {
    const { pollId } = input;
    const result = await inTransaction<AcceptResult | { superseded: number }>(pool, async (db) => {
      const poll = await loadPoll(db, pollId, true);
      const source = poll.source;
      // One acceptance per source at a time.
      await db.query('select pg_advisory_xact_lock(hashtext($1))', [`tenure-poll-accept:${source}`]);
      if (poll.outcome === 'accepted') {
        const { rows } = await db.query<{ added: number; changed: number; removed: number }>(
          'select added, changed, removed from source_polls where id = $1',
          [pollId],
        );
        return rows[0] as AcceptResult; // a retry after the commit went through
      }
      if (poll.outcome !== 'running') {
        throw ApplicationFailure.nonRetryable(`poll ${pollId} is already ${poll.outcome}`, 'PollFinished');
      }
      if (poll.empty || !poll.diffed_at) {
        throw ApplicationFailure.nonRetryable(`poll ${pollId} has no import to accept`, 'NothingToAccept');
      }
      const { rows: pending } = await db.query<{ n: string }>(
        'select count(*) as n from poll_changes where poll_id = $1 and signalled_at is null',
        [pollId],
      );
      if (Number(pending[0]?.n ?? 0) > 0) {
        throw ApplicationFailure.nonRetryable(
          `poll ${pollId} still has ${pending[0]?.n} unsignalled changes`,
          'UnsignalledChanges',
        );
      }
      const { rows: newer } = await db.query<{ id: string }>(
        `select id from source_polls where source = $1 and id <> $2 and accepted_at >= $3 limit 1`,
        [source, pollId, poll.diffed_at],
      );
      if (newer.length) {
        await db.query(`update source_polls set outcome = 'superseded', finished_at = now() where id = $1`, [pollId]);
        return { superseded: Number(newer[0]?.id) };
      }

      // The snapshot.
      await db.query(
        `insert into source_snapshots (source, person_key, content_hash)
         select $2, person_key, content_hash from poll_changes where poll_id = $1 and kind <> 'removed'
         on conflict (source, person_key) do update set content_hash = excluded.content_hash, accepted_at = now()`,
        [pollId, source],
      );
      await db.query(
        `delete from source_snapshots s using poll_changes c
         where c.poll_id = $1 and c.kind = 'removed' and s.source = $2 and s.person_key = c.person_key`,
        [pollId, source],
      );

      // The vault: persons and their contracts (manager keys stored as person keys).
      await db.query(
        `insert into persons (person_key, source, source_key, data, content_hash, updated_at, removed_at)
         select person_key, person->>'source', person->>'key', person, content_hash, now(), null
         from poll_changes where poll_id = $1 and kind <> 'removed'
         on conflict (person_key) do update set data = excluded.data, content_hash = excluded.content_hash,
           updated_at = now(), removed_at = null`,
        [pollId],
      );
      await db.query(
        `delete from contracts k using poll_changes c
         where c.poll_id = $1 and c.kind <> 'removed' and k.person_key = c.person_key`,
        [pollId],
      );
      await db.query(
        `insert into contracts (person_key, contract_id, start_date, end_date, department_code, title_code, location, manager_key)
         select c.person_key, x.id, x."startDate", x."endDate", x.department->>'code', x.title->>'code', x.location,
                case when x."managerKey" is null then null else (c.person->>'source') || ':' || x."managerKey" end
         from poll_changes c
         cross join lateral jsonb_to_recordset(c.person->'contracts')
           as x(id text, "startDate" date, "endDate" date, department jsonb, title jsonb, location text, "managerKey" text)
         where c.poll_id = $1 and c.kind <> 'removed'`,
        [pollId],
      );
      await db.query(
        `update persons p set removed_at = now(), updated_at = now()
         from poll_changes c
         where c.poll_id = $1 and c.kind = 'removed' and p.person_key = c.person_key and p.removed_at is null`,
        [pollId],
      );
      await db.query(
        `insert into departments (source, code, name, manager_key, parent_code, updated_at)
         select $2, code, data->>'name',
                case when data->>'managerKey' is null then null else $2 || ':' || (data->>'managerKey') end,
                data->>'parentCode', now()
         from poll_departments where poll_id = $1
         on conflict (source, code) do update set name = excluded.name, manager_key = excluded.manager_key,
           parent_code = excluded.parent_code, updated_at = now()`,
        [pollId, source],
      );

      const { rows } = await db.query<{ added: number; changed: number; removed: number }>(
        `update source_polls set outcome = 'accepted', accepted_at = now(), finished_at = now()
         where id = $1 returning added, changed, removed`,
        [pollId],
      );
      // Staging of older polls of this source (accepted or abandoned) is no longer needed and holds
      // personal data; this poll's rows stay until the next acceptance, for inspection.
      await db.query(
        `delete from poll_changes where poll_id in (select id from source_polls where source = $1 and id < $2)`,
        [source, pollId],
      );
      await db.query(
        `delete from poll_departments where poll_id in (select id from source_polls where source = $1 and id < $2)`,
        [source, pollId],
      );
      return rows[0] as AcceptResult;
    });
    if ('superseded' in result) {
      throw ApplicationFailure.nonRetryable(
        `poll ${pollId} was superseded by poll ${result.superseded}; the next poll diffs again`,
        'PollSuperseded',
      );
    }
    return result;
  }

  /** Record how the poll ended. An accepted poll stays accepted. */
  async function finishPoll(input: FinishPollInput): Promise<void> {
    await pool.query(
      `update source_polls set
         outcome = case when outcome in ('accepted', 'superseded') then outcome else $2 end,
         finished_at = coalesce(finished_at, now()),
         signalled = coalesce($3, signalled)
       where id = $1`,
      [input.pollId, input.outcome, input.signalled ?? null],
    );
  }

  return { startPoll, importAndDiff, signalChanges, acceptSnapshot, finishPoll };
}

export type PollActivities = ReturnType<typeof createPollActivities>;
