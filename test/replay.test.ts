// Determinism: every recorded history in test/fixtures/histories/ replays against the current
// workflow bundle (workers/workflow-bundle.ts). A change to workflow code that would break running
// employees (a command added, removed or reordered without patching) fails here.
// Re-record after an intended, patched change: scripts/record-histories.ts (see its header).
// employee-role-in-plan-*: plans that carry each target's role and permission noun (target descriptors).
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { dataConverterFromEnv } from '../workers/temporal-connection.js';
import { loadWorkflowBundle } from '../workers/workflow-bundle.js';
import { splitAfterLocalActivityMarkers } from './support/split-workflow-tasks.js';
import { HASH_OF_THE_PASS, LOCAL_BOOKKEEPING } from '../workflows/employee-reconcile.js';

const DIR = fileURLToPath(new URL('./fixtures/histories/', import.meta.url));
const HISTORY = proto.temporal.api.history.v1.History;
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

/** The fixture format written by scripts/record-histories.ts (protobufjs object form). */
function readFixture(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Record<string, unknown>;
}
function loadFixture(file: string): proto.temporal.api.history.v1.History {
  return HISTORY.fromObject(readFixture(file));
}

describe('replay of recorded histories against the current workflow code', () => {
  let workflowBundle: WorkflowBundle;
  before(async () => {
    workflowBundle = await loadWorkflowBundle();
  });

  test('the fixtures are there: employee and poll workflows, a completed employee among them', () => {
    assert.ok(
      files.some((f) => f.startsWith('employee-')),
      `employee fixtures in ${DIR}`,
    );
    assert.ok(
      files.some((f) => f.startsWith('poll-')),
      `poll fixtures in ${DIR}`,
    );
    const types = new Set<string>();
    let completed = 0;
    for (const f of files) {
      const h = loadFixture(f);
      const start = h.events[0]?.workflowExecutionStartedEventAttributes;
      assert.ok(start?.workflowType?.name, `${f} starts with WorkflowExecutionStarted`);
      types.add(start.workflowType.name);
      if (h.events.some((e) => e.workflowExecutionCompletedEventAttributes)) completed += 1;
    }
    assert.ok(types.has('employeeLifecycle'), [...types].join(', '));
    assert.ok(types.has('pollSource'), [...types].join(', '));
    assert.ok(completed >= 2, 'a completed employee and completed polls');
  });

  test('both shapes of the employee pass are there: one activity per action, and the reconcile step', () => {
    const activitiesOf = (f: string) =>
      new Set(
        loadFixture(f)
          .events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
          .filter((n): n is string => !!n),
      );
    const employees = files.filter((f) => f.startsWith('employee-')).map(activitiesOf);
    assert.ok(
      employees.some((a) => a.has('createAccount') && a.has('enableAccount')),
      'a history from before patch reconcile-account-step',
    );
    assert.ok(
      employees.some((a) => a.has('reconcileAccount') && !a.has('createAccount') && !a.has('writeBackToSource')),
      'a history of the reconcile step (no write-back call for a file source)',
    );
  });

  test('accounts record the hash of the pass (patch record-the-hash-the-pass-built-from): histories before and after', () => {
    const patchesOf = (f: string) =>
      new Set(
        loadFixture(f)
          .events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
          .flatMap((e) => e.markerRecordedEventAttributes!.details?.['patch-data']?.payloads ?? [])
          .map((p) => (JSON.parse(Buffer.from(p.data!).toString('utf8')) as { id: string }).id),
      );
    const employees = files.filter((f) => f.startsWith('employee-')).map(patchesOf);
    assert.ok(
      employees.some((ids) => ids.has(LOCAL_BOOKKEEPING) && !ids.has(HASH_OF_THE_PASS)),
      'a history with local activities from before the patch',
    );
    assert.ok(
      employees.some((ids) => ids.has(LOCAL_BOOKKEEPING) && ids.has(HASH_OF_THE_PASS)),
      'a history recorded with the patch',
    );
  });

  test('planning, reservation and announcement shapes: activities before the patch, local activities after', () => {
    const shapeOf = (f: string) => {
      const events = loadFixture(f).events;
      return {
        scheduled: new Set(events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)),
        markers: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
      };
    };
    const employees = files.filter((f) => f.startsWith('employee-')).map(shapeOf);
    assert.ok(
      employees.some((e) => e.scheduled.has('planPerson') && e.scheduled.has('reserveIdentity') && e.markers === 0),
      'a history from before patch local-planning-and-reservation',
    );
    assert.ok(
      employees.some(
        (e) =>
          e.markers >= 3 &&
          e.scheduled.has('reconcileAccount') &&
          !e.scheduled.has('planPerson') &&
          !e.scheduled.has('reserveIdentity') &&
          !e.scheduled.has('announceAccount'),
      ),
      'a history of local planning, reservation and announcement',
    );
  });

  test('both poll shapes are there: batch after batch, and bulk batches paced by awaitCapacity', () => {
    const activitiesOf = (f: string) =>
      loadFixture(f)
        .events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n): n is string => !!n);
    const polls = files.filter((f) => f.startsWith('poll-')).map(activitiesOf);
    assert.ok(
      polls.some((a) => a.includes('signalChanges') && !a.includes('awaitCapacity')),
      'a poll history from before patch paced-bulk-signals (or an interactive poll)',
    );
    assert.ok(
      polls.some((a) => a.filter((n) => n === 'signalChanges').length >= 2 && a.includes('awaitCapacity')),
      'a bulk poll that waited for capacity between its batches',
    );
  });

  test('plans with and without the target role (descriptors): the workflow reads the role, else the kind', () => {
    /** The target roles of every planPerson result in a fixture (undefined: a plan from before descriptors). */
    const rolesOf = (f: string) => {
      const h = loadFixture(f);
      const planIds = new Set(
        h.events
          .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'planPerson')
          .map((e) => String(e.eventId)),
      );
      const json = (data: Uint8Array | null | undefined) => JSON.parse(Buffer.from(data ?? []).toString('utf8'));
      return h.events.flatMap((e) => {
        let result: Uint8Array | null | undefined;
        const done = e.activityTaskCompletedEventAttributes;
        if (done && planIds.has(String(done.scheduledEventId))) result = done.result?.payloads?.[0]?.data;
        // A local planPerson (patch local-planning-and-reservation): its result is in the marker.
        const marker = e.markerRecordedEventAttributes;
        if (marker?.markerName === 'core_local_activity') {
          const meta = json(marker.details?.data?.payloads?.[0]?.data) as { activity_type?: string };
          if (meta.activity_type === 'planPerson') result = marker.details?.result?.payloads?.[0]?.data;
        }
        if (!result) return [];
        return (json(result) as { targets: { role?: string }[] }).targets.map((t) => t.role);
      });
    };
    const employees = files.filter((f) => f.startsWith('employee-')).map(rolesOf);
    assert.ok(
      employees.some((r) => r.length > 0 && r.every((role) => role === undefined)),
      'a history whose plans have no role',
    );
    assert.ok(
      employees.some((r) => r.includes('directory')),
      'a history whose plans carry the role',
    );
  });

  /** Replays the histories; returns one line per history that failed. */
  async function replayAll(histories: { workflowId: string; history: proto.temporal.api.history.v1.History }[]) {
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      {
        workflowBundle,
        // Fixtures are recorded without encryption: with keys in the environment, accept plaintext.
        dataConverter: dataConverterFromEnv({ ...process.env, TENURE_ENCRYPTION_ACCEPT_PLAINTEXT: '1' }),
        replayName: 'tenure-fixtures',
      },
      histories,
    )) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    assert.equal(replayed, histories.length, 'every history was replayed');
    return failures;
  }

  test('a workflow task cut after its local activities, as the SDK does under load, replays the same', async () => {
    // Under load the SDK may close a task right after a local activity's marker and record the
    // rest of the pass in the next task (CI: a patch first asked for there failed the replay after
    // a worker restart). Every history with local activities, cut that way, must still replay.
    const split = files
      .filter((f) => f.startsWith('employee-'))
      .map((f) => ({ f, ...splitAfterLocalActivityMarkers(readFixture(f)) }))
      .filter((x) => x.cuts > 0);
    assert.ok(split.length >= 3, `employee histories with commands after a local activity: ${split.length}`);
    const cuts = split.reduce((n, x) => n + x.cuts, 0);
    assert.ok(cuts >= 6, `cuts made: ${cuts}`);
    const failures = await replayAll(
      split.map((x) => ({ workflowId: `${x.f.replace(/\.json$/, '')}-split`, history: HISTORY.fromObject(x.history) })),
    );
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('every fixture replays without a determinism error', async () => {
    const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: loadFixture(f) }));
    assert.equal(histories.length, files.length);
    const failures = await replayAll(histories);
    assert.deepEqual(failures, [], failures.join('\n'));
  });
});
