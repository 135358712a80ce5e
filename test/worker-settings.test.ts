// Worker settings read from the environment: the workflow cache size (TENURE_MAX_CACHED_WORKFLOWS).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_CACHED_WORKFLOWS, maxCachedWorkflowsFromEnv } from '../workers/tenure-workers.js';

test('TENURE_MAX_CACHED_WORKFLOWS: a whole number, the default when unset, a clear error otherwise', () => {
  assert.equal(maxCachedWorkflowsFromEnv(undefined), DEFAULT_MAX_CACHED_WORKFLOWS);
  assert.equal(maxCachedWorkflowsFromEnv(' '), DEFAULT_MAX_CACHED_WORKFLOWS);
  assert.equal(maxCachedWorkflowsFromEnv('2500'), 2500);
  assert.equal(maxCachedWorkflowsFromEnv('0'), 0);
  for (const bad of ['-1', '1.5', 'lots', '100001'])
    assert.throws(() => maxCachedWorkflowsFromEnv(bad), /TENURE_MAX_CACHED_WORKFLOWS: a whole number from 0 to 100000/);
});
