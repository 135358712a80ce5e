/**
 * Poll activities (docs/lifecycle.md section 5, docs/temporal.md): fetch a source, diff it against
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
import { z } from 'zod';
import { LIFECYCLE_TASK_QUEUE } from '../common/task-queues.js';
import {
  EMPLOYEE_WORKFLOW_TYPE,
  personChangedSignal,
  personRemovedSignal,
  type EmployeeWorkflowInput,
  type PersonChanged,
  type PersonRemoved,
  type ThresholdReason,
} from '../common/messages.js';
import { EmployeeId, SourceId } from '../common/search-attributes.js';
import type { SourceConnector, SourceRecordError } from '../connectors/types.js';
import { employeeWorkflowId, personKey, type Person } from '../domain/model.js';
import { diffSnapshots } from '../common/snapshot.js';
import { DEFAULT_TIME_ZONE, isValidTimeZone, localDate } from '../domain/dates.js';

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
  /** Threshold settings by source id (`resolveThresholds`); a source not listed gets DEFAULT_THRESHOLDS. */
  thresholds?: Map<string, ThresholdSettings>;
  /** The clock for "today" and the rolling window (tests). Default `Date.now`. */
  now?: () => number;
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

// ------------------------------------------------------------------ thresholds (docs/lifecycle.md 5)

export const THRESHOLD_METRICS = ['removed', 'endingToday', 'changes'] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

/** A limit on one count: over `max` persons, or over `maxPercent` of the base, the poll holds. */
export interface Limit {
  max?: number;
  maxPercent?: number;
}
export type Limits = Record<ThresholdMetric, Limit>;

export interface ThresholdSettings {
  /** Limits on what this import alone would do. */
  perImport: Limits;
  /** Limits on this import plus the source's accepted polls in the last `windowMs`. */
  window: Limits;
  windowMs: number;
  /** Records read dropped by more than this percentage vs the last accepted poll: held. null: off. */
  truncatedPercent: number | null;
  /** Percentage limits (and the truncation check) apply only from this many persons (records) on. */
  minBaseForPercent: number;
  /** The organisation's zone: what "today" is. */
  timeZone: string;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** `5m`, `24h`, `2d`, `30 minutes` → milliseconds; undefined when not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = DURATION_UNITS[(m[2] as string).toLowerCase()];
  const ms = unit === undefined ? NaN : Number(m[1]) * unit;
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}

export const DurationText = z
  .string({ error: 'expected a duration such as "5m", "24h" or "2d"' })
  .refine((s) => parseDuration(s) !== undefined, 'expected a duration such as "5m", "24h" or "2d"');

const LimitInput = z.strictObject({
  max: z
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(0, 'must not be negative')
    .optional(),
  maxPercent: z
    .number({ error: 'expected a percentage (a number from 0 to 100)' })
    .min(0, 'must not be negative')
    .max(100, 'must be at most 100')
    .optional(),
});
const LimitsInput = z.strictObject({
  removed: LimitInput.optional(),
  endingToday: LimitInput.optional(),
  changes: LimitInput.optional(),
});

/** The `thresholds` of a source in the config file; every part optional (DEFAULT_THRESHOLDS). */
export const ThresholdsInput = z.strictObject({
  perImport: LimitsInput.optional(),
  window: LimitsInput.extend({ duration: DurationText.optional() }).optional(),
  truncatedPercent: z
    .number({ error: 'expected a percentage, or null to switch the check off' })
    .min(0, 'must not be negative')
    .max(100, 'must be at most 100')
    .nullable()
    .optional(),
  minBaseForPercent: z
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(0, 'must not be negative')
    .optional(),
});
export type ThresholdsInput = z.input<typeof ThresholdsInput>;

/**
 * What a source gets when its thresholds say nothing. Conservative guesses, not measured on real
 * tenants: every one is a setting.
 */
