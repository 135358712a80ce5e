// Fast tier: the employee workflow's lifecycle logic on Temporal's time-skipping test server with
// in-memory activities, so hire -> start -> mover -> leaver -> 90 days retention -> delete takes
// seconds. The real planning code (rules, schedule) runs; targets, mail, naming reservations and the
// write-back are recorded in memory. The workflow is driven only through its public messages
// (common/messages.ts) and activity names, so these tests do not depend on how it is split inside.
// The integration tests (Samba AD, PostgreSQL, the dev server) stay the proof against real systems.
import { createHash } from 'node:crypto';
import '../support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { planPerson, type LifecycleActivities } from '../../activities/lifecycle.js';
import type { ManagerMailActivities } from '../../activities/manager-mail.js';
import type { TargetActivities } from '../../activities/targets.js';
import type { WriteBackActivities } from '../../activities/writeback.js';
import {
  EMPLOYEE_WORKFLOW_TYPE,
  personChangedSignal,
  personRemovedSignal,
  statusQuery,
  upcomingQuery,
  type StatusView,
} from '../../common/messages.js';
import { targetTaskQueue } from '../../common/task-queues.js';
import { addDays, localDate } from '../../domain/dates.js';
import { Person, type PersonInput } from '../../domain/model.js';
import { parseRules } from '../../domain/rules.js';
import type { employeeLifecycle } from '../../workflows/employee.js';
import { loadWorkflowBundle } from '../../workers/workflow-bundle.js';
import { startTimeSkippingEnvironment } from '../support/time-skipping.js';

/** Signals carry the sha-256 of the person snapshot; the workflow refuses anything else. */
const digest = (text: string) => createHash('sha256').update(text).digest('hex');

const QUEUE = 'fast-lifecycle';
const DAY = 24 * 3600_000;

// Default timings: created 14 days before the start, enabled 07:00 on the first day, disabled at
// midnight after the last day, deleted 90 days after that.
const RULES = parseRules(`
version: "fast-1"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
        dynamicPermissions: ["dept-{department.code}"]
`);

/** One call to a mocked activity, at test-server time (the activity's scheduled time). */
interface Call {
  name: string;
  at: number;
  detail: string;
}

