/**
 * The poller against a real Temporal dev server and a real Postgres (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, DATABASE_URL). Employee workflows are a recording stand-in registered under
 * the real type name; sources are in-memory SourceConnectors. Every test has its own source id,
 * and the suite its own task queues, so runs never see each other's data.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import {
  WorkflowClient,
  WorkflowFailedError,
  type Client,
  type WorkflowClientOptions,
  type WorkflowSignalWithStartOptions,
} from '@temporalio/client';
import {
  bundleWorkflowCode,
  Worker,
  type WorkflowBundleWithSourceMap,
  type NativeConnection,
} from '@temporalio/worker';
import pg from 'pg';
import { createPollActivities, type PollActivityDeps } from '../activities/poll.js';
import { resolveThresholds } from '../common/thresholds-config.js';
import type { PollSummary } from '../common/messages.js';
import { EmployeeId, PollState, SourceId } from '../common/search-attributes.js';
import type { SourceConnector, SourceImport, SourceRecordError } from '../connectors/types.js';
import { Person, employeeWorkflowId, personKey, type PersonInput } from '../domain/model.js';
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
const QUEUE = `test-poller-${rnd()}`;

// ------------------------------------------------------------------ an in-memory source

class MemorySource implements SourceConnector {
  next: SourceImport = { persons: [], departments: [], errors: [], recordsRead: 0 };
  fetches = 0;
  constructor(readonly id: string) {}
  set(persons: PersonInput[], errors: SourceRecordError[] = [], recordsRead?: number): void {
    this.next = {
      persons: persons.map((p) => Person.parse(p)),
      departments: [{ code: 'FIN', name: 'Finance' }],
      errors,
      recordsRead: recordsRead ?? persons.length + errors.length,
    };
  }
  async fetchAll(): Promise<SourceImport> {
    this.fetches++;
    return structuredClone(this.next);
  }
}

function person(source: string, key: string, over: Partial<PersonInput> = {}): PersonInput {
  return {
    source,
    key,
    name: { nickName: `Nick${key}`, familyName: `Family${key}` },
    contracts: [{ id: `${key}-1`, startDate: '2026-01-01', department: { code: 'FIN' }, managerKey: '1000' }],
    ...over,
  };
}

/**
 * A real WorkflowClient that, like a crashing poller, fails its Nth signal-with-start: before
 * sending it, or (`afterSend`) once the server has acknowledged it, as a worker killed between
 * the acknowledgement and recording it would.
 */
class FailingWorkflowClient extends WorkflowClient {
  calls = 0;
  constructor(
    options: WorkflowClientOptions,
    private readonly failAt: number,
    private readonly permanent: boolean,
    private readonly afterSend = false,
  ) {
    super(options);
  }
  override async signalWithStart(...args: Parameters<WorkflowClient['signalWithStart']>) {
    this.calls++;
    const fail = () => {
      if (this.permanent) throw ApplicationFailure.nonRetryable('injected poller crash', 'InjectedCrash');
      throw new Error('injected transient failure');
    };
    if (this.calls === this.failAt && !this.afterSend) fail();
    const handle = await super.signalWithStart(...(args as [string, WorkflowSignalWithStartOptions]));
    if (this.calls === this.failAt) fail();
    return handle;
  }
}

/** A real WorkflowClient that holds each signal-with-start a moment and records the most in flight. */
class SlowWorkflowClient extends WorkflowClient {
  inFlight = 0;
  maxInFlight = 0;
  override async signalWithStart(...args: Parameters<WorkflowClient['signalWithStart']>) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 50));
      return await super.signalWithStart(...(args as [string, WorkflowSignalWithStartOptions]));
    } finally {
      this.inFlight--;
    }
  }
}

// ------------------------------------------------------------------ suite fixtures

let pool: pg.Pool;
let client: Client;
let nativeConnection: NativeConnection;
let bundle: WorkflowBundleWithSourceMap;
let mainWorker: Worker;
let mainRun: Promise<void>;
const sources = new Map<string, SourceConnector>();
const startedEmployees = new Set<string>();
// The poller's mechanics without limits or go-live hold (those are test/thresholds.test.ts).
const NO_LIMITS = { removed: {}, endingToday: {}, changes: {} };
const THRESHOLDS_OFF = resolveThresholds({
  firstPoll: 'accept',
  perImport: NO_LIMITS,
  window: NO_LIMITS,
  truncatedPercent: null,
});
const thresholds = new Map<string, typeof THRESHOLDS_OFF>();

