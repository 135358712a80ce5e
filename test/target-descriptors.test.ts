// Target descriptors (connectors/targets/descriptors.ts): the engine asks a kind's descriptor, not
// its name, for directory-first ordering, the summary noun, export schedules, day-one passwords and
// connectivity checks. The workflow part runs on Temporal's time-skipping test server with
// in-memory target activities and the real planner; the rest is plain function calls.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { planPerson, type LifecycleActivities, type PersonPlan } from '../activities/lifecycle.js';
import type { ManagerMailActivities } from '../activities/manager-mail.js';
import type { ReconcileAccountCall, ReconcileAccountResult } from '../activities/reconcile-account.js';
import type { ReferenceActivities } from '../activities/references.js';
import type { WriteBackActivities } from '../activities/writeback.js';
import { dayOnePasswordSettingsOf } from '../activities/day-one-password.js';
import { createConnectivityActivities } from '../activities/connectivity.js';
import { EMPLOYEE_WORKFLOW_TYPE, personChangedSignal, statusQuery } from '../common/messages.js';
import { targetTaskQueue } from '../common/task-queues.js';
import {
  assertKnownTargetKinds,
  createTarget,
  descriptorOf,
  TARGET_DESCRIPTORS,
} from '../connectors/targets/descriptors.js';
import { addDays, localDate } from '../domain/dates.js';
import { Person } from '../domain/model.js';
import { parseRules } from '../domain/rules.js';
import type { employeeLifecycle } from '../workflows/employee.js';
import { exportSchedulesFor } from '../workers/schedules.js';
import { createTenureWorkers, tenureSettingsFromEnv } from '../workers/tenure-workers.js';
import { loadWorkflowBundle } from '../workers/workflow-bundle.js';
import { startTimeSkippingEnvironment } from './support/time-skipping.js';

const RULES = parseRules(`
version: "descriptors-1"
timeZone: Europe/Amsterdam
targets:
  - { id: ad, kind: ad }
  - { id: helloid, kind: helloid }
  - { id: spendcloud, kind: spendcloud }
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff] }
      helloid: { accountAccess: true, permissions: [portal] }
      spendcloud: { accountAccess: true }
`);

const anna = (startDate: string, key = '4711') =>
  Person.parse({
    source: 'file',
    key,
    name: { nickName: 'Anna', familyName: 'Visser' },
    contracts: [{ id: 'c1', startDate, department: { code: 'FIN', name: 'Finance' } }],
  });

