/**
 * Thresholds on the poller (docs/lifecycle.md section 5) and the held-poll CLI commands, against a
 * real Temporal dev server and a real Postgres (TEMPORAL_ADDRESS, DATABASE_URL). Employee
 * workflows are the recording stand-in of test/support/recording-employee-workflow.ts, so the
 * tests see exactly which signals went out. Every test has its own source id.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ScheduleOverlapPolicy, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type NativeConnection } from '@temporalio/worker';
import pg from 'pg';
import { createPollActivities } from '../activities/poll.js';
import { resolveThresholds } from '../common/thresholds-config.js';
import { parseDuration } from '../domain/durations.js';
import { DEFAULT_THRESHOLDS, evaluateThresholds, type ThresholdSettings } from '../domain/thresholds.js';
import { approveCommand, heldCommand, listHeldPolls, rejectCommand } from '../cli/commands/polls.js';
import { runCli, type CliDeps } from '../cli/main.js';
import { approvePollUpdate, heldPollQuery, type PollPreview, type PollSummary } from '../common/messages.js';
import { PollState } from '../common/search-attributes.js';
import type { SourceConnector, SourceImport } from '../connectors/types.js';
import { addDays, localDate } from '../domain/dates.js';
import { Person, employeeWorkflowId, type PersonInput } from '../domain/model.js';
import { migrate } from '../vault/migrate.js';
import type { pollSource } from '../workflows/poll.js';
import { deleteSourceSchedule, ensureSourceSchedules, pollScheduleId, triggerPoll } from '../workers/schedules.js';
import { connectClient, connectWorker } from '../workers/temporal-connection.js';
import { recordingQuery, stopRecordingSignal, type ReceivedSignal } from './support/recording-employee-workflow.js';

const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL) throw new Error('DATABASE_URL is not set (source .run/test/postgres/pg.env)');
if (!process.env.TEMPORAL_ADDRESS)
  throw new Error('TEMPORAL_ADDRESS is not set (source .run/test/temporal/temporal.env)');

const rnd = () => randomBytes(4).toString('hex');
const QUEUE = `test-thresholds-${rnd()}`;
const ZONE = 'Europe/Amsterdam';

class MemorySource implements SourceConnector {
  next: SourceImport = { persons: [], departments: [], errors: [], recordsRead: 0 };
  constructor(readonly id: string) {}
  set(persons: PersonInput[], recordsRead?: number): void {
    this.next = {
      persons: persons.map((p) => Person.parse(p)),
      departments: [{ code: 'FIN', name: 'Finance' }],
      errors: [],
      recordsRead: recordsRead ?? persons.length,
    };
  }
  async fetchAll(): Promise<SourceImport> {
    return structuredClone(this.next);
  }
}

function person(source: string, key: string, endDate?: string): PersonInput {
  return {
    source,
    key,
    name: { nickName: `Nick${key}`, familyName: `Family${key}` },
    contracts: [
      { id: `${key}-1`, startDate: '2020-01-01', ...(endDate ? { endDate } : {}), department: { code: 'FIN' } },
    ],
  };
}

const keysFrom = (n: number, first = 1001) => Array.from({ length: n }, (_, i) => String(first + i));

let pool: pg.Pool;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;
const sources = new Map<string, SourceConnector>();
const thresholds = new Map<string, ThresholdSettings>();
const startedEmployees = new Set<string>();
/** What the preview hook answers for a source (a stand-in for `tenure preview`). */
const previews = new Map<string, PollPreview>();

/**
 * A source of its own. Without settings: the defaults, except that the first poll does not hold
 * (most tests start from an accepted first poll); `'defaults'`: the defaults as they are.
 */
function newSource(settings: ThresholdSettings | 'defaults' = resolveThresholds({ firstPoll: 'accept' }, ZONE)) {
  const s = new MemorySource(`h${rnd()}`);
  sources.set(s.id, s);
  if (settings !== 'defaults') thresholds.set(s.id, settings);
  return s;
}

async function startPollWorkflow(sourceId: string) {
  return client.workflow.start<typeof pollSource>('pollSource', {
    taskQueue: QUEUE,
    workflowId: `poll-${sourceId}-${rnd()}`,
    args: [{ sourceId }],
  });
}

async function poll(sourceId: string): Promise<PollSummary> {
  return (await startPollWorkflow(sourceId)).result();
}

