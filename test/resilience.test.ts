// Crash safety and outages: a worker process killed in the middle of provisioning 200 employees,
// and Active Directory stopped for a while. Real Temporal, Samba AD and PostgreSQL.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { POLL_WORKFLOW_TYPE, personRemovedSignal } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { connectClient } from '../workers/temporal-connection.js';
import { WORKER_SHUTDOWN_FORCE_MS } from '../workers/tenure-workers.js';
import { requireEnv, uniqueSuffix } from './support/env.js';
import type { AuditRecord } from '../vault/audit.js';
import { auditOnce, csvOf, eventually, startHarness, type Row } from './support/tenure-harness.js';
import type { ThresholdsInput } from '../common/thresholds-config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RULES = `
version: "resilience-1"
targets: [{ id: ad, kind: ad }]
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff], dynamicPermissions: ["dept-{department.code}"] }
`;

async function directory(): Promise<LdapClient> {
  const ldap = new LdapClient({
    url: requireEnv('AD_URL'),
    tlsOptions: { rejectUnauthorized: false },
    timeout: 15_000,
  });
  await ldap.bind(requireEnv('AD_BIND_DN'), requireEnv('AD_BIND_PASSWORD'));
  return ldap;
}

/** employeeID → [{dn, uac, groups}] for every account whose employeeID starts with the prefix. */
async function accountsByPrefix(prefix: string): Promise<Map<string, { uac: number; groups: string[] }[]>> {
  const ldap = await directory();
  try {
    const { searchEntries } = await ldap.search(requireEnv('AD_BASE_DN'), {
      filter: `(&(objectClass=user)(employeeID=${prefix}*))`,
      attributes: ['employeeID', 'userAccountControl', 'memberOf'],
      sizeLimit: 0,
      paged: { pageSize: 500 },
    });
    const out = new Map<string, { uac: number; groups: string[] }[]>();
    for (const e of searchEntries) {
      const id = String(e.employeeID);
      const groups = ([] as string[])
        .concat((e.memberOf as string[] | string | undefined) ?? [])
        .map((d) => /^CN=([^,]+)/.exec(d)?.[1] ?? d);
      out.set(id, [...(out.get(id) ?? []), { uac: Number(e.userAccountControl), groups: groups.sort() }]);
    }
    return out;
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

/** Resolves when the child has exited (at once when it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** SIGTERM, and SIGKILL when the worker has not exited within its bounded shutdown (workers/tenure-workers.ts). */
async function stopWorker(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), WORKER_SHUTDOWN_FORCE_MS + 15_000);
  await exited(child);
  clearTimeout(killer);
}

function startWorker(env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: {
      TENURE_PAYLOADS_PLAINTEXT: '1',
      ...env,
      TENURE_SCHEDULES: 'off',
      TENURE_TASK_QUEUE: env.TENURE_TASK_QUEUE,
      // Two workers on one machine: only one could serve /metrics on the default port.
      TENURE_METRICS_PORT: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Rules, the all-staff group and a worker environment for a file source in `dir` (hr-export.csv). */
async function crashEnv(
  dir: string,
  sourceId: string,
  thresholds: ThresholdsInput,
): Promise<NodeJS.ProcessEnv & { TENURE_TASK_QUEUE: string }> {
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  const ldap = await directory();
  await ldap
    .add(`CN=all-staff,OU=Groups,OU=Tenure,${requireEnv('AD_BASE_DN')}`, {
      objectClass: ['top', 'group'],
      sAMAccountName: 'all-staff',
      groupType: '-2147483646',
    })
    .catch(() => undefined);
  await ldap.unbind();
  return {
    ...process.env,
    TENURE_RULES_FILE: join(dir, 'rules.yaml'),
    TENURE_FILE_SOURCE: join(dir, 'hr-export.csv'),
    TENURE_FILE_SOURCE_ID: sourceId,
    TENURE_FILE_SOURCE_THRESHOLDS: JSON.stringify(thresholds),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: '9',
    SMTP_FROM: 'tenure@tenure.test',
    TENURE_TASK_QUEUE: `tenure-crash-${sourceId}`,
  };
}

/** Every account with the prefix is there once, enabled, in all-staff and its department's group. */
function allProvisioned(m: Map<string, { uac: number; groups: string[] }[]>, count: number): boolean {
  return (
    m.size === count &&
    [...m.values()].every((a) => a.length === 1 && (a[0]!.uac & 2) === 0 && a[0]!.groups.length === 2)
  );
}

/**
 * 200 employees provisioned while a worker is SIGKILLed mid-way. 'restart': the only worker dies and a
 * new one is started; 'survivor': two workers share the queues from the start and the second
 * finishes alone.
 */
async function provisionThroughCrash(mode: 'restart' | 'survivor'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-crash-'));
  const sourceId = `c${mode[0]}${uniqueSuffix()}`.slice(0, 16);
  const prefix = uniqueSuffix().slice(-5);
  const rows: Row[] = Array.from({ length: 200 }, (_, i) => {
    const key = `${prefix}${String(i).padStart(3, '0')}`;
    return {
      key,
      nick: 'Crash',
      family: `Test${key}`,
      contract: `${key}c`,
      start: '2022-01-01',
      dept: `D${i % 4}`,
      location: 'Zeist',
    };
  });
  writeFileSync(join(dir, 'hr-export.csv'), csvOf(rows));
  // A crash test, not a go-live: the source's first poll goes through without approval.
  const env = await crashEnv(dir, sourceId, { firstPoll: 'accept' });
  const client = await connectClient();
  const worker = startWorker(env, join(dir, 'worker-1.log'));
  let second: ChildProcess | undefined = mode === 'survivor' ? startWorker(env, join(dir, 'worker-2.log')) : undefined;
  try {
    await client.workflow.start(POLL_WORKFLOW_TYPE, {
      taskQueue: env.TENURE_TASK_QUEUE,
      workflowId: `poll-${sourceId}-crash`,
      args: [{ sourceId, batchSize: 50 }],
    });
    // Kill the worker hard once provisioning is under way.
    const partial = await eventually(
      () => accountsByPrefix(prefix),
      (m) => m.size >= 20,
      180_000,
      500,
    );
    assert.ok(partial.size >= 20 && partial.size < 200, `killed mid-way at ${partial.size} accounts`);
    assert.equal(worker.exitCode, null, 'the first worker was still running when it was killed');
    worker.kill('SIGKILL');
    await exited(worker);

    if (mode === 'restart') second = startWorker(env, join(dir, 'worker-2.log'));
    const done = await eventually(
      () => accountsByPrefix(prefix),
      (m) => allProvisioned(m, 200),
      420_000,
      2_000,
    );
    assert.equal(done.size, 200);
    assert.equal(second?.exitCode, null, 'the finishing worker was still running');
    for (const [id, accounts] of done) {
      assert.equal(accounts.length, 1, `exactly one account for ${id}`);
      const i = Number(id.slice(prefix.length));
      assert.deepEqual(accounts[0]!.groups, ['all-staff', `dept-D${i % 4}`].sort());
      assert.equal(accounts[0]!.uac & 2, 0, `${id} enabled`);
    }
  } finally {
    worker.kill('SIGKILL');
    if (second) await stopWorker(second);
    for (const r of rows)
      await client.workflow
        .getHandle(employeeWorkflowId(`${sourceId}:${r.key}`))
        .terminate('test finished')
        .catch(() => undefined);
    await client.connection.close();
  }
}

describe('crash safety', () => {
  test('a worker killed while provisioning 200 employees: a new worker finishes, exactly one account each, right groups', async () => {
    await provisionThroughCrash('restart');
  });

  test('two workers, one killed while provisioning 200 employees: the other finishes, exactly one account each', async () => {
    await provisionThroughCrash('survivor');
  });
});

/**
 * Issue 8 C: a broken export drops most people, the worker is SIGKILLed while the poll is sending
 * their removals, the poll is cancelled, the source is corrected and a new worker polls again. The
 * vault must say exactly who was removed (and who is in doubt because their signal was in flight),
 * so the corrected poll brings every one of them back.
 */
async function pollKilledMidSignalling(): Promise<string> {
  const count = 80;
  const kept = 10;
  const dir = mkdtempSync(join(tmpdir(), 'tenure-midsignal-'));
  const sourceId = `m${uniqueSuffix()}`.slice(0, 16);
  const prefix = uniqueSuffix().slice(-5);
  const rows: Row[] = Array.from({ length: count }, (_, i) => {
    const key = `${prefix}${String(i).padStart(3, '0')}`;
    return {
      key,
      nick: 'Signal',
      family: `Test${key}`,
      contract: `${key}c`,
      start: '2022-01-01',
      dept: `D${i % 4}`,
      location: 'Zeist',
    };
  });
  const exportFile = join(dir, 'hr-export.csv');
  writeFileSync(exportFile, csvOf(rows));
  // Limits off so the broken export is not held: the point is what a poll that dies part-way leaves.
  const off = { removed: {}, endingToday: {}, changes: {} };
  const env = await crashEnv(dir, sourceId, {
    firstPoll: 'accept',
    perImport: off,
    window: off,
    truncatedPercent: null,
  });
  const client = await connectClient();
  const db = new pg.Pool({ connectionString: requireEnv('DATABASE_URL'), max: 2 });
  const keys = rows.map((r) => `${sourceId}:${r.key}`);
  const wrongly = new Set(keys.slice(kept));
  const poll = (n: number, batchSize: number) =>
    client.workflow.start(POLL_WORKFLOW_TYPE, {
      taskQueue: env.TENURE_TASK_QUEUE,
      workflowId: `poll-${sourceId}-${n}`,
      args: [{ sourceId, batchSize }],
    });
  const removedInVault = async () =>
    (
      await db.query<{ person_key: string }>(
        'select person_key from persons where source = $1 and removed_at is not null',
        [sourceId],
      )
    ).rows.map((r) => r.person_key);
  const removalSignals = async (key: string) => {
    const history = await client.workflow.getHandle(employeeWorkflowId(key)).fetchHistory();
    return (history.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === personRemovedSignal.name,
    ).length;
  };

  const worker = startWorker(env, join(dir, 'worker-1.log'));
  let second: ChildProcess | undefined;
  try {
    assert.equal((await (await poll(1, 50)).result()).outcome, 'accepted');
    const provisioned = await eventually(
      () => accountsByPrefix(prefix),
      (m) => allProvisioned(m, count),
      300_000,
      2_000,
    );
    assert.ok(allProvisioned(provisioned, count), `all ${count} provisioned before the broken export`);

    // The broken export: only the first ten are left. Ten removals per signalling activity; the
    // kill is aimed inside a batch after the first (its rows marked in doubt, its signals going
    // out), and lands after four batches at the latest.
    writeFileSync(exportFile, csvOf(rows.slice(0, kept)));
    const broken = await poll(2, 10);
    await eventually(
      async () =>
        (
          await db.query<{ removed: number; doubt: number }>(
            `select (select count(*)::int from persons where source = $1 and removed_at is not null) as removed,
                    (select count(*)::int from source_snapshots where source = $1 and in_doubt) as doubt`,
            [sourceId],
          )
        ).rows[0]!,
      (n) => (n.removed >= 10 && n.doubt > 0) || n.removed >= 40,
      120_000,
      20,
    );
    worker.kill('SIGKILL');
    await exited(worker);

    // What the vault says now is exactly what reached the employee workflows, give or take the
    // signal that was in flight: recorded removals were delivered, and every delivered removal is
    // recorded or in doubt.
    const recorded = new Set(await removedInVault());
    assert.ok(recorded.size >= 10 && recorded.size < wrongly.size, `killed mid-way at ${recorded.size} removals`);
    const { rows: doubtRows } = await db.query<{ person_key: string }>(
      'select person_key from source_snapshots where source = $1 and in_doubt',
      [sourceId],
    );
    const inDoubt = new Set(doubtRows.map((r) => r.person_key));
    for (const key of wrongly) {
      const got = await removalSignals(key);
      if (recorded.has(key)) assert.equal(got, 1, `${key}: recorded as removed, and its workflow was told once`);
      else if (got > 0) assert.ok(inDoubt.has(key), `${key}: told it was removed, so recorded or in doubt`);
    }
    for (const key of keys.slice(0, kept)) assert.equal(await removalSignals(key), 0, `${key} was never removed`);

    // The admin stops the broken poll and the source is corrected; a new worker polls again.
    await broken.cancel();
    writeFileSync(exportFile, csvOf(rows));
    second = startWorker(env, join(dir, 'worker-2.log'));
    await assert.rejects(broken.result(), 'the broken poll ends cancelled');
    const { rows: brokenRow } = await db.query<{ outcome: string; accepted_at: Date | null }>(
      'select outcome, accepted_at from source_polls where workflow_id = $1',
      [broken.workflowId],
    );
    assert.deepEqual(brokenRow, [{ outcome: 'failed', accepted_at: null }], 'the broken poll failed, unaccepted');

    const corrected = await (await poll(3, 50)).result();
    assert.equal(corrected.outcome, 'accepted');
    assert.equal(corrected.added, recorded.size, 'everyone the vault recorded as removed comes back');
    assert.equal(corrected.changed, inDoubt.size, 'everyone in doubt is sent their data again');
    assert.equal(corrected.removed, 0);

    const done = await eventually(
      () => accountsByPrefix(prefix),
      (m) => allProvisioned(m, count),
      300_000,
      2_000,
    );
    assert.equal(done.size, count, 'every account is there, counted in the directory');
    for (const [id, accounts] of done) {
      assert.equal(accounts.length, 1, `exactly one account for ${id}`);
      assert.equal(accounts[0]!.uac & 2, 0, `${id} enabled again`);
      const i = Number(id.slice(prefix.length));
      assert.deepEqual(accounts[0]!.groups, ['all-staff', `dept-D${i % 4}`].sort());
    }
    for (const key of keys) {
      const d = await client.workflow.getHandle(employeeWorkflowId(key)).describe();
      assert.equal(d.status.name, 'RUNNING', `${key}: its workflow is active`);
    }
    assert.deepEqual(await removedInVault(), [], 'nobody is removed in the vault');
    const { rows: snap } = await db.query<{ n: number; doubt: number }>(
      'select count(*)::int as n, count(*) filter (where in_doubt)::int as doubt from source_snapshots where source = $1',
      [sourceId],
    );
    assert.deepEqual(snap[0], { n: count, doubt: 0 });
    return `killed after ${recorded.size} of ${wrongly.size} removals were recorded, ${inDoubt.size} in doubt; the corrected poll added ${corrected.added} and re-sent ${corrected.changed}`;
  } finally {
    worker.kill('SIGKILL');
    if (second) await stopWorker(second);
    for (const key of keys)
      await client.workflow
        .getHandle(employeeWorkflowId(key))
        .terminate('test finished')
        .catch(() => undefined);
    await client.connection.close();
    await db.end();
  }
}

describe('poll killed mid-signalling', () => {
  test('a worker SIGKILLed while a broken export removes 70 of 80: the corrected source brings every one back', async (t) => {
    t.diagnostic(await pollKilledMidSignalling());
  });
});

describe('directory outage', () => {
  test('Samba stopped for a while: activities retry and everyone converges without manual action', async () => {
    const h = await startHarness(RULES);
    const samba = (cmd: 'start' | 'stop') => {
      const r = spawnSync('bash', [join(ROOT, 'scripts/services/samba.sh'), cmd], {
        env: { ...process.env, TENURE_ENV: 'test' },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `samba ${cmd}: ${r.stderr}`);
    };
    try {
      const keys = Array.from({ length: 6 }, () => h.key());
      h.writeExport(
        keys.map((key) => ({
          key,
          nick: 'Uitval',
          family: `Test${key}`,
          contract: `${key}c`,
          start: '2022-01-01',
          dept: 'OPS',
          location: 'Zeist',
        })),
      );
      samba('stop');
      let restarted = false;
      try {
        const summary = await h.poll();
        assert.equal(summary.signalled, 6);
        // Give the workflows time to hit the dead directory and back off.
        await new Promise((r) => setTimeout(r, 8_000));
        const status = await h.status(`${h.sourceId}:${keys[0]}`);
        assert.equal(status.accounts.length, 0, 'nothing could be created while the directory was down');
        samba('start');
        restarted = true;
      } finally {
        if (!restarted) samba('start');
      }
      for (const key of keys) {
        const user = await eventually(
          () => h.adUser(key).catch(() => undefined),
          (u) => u !== undefined && (Number(u.userAccountControl) & 2) === 0,
          120_000,
          1_000,
        );
        assert.ok(user, `${key} provisioned after the outage`);
      }
      // Enabled in the add: the step's group writes and its audit rows come after.
      const creates = (rows: AuditRecord[]) => rows.filter((a) => a.action === 'create' && a.outcome === 'success');
      const audit = await auditOnce(h, `${h.sourceId}:${keys[0]}`, (rows) => creates(rows).length > 0);
      assert.equal(creates(audit).length, 1, 'created once');
    } finally {
      await h.stop();
    }
  });
});

describe('vault outage', () => {
  test('PostgreSQL drops the worker connections: the worker lives on and the next hire is provisioned', async () => {
    const h = await startHarness(RULES);
    try {
      const row = (key: string) => ({
        key,
        nick: 'Kluis',
        family: `Test${key}`,
        contract: `${key}c`,
        start: '2022-01-01',
        dept: 'OPS',
        location: 'Zeist',
      });
      const first = h.key();
      h.writeExport([row(first)]);
      assert.equal((await h.poll()).signalled, 1);
      const enabled = (u: Record<string, unknown> | undefined) =>
        u !== undefined && (Number(u.userAccountControl) & 2) === 0;
      assert.ok(await eventually(() => h.adUser(first), enabled, 120_000, 500), 'first hire provisioned');

      // What a restart or failover does to idle connections: the server ends them. Unhandled, the
      // pool's 'error' event ends the process (this test process: the worker runs in it).
      const { rows } = await h.db.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'tenure-worker'`,
      );
      assert.ok(rows[0]!.n > 0, 'the worker had connections to drop');
      await new Promise((r) => setTimeout(r, 500));

      const second = h.key();
      h.writeExport([row(first), row(second)]);
      assert.equal((await h.poll()).signalled, 1);
      assert.ok(await eventually(() => h.adUser(second), enabled, 120_000, 500), 'second hire provisioned');
    } finally {
      await h.stop();
    }
  });
});
