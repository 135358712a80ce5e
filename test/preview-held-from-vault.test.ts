// The whole-tenant preview reads what each person holds from Tenure's own record in the vault
// (target_accounts, target_grants), against the real PostgreSQL: the accounts it created or adopted
// and their state, the grants it made, and nothing for an account deleted or still being created.
// The rules-apply test checks the same preview against what the workflows then do, action by action.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { previewTenant } from '../activities/preview.js';
import { parseRules } from '../domain/rules.js';
import {
  heldAccountsOf,
  recordCreating,
  recordDeleted,
  recordDisabled,
  recordEnabled,
  recordGrant,
  recordOwned,
  recordRevoke,
} from '../vault/accounts.js';
import { migrate } from '../vault/migrate.js';
import { contract, person } from './domain/helpers.js';
import { requireEnv, uniqueSuffix } from './support/env.js';

const inForce = parseRules(`
version: "h1"
targets:
  - { id: ad, kind: ad }
  - { id: helloid, kind: helloid }
rules:
  - name: staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff, legacy-app] }
`);
const next = parseRules(`
version: "h2"
targets:
  - { id: ad, kind: ad }
  - { id: helloid, kind: helloid }
rules:
  - name: staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff, new-app] }
`);
const NOW = Date.parse('2027-04-01T10:00:00Z');

describe('preview: held state from the vault', () => {
  let db: pg.Pool;
  const source = `held${uniqueSuffix()}`.toLowerCase().replace(/[^a-z0-9]/g, '');
  const key = (n: string) => `${source}:${n}`;

  before(async () => {
    await migrate(requireEnv('DATABASE_URL'));
    db = new pg.Pool({ connectionString: requireEnv('DATABASE_URL'), max: 2 });
  });
  after(async () => {
    await db?.end();
  });

  async function seedPerson(n: string): Promise<void> {
    const p = person({ key: n, source, contracts: [contract('c1', '2027-01-01')] });
    await db.query(
      `insert into persons(person_key, source, source_key, data, content_hash) values ($1, $2, $3, $4, 'h')`,
      [key(n), source, n, p],
    );
  }

  test('accounts and grants as recorded: enabled, adopted as found, disabled moment; deleted and in-flight creates not held', async () => {
    const ref = (n: string) => ({ id: `guid-${source}-${n}`, locator: `CN=${n}` });
    // 1: created, enabled, two grants, one revoked again.
    await recordCreating(db, 'ad', key('1'));
    await recordOwned(db, 'ad', key('1'), 'created', ref('1'), false);
    await recordGrant(db, 'ad', key('1'), 'all-staff');
    await recordGrant(db, 'ad', key('1'), 'legacy-app');
    await recordGrant(db, 'ad', key('1'), 'gone');
    await recordRevoke(db, 'ad', key('1'), 'gone');
    await recordEnabled(db, 'ad', key('1'));
    // 2: adopted enabled (as found) in HelloID; an AD account disabled by Tenure.
    await recordOwned(db, 'helloid', key('2'), 'adopted', ref('2h'), true);
    await recordOwned(db, 'ad', key('2'), 'created', ref('2'), false);
    await recordEnabled(db, 'ad', key('2'));
    const disabledAt = await recordDisabled(db, 'ad', key('2'));
    // 3: a create still in flight; 4: an account deleted.
    await recordCreating(db, 'ad', key('3'));
    await recordOwned(db, 'ad', key('4'), 'created', ref('4'), false);
    await recordDeleted(db, 'ad', key('4'));

    const held = await heldAccountsOf(db, ['1', '2', '3', '4', '5'].map(key));
    assert.deepEqual(held.get(key('1')), {
      ad: {
        enabled: true,
        everEnabled: true,
        permissions: ['all-staff', 'legacy-app'],
        origin: 'created',
        disabledAt: undefined,
      },
    });
    assert.deepEqual(held.get(key('2')), {
      helloid: { enabled: true, everEnabled: false, permissions: [], origin: 'adopted', disabledAt: undefined },
      ad: {
        enabled: false,
        everEnabled: true,
        permissions: [],
        origin: 'created',
        disabledAt: disabledAt!.getTime(),
      },
    });
    assert.equal(held.has(key('3')), false, 'a create in flight is not held yet');
    assert.equal(held.has(key('4')), false, 'a deleted account is not held');
    assert.equal(held.has(key('5')), false);
  });

  test('a rules change previewed from the record: grant the new, revoke the old with what granted it', async () => {
    await seedPerson('1');
    await seedPerson('6');
    const preview = await previewTenant({
      rules: next,
      heldRules: inForce,
      persons: { vault: db, sources: [source] },
      now: NOW,
    });
    const lines = preview.actions.map(
      (a) => `${a.personKey.split(':')[1]} ${a.target} ${a.action} ${a.permission ?? ''}`,
    );
    // 1 holds an enabled AD account with all-staff and legacy-app; 6 holds nothing yet.
    assert.deepEqual(lines, [
      '1 ad grant new-app',
      '1 ad revoke legacy-app',
      '6 ad create ',
      '6 ad grant all-staff',
      '6 ad grant new-app',
      '6 ad enable ',
    ]);
    const revoke = preview.actions.find((a) => a.action === 'revoke')!;
    assert.equal(revoke.why, 'no rule of rules h2 grants legacy-app (was: rule "staff" (h1) for contract c1)');
    assert.equal(revoke.rule, 'staff');
    assert.equal(preview.totals.persons, 2);
  });
});
