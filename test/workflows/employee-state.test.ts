// The employee workflow's state carried over continue-as-new: runs from before the field renames
// (lifecycle as `state`, event markers inside `notified`, admin requests as text) continue as they were.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initialState, stateFromCarried, todayOf } from '../../workflows/employee-state.js';

describe('employee state carried over continue-as-new', () => {
  test('a fresh run starts pending with no markers', () => {
    const s = stateFromCarried('hr:1', undefined);
    assert.deepEqual(s, initialState('hr:1'));
  });

  test('the old field names are read: lifecycle, event markers, admin requests', () => {
    const old = {
      personKey: 'hr:1',
      runId: 'r1',
      removed: false,
      state: 'leaver',
      excluded: false,
      accounts: {},
      notified: ['accountReady:ad:2024-01-01', 'event:topdesk:offboarding:2026-11-30'],
      pendingCauses: [],
      adminRequests: ['reprovision by ops'],
      adminResults: { 'reprovision by ops': { state: 'leaver', actions: [] } },
    };
    const s = stateFromCarried('hr:1', old);
    assert.equal(s.lifecycle, 'leaver');
    assert.equal((s as unknown as Record<string, unknown>).state, undefined, 'the old field is gone');
    assert.deepEqual(s.notified, ['accountReady:ad:2024-01-01']);
    assert.deepEqual(s.events, ['event:topdesk:offboarding:2026-11-30'], 'an old ticket marker is still known');
    assert.deepEqual(s.adminRequests, [{ id: 'reprovision by ops', cause: 'reprovision by ops' }]);
    assert.deepEqual(s.adminResults, {});
  });

  test('the new shape is carried as is', () => {
    const now = { ...initialState('hr:2'), lifecycle: 'active' as const, events: ['event:t:x:2026-01-01'] };
    const s = stateFromCarried('hr:2', now);
    assert.equal(s.lifecycle, 'active');
    assert.deepEqual(s.events, ['event:t:x:2026-01-01']);
  });

  test('today is the calendar date in the plan zone (UTC before the first plan)', () => {
    const s = initialState('hr:3');
    const at = Date.parse('2026-11-30T23:30:00Z');
    assert.equal(todayOf(s, at), '2026-11-30');
    s.plan = { timeZone: 'Europe/Amsterdam' } as typeof s.plan;
    assert.equal(todayOf(s, at), '2026-12-01');
  });
});
