// Continue-as-new: on a dev server that suggests it after a few dozen events, an employee's
// workflow moves to a new run carrying its state (identity, accounts, permissions) and goes on
// applying changes. The server is started by @temporalio/testing from the project-built CLI.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import * as sa from '../common/search-attributes.js';
import { employeeWorkflowId } from '../domain/model.js';
import { temporalCliPath } from './support/env.js';
import { eventually, startHarness, type Harness, type Row } from './support/tenure-harness.js';

describe('continue-as-new', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const saved = process.env.TEMPORAL_ADDRESS;

  before(async () => {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        searchAttributes: [
          sa.EmployeeId,
          sa.LifecycleState,
          sa.Department,
          sa.StartDate,
          sa.EndDate,
          sa.ProvisioningHealth,
          sa.SourceId,
          sa.PollState,
        ],
        extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'],
      },
    });
    process.env.TEMPORAL_ADDRESS = env.address;
    h = await startHarness(`
version: "can-1"
targets: [{ id: ad, kind: ad }]
rules:
  - name: all staff
    entitlements: { ad: { accountAccess: true, dynamicPermissions: ["dept-{department.code}"] } }
`);
  });
  after(async () => {
    await h?.stop();
    process.env.TEMPORAL_ADDRESS = saved;
    await env?.teardown();
  });

  test('the state is carried to the new run and later changes still apply', async () => {
    const key = h.key();
    const personKey = `${h.sourceId}:${key}`;
    const row = (dept: string): Row => ({
      key,
      nick: 'Lang',
      family: `Leven${key}`,
      contract: `${key}c`,
      start: '2022-01-01',
      dept,
      location: 'Utrecht',
    });
    h.writeExport([row('D0')]);
    await h.poll();
    const first = await eventually(
      () => h.status(personKey),
      (s) => s.state === 'active' && s.accounts.length === 1,
      60_000,
    );
    // Moves between departments until the history is long enough for a new run.
    let i = 1;
    let status = first;
    while (status.runId === first.runId && i < 12) {
      h.writeExport([row(`D${i}`)]);
      await h.poll();
      const dept = `dept-D${i}`;
      status = await eventually(
        () => h.status(personKey),
        (s) => JSON.stringify(s.accounts[0]?.permissions) === JSON.stringify([dept]),
        60_000,
      );
      i++;
    }
    assert.notEqual(status.runId, first.runId, 'continued as new');
    assert.equal(status.username, first.username, 'identity carried');
    assert.equal(status.accounts[0]?.accountId, first.accounts[0]?.accountId, 'account reference carried');
    assert.equal(status.state, 'active');
    // A change after the new run started is applied too.
    h.writeExport([row('LAST')]);
    await h.poll();
    const last = await eventually(
      () => h.status(personKey),
      (s) => JSON.stringify(s.accounts[0]?.permissions) === '["dept-LAST"]',
      60_000,
    );
    assert.equal(last.accounts[0]?.enabled, true);
    const description = await h.client.workflow.getHandle(employeeWorkflowId(personKey)).describe();
    assert.equal(description.status.name, 'RUNNING');
  });
});