function newSource(): MemorySource {
  const s = new MemorySource(`t${rnd()}`);
  sources.set(s.id, s);
  thresholds.set(s.id, THRESHOLDS_OFF);
  return s;
}

async function makeWorker(taskQueue: string, deps: Partial<PollActivityDeps> = {}): Promise<Worker> {
  return Worker.create({
    connection: nativeConnection,
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    taskQueue,
    workflowBundle: bundle,
    activities: createPollActivities({ pool, client, sources, thresholds, employeeTaskQueue: QUEUE, ...deps }),
  });
}

async function runPoll(sourceId: string, opts: { batchSize?: number; taskQueue?: string } = {}) {
  const workflowId = `poll-${sourceId}-${rnd()}`;
  const handle = await client.workflow.start<typeof pollSource>('pollSource', {
    taskQueue: opts.taskQueue ?? QUEUE,
    workflowId,
    args: [{ sourceId, ...(opts.batchSize ? { batchSize: opts.batchSize } : {}) }],
  });
  return handle;
}

async function poll(sourceId: string, batchSize?: number): Promise<PollSummary> {
  const summary = await (await runPoll(sourceId, batchSize ? { batchSize } : {})).result();
  return summary;
}

async function received(key: string): Promise<ReceivedSignal[]> {
  startedEmployees.add(key);
  const rec = await client.workflow.getHandle(employeeWorkflowId(key)).query(recordingQuery);
  return rec.received;
}

/** Wait until `check` passes (signals are acknowledged before the workflow has handled them). */
async function eventually(check: () => Promise<void>, ms = 10_000): Promise<void> {
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

async function expectSignals(key: string, kinds: ReceivedSignal['kind'][]): Promise<ReceivedSignal[]> {
  let got: ReceivedSignal[] = [];
  await eventually(async () => {
    got = await received(key);
    assert.deepEqual(
      got.map((s) => s.kind),
      kinds,
      `signals of ${key}`,
    );
  });
  return got;
}

function hashOf(signal: ReceivedSignal | undefined): string | undefined {
  return signal?.kind === 'changed' ? signal.contentHash : undefined;
}

async function workflowExists(key: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(employeeWorkflowId(key)).describe();
    startedEmployees.add(key);
    return true;
  } catch {
    return false;
  }
}

async function snapshot(sourceId: string): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ person_key: string; content_hash: string }>(
    'select person_key, content_hash from source_snapshots where source = $1',
    [sourceId],
  );
  return new Map(rows.map((r) => [r.person_key, r.content_hash]));
}

async function pollRow(pollId: number) {
  const { rows } = await pool.query('select * from source_polls where id = $1', [pollId]);
  return rows[0] as Record<string, unknown>;
}

async function signalBatches(workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'signalChanges',
  ).length;
}

before(async () => {
  await migrate(DATABASE_URL);
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
  client = await connectClient();
  nativeConnection = await connectWorker();
  bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./support/poller-workflows.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  mainWorker = await makeWorker(QUEUE);
  mainRun = mainWorker.run();
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
  mainWorker?.shutdown();
  await mainRun?.catch(() => undefined);
  await nativeConnection?.close();
  await client?.connection.close();
  await pool?.end();
});

// ------------------------------------------------------------------ tests