async function eventually(check: () => Promise<void>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function received(key: string): Promise<ReceivedSignal[]> {
  startedEmployees.add(key);
  return (await client.workflow.getHandle(employeeWorkflowId(key)).query(recordingQuery)).received;
}

async function expectSignals(key: string, kinds: ReceivedSignal['kind'][]): Promise<void> {
  await eventually(async () => {
    assert.deepEqual(
      (await received(key)).map((s) => s.kind),
      kinds,
      `signals of ${key}`,
    );
  });
}

/** Start a poll and wait until it holds. */
async function heldPoll(sourceId: string) {
  const handle = await startPollWorkflow(sourceId);
  await eventually(async () => {
    const d = await handle.describe();
    assert.equal(d.typedSearchAttributes.get(PollState), 'held');
    assert.ok(await handle.query(heldPollQuery));
  });
  return handle;
}

async function signalBatches(workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'signalChanges',
  ).length;
}

async function snapshotKeys(sourceId: string): Promise<string[]> {
  const { rows } = await pool.query<{ person_key: string }>(
    'select person_key from source_snapshots where source = $1 order by person_key',
    [sourceId],
  );
  return rows.map((r) => r.person_key);
}

async function pollRow(pollId: number) {
  const { rows } = await pool.query('select * from source_polls where id = $1', [pollId]);
  return rows[0] as Record<string, unknown>;
}

async function currentDetails(workflowId: string): Promise<string> {
  const meta = (await client.workflow.getHandle(workflowId).query('__temporal_workflow_metadata')) as {
    currentDetails?: string;
  };
  return meta.currentDetails ?? '';
}

function capture() {
  const lines: string[] = [];
  return { lines, out: (l: string) => lines.push(l), text: () => lines.join('\n') };
}

before(async () => {
  await migrate(DATABASE_URL);
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
  client = await connectClient();
  nativeConnection = await connectWorker();
  const bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./support/poller-workflows.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  worker = await Worker.create({
    connection: nativeConnection,
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: QUEUE,
    workflowBundle: bundle,
    activities: createPollActivities({
      pool,
      client,
      sources,
      thresholds,
      employeeTaskQueue: QUEUE,
      previewHeldPoll: async (p) => previews.get(p.sourceId),
    }),
  });
  workerRun = worker.run();
});

after(async () => {
  await Promise.all(
    [...startedEmployees].map((k) =>
      client.workflow
        .getHandle(employeeWorkflowId(k))
        .signal(stopRecordingSignal)
        .catch(() => undefined),
    ),
  );
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await nativeConnection?.close();
  await client?.connection.close();
  await pool?.end();
});

// ------------------------------------------------------------------ pure parts

