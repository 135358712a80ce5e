/**
 * The vault's record of polls (docs/configuration.md): `source_polls` (one row per poll run, its
 * counts, threshold hold and decision), the staging of a poll's changes (`poll_changes`,
 * `poll_departments`), the rejected records (`source_record_errors`), and the accepted snapshot
 * with the persons, contracts and departments it stands for. Every SQL statement of the poller
 * is here; the activities (activities/poll.ts) decide what to do with the answers.
 */
import type pg from 'pg';
import type { DiffCounts, ThresholdReason } from '../common/messages.js';
import type { Department, Person, SourceRecordError } from '../domain/model.js';
import { inTransaction } from './transaction.js';

type Db = pg.Pool | pg.PoolClient;

/** Rows per multi-row INSERT while staging. */
const STAGE_CHUNK = 1000;

export type ChangeKind = 'added' | 'changed' | 'removed';

export interface PollRow {
  id: string;
  source: string;
  outcome: string;
  empty: boolean;
  diffed_at: Date | null;
}

/** Register a poll run; the same workflow run always gets the same poll id. */
export async function insertPoll(db: Db, sourceId: string, workflowId: string, runId: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `insert into source_polls (source, workflow_id, run_id) values ($1, $2, $3)
     on conflict (workflow_id, run_id) do update set source = excluded.source
     returning id`,
    [sourceId, workflowId, runId],
  );
  return Number((rows[0] as { id: string }).id);
}

/** The poll, or undefined when there is none with that id. `lock`: select for update. */
export async function loadPoll(db: Db, pollId: number, lock = false): Promise<PollRow | undefined> {
  const { rows } = await db.query<PollRow>(
    `select id, source, outcome, empty, diffed_at from source_polls where id = $1${lock ? ' for update' : ''}`,
    [pollId],
  );
  return rows[0];
}

/** What a person in doubt is diffed against: equal to no real hash, so the person is signalled again. */
export const IN_DOUBT_HASH = '';

/**
 * The snapshot to diff against: person key → content hash of what was last signalled for that
 * person. A person whose signal was in flight when a poll died gets IN_DOUBT_HASH.
 */
export async function readSnapshot(db: Db, sourceId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ person_key: string; content_hash: string }>(
    `select person_key, case when in_doubt then $2 else content_hash end as content_hash
     from source_snapshots where source = $1`,
    [sourceId, IN_DOUBT_HASH],
  );
  return new Map(rows.map((r) => [r.person_key, r.content_hash]));
}

export interface StagedChange {
  key: string;
  kind: ChangeKind;
  /** null for removed. */
  person: Person | null;
  hash: string | null;
}

