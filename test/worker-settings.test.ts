// Worker settings read from the environment: the workflow cache size (TENURE_MAX_CACHED_WORKFLOWS)
// and the steps each target worker runs at once (TENURE_AD_MAX_CONCURRENT, TENURE_TARGET_MAX_CONCURRENT).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_MAX_CACHED_WORKFLOWS,
  DEFAULT_TARGET_CONCURRENCY,
  maxCachedWorkflowsFromEnv,
  targetConcurrencyFromEnv,
  targetStepsAtOnce,
} from '../workers/tenure-workers.js';

test('TENURE_MAX_CACHED_WORKFLOWS: a whole number, the default when unset, a clear error otherwise', () => {
  assert.equal(maxCachedWorkflowsFromEnv(undefined), DEFAULT_MAX_CACHED_WORKFLOWS);
  assert.equal(maxCachedWorkflowsFromEnv(' '), DEFAULT_MAX_CACHED_WORKFLOWS);
  assert.equal(maxCachedWorkflowsFromEnv('2500'), 2500);
  assert.equal(maxCachedWorkflowsFromEnv('0'), 0);
  for (const bad of ['-1', '1.5', 'lots', '100001'])
    assert.throws(() => maxCachedWorkflowsFromEnv(bad), /TENURE_MAX_CACHED_WORKFLOWS: a whole number from 0 to 100000/);
});

test('target concurrency: 16 directory steps and 4 others by default, each settable from 1 to 64', () => {
  assert.deepEqual(targetConcurrencyFromEnv({}), DEFAULT_TARGET_CONCURRENCY);
  assert.deepEqual(DEFAULT_TARGET_CONCURRENCY, { directory: 16, other: 4 });
  assert.deepEqual(targetConcurrencyFromEnv({ TENURE_AD_MAX_CONCURRENT: ' 4 ', TENURE_TARGET_MAX_CONCURRENT: '' }), {
    directory: 4,
    other: 4,
  });
  assert.deepEqual(targetConcurrencyFromEnv({ TENURE_TARGET_MAX_CONCURRENT: '64' }), { directory: 16, other: 64 });
  for (const bad of ['0', '65', '2.5', 'many'])
    for (const name of ['TENURE_AD_MAX_CONCURRENT', 'TENURE_TARGET_MAX_CONCURRENT'])
      assert.throws(
        () => targetConcurrencyFromEnv({ [name]: bad }),
        new RegExp(`${name}: a whole number from 1 to 64, not '${bad.replace('.', '\\.')}'`),
      );
});

test("each target's worker gets the concurrency of its kind's role", () => {
  const c = { directory: 16, other: 4 };
  assert.equal(targetStepsAtOnce({ id: 'ad', kind: 'ad' }, c), 16);
  for (const kind of ['entra', 'helloid', 'topdesk', 'spendcloud'])
    assert.equal(targetStepsAtOnce({ id: `t-${kind}`, kind }, c), 4, kind);
  assert.throws(() => targetStepsAtOnce({ id: 'x', kind: 'nope' }, c), /target 'x' has kind 'nope'/);
});
