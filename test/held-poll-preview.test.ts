// Go-live: a source's first poll holds with a preview of what approving it would do, planned with
// the rules in force from the poll's staged records; approving it then provisions those persons.
// Real Temporal, PostgreSQL and Samba AD.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POLL_WORKFLOW_TYPE, approvePollUpdate, heldPollQuery } from '../common/messages.js';
import { requireEnv, uniqueSuffix } from './support/env.js';
import { eventually, startHarness } from './support/tenure-harness.js';

const RULES = `
version: "golive-1"
targets: [{ id: ad, kind: ad }]
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, dynamicPermissions: ["dept-{department.code}"] }
`;

describe('go-live hold with a preview', () => {
  test('the first poll holds, its preview counts the accounts and grants, approval provisions them', async () => {
    const h = await startHarness(RULES, { TENURE_FILE_SOURCE_THRESHOLDS: JSON.stringify({ firstPoll: 'hold' }) });
    try {
      const keys = [h.key(), h.key(), h.key()];
      h.writeExport(
        keys.map((key) => ({
          key,
          nick: 'Golive',
          family: `Test${key}`,
          contract: `${key}c`,
          start: '2022-01-01',
          dept: 'GL',
          location: 'Zeist',
        })),
      );
      const poll = await h.client.workflow.start(POLL_WORKFLOW_TYPE, {
        taskQueue: `tenure-test-${h.sourceId}`,
        workflowId: `poll-${h.sourceId}-${uniqueSuffix()}`,
        args: [{ sourceId: h.sourceId, batchSize: 50 }],
      });
      const view = await eventually(
        () => poll.query(heldPollQuery),
        (v) => v?.preview !== undefined,
        60_000,
        500,
      );
      assert.ok(view?.preview, 'the held poll carries a preview');
      assert.deepEqual(view.preview.totals, { 'ad/create': 3, 'ad/enable': 3, 'ad/grant': 3 });
      assert.match(view.preview.summary, /3 added and 0 changed persons \(rules golive-1\)/);
      for (const key of keys) assert.equal(await h.adUser(key), undefined, `${key}: nothing happens while held`);

      await poll.executeUpdate(approvePollUpdate, { args: [{ requestedBy: 'test admin', reason: 'preview checked' }] });
      await poll.result();
      for (const key of keys) {
        const user = await eventually(
          () => h.adUser(key),
          (u) => u !== undefined && (Number(u.userAccountControl) & 2) === 0,
          120_000,
          500,
        );
        assert.ok(user, `${key} provisioned after the approval`);
      }
    } finally {
      await h.stop();
    }
  });

  test('the held preview shows an existing account in scope as adopt, and approval adopts it', async () => {
    const h = await startHarness(
      RULES.replace('{ id: ad, kind: ad }', '{ id: ad, kind: ad, options: { ownership: { adopt: inScope } } }'),
      {
        TENURE_FILE_SOURCE_THRESHOLDS: JSON.stringify({ firstPoll: 'hold' }),
      },
    );
    try {
      const keys = [h.key(), h.key()];
      const legacy = keys[0]!;
      const sam = `lg${legacy.slice(-8)}`;
      await h.ldap.add(`CN=Legacy ${legacy},OU=Employees,OU=Tenure,${requireEnv('AD_BASE_DN')}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        userAccountControl: '514',
        sAMAccountName: sam,
        employeeID: legacy,
        displayName: `Legacy ${legacy}`,
      });
      h.writeExport(
        keys.map((key) => ({
          key,
          nick: 'Golive',
          family: `Test${key}`,
          contract: `${key}c`,
          start: '2022-01-01',
          dept: 'GL',
        })),
      );
      const poll = await h.client.workflow.start(POLL_WORKFLOW_TYPE, {
        taskQueue: `tenure-test-${h.sourceId}`,
        workflowId: `poll-${h.sourceId}-${uniqueSuffix()}`,
        args: [{ sourceId: h.sourceId, batchSize: 50 }],
      });
      const view = await eventually(
        () => poll.query(heldPollQuery),
        (v) => v?.preview !== undefined,
        60_000,
        500,
      );
      assert.deepEqual(view?.preview?.totals, { 'ad/adopt': 1, 'ad/create': 1, 'ad/enable': 2, 'ad/grant': 2 });
      assert.match(view!.preview!.summary, /1 ad adopt/);
      assert.doesNotMatch(view!.preview!.summary, /not checked/);

      await poll.executeUpdate(approvePollUpdate, { args: [{ requestedBy: 'test admin', reason: 'preview checked' }] });
      await poll.result();
      const user = await eventually(
        () => h.adUser(legacy),
        (u) => u !== undefined && (Number(u.userAccountControl) & 2) === 0,
        120_000,
        500,
      );
      assert.equal(user?.sAMAccountName, sam, 'adopted with its login name kept');
      const own = await h.db.query('select origin from target_accounts where target = $1 and person_key = $2', [
        'ad',
        `${h.sourceId}:${legacy}`,
      ]);
      assert.equal(own.rows[0]?.origin, 'adopted');
    } finally {
      await h.stop();
    }
  });
});
