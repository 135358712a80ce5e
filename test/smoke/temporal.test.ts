// The project-started Temporal dev server (CLI v1.5.1 built by setup) and a real worker.
import '../support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createConnectivityActivities, connectivityDepsFromEnv } from '../../activities/connectivity.js';
import { connectClient, connectWorker } from '../../workers/temporal-connection.js';
import { EmployeeIdKey, seenQuery, wakeSignal } from '../support/smoke-workflows.js';
import { uniqueSuffix } from '../support/env.js';

const workflowsPath = fileURLToPath(new URL('../support/smoke-workflows.ts', import.meta.url));
let bundle: WorkflowBundleWithSourceMap;

before(async () => {
  bundle = await bundleWorkflowCode({
    workflowsPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
});

describe('the project-started dev server', () => {
  let client: Awaited<ReturnType<typeof connectClient>>;
  before(async () => {
    client = await connectClient();
  });
  after(async () => {
    await client.connection.close();
  });

  test('checkConnectivity runs against every component', { timeout: 180_000 }, async () => {
    const taskQueue = `smoke-${uniqueSuffix()}`;
    const connection = await connectWorker();
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: bundle,
      activities: createConnectivityActivities(
        connectivityDepsFromEnv(process.env, [
          { id: 'ad', kind: 'ad' },
          { id: 'spendcloud', kind: 'spendcloud' },
        ]),
      ),
    });
    // A native connection left open keeps the test process alive after its tests.
    const report = await worker
      .runUntil(client.workflow.execute('checkConnectivity', { taskQueue, workflowId: `connectivity-${taskQueue}` }))
      .finally(() => connection.close());
    const checks = (report as { checks: { ok: boolean; component: string; detail: string }[] }).checks;
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
      'every component answers',
    );
    assert.equal(checks.length, 3);
    // The targets are checked by their descriptors' connectivity checks, each line naming its target.
    assert.deepEqual(
      checks.map((c) => c.component),
      ['vault (PostgreSQL)', 'directory (LDAP)', 'file drop (SFTP)'],
    );
    assert.match(checks[1]!.detail, /^ad: bound over LDAPS, base /i);
    assert.match(checks[2]!.detail, /^spendcloud: connected, \d+ entries in /);
  });

  test(
    'signal-with-start reaches a waiting workflow, and its search attribute is found through visibility',
    { timeout: 180_000 },
    async () => {
      const taskQueue = `smoke-${uniqueSuffix()}`;
      const employeeId = `smoke-${uniqueSuffix()}`;
      const connection = await connectWorker();
      const worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle });
      try {
        await worker.runUntil(async () => {
          const workflowId = `employee-${employeeId}`;
          const handle = await client.workflow.signalWithStart('waitForWake', {
            workflowId,
            taskQueue,
            args: [employeeId],
            signal: wakeSignal,
            signalArgs: ['hello'],
            typedSearchAttributes: [{ key: EmployeeIdKey, value: employeeId }],
          });
          // A second signal-with-start lands on the same running execution.
          await client.workflow.signalWithStart('waitForWake', {
            workflowId,
            taskQueue,
            args: [employeeId],
            signal: wakeSignal,
            signalArgs: ['again'],
          });
          assert.deepEqual(
            await waitUntil(
              () => handle.query(seenQuery),
              (s) => s.length === 2,
            ),
            ['hello', 'again'],
          );

          const found = await waitUntil(
            async () => {
              const ids: string[] = [];
              for await (const wf of client.workflow.list({ query: `EmployeeId = '${employeeId}'` }))
                ids.push(wf.workflowId);
              return ids;
            },
            (ids) => ids.length === 1,
          );
          assert.deepEqual(found, [workflowId]);

          await handle.signal(wakeSignal, 'done');
          assert.deepEqual(await handle.result(), ['hello', 'again', 'done']);
        });
      } finally {
        // A native connection left open keeps the test process alive after its tests.
        await connection.close();
      }
    },
  );
});

async function waitUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}