/** The counts of a poll's import, as stored on its source_polls row. */
export interface StagedCounts extends DiffCounts {
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

export interface StageImportInput {
  pollId: number;
  sourceId: string;
  errors: readonly SourceRecordError[];
  changes: readonly StagedChange[];
  departments: readonly Department[];
  counts: StagedCounts;
  /** Called after each chunk of changes is staged. */
  onStaged?: (staged: number) => void;
}

/**
 * Replace the poll's staging (changes, departments, record errors) and record its counts, in one
 * transaction: staging the same poll again starts over.
 */
export async function stageImport(pool: pg.Pool, input: StageImportInput): Promise<void> {
  const { pollId, sourceId, errors, changes, departments, counts } = input;
  await inTransaction(pool, async (db) => {
    await db.query('delete from poll_changes where poll_id = $1', [pollId]);
    await db.query('delete from poll_departments where poll_id = $1', [pollId]);
    await db.query('delete from source_record_errors where poll_id = $1', [pollId]);

    for (let i = 0; i < errors.length; i += STAGE_CHUNK) {
      const chunk = errors.slice(i, i + STAGE_CHUNK);
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

    for (let i = 0; i < changes.length; i += STAGE_CHUNK) {
      const chunk = changes.slice(i, i + STAGE_CHUNK);
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
      input.onStaged?.(i + chunk.length);
    }
    for (let i = 0; i < departments.length; i += STAGE_CHUNK) {
      const chunk = departments.slice(i, i + STAGE_CHUNK);
      await db.query(
        `insert into poll_departments (poll_id, code, data)
         select $1, c, d from unnest($2::text[], $3::jsonb[]) as t(c, d)
         on conflict (poll_id, code) do update set data = excluded.data`,
        [pollId, chunk.map((d) => d.code), chunk.map((d) => JSON.stringify(d))],
      );
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
}

export interface UnsignalledChange {
  person_key: string;
  kind: ChangeKind;
  person: Person | null;
  content_hash: string | null;
}

/** The next `limit` staged changes not yet signalled, after `afterKey`, in person key order. */
export async function nextUnsignalled(
  db: Db,
  pollId: number,
  afterKey: string | undefined,
  limit: number,
): Promise<UnsignalledChange[]> {
  const { rows } = await db.query<UnsignalledChange>(
    `select person_key, kind, person, content_hash from poll_changes
     where poll_id = $1 and signalled_at is null and ($2::text is null or person_key > $2)
     order by person_key limit $3`,
    [pollId, afterKey ?? null, limit],
  );
  return rows;
}

/**
 * Before signalling: the snapshot rows of these persons are in doubt until their signal is
 * recorded (recordSignalled). Persons not in the snapshot yet (added) have no row to mark.
 */
export async function markInDoubt(db: Db, source: string, keys: readonly string[]): Promise<void> {
  if (!keys.length) return;
  await db.query('update source_snapshots set in_doubt = true where source = $1 and person_key = any($2::text[])', [
    source,
    keys,
  ]);
}

/**
 * After signalling: these changes of the poll were acknowledged. In one transaction, mark them
 * signalled and make the snapshot and the vault's persons and contracts say what was signalled,
 * person by person, so a poll that dies part-way leaves the vault matching the employee
 * workflows and the next poll diffs against that.
 */
export async function recordSignalled(pool: pg.Pool, pollId: number, source: string, keys: readonly string[]) {
  if (!keys.length) return;
  await inTransaction(pool, async (db) => {
    await db.query('update poll_changes set signalled_at = now() where poll_id = $1 and person_key = any($2::text[])', [
      pollId,
      keys,
    ]);
    // The poll's own count follows too: a poll that fails part-way counts in the window.
    await db.query(
      `update source_polls set signalled =
         (select count(*) from poll_changes where poll_id = $1 and signalled_at is not null)
       where id = $1`,
      [pollId],
    );
    await applyChanges(db, pollId, source, keys);
  });
}

/**
 * Apply the poll's changes (all, or only `keys`) to the snapshot, persons and contracts.
 * Idempotent: applying a change twice gives the same rows.
 */
async function applyChanges(db: Db, pollId: number, source: string, keys?: readonly string[]): Promise<void> {
  const only = keys ?? null; // null: every change of the poll
  await db.query(
    `insert into source_snapshots (source, person_key, content_hash)
     select $2, c.person_key, c.content_hash from poll_changes c
     where c.poll_id = $1 and c.kind <> 'removed' and ($3::text[] is null or c.person_key = any($3::text[]))
     on conflict (source, person_key) do update
       set content_hash = excluded.content_hash, accepted_at = now(), in_doubt = false`,
    [pollId, source, only],
  );
  await db.query(
    `delete from source_snapshots s using poll_changes c
     where c.poll_id = $1 and c.kind = 'removed' and s.source = $2 and s.person_key = c.person_key
       and ($3::text[] is null or c.person_key = any($3::text[]))`,
    [pollId, source, only],
  );
  // The vault: persons and their contracts (manager keys stored as person keys).
  await db.query(
    `insert into persons (person_key, source, source_key, data, content_hash, updated_at, removed_at)
     select c.person_key, c.person->>'source', c.person->>'key', c.person, c.content_hash, now(), null
     from poll_changes c
     where c.poll_id = $1 and c.kind <> 'removed' and ($2::text[] is null or c.person_key = any($2::text[]))
     on conflict (person_key) do update set data = excluded.data, content_hash = excluded.content_hash,
       updated_at = now(), removed_at = null`,
    [pollId, only],
  );
  await db.query(
    `delete from contracts k using poll_changes c
     where c.poll_id = $1 and c.kind <> 'removed' and k.person_key = c.person_key
       and ($2::text[] is null or c.person_key = any($2::text[]))`,
    [pollId, only],
  );
  await db.query(
    `insert into contracts (person_key, contract_id, start_date, end_date, department_code, title_code, location, manager_key)
     select c.person_key, x.id, x."startDate", x."endDate", x.department->>'code', x.title->>'code', x.location,
            case when x."managerKey" is null then null else (c.person->>'source') || ':' || x."managerKey" end
     from poll_changes c
     cross join lateral jsonb_to_recordset(c.person->'contracts')
       as x(id text, "startDate" date, "endDate" date, department jsonb, title jsonb, location text, "managerKey" text)
     where c.poll_id = $1 and c.kind <> 'removed' and ($2::text[] is null or c.person_key = any($2::text[]))`,
    [pollId, only],
  );
  await db.query(
    `update persons p set removed_at = now(), updated_at = now()
     from poll_changes c
     where c.poll_id = $1 and c.kind = 'removed' and p.person_key = c.person_key and p.removed_at is null
       and ($2::text[] is null or c.person_key = any($2::text[]))`,
    [pollId, only],
  );
}

/** The id of a poll of the same source accepted after this poll diffed; undefined when none. */
export async function newerAcceptedPoll(db: Db, pollId: number): Promise<number | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `select n.id from source_polls p join source_polls n
       on n.source = p.source and n.id <> p.id and n.accepted_at >= p.diffed_at
     where p.id = $1 limit 1`,
    [pollId],
  );
  return rows[0] ? Number(rows[0].id) : undefined;
}

/** Mark the poll superseded (a newer poll of its source was accepted). */
export async function markSuperseded(db: Db, pollId: number): Promise<void> {
  await db.query(`update source_polls set outcome = 'superseded', finished_at = now() where id = $1`, [pollId]);
}

/** Whether an unsignalled change is left after `lastKey`, and how many are signalled in all. */
/** How many changes the poll staged (signalled or not). */
export async function stagedChangeCount(db: Db, pollId: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from poll_changes where poll_id = $1', [
    pollId,
  ]);
  return rows[0]?.n ?? 0;
}

export async function signalProgress(
  db: Db,
  pollId: number,
  lastKey: string | undefined,
): Promise<{ more: boolean; total: number }> {
  const { rows } = await db.query<{ more: boolean; total: number }>(
    `select exists (select 1 from poll_changes
              where poll_id = $1 and signalled_at is null and ($2::text is null or person_key > $2)) as more,
            (select count(*)::int from poll_changes where poll_id = $1 and signalled_at is not null) as total`,
    [pollId, lastKey ?? null],
  );
  return { more: rows[0]?.more ?? false, total: rows[0]?.total ?? 0 };
}

export interface AcceptedCounts {
  added: number;
  changed: number;
  removed: number;
}

export type AcceptOutcome =
  | { status: 'accepted'; counts: AcceptedCounts }
  | { status: 'missing' }
  | { status: 'finished'; outcome: string }
  | { status: 'nothing-to-accept' }
  | { status: 'unsignalled'; pending: number }
  | { status: 'superseded'; by: number };

/**
 * Make the poll's import the accepted snapshot, in one transaction: snapshot hashes, the vault's
 * persons, contracts and departments, and the poll's outcome. Refused while any change is
 * unsignalled, and when another poll of the source was accepted after this one diffed (the poll
 * is then marked superseded).
 */
export async function acceptPoll(pool: pg.Pool, pollId: number): Promise<AcceptOutcome> {
  return inTransaction<AcceptOutcome>(pool, async (db) => {
    const poll = await loadPoll(db, pollId, true);
    if (!poll) return { status: 'missing' };
    const source = poll.source;
    // One acceptance per source at a time.
    await db.query('select pg_advisory_xact_lock(hashtext($1))', [`tenure-poll-accept:${source}`]);
    if (poll.outcome === 'accepted') {
      const { rows } = await db.query<AcceptedCounts>(
        'select added, changed, removed from source_polls where id = $1',
        [pollId],
      );
      return { status: 'accepted', counts: rows[0] as AcceptedCounts }; // a retry after the commit went through
    }
    if (poll.outcome !== 'running') return { status: 'finished', outcome: poll.outcome };
    if (poll.empty || !poll.diffed_at) return { status: 'nothing-to-accept' };
    const { rows: pending } = await db.query<{ n: string }>(
      'select count(*) as n from poll_changes where poll_id = $1 and signalled_at is null',
      [pollId],
    );
    const unsignalled = Number(pending[0]?.n ?? 0);
    if (unsignalled > 0) return { status: 'unsignalled', pending: unsignalled };
    const newer = await newerAcceptedPoll(db, pollId);
    if (newer !== undefined) {
      await markSuperseded(db, pollId);
      return { status: 'superseded', by: newer };
    }

    // Already applied person by person as signalled (recordSignalled); applied again here, which
    // changes nothing, for polls whose signals were recorded before that existed.
    await applyChanges(db, pollId, source);
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

    const { rows } = await db.query<AcceptedCounts>(
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
    return { status: 'accepted', counts: rows[0] as AcceptedCounts };
  });
}

// ------------------------------------------------------------------ thresholds

export interface PollForCheck {
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
}

/** The poll's counts for the threshold check, locked for update. */
export async function loadPollForCheck(db: pg.PoolClient, pollId: number): Promise<PollForCheck | undefined> {
  const { rows } = await db.query<PollForCheck>(
    `select source, outcome, empty, diffed_at, records_read, added, changed, removed, previous, held_at
     from source_polls where id = $1 for update`,
    [pollId],
  );
  return rows[0];
}

/**
 * Persons whose employment ends on `lastDay` or earlier by this poll's changes and did not before
 * (their last contract's end date moved to `lastDay` or earlier, or every contract went).
 * Removed persons are not included. "Before" is the vault's contracts: what was last signalled.
 */
export async function countEndingBy(db: Db, pollId: number, lastDay: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
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
    [pollId, lastDay],
  );
  return rows[0]?.n ?? 0;
}

export interface WindowTotals {
  polls: number;
  removed: number;
  ending_today: number;
  changes: number;
  /** The most persons any of these polls diffed against; null without polls. */
  base: number | null;
}

/**
 * The source's earlier polls since `since` whose changes reached employee workflows: accepted
 * ones, and failed ones that signalled part of their changes (counted in full: their removals may
 * be in force). Never from before the last approved poll: what an admin approved does not count
 * twice.
 */
export async function windowTotals(db: Db, source: string, pollId: number, since: Date): Promise<WindowTotals> {
  const { rows } = await db.query<WindowTotals>(
    `with reset as (
       select max(accepted_at) as t from source_polls
       where source = $1 and decision = 'approved' and accepted_at is not null
     ), counted as (
       select p.*, coalesce(p.accepted_at, p.finished_at) as at from source_polls p
       where p.source = $1 and p.id <> $2
         and (p.accepted_at is not null or (p.outcome = 'failed' and p.signalled > 0))
     )
     select count(*)::int as polls,
            coalesce(sum(removed), 0)::int as removed,
            coalesce(sum(ending_today), 0)::int as ending_today,
            coalesce(sum(added + changed + removed), 0)::int as changes,
            max(previous) as base
     from counted, reset
     where counted.at > $3 and (reset.t is null or counted.at > reset.t)`,
    [source, pollId, since],
  );
  return rows[0] ?? { polls: 0, removed: 0, ending_today: 0, changes: 0, base: null };
}

/** Records read by the source's last accepted poll (other than this one). */
export async function lastAcceptedRecordsRead(db: Db, source: string, pollId: number): Promise<number | undefined> {
  const { rows } = await db.query<{ records_read: number }>(
    `select records_read from source_polls
     where source = $1 and id <> $2 and accepted_at is not null order by accepted_at desc limit 1`,
    [source, pollId],
  );
  return rows[0]?.records_read;
}

/** Whether a poll of the source (other than this one) was ever accepted. */
export async function hasAcceptedPoll(db: Db, source: string, pollId: number): Promise<boolean> {
  const { rows } = await db.query(
    'select 1 from source_polls where source = $1 and id <> $2 and accepted_at is not null limit 1',
    [source, pollId],
  );
  return rows.length > 0;
}

export interface ThresholdCheckRecord {
  endingToday: number;
  endingHorizonDays: number;
  firstPoll: boolean;
  held: boolean;
  reasons: readonly ThresholdReason[];
}

/** Store the check's counts and, when held, the hold with its reasons. Returns held_at. */
export async function recordThresholdCheck(db: Db, pollId: number, check: ThresholdCheckRecord): Promise<Date | null> {
  const { rows } = await db.query<{ held_at: Date | null }>(
    `update source_polls set ending_today = $2, ending_horizon_days = $5, first_poll = $6,
       outcome = case when $3 then 'held' else outcome end,
       held_at = case when $3 then coalesce(held_at, now()) else held_at end,
       held_reasons = case when $3 then $4::jsonb else held_reasons end
     where id = $1 returning held_at`,
    [pollId, check.endingToday, check.held, JSON.stringify(check.reasons), check.endingHorizonDays, check.firstPoll],
  );
  return rows[0]?.held_at ?? null;
}

/** Attach a preview to a held poll (common/messages.ts PollPreview). */
export async function recordPreview(db: Db, pollId: number, preview: unknown): Promise<void> {
  await db.query('update source_polls set preview = $2::jsonb where id = $1', [pollId, JSON.stringify(preview)]);
}

export interface PollDecisionRow {
  pollId: number;
  decision: 'approved' | 'rejected';
  decidedBy: string;
  reason?: string;
}

/**
 * Record an admin's decision on a held poll. False when the poll is not held (or was decided the
 * other way already); the same decision again is fine.
 */
export async function recordDecision(db: Db, input: PollDecisionRow): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>(
    `update source_polls set
       decision = $2, decided_by = $3, decision_reason = $4,
       decided_at = coalesce(decided_at, now()),
       outcome = case when outcome <> 'held' then outcome when $2 = 'approved' then 'running' else 'rejected' end,
       finished_at = case when outcome = 'held' and $2 = 'rejected' then now() else finished_at end
     where id = $1 and ((decision is null and outcome = 'held') or decision = $2)
     returning id`,
    [input.pollId, input.decision, input.decidedBy, input.reason ?? null],
  );
  return rows.length > 0;
}

/** Record how the poll ended. An accepted (or superseded) poll keeps its outcome. */
export async function recordPollEnd(
  db: Db,
  pollId: number,
  outcome: string,
  signalled: number | undefined,
): Promise<void> {
  await db.query(
    `update source_polls set
       outcome = case when outcome in ('accepted', 'superseded') then outcome else $2 end,
       finished_at = coalesce(finished_at, now()),
       signalled = greatest(coalesce($3, 0), signalled)
     where id = $1`,
    [pollId, outcome, signalled ?? null],
  );
}

/** The persons a poll would add or change (its staged records), for a preview of the held poll. */
export async function stagedPersons(
  db: Db,
  pollId: number,
): Promise<{ added: unknown[]; changed: unknown[]; removed: number }> {
  const { rows } = await db.query<{ kind: string; person: unknown }>(
    'select kind, person from poll_changes where poll_id = $1 order by person_key',
    [pollId],
  );
  return {
    added: rows.filter((r) => r.kind === 'added').map((r) => r.person),
    changed: rows.filter((r) => r.kind === 'changed').map((r) => r.person),
    removed: rows.filter((r) => r.kind === 'removed').length,
  };
}