export const DEFAULT_THRESHOLDS: Readonly<ThresholdSettings> = Object.freeze({
  perImport: { removed: { maxPercent: 10 }, endingToday: { maxPercent: 10 }, changes: { maxPercent: 50 } },
  window: { removed: { maxPercent: 20 }, endingToday: { maxPercent: 20 }, changes: {} },
  windowMs: 24 * 3_600_000,
  truncatedPercent: 10,
  minBaseForPercent: 20,
  timeZone: DEFAULT_TIME_ZONE,
});

/**
 * Defaults filled in per count: a count given in the file replaces that count's default as a
 * whole (`removed: {}` switches the removed limits off; `removed: { max: 5 }` drops the default
 * percentage).
 */
export function resolveThresholds(input: ThresholdsInput = {}, timeZone?: string): ThresholdSettings {
  const parsed = ThresholdsInput.parse(input);
  const limits = (given: z.infer<typeof LimitsInput> | undefined, defaults: Limits): Limits => {
    const out = {} as Limits;
    for (const m of THRESHOLD_METRICS) out[m] = { ...(given?.[m] ?? defaults[m]) };
    return out;
  };
  const zone = timeZone ?? DEFAULT_TIME_ZONE;
  if (!isValidTimeZone(zone)) throw new Error(`unknown time zone ${JSON.stringify(zone)}`);
  return {
    perImport: limits(parsed.perImport, DEFAULT_THRESHOLDS.perImport),
    window: limits(parsed.window, DEFAULT_THRESHOLDS.window),
    windowMs: parsed.window?.duration ? (parseDuration(parsed.window.duration) as number) : DEFAULT_THRESHOLDS.windowMs,
    truncatedPercent:
      parsed.truncatedPercent === undefined ? DEFAULT_THRESHOLDS.truncatedPercent : parsed.truncatedPercent,
    minBaseForPercent: parsed.minBaseForPercent ?? DEFAULT_THRESHOLDS.minBaseForPercent,
    timeZone: zone,
  };
}

/** The three counts of docs/lifecycle.md 5. */
export type ThresholdFigures = Record<ThresholdMetric, number>;

export interface ThresholdInput {
  /** What this import would do. */
  current: ThresholdFigures;
  /** Persons in the last accepted snapshot. */
  base: number;
  /** This import plus the accepted polls in the window, and the largest population in the window. */
  window: { figures: ThresholdFigures; base: number; polls: number };
  recordsRead: number;
  /** Records read by the last accepted poll; undefined when there is none. */
  lastRecordsRead?: number;
}

const METRIC_WORDS: Record<ThresholdMetric, string> = {
  removed: 'removed',
  endingToday: 'ending today',
  changes: 'changes',
};

function pct(n: number, base: number): number {
  return base > 0 ? Math.round((n / base) * 1000) / 10 : 0;
}

