// Retention and erasure against the real PostgreSQL and Temporal: the vault forgets a person only
// when Tenure's own audit log shows no account left; reservations stay as hashes so names are
// never reissued; audit rows keep key, action, time and cause. Scheduled sweep and `tenure forget`.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { createRetentionActivities } from '../activities/retention.js';
import { runCli } from '../cli/main.js';
import { reserve, reservedByOthers } from '../vault/identities.js';
import { migrate } from '../vault/migrate.js';
import { ErasureRefusedError, erasePerson, expiredPersons, purgeExpired } from '../vault/retention.js';
import { connectClient, connectWorker } from '../workers/temporal-connection.js';
import { requireEnv, uniqueSuffix } from './support/env.js';

const DAY = 86_400_000;

describe('retention and erasure', () => {
  let db: pg.Pool;
  const source = `ret${uniqueSuffix()}`
    .slice(0, 20)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  let n = 0;

  before(async () => {
    await migrate(requireEnv('DATABASE_URL'));
    db = new pg.Pool({ connectionString: requireEnv('DATABASE_URL'), max: 4 });
  });
  after(async () => {
    await db?.end();
  });

  /** A person who left `removedDaysAgo` days ago (null: still in the source), with an AD account history. */
  async function seed(opts: {
    removedDaysAgo: number | null;
    account: 'none' | 'exists' | { deletedDaysAgo: number };
  }): Promise<{ key: string; username: string }> {
    n += 1;
    const sk = `${n}${uniqueSuffix().slice(-4)}`;
    const key = `${source}:${sk}`;
    const username = `z.erase${sk}`.slice(0, 20);
    const removedAt = opts.removedDaysAgo === null ? null : new Date(Date.now() - opts.removedDaysAgo * DAY);
    await db.query(
      `insert into persons(person_key, source, source_key, data, content_hash, removed_at) values ($1,$2,$3,$4,$5,$6)`,
      [key, source, sk, { name: { nickName: 'Zoë', familyName: 'Erase' } }, 'h', removedAt],
    );
    await db.query(
      `insert into contracts(person_key, contract_id, start_date, department_code) values ($1,'c1','2020-01-01','ZORG')`,
      [key],
    );
    await db.query(`insert into source_snapshots(source, person_key, content_hash) values ($1,$2,'h')`, [source, key]);
    assert.ok(
      await reserve(db, key, [
        { kind: 'username', value: username },
        { kind: 'email', value: `${username}@tenure.test` },
      ]),
    );
    const audit = async (action: string, daysAgo: number) =>
      db.query(
        `insert into audit_log(at, person_key, target, action, outcome, cause, message, details)
         values ($1,$2,'ad',$3,'success','poll ${source}#1',$4,$5)`,
        [new Date(Date.now() - daysAgo * DAY), key, action, `${action} ${username}@tenure.test`, { username }],
      );
    if (opts.account !== 'none') await audit('create', 400);
    if (typeof opts.account === 'object') await audit('delete', opts.account.deletedDaysAgo);
    return { key, username };
  }

  const count = async (sql: string, key: string) => Number((await db.query(sql, [key])).rows[0].n);

  test('erasure: refused while an account exists or the source still lists the person; then the vault forgets', async () => {
    const withAccount = await seed({ removedDaysAgo: 5, account: 'exists' });
    await assert.rejects(erasePerson(db, withAccount.key, 'test'), (e: Error) => {
      assert.ok(e instanceof ErasureRefusedError);
      assert.match(e.message, /still has an account in ad by Tenure's audit log/);
      return true;
    });
    const inSource = await seed({ removedDaysAgo: null, account: { deletedDaysAgo: 1 } });
    await assert.rejects(erasePerson(db, inSource.key, 'test'), /still in the HR source/);
    assert.equal(await count('select count(*) as n from persons where person_key = $1', inSource.key), 1, 'untouched');

    const gone = await seed({ removedDaysAgo: 5, account: { deletedDaysAgo: 2 } });
    const r = await erasePerson(db, gone.key, 'erasure request by alice (os user root)');
    assert.equal(r.rowsDeleted, 2, 'person and snapshot (contracts by cascade)');
    assert.equal(r.reservationsHashed, 2);
    assert.equal(r.auditRowsPseudonymised, 2);
    assert.equal(await count('select count(*) as n from persons where person_key = $1', gone.key), 0);
    assert.equal(await count('select count(*) as n from contracts where person_key = $1', gone.key), 0);
    assert.equal(await count('select count(*) as n from source_snapshots where person_key = $1', gone.key), 0);
    const res = await db.query<{ value: string }>('select value from identity_reservations where person_key = $1', [
      gone.key,
    ]);
    assert.equal(res.rows.length, 2);
    assert.ok(
      res.rows.every((row) => /^sha256:[0-9a-f]{64}$/.test(row.value)),
      'only hashes are kept',
    );
    const audit = await db.query(
      'select action, cause, message, details, at from audit_log where person_key = $1 order by id',
      [gone.key],
    );
    assert.deepEqual(
      audit.rows.map((a) => [a.action, a.cause]),
      [
        ['create', `poll ${source}#1`],
        ['delete', `poll ${source}#1`],
        ['erase', 'erasure request by alice (os user root)'],
      ],
      'key, action, cause (and time) kept; who asked recorded',
    );
    const text = JSON.stringify(audit.rows).toLowerCase();
    assert.ok(!text.includes(gone.username) && !text.includes('zoë'), 'no name, username or address left');
    // The hashed reservation still blocks the username and address for anyone else.
    const other = `${source}:other${n}`;
    assert.equal(await reservedByOthers(db, other, [{ kind: 'username', value: gone.username }]), true);
    assert.equal(
      await reserve(db, other, [{ kind: 'email', value: `${gone.username.toUpperCase()}@tenure.test` }]),
      false,
    );
    // Erasing again is harmless.
    const again = await erasePerson(db, gone.key, 'again');
    assert.deepEqual([again.rowsDeleted, again.reservationsHashed], [0, 0]);
  });

  test('the sweep erases only persons whose last account was deleted more than the retention period ago', async () => {
    const expired = await seed({ removedDaysAgo: 200, account: { deletedDaysAgo: 100 } });
    const recent = await seed({ removedDaysAgo: 200, account: { deletedDaysAgo: 10 } });
    const active = await seed({ removedDaysAgo: 200, account: 'exists' });
    const neverHadOne = await seed({ removedDaysAgo: 120, account: 'none' });
    const listed = await expiredPersons(db, 90);
    const mine = listed.filter((k) => k.startsWith(`${source}:`));
    assert.ok(mine.includes(expired.key) && mine.includes(neverHadOne.key));
    assert.ok(!mine.includes(recent.key) && !mine.includes(active.key));
    const r = await purgeExpired(db, 90);
    assert.ok(r.erased.includes(expired.key));
    for (const k of [recent.key, active.key])
      assert.equal(await count('select count(*) as n from persons where person_key = $1', k), 1, k);
  });

  test('the scheduled workflow runs the sweep through Temporal', { skip: !process.env.TEMPORAL_ADDRESS }, async () => {
    const expired = await seed({ removedDaysAgo: 50, account: { deletedDaysAgo: 40 } });
    const bundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../workflows/retention.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const connection = await connectWorker();
    const client = await connectClient();
    const taskQueue = `retention-${uniqueSuffix()}`;
    try {
      const worker = await Worker.create({
        connection,
        taskQueue,
        workflowBundle: bundle,
        activities: createRetentionActivities({ pool: db, retentionDays: 30 }),
      });
      const summary = await worker.runUntil(
        client.workflow.execute('retentionSweep', { taskQueue, workflowId: `retention-${uniqueSuffix()}` }),
      );
      assert.ok((summary as { erased: number }).erased >= 1);
      assert.equal(await count('select count(*) as n from persons where person_key = $1', expired.key), 0);
    } finally {
      await client.connection.close();
      await connection.close();
    }
  });

  test(
    'tenure forget: refused while an account exists, then erases and records who asked',
    {
      skip: !process.env.TEMPORAL_ADDRESS,
    },
    async () => {
      const p = await seed({ removedDaysAgo: 3, account: 'exists' });
      const lines: string[] = [];
      const errs: string[] = [];
      const run = (args: string[]) =>
        runCli(args, {
          out: (l) => lines.push(l),
          err: (l) => errs.push(l),
          env: { ...process.env, TENURE_OPERATOR: '' },
        });
      assert.equal(await run(['forget', p.key, '--by', 'privacy-officer', '--reason', 'AVG request 12']), 1);
      assert.match(errs.join('\n'), /tenure forget: refused: .* still has an account in ad/);
      assert.equal(await count('select count(*) as n from persons where person_key = $1', p.key), 1);
      await db.query(
        `insert into audit_log(person_key, target, action, outcome, cause, message) values ($1,'ad','delete','success','test','')`,
        [p.key],
      );
      assert.equal(
        await run(['forget', p.key, '--by', 'privacy-officer', '--reason', 'AVG request 12']),
        0,
        errs.join('\n'),
      );
      assert.match(lines.join('\n'), /^Forgot .*: 2 vault rows deleted, 2 reservations kept as hashes only/m);
      const erase = await db.query(`select cause from audit_log where person_key = $1 and action = 'erase'`, [p.key]);
      assert.match(erase.rows[0].cause, /^erasure request by privacy-officer \(os user [^)]+\): AVG request 12$/);
    },
  );
});
