// Admin requests on a running employee workflow: answers are kept by update id, so two identical
// requests sent at the same moment both get their own answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { reprovisionUpdate, type ReprovisionResult } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { eventually, startHarness, type Harness } from './support/tenure-harness.js';

const RULES = `
version: "admin-1"
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
`;

describe('admin requests on the employee workflow', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(RULES);
  });
  after(async () => {
    await h?.stop();
  });

  test('two identical reprovision requests at once both get an answer', async () => {
    const key = h.key();
    h.writeExport([{ key, nick: 'Ilse', family: 'Visser', contract: `${key}c1`, start: '2021-01-01', dept: 'FIN' }]);
    assert.equal((await h.poll()).outcome, 'accepted');
    await eventually(
      () => h.status(`${h.sourceId}:${key}`),
      (s) => s.state === 'active',
      60_000,
    );
    const handle = h.client.workflow.getHandle(employeeWorkflowId(`${h.sourceId}:${key}`));
    const same = { requestedBy: 'ops', reason: 'check after ticket 12' };
    const answers: ReprovisionResult[] = await Promise.all([
      handle.executeUpdate(reprovisionUpdate, { args: [same] }),
      handle.executeUpdate(reprovisionUpdate, { args: [same] }),
    ]);
    for (const a of answers) {
      assert.equal(a?.state, 'active');
      assert.ok(Array.isArray(a.actions), 'each request has its own list of actions');
      assert.ok(
        a.actions.some((x) => x.target === 'ad' && x.action === 'update'),
        JSON.stringify(a.actions),
      );
    }
  });
});