/** Every limit the figures go over (empty: proceed). Pure. */
export function evaluateThresholds(settings: ThresholdSettings, input: ThresholdInput): ThresholdReason[] {
  const reasons: ThresholdReason[] = [];
  const check = (scope: 'import' | 'window', limits: Limits, figures: ThresholdFigures, base: number) => {
    const where =
      scope === 'import'
        ? 'in this import'
        : `in the last ${formatDuration(settings.windowMs)} (${input.window.polls} accepted ${input.window.polls === 1 ? 'poll' : 'polls'} and this one)`;
    for (const metric of THRESHOLD_METRICS) {
      const value = figures[metric];
      const limit = limits[metric];
      const of = `${value} of ${base} ${base === 1 ? 'person' : 'persons'} (${pct(value, base)}%)`;
      const label = METRIC_WORDS[metric];
      if (limit.max !== undefined && value > limit.max) {
        reasons.push({
          scope,
          metric,
          value,
          base,
          limit: limit.max,
          unit: 'persons',
          message: `${label}: ${of} ${where}; limit ${limit.max} ${limit.max === 1 ? 'person' : 'persons'}`,
        });
      }
      if (
        limit.maxPercent !== undefined &&
        base > 0 &&
        base >= settings.minBaseForPercent &&
        (value / base) * 100 > limit.maxPercent
      ) {
        reasons.push({
          scope,
          metric,
          value,
          base,
          limit: limit.maxPercent,
          unit: 'percent',
          message: `${label}: ${of} ${where}; limit ${limit.maxPercent}%`,
        });
      }
    }
  };
  check('import', settings.perImport, input.current, input.base);
  check('window', settings.window, input.window.figures, input.window.base);

  const last = input.lastRecordsRead;
  if (
    settings.truncatedPercent !== null &&
    last !== undefined &&
    last > 0 &&
    last >= settings.minBaseForPercent &&
    ((last - input.recordsRead) / last) * 100 > settings.truncatedPercent
  ) {
    reasons.push({
      scope: 'truncated',
      metric: 'recordsRead',
      value: input.recordsRead,
      base: last,
      limit: settings.truncatedPercent,
      unit: 'percent',
      message: `truncated import: ${input.recordsRead} records read, ${last} by the last accepted poll (${pct(last - input.recordsRead, last)}% fewer); limit ${settings.truncatedPercent}%`,
    });
  }
  return reasons;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
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
}

export interface DecidePollInput {
  pollId: number;
  decision: 'approved' | 'rejected';
  decidedBy: string;
  reason?: string;
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
  const now = deps.now ?? Date.now;

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
           unchanged = $7, errors = $8, kept = $9, empty = $10, previous = $11, diffed_at = now()
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
          counts.previous,
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