/** In-memory stand-ins for every activity the employee workflow runs, recording each call. */
function recordingActivities() {
  const calls: Call[] = [];
  const record = (name: string, detail = '') => {
    calls.push({ name, at: Context.current().info.currentAttemptScheduledTimestampMs, detail });
  };
  const ok = (action: string, account = { id: 'guid-1', locator: 'CN=fast,OU=Staff' }) => ({
    account,
    lines: [{ action, outcome: 'success', message: action }],
  });
  const held = new Set<string>();
  /** Every reconcile step: whose, whether it updates, and the display name it was given. */
  const steps: { personKey: string; update: boolean; displayName: string }[] = [];
  /** A person whose next reconcile step waits until the test opens the gate. */
  const gates = new Map<string, { started: () => void; open: Promise<void> }>();

  const lifecycle: LifecycleActivities = {
    // The real planner, with "now" from the test server's clock rather than the wall clock.
    async planPerson({ person, now }) {
      record('planPerson');
      return planPerson(RULES, person, now ?? Context.current().info.currentAttemptScheduledTimestampMs);
    },
    async reserveIdentity({ person, current }) {
      record('reserveIdentity');
      // As the real one when the names it builds from did not change: the current identity stays.
      if (current) return current;
      const username = `${person.name.nickName[0]}.${person.name.familyName}`.toLowerCase();
      return { username, userPrincipalName: `${username}@fast.test`, email: `${username}@fast.test`, aliases: [] };
    },
  };
  const targets: TargetActivities = {
    async createAccount(call) {
      record('createAccount', call.desired.departmentCode ?? '');
      return ok('create');
    },
    async updateAccount(call) {
      record('updateAccount', call.desired.departmentCode ?? '');
      return ok('update');
    },
    async enableAccount() {
      record('enableAccount');
      return ok('enable');
    },
    async disableAccount() {
      record('disableAccount');
      return ok('disable');
    },
    async deleteAccount() {
      record('deleteAccount');
      return { account: null, lines: [{ action: 'delete', outcome: 'success', message: 'delete' }] };
    },
    async grantPermission(call) {
      record('grantPermission', call.permission);
      held.add(call.permission);
      return ok('grant');
    },
    async revokePermission(call) {
      record('revokePermission', call.permission);
      held.delete(call.permission);
      return ok('revoke');
    },
    async listPermissions() {
      record('listPermissions');
      return [...held];
    },
    async findAccount() {
      record('findAccount');
      return null;
    },
    // The reconcile step, recorded as the single actions it stands for (in their order).
    async reconcileAccount(call) {
      record('reconcileAccount');
      steps.push({ personKey: call.personKey, update: call.update, displayName: call.desired.displayName });
      const gate = gates.get(call.personKey);
      if (gate) {
        gates.delete(call.personKey);
        gate.started();
        await gate.open;
      }
      const created = !call.account;
      let enabled = created ? false : call.enabled;
      const result = { enabledNow: false, disabledNow: false };
      if (created) record('createAccount', call.desired.departmentCode ?? '');
      else if (call.update) record('updateAccount', call.desired.departmentCode ?? '');
      const have = call.fullCheck ? [...held] : created ? [] : [...call.held];
      for (const p of call.permissions.filter((x) => !have.includes(x.name))) {
        record('grantPermission', p.name);
        held.add(p.name);
        have.push(p.name);
      }
      for (const name of have.filter((n) => !call.permissions.some((p) => p.name === n))) {
        record('revokePermission', name);
        held.delete(name);
        have.splice(have.indexOf(name), 1);
      }
      if (call.enable && (!enabled || call.fullCheck)) {
        record('enableAccount');
        enabled = result.enabledNow = true;
      } else if (!call.enable && (enabled || call.disableAnyway)) {
        record('disableAccount');
        enabled = false;
        result.disabledNow = true;
      }
      for (const p of call.oneOff) record('grantPermission', p.name);
      return {
        ...ok('reconcile'),
        ...result,
        created,
        origin: created ? ('created' as const) : undefined,
        enabled,
        permissions: have,
        oneOffDone: call.oneOff.map((p) => p.name),
      };
    },
  };
  const mail: ManagerMailActivities = {
    async notifyManagerOf(req) {
      record('notifyManagerOf', req.kind);
      return { messageId: `<${req.idempotencyKey}>`, to: 'manager@fast.test' };
    },
  };
  const writeBack: WriteBackActivities = {
    async writeBackToSource() {
      record('writeBackToSource');
      return 'skipped';
    },
  };
  return { calls, held, steps, gates, lifecycle, targets, mail, writeBack };
}

function person(contract: Record<string, unknown>, key = '4711'): Person {
  const input: PersonInput = {
    source: 'file',
    key,
    name: { nickName: 'Anna', familyName: 'Visser' },
    contracts: [{ id: 'c1', department: { code: 'FIN', name: 'Finance' }, managerKey: '100', ...contract } as never],
  };
  return Person.parse(input);
}

/** Queries on one employee workflow, and a wait until its status (or anything) settles. */
function watch(handle: WorkflowHandle<typeof employeeLifecycle>) {
  const status = () => handle.query(statusQuery);
  const upcoming = async () => (await handle.query(upcomingQuery)).map((u) => u.action);
  /** Polls (in real time; the test server's clock does not move meanwhile) until `ok` holds. */
  const settle = async <T>(probe: () => Promise<T>, ok: (value: T) => boolean): Promise<T> => {
    for (let i = 0; i < 400; i++) {
      const value = await probe();
      if (ok(value)) return value;
      await new Promise((r) => setTimeout(r, 25));
    }
    return assert.fail(`never settled: ${JSON.stringify(await probe())}; status ${JSON.stringify(await status())}`);
  };
  const inState = (state: StatusView['state']) => settle(status, (s) => s.state === state);
  return { status, upcoming, settle, inState };
}