describe('poller', () => {
  test('first poll signals every person and accepts the snapshot; an identical poll signals nobody', async () => {
    const src = newSource();
    src.set([person(src.id, '1001'), person(src.id, '1002'), person(src.id, '1003')]);

    const first = await poll(src.id);
    assert.equal(first.outcome, 'accepted');
    assert.deepEqual(
      { added: first.added, changed: first.changed, removed: first.removed, signalled: first.signalled },
      { added: 3, changed: 0, removed: 0, signalled: 3 },
    );
    for (const k of ['1001', '1002', '1003']) {
      const [sig] = await expectSignals(`${src.id}:${k}`, ['changed']);
      assert.equal(sig?.cause, `poll ${src.id}#${first.pollId}`);
    }
    const snap = await snapshot(src.id);
    assert.equal(snap.size, 3);
    const [sig] = await received(`${src.id}:1001`);
    assert.equal(sig?.kind === 'changed' && sig.contentHash, snap.get(`${src.id}:1001`));

    // The vault got the persons, their contracts and the departments.
    const { rows: persons } = await pool.query('select person_key, removed_at from persons where source = $1', [
      src.id,
    ]);
    assert.equal(persons.length, 3);
    const { rows: contracts } = await pool.query(
      `select c.* from contracts c join persons p using (person_key) where p.source = $1 order by contract_id`,
      [src.id],
    );
    assert.equal(contracts.length, 3);
    assert.equal(contracts[0].department_code, 'FIN');
    assert.equal(contracts[0].manager_key, `${src.id}:1000`);
    const { rows: depts } = await pool.query('select * from departments where source = $1', [src.id]);
    assert.deepEqual(
      depts.map((d) => [d.code, d.name]),
      [['FIN', 'Finance']],
    );
    assert.equal((await pollRow(first.pollId)).outcome, 'accepted');

    // The employee workflow carries opaque ids only.
    const desc = await client.workflow.getHandle(employeeWorkflowId(`${src.id}:1001`)).describe();
    assert.equal(desc.typedSearchAttributes.get(SourceId), src.id);
    assert.equal(desc.typedSearchAttributes.get(EmployeeId), `${src.id}:1001`);
    assert.equal(await desc.staticSummary(), `Employee ${src.id}:1001`);

    const second = await poll(src.id);
    assert.equal(second.outcome, 'accepted');
    assert.deepEqual(
      {
        added: second.added,
        changed: second.changed,
        removed: second.removed,
        unchanged: second.unchanged,
        signalled: second.signalled,
      },
      { added: 0, changed: 0, removed: 0, unchanged: 3, signalled: 0 },
    );
    for (const k of ['1001', '1002', '1003']) await expectSignals(`${src.id}:${k}`, ['changed']);
  });

  test('a change signals exactly the changed person; a removed person gets personRemoved', async () => {
    const src = newSource();
    src.set([person(src.id, '2001'), person(src.id, '2002'), person(src.id, '2003')]);
    await poll(src.id);

    src.set([person(src.id, '2001'), person(src.id, '2002', { businessPhone: '+31 20 555 0101' })]);
    const s = await poll(src.id);
    assert.equal(s.outcome, 'accepted');
    assert.deepEqual(
      { changed: s.changed, removed: s.removed, unchanged: s.unchanged, signalled: s.signalled },
      {
        changed: 1,
        removed: 1,
        unchanged: 1,
        signalled: 2,
      },
    );
    await expectSignals(`${src.id}:2001`, ['changed']);
    const changed = await expectSignals(`${src.id}:2002`, ['changed', 'changed']);
    assert.equal(changed[1]?.cause, `poll ${src.id}#${s.pollId}`);
    const removed = await expectSignals(`${src.id}:2003`, ['changed', 'removed']);
    assert.deepEqual(removed[1], { kind: 'removed', personKey: `${src.id}:2003`, cause: `poll ${src.id}#${s.pollId}` });

    const snap = await snapshot(src.id);
    assert.deepEqual([...snap.keys()].sort(), [`${src.id}:2001`, `${src.id}:2002`]);
    const { rows } = await pool.query('select person_key from persons where source = $1 and removed_at is not null', [
      src.id,
    ]);
    assert.deepEqual(
      rows.map((r) => r.person_key),
      [`${src.id}:2003`],
    );
  });

  test('an invalid record is recorded with its error and that person is not removed', async () => {
    const src = newSource();
    src.set([person(src.id, '3001'), person(src.id, '3002')]);
    await poll(src.id);
    const before = await snapshot(src.id);

    const error: SourceRecordError = {
      source: src.id,
      origin: 'memory.csv',
      line: 3,
      key: '3002',
      field: 'start_date',
      reason: 'not a real calendar date; record rejected; the person keeps its last good data',
    };
    src.set([person(src.id, '3001')], [error]);
    const s = await poll(src.id);
    assert.equal(s.outcome, 'accepted');
    assert.deepEqual(
      { removed: s.removed, errors: s.errors, signalled: s.signalled, recordsRead: s.recordsRead },
      {
        removed: 0,
        errors: 1,
        signalled: 0,
        recordsRead: 2,
      },
    );
    await expectSignals(`${src.id}:3002`, ['changed']);
    assert.deepEqual(await snapshot(src.id), before);

    const { rows } = await pool.query('select * from source_record_errors where poll_id = $1', [s.pollId]);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      {
        source: rows[0].source,
        origin: rows[0].origin,
        line: rows[0].line,
        key: rows[0].record_key,
        field: rows[0].field,
      },
      { source: src.id, origin: 'memory.csv', line: 3, key: '3002', field: 'start_date' },
    );
    assert.match(rows[0].reason, /not a real calendar date/);
    assert.equal((await pollRow(s.pollId)).kept, 1);
  });

  test('an empty import is flagged, signals nothing and keeps the snapshot', async () => {
    const src = newSource();
    src.set([person(src.id, '4001'), person(src.id, '4002')]);
    await poll(src.id);
    const before = await snapshot(src.id);

    src.set([], [], 0);
    const handle = await runPoll(src.id);
    const s = await handle.result();
    assert.equal(s.outcome, 'empty');
    assert.equal(s.signalled, 0);
    assert.equal(s.removed, 0);
    assert.deepEqual(await snapshot(src.id), before);
    assert.equal((await pollRow(s.pollId)).outcome, 'empty');
    const desc = await handle.describe();
    assert.equal(desc.typedSearchAttributes.get(PollState), 'empty');
    assert.equal(desc.typedSearchAttributes.get(SourceId), src.id);

    // Records read, but not one of them valid: empty as well.
    src.set(
      [],
      [{ source: src.id, origin: 'memory.csv', line: 1, field: 'person_key', reason: 'required column is missing' }],
      2,
    );
    const t = await poll(src.id);
    assert.equal(t.outcome, 'empty');
    assert.equal(t.signalled, 0);
    for (const k of ['4001', '4002']) await expectSignals(`${src.id}:${k}`, ['changed']);
    const { rows } = await pool.query(
      'select count(*)::int as n from persons where source = $1 and removed_at is not null',
      [src.id],
    );
    assert.equal(rows[0].n, 0);
  });

  test('batches are bounded: batchSize 2 with 5 persons takes 3 signalling activities', async () => {
    const src = newSource();
    const keys = ['5001', '5002', '5003', '5004', '5005'];
    src.set(keys.map((k) => person(src.id, k)));
    const handle = await runPoll(src.id, { batchSize: 2 });
    const s = await handle.result();
    assert.equal(s.outcome, 'accepted');
    assert.equal(s.signalled, 5);
    assert.equal(await signalBatches(handle.workflowId), 3);
    assert.equal((await handle.describe()).typedSearchAttributes.get(PollState), 'accepted');
    for (const k of keys) await expectSignals(`${src.id}:${k}`, ['changed']);
  });

  test('a poll that crashes while signalling records what went out; the next poll sends the rest', async () => {
    const src = newSource();
    const keys = ['6001', '6002', '6003', '6004', '6005'];
    src.set(keys.map((k) => person(src.id, k)));

    const crashQueue = `${QUEUE}-crash`;
    const failing = new FailingWorkflowClient(
      { connection: client.connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' },
      3,
      true,
    );
    const worker = await makeWorker(crashQueue, { client: { workflow: failing }, signalConcurrency: 1 });
    const handle = await runPoll(src.id, { batchSize: 2, taskQueue: crashQueue });
    await worker.runUntil(async () => {
      await assert.rejects(handle.result(), WorkflowFailedError);
    });
    const desc = await handle.describe();
    assert.equal(desc.typedSearchAttributes.get(PollState), 'failed');
    const { rows } = await pool.query(`select id, outcome, accepted_at from source_polls where workflow_id = $1`, [
      handle.workflowId,
    ]);
    assert.equal(rows[0].outcome, 'failed');
    assert.equal(rows[0].accepted_at, null, 'not accepted');
    // The first batch went out, the crash stopped the rest; the vault says exactly that.
    await expectSignals(`${src.id}:6001`, ['changed']);
    await expectSignals(`${src.id}:6002`, ['changed']);
    for (const k of ['6003', '6004', '6005']) assert.equal(await workflowExists(`${src.id}:${k}`), false);
    assert.deepEqual([...(await snapshot(src.id)).keys()].sort(), [`${src.id}:6001`, `${src.id}:6002`]);
    const { rows: persons } = await pool.query<{ person_key: string }>(
      'select person_key from persons where source = $1 order by person_key',
      [src.id],
    );
    assert.deepEqual(
      persons.map((p) => p.person_key),
      [`${src.id}:6001`, `${src.id}:6002`],
    );

    const next = await poll(src.id, 2);
    assert.equal(next.outcome, 'accepted');
    assert.equal(next.added, 3);
    assert.equal(next.signalled, 3);
    await expectSignals(`${src.id}:6001`, ['changed']);
    for (const k of ['6003', '6004', '6005']) await expectSignals(`${src.id}:${k}`, ['changed']);
    assert.equal((await snapshot(src.id)).size, 5);
  });

  test('a poll that fails part-way through wrong removals: the corrected source restores exactly those removed', async () => {
    const src = newSource();
    const keys = ['6101', '6102', '6103', '6104', '6105', '6106'];
    src.set(keys.map((k) => person(src.id, k)));
    assert.equal((await poll(src.id)).outcome, 'accepted');

    // A broken export drops four people; the poll dies after two of the removals went out.
    src.set(keys.slice(0, 2).map((k) => person(src.id, k)));
    const queue = `${QUEUE}-removals`;
    const failing = new FailingWorkflowClient(
      { connection: client.connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' },
      3,
      true,
    );
    const worker = await makeWorker(queue, { client: { workflow: failing }, signalConcurrency: 1 });
    const handle = await runPoll(src.id, { batchSize: 1, taskQueue: queue });
    await worker.runUntil(async () => {
      await assert.rejects(handle.result(), WorkflowFailedError);
    });
    // 6103 and 6104 were removed; 6105's signal was in flight when the poll died (it failed, but a
    // poller cannot always tell whether a failed signal reached the server); 6106 was never reached.
    const removed = [`${src.id}:6103`, `${src.id}:6104`];
    const inFlight = `${src.id}:6105`;
    const notReached = `${src.id}:6106`;
    for (const k of removed) await expectSignals(k, ['changed', 'removed']);
    for (const k of [inFlight, notReached]) await expectSignals(k, ['changed']);
    const { rows: snapRows } = await pool.query<{ person_key: string; in_doubt: boolean }>(
      'select person_key, in_doubt from source_snapshots where source = $1 order by person_key',
      [src.id],
    );
    assert.deepEqual(
      snapRows.map((r) => `${r.person_key.split(':')[1]}${r.in_doubt ? ' (in doubt)' : ''}`),
      ['6101', '6102', '6105 (in doubt)', '6106'],
      'the removed two left the snapshot with their removal',
    );
    const { rows: gone } = await pool.query<{ person_key: string }>(
      'select person_key from persons where source = $1 and removed_at is not null order by person_key',
      [src.id],
    );
    assert.deepEqual(
      gone.map((r) => r.person_key),
      removed,
    );

    // The source is corrected: the next poll brings back the two who were removed.
    src.set(keys.map((k) => person(src.id, k)));
    const next = await poll(src.id);
    assert.equal(next.outcome, 'accepted');
    assert.deepEqual(
      { added: next.added, changed: next.changed, removed: next.removed },
      { added: 2, changed: 1, removed: 0 },
    );
    for (const k of removed) {
      const got = await expectSignals(k, ['changed', 'removed', 'changed']);
      assert.equal(hashOf(got[2]), hashOf(got[0]), 'restored with the same data');
    }
    // The one in doubt is sent its data again (an employee workflow ignores a hash it has); the
    // one never reached gets nothing.
    const again = await expectSignals(inFlight, ['changed', 'changed']);
    assert.equal(hashOf(again[1]), hashOf(again[0]));
    await expectSignals(notReached, ['changed']);
    assert.equal((await snapshot(src.id)).size, 6);
    const { rows: still } = await pool.query(
      'select count(*)::int as n from persons where source = $1 and removed_at is not null',
      [src.id],
    );
    assert.equal(still[0].n, 0);
  });

  test('a signal acknowledged but not recorded (killed in between) is in doubt: the next poll sends it again', async () => {
    const src = newSource();
    const keys = ['6201', '6202', '6203'];
    src.set(keys.map((k) => person(src.id, k)));
    assert.equal((await poll(src.id)).outcome, 'accepted');

    src.set(keys.slice(0, 1).map((k) => person(src.id, k)));
    const queue = `${QUEUE}-doubt`;
    const failing = new FailingWorkflowClient(
      { connection: client.connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' },
      1,
      true,
      true,
    );
    const worker = await makeWorker(queue, { client: { workflow: failing }, signalConcurrency: 1 });
    const handle = await runPoll(src.id, { batchSize: 1, taskQueue: queue });
    await worker.runUntil(async () => {
      await assert.rejects(handle.result(), WorkflowFailedError);
    });
    // 6202's removal reached its workflow, but the poll died before recording it.
    await expectSignals(`${src.id}:6202`, ['changed', 'removed']);
    const { rows } = await pool.query<{ person_key: string; in_doubt: boolean }>(
      'select person_key, in_doubt from source_snapshots where source = $1 order by person_key',
      [src.id],
    );
    assert.deepEqual(
      rows.map((r) => `${r.person_key.split(':')[1]}/${r.in_doubt}`),
      ['6201/false', '6202/true', '6203/false'],
    );

    // Corrected source: 6202 is signalled again (changed), 6203 was never touched and gets nothing.
    src.set(keys.map((k) => person(src.id, k)));
    const next = await poll(src.id);
    assert.equal(next.outcome, 'accepted');
    assert.equal(next.signalled, 1);
    await expectSignals(`${src.id}:6202`, ['changed', 'removed', 'changed']);
    await expectSignals(`${src.id}:6203`, ['changed']);
    const { rows: after } = await pool.query(
      'select count(*)::int as n from source_snapshots where source = $1 and not in_doubt',
      [src.id],
    );
    assert.equal(after[0].n, 3);
  });

  test('a transient failure mid-batch retries the batch without re-sending what went out', async () => {
    const src = newSource();
    const keys = ['7001', '7002', '7003', '7004', '7005'];
    src.set(keys.map((k) => person(src.id, k)));
    const queue = `${QUEUE}-flaky`;
    const flaky = new FailingWorkflowClient(
      { connection: client.connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' },
      4,
      false,
    );
    const worker = await makeWorker(queue, { client: { workflow: flaky }, signalConcurrency: 1 });
    const handle = await runPoll(src.id, { batchSize: 2, taskQueue: queue });
    const s = await worker.runUntil(handle.result());
    assert.equal(s.outcome, 'accepted');
    assert.equal(s.signalled, 5);
    for (const k of keys) await expectSignals(`${src.id}:${k}`, ['changed']);
    assert.equal((await snapshot(src.id)).size, 5);
  });

  test('signals within a batch run with limited concurrency', async () => {
    const src = newSource();
    const keys = Array.from({ length: 8 }, (_, i) => String(9001 + i));
    src.set(keys.map((k) => person(src.id, k)));
    const queue = `${QUEUE}-slow`;
    const slow = new SlowWorkflowClient({
      connection: client.connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    });
    const worker = await makeWorker(queue, { client: { workflow: slow }, signalConcurrency: 3 });
    const handle = await runPoll(src.id, { batchSize: 100, taskQueue: queue });
    const s = await worker.runUntil(handle.result());
    assert.equal(s.signalled, 8);
    assert.equal(slow.maxInFlight, 3);
    assert.equal(await signalBatches(handle.workflowId), 1);
    for (const k of keys) await expectSignals(`${src.id}:${k}`, ['changed']);
  });

  test('ensureSourceSchedules creates a schedule, is idempotent, and triggerPoll runs a poll', async () => {
    const src = newSource();
    src.set([person(src.id, '8001')]);
    try {
      const created = await ensureSourceSchedules(client, [{ id: src.id, every: '1h' }], { taskQueue: QUEUE });
      assert.deepEqual(created, { [src.id]: 'created' });
      const again = await ensureSourceSchedules(client, [{ id: src.id, every: '1h' }], { taskQueue: QUEUE });
      assert.deepEqual(again, { [src.id]: 'updated' });

      const d = await client.schedule.getHandle(pollScheduleId(src.id)).describe();
      assert.equal(d.action.type, 'startWorkflow');
      assert.equal(d.action.workflowType, 'pollSource');
      assert.equal(d.action.taskQueue, QUEUE);
      assert.deepEqual(d.action.args, [{ sourceId: src.id }]);
      assert.equal(d.policies.overlap, 'SKIP');
      assert.equal(d.policies.catchupWindow, 3_600_000);
      assert.equal(d.spec.intervals?.[0]?.every, 3_600_000);
      assert.equal(d.memo?.sourceId, src.id);

      // An update with another interval changes the spec and the catch-up window.
      await ensureSourceSchedules(client, [{ id: src.id, every: '30m' }], { taskQueue: QUEUE });
      const d2 = await client.schedule.getHandle(pollScheduleId(src.id)).describe();
      assert.equal(d2.spec.intervals?.[0]?.every, 1_800_000);
      assert.equal(d2.policies.catchupWindow, 1_800_000);

      const t = await triggerPoll(client, src.id);
      assert.equal(t.alreadyRunning, false);
      assert.ok(t.workflowId?.startsWith(`poll-${src.id}`), t.workflowId);
      const s = await client.workflow.getHandle<typeof pollSource>(t.workflowId as string).result();
      assert.equal(s.outcome, 'accepted');
      assert.equal(s.signalled, 1);
      await expectSignals(personKey({ source: src.id, key: '8001' }), ['changed']);
    } finally {
      await deleteSourceSchedule(client, src.id);
    }
  });
});