describe('target descriptors: the table', () => {
  test('every kind has one descriptor; AD is the directory, Spend Cloud a file export, the rest dependents', () => {
    for (const [kind, d] of TARGET_DESCRIPTORS) assert.equal(d.kind, kind);
    const roles = Object.fromEntries([...TARGET_DESCRIPTORS.values()].map((d) => [d.kind, d.role]));
    assert.deepEqual(roles, {
      ad: 'directory',
      entra: 'dependent',
      helloid: 'dependent',
      topdesk: 'dependent',
      spendcloud: 'file-export',
    });
    assert.equal(descriptorOf({ id: 'x', kind: 'ad' }).permissionNoun, 'group');
    assert.equal(descriptorOf({ id: 'x', kind: 'helloid' }).permissionNoun, 'permission');
    // A file-export kind must say how it exports, or its schedule would start a failing workflow.
    for (const d of TARGET_DESCRIPTORS.values()) assert.equal(d.role === 'file-export', d.exportFiles !== undefined);
  });

  test('the plan carries each target its role and noun from the descriptor', () => {
    const plan = planPerson(RULES, anna('2026-01-05'), Date.parse('2026-01-10T12:00:00Z'));
    assert.deepEqual(
      plan.targets.map((t) => [t.targetId, t.role, t.permissionNoun]),
      [
        ['ad', 'directory', 'group'],
        ['helloid', 'dependent', 'permission'],
        ['spendcloud', 'file-export', 'permission'],
      ],
    );
  });

  test('export schedules come from the file-export role: every enabled instance, none for the others', () => {
    const targets = [
      { id: 'ad', kind: 'ad', enabled: true },
      { id: 'sc-north', kind: 'spendcloud', enabled: true },
      { id: 'sc-south', kind: 'spendcloud', enabled: true },
      { id: 'sc-old', kind: 'spendcloud', enabled: false },
      { id: 'helloid', kind: 'helloid', enabled: true },
    ];
    assert.deepEqual(exportSchedulesFor(targets, {}), [
      { id: 'sc-north', at: '06:00', timeZone: 'Europe/Amsterdam' },
      { id: 'sc-south', at: '06:00', timeZone: 'Europe/Amsterdam' },
    ]);
    assert.deepEqual(exportSchedulesFor(targets, { TENURE_EXPORT_EVERY: '1h' }), [
      { id: 'sc-north', every: '1h' },
      { id: 'sc-south', every: '1h' },
    ]);
  });

  test('day-one passwords only where the descriptor offers them', () => {
    const on = { dayOnePassword: { fallbackMailbox: 'it@tenure.test' } };
    assert.ok(dayOnePasswordSettingsOf({ id: 'ad2', kind: 'ad', options: on }));
    assert.ok(dayOnePasswordSettingsOf({ id: 'cloud', kind: 'entra', options: on }));
    assert.throws(
      () => dayOnePasswordSettingsOf({ id: 'desk', kind: 'topdesk', options: on }),
      /target 'desk': options.dayOnePassword is supported for ad, entra targets only, not topdesk/,
    );
  });

  test('an unknown kind is refused naming the target: by the descriptors, the planner and the connector factory', () => {
    assert.throws(
      () =>
        assertKnownTargetKinds([
          { id: 'ad', kind: 'ad' },
          { id: 'payroll', kind: 'sap' },
        ]),
      /target 'payroll' has kind 'sap'; this worker knows ad, entra, helloid, topdesk, spendcloud/,
    );
    const rules = parseRules(`
version: "1"
targets: [{ id: payroll, kind: sap }]
rules: []
`);
    assert.throws(() => planPerson(rules, anna('2026-01-05'), Date.now()), /target 'payroll' has kind 'sap'/);
    assert.throws(() => createTarget({ id: 'payroll', kind: 'sap' }, {}, { pool: {} as never }), /target 'payroll'/);
  });

  test('the worker refuses a rules file with an unknown kind at load, a disabled target too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenure-descriptors-'));
    try {
      const file = join(dir, 'rules.yaml');
      await writeFile(
        file,
        'version: "1"\ntargets:\n  - { id: ad, kind: ad }\n  - { id: legacy, kind: novell, enabled: false }\nrules: []\n',
      );
      const settings = tenureSettingsFromEnv({
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        TENURE_RULES_FILE: file,
        TENURE_PAYLOADS_PLAINTEXT: '1',
      });
      // Refused before any connection is used: the connection and client are never touched.
      await assert.rejects(
        createTenureWorkers({ settings, connection: {} as never, client: {} as never, workflowBundle: {} as never }),
        /target 'legacy' has kind 'novell'; this worker knows/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('connectivity: a role without a configured target is reported as such, a failing check names its target', async () => {
    const none = createConnectivityActivities({ targets: [{ id: 'helloid', kind: 'helloid' }], env: {} });
    const dir = await none.checkDirectory();
    assert.equal(dir.ok, true);
    assert.match(dir.detail, /no directory target with a connectivity check/);
    const broken = createConnectivityActivities({ targets: [{ id: 'ad-north', kind: 'ad' }], env: {} });
    const check = await broken.checkDirectory();
    assert.equal(check.ok, false);
    assert.match(check.detail, /^ad-north: target 'ad-north' \(AD_\* variables\)/);
  });
});

// ------------------------------------------------------------------ the workflow asks the plan

const QUEUE = 'descriptor-order';
const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** One reconcile step as the mocks saw it. */
interface Step {
  target: string;
  started: number;
  finished: number;
}

describe('employee workflow: directory first by the role in the plan', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[] = [];
  let running: Promise<void>[] = [];
  const steps: Step[] = [];
  /** Rewrites each plan before the workflow sees it (per test). */
  let reshape: (plan: PersonPlan) => PersonPlan = (p) => p;

  const lifecycle: LifecycleActivities = {
    async planPerson({ person }) {
      return reshape(planPerson(RULES, person, Date.now()));
    },
    async reserveIdentity() {
      return { username: 'a.visser', userPrincipalName: 'a.visser@t.test', email: 'a.visser@t.test', aliases: [] };
    },
  };
  const mail: ManagerMailActivities = {
    async notifyManagerOf(req) {
      return { messageId: `<${req.idempotencyKey}>`, to: 'manager@t.test' };
    },
  };
  /** Nobody reports to this person: no workflow to tell. */
  const references: ReferenceActivities = {
    async announceAccount() {
      return 0;
    },
  };
  const writeBack: WriteBackActivities = {
    async writeBackToSource() {
      return 'skipped';
    },
  };
  /** A target's reconcile step: slow enough that a dependent started too early would overlap it. */
  const reconcileAccount = async (call: ReconcileAccountCall): Promise<ReconcileAccountResult> => {
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    steps.push({ target: call.target, started, finished: Date.now() });
    return {
      account: { id: `${call.target}-1`, locator: call.target },
      created: !call.account,
      origin: call.account ? undefined : 'created',
      enabled: call.enable,
      enabledNow: call.enable,
      disabledNow: false,
      permissions: call.permissions.map((p) => p.name),
      oneOffDone: [],
      lines: [],
    };
  };

  before(async () => {
    env = await startTimeSkippingEnvironment();
    const workflowBundle = await loadWorkflowBundle({});
    workers = [
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: QUEUE,
        workflowBundle,
        activities: { ...lifecycle, ...mail, ...writeBack, ...references },
      }),
      ...(await Promise.all(
        RULES.targets.map((t) =>
          Worker.create({
            connection: env.nativeConnection,
            taskQueue: targetTaskQueue(QUEUE, t.id),
            activities: { reconcileAccount },
          }),
        ),
      )),
    ];
    running = workers.map((w) => w.run());
  });

  after(async () => {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
    await env?.teardown();
  });

  /** Starts one employee already at work, waits for its accounts; the steps and activity summaries. */
  async function hire(key: string): Promise<{ order: string[]; summaries: string[]; steps: Step[] }> {
    steps.length = 0;
    const handle = await env.client.workflow.start<typeof employeeLifecycle>(EMPLOYEE_WORKFLOW_TYPE, {
      taskQueue: QUEUE,
      workflowId: `employee-file:${key}`,
      args: [{ personKey: `file:${key}` }],
    });
    const startDate = addDays(localDate(Date.now(), RULES.timeZone), -3);
    await handle.signal(personChangedSignal, { person: anna(startDate, key), contentHash: digest(key), cause: 'test' });
    for (let i = 0; i < 400 && steps.length < 3; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(steps.length, 3, `three reconcile steps, got ${JSON.stringify(steps)}`);
    await handle.query(statusQuery);
    const history = await handle.fetchHistory();
    const summaries: string[] = [];
    for (const e of history.events ?? []) {
      const data = e.userMetadata?.summary?.data;
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'reconcileAccount' && data)
        summaries.push(JSON.parse(Buffer.from(data).toString('utf8')) as string);
    }
    await handle.terminate('test done');
    return { order: steps.map((s) => s.target), summaries, steps: [...steps] };
  }

  const finishedBefore = (steps: Step[], first: string, then: string[]) => {
    const f = steps.find((s) => s.target === first)!;
    for (const id of then) {
      const s = steps.find((x) => x.target === id)!;
      assert.ok(s.started >= f.finished, `${id} started after ${first} finished`);
    }
  };

  test('the role from the descriptor: AD first, then HelloID and Spend Cloud side by side', async () => {
    reshape = (p) => p;
    const { steps: seen, summaries } = await hire('5001');
    finishedBefore(seen, 'ad', ['helloid', 'spendcloud']);
    assert.ok(summaries.includes('ad: create, grant 1 group, enable'), summaries.join(' | '));
    assert.ok(summaries.includes('helloid: create, grant 1 permission, enable'), summaries.join(' | '));
  });

  test('the role decides, not the kind: a plan making HelloID the directory reconciles it first', async () => {
    reshape = (p) => ({
      ...p,
      targets: p.targets.map((t) =>
        t.targetId === 'helloid'
          ? { ...t, role: 'directory' as const, permissionNoun: 'group' as const }
          : t.targetId === 'ad'
            ? { ...t, role: 'dependent' as const, permissionNoun: 'permission' as const }
            : t,
      ),
    });
    const { steps: seen, summaries } = await hire('5002');
    finishedBefore(seen, 'helloid', ['ad', 'spendcloud']);
    assert.ok(summaries.includes('helloid: create, grant 1 group, enable'), summaries.join(' | '));
    assert.ok(summaries.includes('ad: create, grant 1 permission, enable'), summaries.join(' | '));
  });

  test('a plan recorded before descriptors (no role, no noun) falls back to the kind: AD first, groups', async () => {
    reshape = (p) => ({
      ...p,
      targets: p.targets.map((t) => {
        const { role: _role, permissionNoun: _noun, ...old } = t;
        return old;
      }),
    });
    const { steps: seen, summaries } = await hire('5003');
    finishedBefore(seen, 'ad', ['helloid', 'spendcloud']);
    assert.ok(summaries.includes('ad: create, grant 1 group, enable'), summaries.join(' | '));
    assert.ok(summaries.includes('helloid: create, grant 1 permission, enable'), summaries.join(' | '));
  });
});