describe('thresholds: evaluation (pure)', () => {
  const none = { removed: 0, endingToday: 0, changes: 0 };
  test('absolute and percentage limits, the small-base rule, the window and truncation', () => {
    const s = resolveThresholds({ perImport: { removed: { max: 5, maxPercent: 10 } } }, ZONE);
    const eval1 = (removed: number, base: number) =>
      evaluateThresholds(s, {
        current: { removed, endingToday: removed, changes: removed },
        base,
        window: { figures: { removed, endingToday: removed, changes: removed }, base, polls: 0 },
        recordsRead: base - removed,
        lastRecordsRead: base,
      });
    assert.deepEqual(eval1(0, 100), []);
    assert.deepEqual(eval1(5, 100), [], '5 of 100: at the limits, not over');
    assert.deepEqual(
      eval1(6, 100).map((x) => `${x.unit}/${x.limit}`),
      ['persons/5'],
    );
    const r = eval1(11, 100);
    assert.deepEqual(
      r.map((x) => `${x.scope}/${x.metric}/${x.unit}/${x.limit}`),
      [
        'import/removed/persons/5',
        'import/removed/percent/10',
        'import/endingToday/percent/10',
        'truncated/recordsRead/percent/10',
      ],
    );
    assert.equal(r[1]?.message, 'removed: 11 of 100 persons (11%) in this import; limit 10%');
    // Below minBaseForPercent (20) percentages are taken of 20: 10% allows 2 persons, 3 holds.
    assert.deepEqual(eval1(2, 10), []);
    const small = eval1(3, 10);
    assert.deepEqual(
      small.map((x) => `${x.scope}/${x.metric}/${x.unit}/${x.limit}`),
      ['import/removed/percent/10', 'import/endingToday/percent/10', 'truncated/recordsRead/percent/10'],
    );
    assert.equal(
      small[0]?.message,
      'removed: 3 of 10 persons (30%) in this import; limit 10% of at least 20 persons (2 persons)',
    );
    assert.match(small[1]!.message, /^ending within 7 days: 3 of 10 persons/);
    // A first import (nothing to measure against) has no percentage limits; the go-live hold covers it.
    assert.deepEqual(
      evaluateThresholds(resolveThresholds({ firstPoll: 'accept' }), {
        current: { removed: 0, endingToday: 0, changes: 50 },
        base: 0,
        window: { figures: { removed: 0, endingToday: 0, changes: 50 }, base: 0, polls: 0 },
        recordsRead: 50,
      }),
      [],
    );
    const goLive = evaluateThresholds(DEFAULT_THRESHOLDS, {
      current: { removed: 0, endingToday: 0, changes: 50 },
      base: 0,
      window: { figures: { removed: 0, endingToday: 0, changes: 50 }, base: 0, polls: 0 },
      recordsRead: 50,
      firstPoll: true,
      added: 50,
    });
    assert.deepEqual(
      goLive.map((x) => `${x.scope}/${x.value}`),
      ['firstPoll/50'],
    );
    assert.match(goLive[0]!.message, /first poll of this source \(go-live\): 50 persons would be provisioned/);

    const t = evaluateThresholds(DEFAULT_THRESHOLDS, {
      current: none,
      base: 100,
      window: { figures: none, base: 100, polls: 3 },
      recordsRead: 89,
      lastRecordsRead: 100,
    });
    assert.deepEqual(
      t.map((x) => x.scope),
      ['truncated'],
    );
    assert.match(t[0]!.message, /89 records read, 100 by the last accepted poll \(11% fewer\); limit 10%/);

    const w = evaluateThresholds(resolveThresholds({ window: { removed: { maxPercent: 12 } } }), {
      current: { removed: 4, endingToday: 4, changes: 4 },
      base: 88,
      window: { figures: { removed: 16, endingToday: 16, changes: 16 }, base: 100, polls: 3 },
      recordsRead: 84,
      lastRecordsRead: 88,
    });
    assert.deepEqual(
      w.map((x) => `${x.scope}/${x.metric}`),
      ['window/removed'],
    );
    assert.match(
      w[0]!.message,
      /removed: 16 of 100 persons \(16%\) in the last 1d \(3 earlier polls and this one\); limit 12%/,
    );
  });

  test('defaults per count, switching a count off, durations', () => {
    const s = resolveThresholds({ perImport: { removed: {} }, window: { duration: '6h' }, truncatedPercent: null });
    assert.deepEqual(s.perImport.removed, {});
    assert.deepEqual(s.perImport.endingToday, DEFAULT_THRESHOLDS.perImport.endingToday);
    assert.equal(s.windowMs, 6 * 3_600_000);
    assert.equal(s.truncatedPercent, null);
    assert.equal(s.endingHorizonDays, 7);
    assert.equal(s.firstPoll, 'hold');
    assert.equal(resolveThresholds({ endingHorizonDays: 0 }).endingHorizonDays, 0);
    assert.throws(() => resolveThresholds({ endingHorizonDays: -1 }));
    assert.throws(() => resolveThresholds({ firstPoll: 'later' as 'hold' }));
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('30 minutes'), 1_800_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('soon'), undefined);
    assert.equal(parseDuration('0m'), undefined);
    assert.throws(() => resolveThresholds({ perImport: { removed: { maxPercent: 120 } } }));
    assert.throws(() => resolveThresholds({}, 'Mars/Olympus'), /unknown time zone/);
  });
});

// ------------------------------------------------------------------ against Temporal and Postgres

