// The per-target ownership settings of the rules file (connectors/ownership.ts): defaults, and a bad
// value named by target and field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownershipSettingsOf } from '../connectors/ownership.js';

test('defaults: no adoption, adopted accounts keep their names, revoke only what Tenure granted', () => {
  assert.deepEqual(ownershipSettingsOf({ id: 'ad' }), { adopt: 'off', renameAdopted: false, managedPermissions: [] });
  assert.deepEqual(ownershipSettingsOf({ id: 'ad', options: { ownership: { adopt: 'inScope' } } }), {
    adopt: 'inScope',
    renameAdopted: false,
    managedPermissions: [],
  });
  assert.equal(
    ownershipSettingsOf({ id: 'ad', options: { ownership: { adopt: 'inScope', renameAdopted: true } } }).renameAdopted,
    true,
  );
});

test('a bad value names the target and the field', () => {
  assert.throws(
    () => ownershipSettingsOf({ id: 'entra', options: { ownership: { renameAdopted: 'yes' } } }),
    /target 'entra': invalid options: ownership\.renameAdopted: /,
  );
  assert.throws(
    () => ownershipSettingsOf({ id: 'ad', options: { ownership: { renameAdopt: true } } }),
    /target 'ad': invalid options: ownership: Unrecognized key/,
  );
});
