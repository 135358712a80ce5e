/**
 * Lanes and pacing (common/lanes.ts, activities/bulk-pacing.ts), through the real stack: a poll
 * with many changes signals them in the bulk lane (employee workflows started at the bulk
 * priority, their reconcile steps scheduled at it) in small batches with a wait for the queues
 * between them; a poll with one change is interactive and its step is scheduled ahead of bulk
 * work. The waiting itself reads the real server's task queue statistics.
 *
 * Needs the test services (Temporal, PostgreSQL, Samba AD): see docs/development.md.
 */
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { LANE_PRIORITY } from '../common/lanes.js';
import { awaitQueuesBelow, bulkPacingFromEnv, queuedTasks } from '../activities/bulk-pacing.js';
import { employeeWorkflowId } from '../domain/model.js';
import { allStaffRules } from './support/rules-fixtures.js';
import { UAC_DISABLED, eventually, startHarness, type Harness, type Row } from './support/tenure-harness.js';

type Event = temporal.api.history.v1.IHistoryEvent;
const priorityKeyOf = (p: temporal.api.common.v1.IPriority | null | undefined) => p?.priorityKey ?? undefined;
const stepPriorities = (events: Event[]) =>
  events
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'reconcileAccount')
    .map((a) => priorityKeyOf(a?.priority));

describe('bulk pacing settings and the wait', () => {
  test('TENURE_BULK_FROM and TENURE_BULK_IN_FLIGHT: defaults, the cache as the ceiling, clear refusals', () => {
    assert.deepEqual(bulkPacingFromEnv({}, 1000), { bulkFrom: 100, inFlight: 200, maxWaitMs: 600_000 });
    assert.equal(bulkPacingFromEnv({ TENURE_BULK_IN_FLIGHT: '5000' }, 1000).inFlight, 1000);
    assert.equal(bulkPacingFromEnv({ TENURE_BULK_IN_FLIGHT: '5000' }, 0).inFlight, 5000);
    assert.throws(() => bulkPacingFromEnv({ TENURE_BULK_FROM: '0' }, 1000), /TENURE_BULK_FROM must be at least 1/);
    assert.throws(() => bulkPacingFromEnv({ TENURE_BULK_IN_FLIGHT: 'lots' }, 1000), /TENURE_BULK_IN_FLIGHT/);
  });

  test('the wait ends once the queues hold fewer than the limit, or gives up after the longest wait', async () => {
    const seen = [5, 4, 1];
    const drained = await awaitQueuesBelow(
      { bulkFrom: 1, inFlight: 2, maxWaitMs: 60_000 },
      async () => seen.shift()!,
      5,
    );
    assert.equal(drained.queued, 1);
    assert.equal(drained.gaveUp, false);
    assert.equal(seen.length, 0, 'measured three times');
    const stuck = await awaitQueuesBelow({ bulkFrom: 1, inFlight: 2, maxWaitMs: 30 }, async () => 9, 5);
    assert.equal(stuck.gaveUp, true);
    assert.equal(stuck.queued, 9);
  });
});

describe('bulk and interactive lanes through the stack (Samba AD)', { skip: !process.env.AD_URL }, () => {
  let h: Harness;

  before(async () => {
    h = await startHarness(
      allStaffRules('lanes-1', {
        enableAt: '00:00',
        disableAt: '00:00',
        createSecondsBeforeStart: 20,
        deleteAfterSeconds: 259200,
      }),
      // Four changes make a poll bulk; two queued tasks are the most before the next batch of one.
      { TENURE_BULK_FROM: '4', TENURE_BULK_IN_FLIGHT: '2' },
    );
  });
  after(async () => {
    await h?.stop();
  });

  test('the server reports the queues of this worker (what the wait reads)', async () => {
    const queue = `tenure-test-${h.sourceId}`;
    const queued = await queuedTasks(h.client, { workflows: [queue], activities: [queue, `${queue}-target-ad`] });
    assert.ok(Number.isInteger(queued) && queued >= 0, `queued ${queued}`);
  });

  test('a load of five is bulk and paced; a single change after it is interactive', async () => {
    const staff = (key: string, extra: Partial<Row> = {}): Row => ({
      key,
      nick: 'Lane',
      family: `Persoon${key}`,
      contract: `${key}c1`,
      start: '2022-01-01',
      dept: 'ZORG',
      ...extra,
    });
    const keys = [h.key(), h.key(), h.key(), h.key(), h.key()];
    h.writeExport(keys.map((k) => staff(k)));
    const load = await h.poll();
    assert.equal(load.outcome, 'accepted');
    assert.equal(load.signalled, 5);

    // Batches of one (half the in-flight limit), a wait for the queues between each two.
    const [loadPoll] = await pollActivities();
    const scheduled = loadPoll!;
    assert.equal(scheduled.filter((n) => n === 'signalChanges').length, 5, 'five batches of one');
    assert.equal(scheduled.filter((n) => n === 'awaitCapacity').length, 4, 'a wait between each two batches');

    for (const k of keys) {
      const person = `${h.sourceId}:${k}`;
      const user = await eventually(
        () => h.adUser(k),
        (u) => u !== undefined && (Number(u.userAccountControl) & UAC_DISABLED) === 0,
      );
      assert.ok(user, `${person} enabled`);
      const history = await h.client.workflow.getHandle(employeeWorkflowId(person)).fetchHistory();
      const started = history.events![0]!.workflowExecutionStartedEventAttributes;
      assert.equal(priorityKeyOf(started?.priority), LANE_PRIORITY.bulk, `${person} started in the bulk lane`);
      assert.deepEqual(stepPriorities(history.events!), [LANE_PRIORITY.bulk], `${person}: its step in the bulk lane`);
    }

    // One person moves department: one change, interactive.
    const mover = keys[0]!;
    h.writeExport(keys.map((k) => (k === mover ? staff(k, { dept: 'ICT' }) : staff(k))));
    const single = await h.poll();
    assert.equal(single.signalled, 1);
    const moverKey = `${h.sourceId}:${mover}`;
    await eventually(
      () => h.adUser(mover),
      (u) =>
        ([] as string[])
          .concat((u?.memberOf as string[] | string | undefined) ?? [])
          .some((g) => /^CN=dept-ICT,/.test(g)),
    );
    const history = await h.client.workflow.getHandle(employeeWorkflowId(moverKey)).fetchHistory();
    assert.deepEqual(
      stepPriorities(history.events!),
      [LANE_PRIORITY.bulk, LANE_PRIORITY.interactive],
      'the mover step of the single change goes ahead of bulk work',
    );
    const polls = await pollActivities();
    assert.equal(polls.length, 2);
    assert.ok(!polls[1]!.includes('awaitCapacity'), 'the single change was not paced');
  });

  /** The activities each poll of the harness's source scheduled, oldest poll first (from the vault's poll record). */
  async function pollActivities(): Promise<string[][]> {
    const { rows } = await h.db.query<{ workflow_id: string }>(
      'select workflow_id from source_polls where source = $1 order by id',
      [h.sourceId],
    );
    return Promise.all(
      rows.map(async (r) =>
        ((await h.client.workflow.getHandle(r.workflow_id).fetchHistory()).events ?? [])
          .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
          .filter((n): n is string => !!n),
      ),
    );
  }
});
