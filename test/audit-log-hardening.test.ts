// The audit log against the real PostgreSQL: TRUNCATE is blocked even for the owner, and the
// worker's role (migration 008) may read and append but not update, delete, truncate, switch
// triggers off or change the schema; its one permitted change is pseudonymisation, which keeps
// key, target, action, outcome, cause and time.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { appendAudit, auditTrail } from '../vault/audit.js';
import { ensureWorkerRole, migrate } from '../vault/migrate.js';
import { requireEnv, uniqueSuffix } from './support/env.js';

describe('audit log hardening', () => {
  let owner: pg.Pool;
  let worker: pg.Pool;
  const user = 'tenure_worker_test';

  before(async () => {
    const url = requireEnv('DATABASE_URL');
    await migrate(url);
    await ensureWorkerRole(url, user, randomBytes(24).toString('hex'));
    owner = new pg.Pool({ connectionString: url, max: 2 });
    const u = new URL(url);
    u.username = user;
    u.password = ''; // the test server trusts loopback; the password matters in production
    worker = new pg.Pool({ connectionString: u.toString(), max: 2 });
  });
  after(async () => {
    await worker?.end();
    await owner?.end();
  });

  const row = (personKey: string) => ({
    personKey,
    target: 'ad',
    action: 'create',
    outcome: 'ok',
    cause: 'source change (rules v1)',
    workflowId: `employee-${personKey}`,
    message: 'created z.dangelo@tenure.test',
    details: { username: 'z.dangelo' },
  });

  test('TRUNCATE is refused, even for the owner', async () => {
    await assert.rejects(owner.query('truncate audit_log'), /audit_log is append-only/);
  });

  test('the worker role appends and reads, but cannot update, delete, truncate or alter', async () => {
    const key = `audit:${uniqueSuffix()}`;
    assert.equal((await worker.query('select current_user as u')).rows[0].u, user);
    await appendAudit(worker, [row(key)]);
    assert.equal((await auditTrail(worker, key)).length, 1);
    for (const sql of [
      `update audit_log set message = 'x' where person_key = '${key}'`,
      `delete from audit_log where person_key = '${key}'`,
      'truncate audit_log',
    ])
      await assert.rejects(worker.query(sql), /permission denied/, sql);
    for (const sql of [
      'alter table audit_log disable trigger all',
      'drop trigger audit_log_no_update on audit_log',
      'drop table audit_log',
    ])
      await assert.rejects(worker.query(sql), /must be owner/, sql);
    await assert.rejects(worker.query('create table tenure_probe (i int)'), /permission denied for schema public/);
    await assert.rejects(worker.query("insert into schema_migrations(name) values ('999_x.sql')"), /permission denied/);
    // Its ordinary data rights are intact.
    await worker.query('select count(*) from persons');
    assert.equal((await auditTrail(worker, key)).length, 1, 'nothing was lost');
  });

  test('pseudonymisation clears text and details only; any other update is refused, owner included', async () => {
    const key = `audit:${uniqueSuffix()}`;
    await appendAudit(worker, [row(key), { ...row(key), action: 'enable' }]);
    await assert.rejects(
      owner.query(`update audit_log set message = '' where person_key = $1`, [key]),
      /append-only/,
      'not without the function',
    );
    const client = await owner.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('tenure.audit_pseudonymise', 'on', true)`);
      await assert.rejects(
        client.query(`update audit_log set message = '', action = 'delete' where person_key = $1`, [key]),
        /append-only/,
        'the flag never allows changing the action',
      );
      await client.query('rollback');
    } finally {
      client.release();
    }
    const before = (
      await owner.query('select at, action, cause from audit_log where person_key = $1 order by id', [key])
    ).rows;
    const n = (await worker.query('select audit_log_pseudonymise($1) as n', [key])).rows[0].n;
    assert.equal(n, 2);
    const afterRows = (
      await owner.query(
        'select at, action, cause, target, outcome, message, details, workflow_id from audit_log where person_key = $1 order by id',
        [key],
      )
    ).rows;
    assert.deepEqual(
      afterRows.map((r) => ({ at: r.at, action: r.action, cause: r.cause })),
      before,
      'key, action, time and cause kept',
    );
    for (const r of afterRows) {
      assert.equal(r.message, '');
      assert.deepEqual(r.details, { pseudonymised: true });
      assert.equal(r.workflow_id, null);
      assert.equal(r.target, 'ad');
      assert.equal(r.outcome, 'ok');
    }
    assert.equal((await worker.query('select audit_log_pseudonymise($1) as n', [key])).rows[0].n, 0, 'idempotent');
  });
});