  /**
   * Count what the diffed poll would do (removed, ending today, total changes), add the source's
   * accepted polls of the rolling window, compare the records read with the last accepted poll,
   * and check it all against the source's limits. Over a limit the poll is marked `held` with its
   * reasons; nothing is signalled until an admin decides. Idempotent.
   */
  async function checkThresholds(input: CheckThresholdsInput): Promise<ThresholdCheck> {
    const { pollId } = input;
    return inTransaction(pool, async (db) => {
      const { rows: pollRows } = await db.query<{
        source: string;
        outcome: string;
        empty: boolean;
        diffed_at: Date | null;
        records_read: number;
        added: number;
        changed: number;
        removed: number;
        previous: number;
        held_at: Date | null;
      }>(
        `select source, outcome, empty, diffed_at, records_read, added, changed, removed, previous, held_at
         from source_polls where id = $1 for update`,
        [pollId],
      );
      const poll = pollRows[0];
      if (!poll) throw ApplicationFailure.nonRetryable(`poll ${pollId} does not exist`, 'PollNotFound');
      if (!poll.diffed_at || poll.empty) {
        throw ApplicationFailure.nonRetryable(`poll ${pollId} has no import to check`, 'NothingToCheck');
      }
      if (poll.outcome !== 'running' && poll.outcome !== 'held') {
        throw ApplicationFailure.nonRetryable(`poll ${pollId} is already ${poll.outcome}`, 'PollFinished');
      }
      const settings = deps.thresholds?.get(poll.source) ?? DEFAULT_THRESHOLDS;
      const nowMs = now();
      const today = localDate(nowMs, settings.timeZone);

      // Persons whose employment ends today or earlier by this import and did not before (their
      // last contract's end date moved to today or into the past, or every contract went).
      const { rows: ending } = await db.query<{ n: number }>(
        `select count(*)::int as n
         from poll_changes c
         cross join lateral (
           select count(*) as n, bool_or(x."endDate" is null) as open, max(x."endDate") as last_day
           from jsonb_to_recordset(coalesce(c.person->'contracts', '[]'::jsonb)) as x("endDate" date)
         ) nw
         cross join lateral (
           select count(*) as n, bool_or(k.end_date is null) as open, max(k.end_date) as last_day
           from contracts k where k.person_key = c.person_key
         ) od
         where c.poll_id = $1 and c.kind = 'changed'
           and (nw.n = 0 or (not nw.open and nw.last_day <= $2::date))
           and od.n > 0 and (od.open or od.last_day > $2::date)`,
        [pollId, today],
      );
      const current: ThresholdFigures = {
        removed: poll.removed,
        endingToday: poll.removed + (ending[0]?.n ?? 0),
        changes: poll.added + poll.changed + poll.removed,
      };

      // The rolling window: accepted polls of the source since the window start, but never before
      // the last approved poll (an admin approved those changes; they do not count twice).
      const since = new Date(nowMs - settings.windowMs);
      const { rows: win } = await db.query<{
        polls: number;
        removed: number;
        ending_today: number;
        changes: number;
        base: number | null;
      }>(
        `with reset as (
           select max(accepted_at) as t from source_polls
           where source = $1 and decision = 'approved' and accepted_at is not null
         )
         select count(*)::int as polls,
                coalesce(sum(removed), 0)::int as removed,
                coalesce(sum(ending_today), 0)::int as ending_today,
                coalesce(sum(added + changed + removed), 0)::int as changes,
                max(previous) as base
         from source_polls, reset
         where source = $1 and id <> $2 and accepted_at is not null and accepted_at > $3
           and (reset.t is null or accepted_at > reset.t)`,
        [poll.source, pollId, since],
      );
      const w = win[0] ?? { polls: 0, removed: 0, ending_today: 0, changes: 0, base: null };
      const { rows: last } = await db.query<{ records_read: number }>(
        `select records_read from source_polls
         where source = $1 and id <> $2 and accepted_at is not null order by accepted_at desc limit 1`,
        [poll.source, pollId],
      );

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
        ...(last[0] ? { lastRecordsRead: last[0].records_read } : {}),
      });

      const held = reasons.length > 0;
      const { rows: updated } = await db.query<{ held_at: Date | null }>(
        `update source_polls set ending_today = $2,
           outcome = case when $3 then 'held' else outcome end,
           held_at = case when $3 then coalesce(held_at, now()) else held_at end,
           held_reasons = case when $3 then $4::jsonb else held_reasons end
         where id = $1 returning held_at`,
        [pollId, current.endingToday, held, JSON.stringify(reasons)],
      );
      const result: ThresholdCheck = { held, reasons, current, previous: poll.previous };
      const heldAt = updated[0]?.held_at;
      if (held && heldAt) result.heldAt = heldAt.toISOString();
      return result;
    });
  }

  /**
   * Record an admin's decision on a held poll (who, when, why). Approved: the poll runs on
   * (signalling, then acceptance). Rejected: it ends unaccepted; the last snapshot stays.
   * Idempotent; a poll decided the other way already is refused.
   */
  async function decidePoll(input: DecidePollInput): Promise<void> {
    const { rows } = await pool.query<{ id: string }>(
      `update source_polls set
         decision = $2, decided_by = $3, decision_reason = $4,
         decided_at = coalesce(decided_at, now()),
         outcome = case when outcome <> 'held' then outcome when $2 = 'approved' then 'running' else 'rejected' end,
         finished_at = case when outcome = 'held' and $2 = 'rejected' then now() else finished_at end
       where id = $1 and ((decision is null and outcome = 'held') or decision = $2)
       returning id`,
      [input.pollId, input.decision, input.decidedBy, input.reason ?? null],
    );
    if (!rows.length) {
      throw ApplicationFailure.nonRetryable(
        `poll ${input.pollId} is not held (or was decided otherwise already)`,
        'PollNotHeld',
      );
    }
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

  return { startPoll, importAndDiff, checkThresholds, decidePoll, signalChanges, acceptSnapshot, finishPoll };
}

export type PollActivities = ReturnType<typeof createPollActivities>;