describe('thresholds: held polls', () => {
  test('an import removing 30% holds; nothing is signalled until approved; approve signals and accepts', async () => {
    const src = newSource();
    const keys = keysFrom(20);
    src.set(keys.map((k) => person(src.id, k)));
    const first = await poll(src.id);
    assert.equal(first.outcome, 'accepted');
    assert.equal(first.signalled, 20);

    const removedKeys = keys.slice(14); // 6 of 20
    src.set(keys.slice(0, 14).map((k) => person(src.id, k)));
    const handle = await heldPoll(src.id);

    const view = await handle.query(heldPollQuery);
    assert.ok(view);
    assert.deepEqual(
      { removed: view.removed, endingToday: view.endingToday, previous: view.previous },
      { removed: 6, endingToday: 6, previous: 20 },
    );
    assert.deepEqual(
      view.reasons.map((r) => `${r.scope}/${r.metric}/${r.limit}`),
      [
        'import/removed/10',
        'import/endingToday/10',
        'window/removed/20',
        'window/endingToday/20',
        'truncated/recordsRead/10',
      ],
    );
    const details = await currentDetails(handle.workflowId);
    assert.match(details, /HELD, nothing signalled: removed: 6 of 20 persons \(30%\) in this import; limit 10%/);
    assert.match(details, new RegExp(`tenure approve ${handle.workflowId}`));

    const row = await pollRow(view.pollId);
    assert.equal(row.outcome, 'held');
    assert.ok(row.held_at instanceof Date);
    assert.equal((row.held_reasons as unknown[]).length, 5);
    assert.equal(row.ending_today, 6);

    // Nothing went out: no signalling activity ran, the removed persons saw only their first signal.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await signalBatches(handle.workflowId), 0);
    for (const k of removedKeys) await expectSignals(`${src.id}:${k}`, ['changed']);

    // The validator refuses an anonymous decision, without touching the poll.
    await assert.rejects(
      handle.executeUpdate(approvePollUpdate, { args: [{ requestedBy: '  ' }] }),
      (e: unknown) => e instanceof WorkflowUpdateFailedError && /requestedBy is required/.test(String(e.cause)),
    );
    assert.equal((await handle.describe()).typedSearchAttributes.get(PollState), 'held');

    // `tenure held` shows it with its reasons (visibility is eventually consistent).
    await eventually(async () => {
      const cap = capture();
      const polls = await heldCommand({ client, out: cap.out, timeZone: ZONE });
      const mine = polls.find((p) => p.workflowId === handle.workflowId);
      assert.ok(mine, 'listed');
      assert.equal(mine.sourceId, src.id);
      assert.match(cap.text(), new RegExp(`${handle.workflowId}  source ${src.id}  poll #${view.pollId}`));
      assert.match(cap.text(), /over the limit: removed: 6 of 20 persons \(30%\) in this import; limit 10%/);
      assert.match(cap.text(), /would do: 0 added, 0 changed, 6 removed, 6 ending within 7 days/);
    });

    // Approve by source id.
    const cap = capture();
    const decision = await approveCommand({ client, out: cap.out, timeZone: ZONE }, src.id, {
      requestedBy: 'alice',
      reason: 'reorganisation, checked with HR',
      requestId: `approve-${rnd()}`,
    });
    assert.equal(decision.decision, 'approved');
    assert.equal(decision.decidedBy, 'alice');
    assert.equal(decision.changes, 6);
    assert.match(
      cap.lines[0]!,
      new RegExp(`^Approved poll #${view.pollId} of source ${src.id} \\(${handle.workflowId}`),
    );
    assert.match(cap.text(), /alice\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+reorganisation, checked with HR/);
    assert.match(cap.text(), /The 6 changes are being signalled now/);

    const summary = await handle.result();
    assert.equal(summary.outcome, 'accepted');
    assert.equal(summary.signalled, 6);
    for (const k of removedKeys) await expectSignals(`${src.id}:${k}`, ['changed', 'removed']);
    assert.equal((await snapshotKeys(src.id)).length, 14);
    const done = await pollRow(view.pollId);
    assert.equal(done.outcome, 'accepted');
    assert.equal(done.decision, 'approved');
    assert.equal(done.decided_by, 'alice');
    assert.equal(done.decision_reason, 'reorganisation, checked with HR');
    assert.ok(done.decided_at instanceof Date);
    assert.equal((await handle.describe()).typedSearchAttributes.get(PollState), 'accepted');

    // Approving again: the poll is no longer there to approve.
    await assert.rejects(approveCommand({ client, out: () => undefined }, handle.workflowId, { requestedBy: 'alice' }));
  });

  test('reject signals nothing and keeps the last snapshot; the same import holds again', async () => {
    const src = newSource();
    const keys = keysFrom(20, 2001);
    src.set(keys.map((k) => person(src.id, k)));
    await poll(src.id);
    const before = await snapshotKeys(src.id);

    src.set(keys.slice(0, 14).map((k) => person(src.id, k)));
    const handle = await heldPoll(src.id);
    const cap = capture();
    const decision = await rejectCommand({ client, out: cap.out, timeZone: ZONE }, handle.workflowId, {
      requestedBy: 'bob',
      reason: 'export looks cut off',
    });
    assert.equal(decision.decision, 'rejected');
    assert.match(cap.text(), /^Rejected poll #\d+/);
    assert.match(cap.text(), /Nothing was signalled \(6 changes dropped\); the last accepted snapshot stays/);

    const summary = await handle.result();
    assert.equal(summary.outcome, 'rejected');
    assert.equal(summary.signalled, 0);
    assert.equal(await signalBatches(handle.workflowId), 0);
    assert.deepEqual(await snapshotKeys(src.id), before);
    assert.equal((await handle.describe()).typedSearchAttributes.get(PollState), 'rejected');
    const row = await pollRow(summary.pollId);
    assert.deepEqual(
      { outcome: row.outcome, decision: row.decision, by: row.decided_by, reason: row.decision_reason },
      { outcome: 'rejected', decision: 'rejected', by: 'bob', reason: 'export looks cut off' },
    );
    assert.ok(row.decided_at instanceof Date && row.finished_at instanceof Date);
    for (const k of keys.slice(14)) await expectSignals(`${src.id}:${k}`, ['changed']);
    const { rows } = await pool.query(
      'select count(*)::int as n from persons where source = $1 and removed_at is not null',
      [src.id],
    );
    assert.equal(rows[0].n, 0);

    // The snapshot did not move on, so the next poll finds the same removals and holds again.
    const again = await heldPoll(src.id);
    assert.equal((await again.query(heldPollQuery))?.removed, 6);
    await rejectCommand({ client, out: () => undefined }, again.workflowId, { requestedBy: 'bob' });
    assert.equal((await again.result()).outcome, 'rejected');
  });

  test('a slow leak: 4 polls each removing 4% trip a 12% window limit on the 4th', async () => {
    const src = newSource(resolveThresholds({ window: { removed: { maxPercent: 12 } }, firstPoll: 'accept' }, ZONE));
    let keys = keysFrom(25, 3001);
    src.set(keys.map((k) => person(src.id, k)));
    await poll(src.id);
    for (let i = 1; i <= 3; i++) {
      keys = keys.slice(1);
      src.set(keys.map((k) => person(src.id, k)));
      const s = await poll(src.id);
      assert.equal(s.outcome, 'accepted', `poll ${i}: ${4 * i}% in the window`);
      assert.equal(s.removed, 1);
    }
    keys = keys.slice(1);
    src.set(keys.map((k) => person(src.id, k)));
    const handle = await heldPoll(src.id);
    const view = await handle.query(heldPollQuery);
    assert.deepEqual(
      view?.reasons.map((r) => `${r.scope}/${r.metric}/${r.value}/${r.base}/${r.limit}`),
      ['window/removed/4/25/12'],
    );
    assert.match(
      view?.reasons[0]?.message ?? '',
      /removed: 4 of 25 persons \(16%\) in the last 1d \(4 earlier polls and this one\); limit 12%/,
    );
    await rejectCommand({ client, out: () => undefined }, src.id, { requestedBy: 'carol' });
    assert.equal((await handle.result()).outcome, 'rejected');
  });

  test('ending today: contracts ending today in the organisation zone hold; a future end does not count', async () => {
    const src = newSource();
    const keys = keysFrom(20, 4001);
    src.set(keys.map((k) => person(src.id, k)));
    await poll(src.id);

    const today = localDate(Date.now(), ZONE);
    const future = `${Number(today.slice(0, 4)) + 1}${today.slice(4)}`;
    src.set(
      keys.map((k, i) => person(src.id, k, i < 3 ? today : i === 3 ? future.replace(/-02-29$/, '-02-28') : undefined)),
    );
    const handle = await heldPoll(src.id);
    const view = await handle.query(heldPollQuery);
    assert.ok(view);
    assert.deepEqual(
      { changed: view.changed, removed: view.removed, endingToday: view.endingToday },
      { changed: 4, removed: 0, endingToday: 3 },
    );
    assert.deepEqual(
      view.reasons.map((r) => `${r.scope}/${r.metric}/${r.value}`),
      ['import/endingToday/3'],
    );
    assert.match(view.reasons[0]!.message, /ending within 7 days: 3 of 20 persons \(15%\) in this import; limit 10%/);

    await approveCommand({ client, out: () => undefined }, handle.workflowId, { requestedBy: 'dave' });
    const s = await handle.result();
    assert.equal(s.outcome, 'accepted');
    assert.equal(s.signalled, 4);
    for (const k of keys.slice(0, 4)) await expectSignals(`${src.id}:${k}`, ['changed', 'changed']);
    assert.equal((await pollRow(s.pollId)).ending_today, 3);
  });

  test('end dates within the horizon count: 49 of 100 persons given an end date of tomorrow hold', async () => {
    const src = newSource();
    const keys = keysFrom(100, 7001);
    src.set(keys.map((k) => person(src.id, k)));
    assert.equal((await poll(src.id)).outcome, 'accepted');

    const tomorrow = addDays(localDate(Date.now(), ZONE), 1);
    src.set(keys.map((k, i) => person(src.id, k, i < 49 ? tomorrow : undefined)));
    const handle = await heldPoll(src.id);
    const view = await handle.query(heldPollQuery);
    assert.ok(view);
    assert.deepEqual(
      { changed: view.changed, removed: view.removed, endingToday: view.endingToday, horizon: view.endingHorizonDays },
      { changed: 49, removed: 0, endingToday: 49, horizon: 7 },
    );
    assert.deepEqual(
      view.reasons.map((r) => `${r.scope}/${r.metric}/${r.value}/${r.limit}`),
      ['import/endingToday/49/10', 'window/endingToday/49/20'],
    );
    assert.match(view.reasons[0]!.message, /ending within 7 days: 49 of 100 persons \(49%\) in this import; limit 10%/);
    assert.equal(await signalBatches(handle.workflowId), 0);
    assert.equal((await pollRow(view.pollId)).ending_horizon_days, 7);
    await rejectCommand({ client, out: () => undefined }, handle.workflowId, { requestedBy: 'hank' });
    assert.equal((await handle.result()).outcome, 'rejected');
    for (const k of keys.slice(0, 49)) await expectSignals(`${src.id}:${k}`, ['changed']);
  });

  test('a small source: percentages are taken of at least 20 persons, so 3 removed of 8 hold and 2 do not', async () => {
    const src = newSource();
    const keys = keysFrom(8, 8001);
    src.set(keys.map((k) => person(src.id, k)));
    assert.equal((await poll(src.id)).outcome, 'accepted');

    src.set(keys.slice(0, 5).map((k) => person(src.id, k)));
    const handle = await heldPoll(src.id);
    const view = await handle.query(heldPollQuery);
    assert.deepEqual(
      view?.reasons.map((r) => `${r.scope}/${r.metric}/${r.value}/${r.base}`),
      ['import/removed/3/8', 'import/endingToday/3/8', 'truncated/recordsRead/5/8'],
    );
    assert.match(
      view?.reasons[0]?.message ?? '',
      /removed: 3 of 8 persons \(37.5%\) in this import; limit 10% of at least 20 persons \(2 persons\)/,
    );
    await rejectCommand({ client, out: () => undefined }, src.id, { requestedBy: 'ida' });
    assert.equal((await handle.result()).outcome, 'rejected');
    for (const k of keys.slice(5)) await expectSignals(`${src.id}:${k}`, ['changed']);

    // Two of eight is at the limit, not over it.
    src.set(keys.slice(0, 6).map((k) => person(src.id, k)));
    const s = await poll(src.id);
    assert.deepEqual({ outcome: s.outcome, removed: s.removed }, { outcome: 'accepted', removed: 2 });
    for (const k of keys.slice(6)) await expectSignals(`${src.id}:${k}`, ['changed', 'removed']);
  });

  test('the first poll of a source (go-live) holds by default with what it would do and its preview; approve provisions', async () => {
    const src = newSource('defaults');
    const preview: PollPreview = { summary: '5 accounts to create in ad', totals: { 'ad/create': 5 } };
    previews.set(src.id, preview);
    const keys = keysFrom(5, 9001);
    src.set(keys.map((k) => person(src.id, k)));

    const handle = await heldPoll(src.id);
    const view = await handle.query(heldPollQuery);
    assert.ok(view);
    assert.equal(view.firstPoll, true);
    assert.deepEqual(
      { added: view.added, changed: view.changed, removed: view.removed, previous: view.previous },
      { added: 5, changed: 0, removed: 0, previous: 0 },
    );
    assert.deepEqual(
      view.reasons.map((r) => `${r.scope}/${r.metric}/${r.value}`),
      ['firstPoll/changes/5'],
    );
    assert.deepEqual(view.preview, preview);
    const row = await pollRow(view.pollId);
    assert.deepEqual(
      { outcome: row.outcome, first: row.first_poll, preview: row.preview },
      {
        outcome: 'held',
        first: true,
        preview,
      },
    );
    const details = await currentDetails(handle.workflowId);
    assert.match(
      details,
      /HELD, nothing signalled: first poll of this source \(go-live\): 5 persons would be provisioned/,
    );
    assert.match(details, /Would do: 5 persons read, 5 added, 0 changed, 0 removed/);
    assert.match(details, /Preview: 5 accounts to create in ad\./);

    // Nobody was signalled: no employee workflow exists.
    assert.equal(await signalBatches(handle.workflowId), 0);
    for (const k of keys) {
      await assert.rejects(client.workflow.getHandle(employeeWorkflowId(`${src.id}:${k}`)).describe());
    }

    await eventually(async () => {
      const cap = capture();
      await heldCommand({ client, out: cap.out, timeZone: ZONE });
      assert.match(cap.text(), new RegExp(`${handle.workflowId}  source ${src.id}  poll #${view.pollId}`));
      assert.match(cap.text(), /would do: 5 added, 0 changed, 0 removed, 0 ending within 7 days/);
      assert.match(cap.text(), /over the limit: first poll of this source \(go-live\)/);
      assert.match(cap.text(), /preview: 5 accounts to create in ad/);
    });

    const decision = await approveCommand({ client, out: () => undefined, timeZone: ZONE }, src.id, {
      requestedBy: 'jill',
      reason: 'go-live, preview checked',
    });
    assert.deepEqual({ decision: decision.decision, changes: decision.changes }, { decision: 'approved', changes: 5 });
    const summary = await handle.result();
    assert.deepEqual({ outcome: summary.outcome, signalled: summary.signalled }, { outcome: 'accepted', signalled: 5 });
    for (const k of keys) await expectSignals(`${src.id}:${k}`, ['changed']);
    const done = await pollRow(view.pollId);
    assert.deepEqual({ decision: done.decision, by: done.decided_by }, { decision: 'approved', by: 'jill' });

    // The next poll is not a first poll any more.
    src.set([...keys, '9006'].map((k) => person(src.id, k)));
    const next = await poll(src.id);
    assert.deepEqual({ outcome: next.outcome, added: next.added }, { outcome: 'accepted', added: 1 });
    assert.equal((await pollRow(next.pollId)).first_poll, false);
  });

  test('a poll that failed after signalling part of its removals counts in the window', async () => {
    const src = newSource(
      resolveThresholds({ window: { removed: { max: 2 } }, truncatedPercent: null, firstPoll: 'accept' }, ZONE),
    );
    const keys = keysFrom(25, 9101);
    src.set(keys.map((k) => person(src.id, k)));
    assert.equal((await poll(src.id)).outcome, 'accepted');

    // Two removals pass the check; the poll dies after the first went out (activities run directly,
    // with a client whose second signal fails).
    src.set(keys.slice(0, 23).map((k) => person(src.id, k)));
    let calls = 0;
    const failing = {
      workflow: {
        signalWithStart: async (...args: Parameters<Client['workflow']['signalWithStart']>) => {
          if (++calls === 2) throw new Error('injected crash');
          return client.workflow.signalWithStart(...args);
        },
      },
    } as unknown as Pick<Client, 'workflow'>;
    const acts = createPollActivities({
      pool,
      client: failing,
      sources,
      thresholds,
      employeeTaskQueue: QUEUE,
      signalConcurrency: 1,
    });
    const pollId = await acts.startPoll({ sourceId: src.id, workflowId: `manual-${rnd()}`, runId: rnd() });
    await acts.importAndDiff({ pollId, sourceId: src.id });
    assert.equal((await acts.checkThresholds({ pollId })).held, false);
    await assert.rejects(acts.signalChanges({ pollId, batchSize: 10 }), /injected crash/);
    await acts.finishPoll({ pollId, outcome: 'failed' });
    assert.deepEqual(
      { outcome: (await pollRow(pollId)).outcome, signalled: (await pollRow(pollId)).signalled },
      { outcome: 'failed', signalled: 1 },
    );
    await expectSignals(`${src.id}:9124`, ['changed', 'removed']);

    // Two more removals (9123, and 9125 whose signal was in doubt) would be within a limit of 2,
    // but with the failed poll's removals in force the window holds.
    src.set(keys.slice(0, 22).map((k) => person(src.id, k)));
    const handle = await heldPoll(src.id);
    const view = await handle.query(heldPollQuery);
    assert.equal(view?.removed, 2);
    assert.deepEqual(
      view?.reasons.map((r) => `${r.scope}/${r.metric}/${r.value}/${r.limit}`),
      ['window/removed/4/2'],
    );
    await rejectCommand({ client, out: () => undefined }, handle.workflowId, { requestedBy: 'kim' });
    assert.equal((await handle.result()).outcome, 'rejected');
  });

  test('a truncated import (records read down by more than the setting) holds', async () => {
    const off = { removed: {}, endingToday: {}, changes: {} };
    const src = newSource(
      resolveThresholds({ perImport: off, window: off, truncatedPercent: 10, firstPoll: 'accept' }, ZONE),
    );
    const keys = keysFrom(25, 5001);
    src.set(keys.map((k) => person(src.id, k)));
    await poll(src.id);

    // 23 of 25 (8% fewer): fine.
    src.set(keys.slice(0, 23).map((k) => person(src.id, k)));
    assert.equal((await poll(src.id)).outcome, 'accepted');

    // 20 of 23 (13% fewer): held, although the removals themselves are allowed here.
    src.set(keys.slice(0, 20).map((k) => person(src.id, k)));
    const handle = await heldPoll(src.id);
    const view = await handle.query(heldPollQuery);
    assert.deepEqual(
      view?.reasons.map((r) => `${r.scope}/${r.value}/${r.base}`),
      ['truncated/20/23'],
    );
    assert.match(view?.reasons[0]?.message ?? '', /truncated import: 20 records read, 23 by the last accepted poll/);
    await rejectCommand({ client, out: () => undefined }, handle.workflowId, { requestedBy: 'erin' });
    assert.equal((await handle.result()).outcome, 'rejected');
    for (const k of keys.slice(20, 23)) await expectSignals(`${src.id}:${k}`, ['changed']);

    // An empty import is never held nor signalled: it is ignored.
    src.set([], 0);
    const empty = await poll(src.id);
    assert.equal(empty.outcome, 'empty');
    assert.equal(empty.signalled, 0);
  });

  test('while a poll is held, scheduled polls of the source do not pile up (overlap SKIP)', async () => {
    const src = newSource();
    const keys = keysFrom(20, 6001);
    src.set(keys.map((k) => person(src.id, k)));
    await poll(src.id);
    src.set(keys.slice(0, 10).map((k) => person(src.id, k)));
    try {
      await ensureSourceSchedules(client, [{ id: src.id, every: '1h' }], { taskQueue: QUEUE });
      const first = await triggerPoll(client, src.id);
      assert.equal(first.alreadyRunning, false);
      assert.ok(first.workflowId);
      const handle = client.workflow.getHandle<typeof pollSource>(first.workflowId);
      await eventually(async () => {
        assert.equal((await handle.describe()).typedSearchAttributes.get(PollState), 'held');
      });

      const second = await triggerPoll(client, src.id);
      assert.deepEqual(
        { alreadyRunning: second.alreadyRunning, workflowId: second.workflowId },
        { alreadyRunning: true, workflowId: first.workflowId },
      );
      // A raw trigger with the schedule's SKIP policy starts nothing either.
      const sched = client.schedule.getHandle(pollScheduleId(src.id));
      await sched.trigger(ScheduleOverlapPolicy.SKIP);
      await new Promise((r) => setTimeout(r, 1500));
      const d = await sched.describe();
      assert.equal(d.info.runningActions.length, 1);
      assert.equal(d.info.runningActions[0]?.workflow.workflowId, first.workflowId);
      assert.equal(d.info.recentActions.length, 1, 'one poll started by the schedule');

      await eventually(async () => {
        const mine = await listHeldPolls({ client }, { sourceId: src.id });
        assert.deepEqual(
          mine.map((p) => p.workflowId),
          [first.workflowId],
        );
      });
      await rejectCommand({ client, out: () => undefined }, src.id, { requestedBy: 'frank' });
      assert.equal((await handle.result()).outcome, 'rejected');
    } finally {
      await deleteSourceSchedule(client, src.id);
    }
  });
});

describe('thresholds: CLI arguments', () => {
  const noConnections: CliDeps = {
    connectTemporal: () => assert.fail('must not connect to Temporal'),
    connectPostgres: () => assert.fail('must not connect to Postgres'),
  };
  const cases: Array<[string[], RegExp]> = [
    [['approve'], /a poll workflow id or a source id is required|one poll workflow id or source id expected/],
    [['reject', 'a', 'b'], /one poll workflow id or source id expected, got 2/],
    [['approve', "x' OR 1=1"], /not a poll workflow id or source id/],
    [['held', 'raet'], /held takes no arguments/],
    [['approve', 'raet', '--frob'], /Unknown option '--frob'/],
  ];
  for (const [argv, message] of cases) {
    test(`usage error: tenure ${argv.join(' ')}`, async () => {
      const err: string[] = [];
      const code = await runCli(argv, { ...noConnections, out: () => undefined, err: (l) => err.push(l) });
      assert.equal(code, 2, err.join('\n'));
      assert.match(err.join('\n'), message);
    });
  }

  test('help lists held, approve and reject', async () => {
    const out: string[] = [];
    assert.equal(await runCli(['--help'], { ...noConnections, out: (l) => out.push(l) }), 0);
    for (const c of ['held', 'approve', 'reject']) assert.match(out.join('\n'), new RegExp(`^  ${c} `, 'm'));
    const help: string[] = [];
    await runCli(['approve', '--help'], { ...noConnections, out: (l) => help.push(l) });
    assert.match(help.join('\n'), /Usage: tenure approve <pollWorkflowId\|sourceId\|rulesApplyWorkflowId>/);
  });
});