describe('employee workflow on skipped time (mocked activities)', () => {
  let env: TestWorkflowEnvironment;
  let mocks: ReturnType<typeof recordingActivities>;
  let workers: Worker[] = [];
  let running: Promise<void>[] = [];

  before(async () => {
    env = await startTimeSkippingEnvironment();
    mocks = recordingActivities();
    const workflowBundle = await loadWorkflowBundle({});
    workers = [
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: QUEUE,
        workflowBundle,
        activities: { ...mocks.lifecycle, ...mocks.mail, ...mocks.writeBack },
      }),
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: targetTaskQueue(QUEUE, 'ad'),
        activities: mocks.targets,
      }),
    ];
    running = workers.map((w) => w.run());
  });

  after(async () => {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
    await env?.teardown();
  });

  test('hire, start, mover, leaver, retention and delete in seconds', async () => {
    mocks.calls.length = 0;
    mocks.held.clear();
    const t0 = await env.currentTimeMs();
    const today = localDate(t0, RULES.timeZone);
    const startDate = addDays(today, 30);
    const handle = await env.client.workflow.start<typeof employeeLifecycle>(EMPLOYEE_WORKFLOW_TYPE, {
      taskQueue: QUEUE,
      workflowId: 'employee-file:4711',
      args: [{ personKey: 'file:4711' }],
    });
    const { status, upcoming, settle, inState } = watch(handle);
    const names = () => mocks.calls.map((c) => c.name);
    const last = (name: string) => mocks.calls.filter((c) => c.name === name).at(-1);

    // Hire, a month ahead: planned, nothing created yet.
    await handle.signal(personChangedSignal, {
      person: person({ startDate }),
      contentHash: digest('h1'),
      cause: 'poll file#1',
    });
    assert.deepEqual(await settle(upcoming, (u) => u.length > 0), ['createAccount', 'enableAccount']);
    assert.equal((await status()).state, 'pending');
    assert.ok(!names().includes('createAccount'));

    // 14 days before the start the account is created disabled, with its groups (pre-hire).
    await env.sleep(17 * DAY);
    const prehire = await inState('prehire');
    assert.equal(prehire.username, 'a.visser');
    assert.ok(last('createAccount')!.at >= Date.parse(`${addDays(startDate, -15)}T00:00:00Z`));
    assert.deepEqual([...mocks.held].sort(), ['all-staff', 'dept-FIN']);
    assert.ok(!names().includes('enableAccount'));

    // The first day at 07:00 it is enabled and the manager is told.
    await env.sleep(14 * DAY);
    const active = await inState('active');
    assert.equal(active.accounts[0]?.enabled, true);
    assert.ok(last('enableAccount')!.at >= Date.parse(`${startDate}T05:00:00Z`));
    assert.equal(last('notifyManagerOf')?.detail, 'accountReady');

    // Mover: a new department grants the new group before the old one goes.
    await handle.signal(personChangedSignal, {
      person: person({ startDate, department: { code: 'IT', name: 'IT' } }),
      contentHash: digest('h2'),
      cause: 'poll file#2',
    });
    await settle(
      async () => [...mocks.held].sort(),
      (held) => held.join() === 'all-staff,dept-IT',
    );
    const grant = mocks.calls.findIndex((c) => c.name === 'grantPermission' && c.detail === 'dept-IT');
    const revoke = mocks.calls.findIndex((c) => c.name === 'revokePermission' && c.detail === 'dept-FIN');
    assert.ok(grant >= 0 && revoke > grant, 'grant the new group, then revoke the old one');
    assert.equal(last('updateAccount')?.detail, 'IT');

    // Leaver: an end date ten days on; after it the account is disabled and the manager told.
    const endDate = addDays(localDate(await env.currentTimeMs(), RULES.timeZone), 10);
    await handle.signal(personChangedSignal, {
      person: person({ startDate, endDate, department: { code: 'IT', name: 'IT' } }),
      contentHash: digest('h3'),
      cause: 'poll file#3',
    });
    assert.deepEqual(await settle(upcoming, (u) => u.includes('disableAccount')), ['disableAccount', 'deleteAccount']);
    await env.sleep(12 * DAY);
    const leaver = await inState('leaver');
    assert.equal(leaver.accounts[0]?.enabled, false);
    assert.ok(last('disableAccount')!.at >= Date.parse(`${endDate}T22:00:00Z`));
    assert.equal(last('notifyManagerOf')?.detail, 'leaverDisabled');
    assert.ok(!names().includes('deleteAccount'));

    // 90 days after the end the account is deleted and the workflow ends.
    const result = await handle.result();
    assert.equal(result.state, 'deleted');
    const deleted = last('deleteAccount');
    assert.ok(deleted, 'the account was deleted');
    assert.ok(deleted.at >= Date.parse(`${addDays(endDate, 90)}T00:00:00Z`), 'not before the retention ended');
    assert.equal(mocks.calls.filter((c) => c.name === 'createAccount').length, 1, 'one account, ever');
  });

  test('a hire withdrawn before the start: the pre-created account is deleted and the run ends', async () => {
    mocks.calls.length = 0;
    mocks.held.clear();
    const startDate = addDays(localDate(await env.currentTimeMs(), RULES.timeZone), 20);
    const handle = await env.client.workflow.start<typeof employeeLifecycle>(EMPLOYEE_WORKFLOW_TYPE, {
      taskQueue: QUEUE,
      workflowId: 'employee-file:4712',
      args: [{ personKey: 'file:4712' }],
    });
    const { inState } = watch(handle);
    await handle.signal(personChangedSignal, {
      person: person({ startDate }, '4712'),
      contentHash: digest('w1'),
      cause: 'poll file#4',
    });
    await env.sleep(7 * DAY);
    await inState('prehire');
    await handle.signal(personRemovedSignal, { personKey: 'file:4712', cause: 'poll file#5' });
    const result = await handle.result();
    assert.equal(result.state, 'rescinded');
    const names = mocks.calls.map((c) => c.name);
    assert.equal(names.filter((n) => n === 'deleteAccount').length, 1);
    assert.ok(!names.includes('enableAccount'), 'never enabled');
    assert.ok(!names.includes('notifyManagerOf'), 'no mail about a start that did not happen');
  });

  test('a name changed in HR while the account is being created reaches the account in the next pass', async () => {
    const today = localDate(await env.currentTimeMs(), RULES.timeZone);
    let started!: () => void;
    let open!: () => void;
    const stepRunning = new Promise<void>((r) => (started = r));
    mocks.gates.set('file:4713', { started, open: new Promise<void>((r) => (open = r)) });
    const handle = await env.client.workflow.start<typeof employeeLifecycle>(EMPLOYEE_WORKFLOW_TYPE, {
      taskQueue: QUEUE,
      workflowId: 'employee-file:4713',
      args: [{ personKey: 'file:4713' }],
    });
    const { settle } = watch(handle);
    const hired = person({ startDate: today }, '4713');
    await handle.signal(personChangedSignal, { person: hired, contentHash: digest('n1'), cause: 'poll file#6' });
    // The create is under way when HR's change arrives.
    await stepRunning;
    const renamed = Person.parse({ ...hired, name: { ...hired.name, nickName: 'Kees' } });
    await handle.signal(personChangedSignal, { person: renamed, contentHash: digest('n2'), cause: 'poll file#7' });
    open();
    const mine = () => Promise.resolve(mocks.steps.filter((x) => x.personKey === 'file:4713'));
    const steps = await settle(mine, (all) => all.some((x) => x.update));
    assert.deepEqual(
      steps.map((x) => [x.update, x.displayName]),
      [
        [false, 'Anna Visser'],
        [true, 'Kees Visser'],
      ],
      'created with the name it had, then updated to the new one',
    );
    await handle.terminate('test done');
  });
});
