/**
 * `tenure rules apply` benchmark: N existing employees (created by a first poll), then a new rules
 * version applied through the real CLI, timed until every employee workflow plans with it and,
 * with accounts, until the directory holds what the new version grants.
 *
 *   set -a; . .run/demo/services.env; set +a
 *   node --import tsx scripts/bench/rules-apply.ts --count 1000 [--kill] [--no-accounts]
 *
 * Modes: with accounts (default) everyone has an AD account and the static group, and the new version
 * adds a group to one department (1/8 of the people), so the apply makes real directory writes;
 * `--no-accounts` plans without accounts (the rules give no account access), which measures the
 * fan-out and the re-evaluation alone, at sizes the test directory cannot hold quickly (10,000).
 * `--kill` SIGKILLs the worker once the apply is signalling and starts a new one.
 * See scripts/bench/README.md. Everything it starts or creates is removed at the end.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { stringify } from 'yaml';
import {
  POLL_WORKFLOW_TYPE,
  planInputQuery,
  rulesApplyProgressQuery,
  type RulesApplyProgress,
} from '../../common/messages.js';
import { LIFECYCLE_TASK_QUEUE } from '../../common/task-queues.js';
import { escapeFilterValue, rdn } from '../../connectors/ldap-escape.js';
import { employeeWorkflowId } from '../../domain/model.js';
import { connectClient } from '../../workers/temporal-connection.js';
import { loadWorkflowBundle } from '../../workers/workflow-bundle.js';
import {
  ROOT,
  ZONE,
  addIgnoringExists,
  boundLdap,
  cpuSecondsOf,
  csvOf,
  delIgnoringMissing,
  eachLimited,
  fmtRate,
  makePersons,
  memoryOf,
  need,
  rate,
  secs,
  sleep,
  startWorker,
  stopWorker,
  waitForWorker,
  type BenchPerson,
  type WorkerProcess,
} from './stack.js';

const run = promisify(execFile);

interface Options {
  count: number;
  accounts: boolean;
  kill: boolean;
  batchSize: number;
  timeout: number;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string', default: '1000' },
      'no-accounts': { type: 'boolean', default: false },
      kill: { type: 'boolean', default: false },
      'batch-size': { type: 'string', default: '200' },
      timeout: { type: 'string' },
    },
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new Error('--count: 1 to 100,000');
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new Error('--batch-size: 1 to 1,000');
  return {
    count,
    accounts: !values['no-accounts'],
    kill: values.kill,
    batchSize,
    timeout: values.timeout ? Number(values.timeout) : 120 + count * (values['no-accounts'] ? 0.2 : 1),
  };
}

function rulesText(o: {
  version: string;
  accounts: boolean;
  staticGroup: string;
  extra?: { dept: string; group: string };
}) {
  const staff = { accountAccess: o.accounts, ...(o.accounts ? { permissions: [o.staticGroup] } : {}) };
  const rules: object[] = [{ name: 'benchmark staff', entitlements: { ad: staff } }];
  if (o.extra)
    rules.push({
      name: 'department extra',
      conditions: { department: [o.extra.dept] },
      entitlements: { ad: { permissions: [o.extra.group] } },
    });
  return stringify({ version: o.version, timeZone: ZONE, targets: [{ id: 'ad', kind: 'ad' }], rules });
}

/** Keys of `keys` whose workflow does not plan with `version` yet (queried `limit` at a time). */
async function notYetAt(client: Client, keys: readonly string[], version: string, limit = 16): Promise<string[]> {
  const behind: string[] = [];
  await eachLimited(keys, limit, async (k) => {
    const view = await client.workflow
      .getHandle(employeeWorkflowId(k))
      .query(planInputQuery)
      .catch(() => undefined);
    if (view?.ruleSetVersion !== version) behind.push(k);
  });
  return behind;
}

/** Waits until every key plans with `version`; returns the moment the last one was seen. */
async function waitForVersion(client: Client, keys: readonly string[], version: string, deadline: number) {
  let pending = [...keys];
  while (pending.length && Date.now() < deadline) {
    pending = await notYetAt(client, pending, version);
    if (pending.length) await sleep(2000);
  }
  return { pending: pending.length, at: Date.now() };
}

const METRICS_PORT = 19464;

/** planPerson activity executions the worker counted (its /metrics), or undefined when it does not answer. */
async function plansCounted(): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(5000) });
    let n = 0;
    for (const line of (await res.text()).split('\n'))
      if (line.startsWith('tenure_activity_duration_seconds_count{') && line.includes('activity="planPerson"'))
        n += Number(line.slice(line.lastIndexOf(' ') + 1));
    return n;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the worker has run `count` more plans than `base` (counted, not queried: querying
 * 10,000 workflows would replay most of them and measure the queries); returns when it saw that.
 */
async function waitForPlans(base: number, count: number, deadline: number): Promise<{ done: number; at: number }> {
  let done = 0;
  while (Date.now() < deadline) {
    done = ((await plansCounted()) ?? base) - base;
    if (done >= count) break;
    await sleep(1000);
  }
  return { done, at: Date.now() };
}

/** Up to `n` keys spread over `keys`, for a check by query. */
function sampleOf(keys: readonly string[], n: number): string[] {
  const step = Math.max(1, Math.floor(keys.length / n));
  return keys.filter((_, i) => i % step === 0).slice(0, n);
}

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const runId = Date.now().toString(36).slice(-6);
  const sourceId = `ra${runId}`;
  const keyPrefix = `r${runId}`;
  const rulesSet = `bench-${runId}`;
  const staticGroup = `bench-${runId}-all`;
  const extraGroup = `bench-${runId}-d1`;
  const departmentCodes = Array.from({ length: 8 }, (_, i) => `R${runId.toUpperCase()}${i + 1}`);
  const baseDN = need('AD_BASE_DN');
  const groupsOU = process.env.AD_GROUPS_OU ?? `OU=Groups,OU=Tenure,${baseDN}`;
  const dir = mkdtempSync(join(tmpdir(), 'tenure-bench-apply-'));
  const client = await connectClient();
  const db = new pg.Pool({ connectionString: need('DATABASE_URL'), max: 2 });
  const ldap = opts.accounts ? await boundLdap() : undefined;
  const persons: BenchPerson[] = makePersons({
    count: opts.count,
    keyPrefix,
    startDate: '2020-01-01',
    departmentCodes,
  });
  const keys = persons.map((p) => `${sourceId}:${p.key}`);
  const workers: WorkerProcess[] = [];
  let exit = 1;
  console.log(
    `rules apply benchmark: ${opts.count} employees, ${opts.accounts ? 'with AD accounts' : 'no accounts (plans only)'}` +
      `${opts.kill ? ', worker SIGKILLed during the apply' : ''}; run ${runId}, folder ${dir}`,
  );
  try {
    if (ldap)
      for (const g of [staticGroup, extraGroup])
        await addIgnoringExists(ldap, `${rdn('CN', g)},${groupsOU}`, {
          objectClass: ['top', 'group'],
          sAMAccountName: g,
          groupType: '-2147483646',
          description: 'Tenure benchmark group',
        });
    const exportPath = join(dir, 'hr-export.csv');
    const v1 = join(dir, 'rules-v1.yaml');
    const v2 = join(dir, 'rules-v2.yaml');
    writeFileSync(exportPath, csvOf(persons));
    writeFileSync(v1, rulesText({ version: `${runId}-v1`, accounts: opts.accounts, staticGroup }));
    writeFileSync(
      v2,
      rulesText({
        version: `${runId}-v2`,
        accounts: opts.accounts,
        staticGroup,
        extra: { dept: departmentCodes[0]!, group: extraGroup },
      }),
    );
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await loadWorkflowBundle({})).code);
    const env = {
      ...process.env,
      TENURE_RULES_FILE: v1,
      TENURE_RULES_SET: rulesSet,
      TENURE_FILE_SOURCE: exportPath,
      TENURE_FILE_SOURCE_ID: sourceId,
      TENURE_SCHEDULES: 'off',
      TENURE_FILE_SOURCE_THRESHOLDS: '{"firstPoll":"accept"}',
      TENURE_WORKFLOW_BUNDLE: bundlePath,
      TENURE_PAYLOADS_PLAINTEXT: process.env.TENURE_ENCRYPTION_KEYS ? '' : '1',
      TENURE_METRICS_PORT: String(METRICS_PORT),
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '9',
      SMTP_FROM: 'Tenure benchmark <tenure@tenure.test>',
    };
    const start = async () => {
      const w = startWorker(env, join(dir, `worker-${workers.length + 1}.log`));
      workers.push(w);
      await waitForWorker(w, 90_000);
      return w;
    };
    let worker = await start();

    // The existing employees: one poll, then every workflow at rest with v1.
    let t = Date.now();
    await client.workflow.execute(POLL_WORKFLOW_TYPE, {
      taskQueue: LIFECYCLE_TASK_QUEUE,
      workflowId: `poll-${sourceId}-bench`,
      args: [{ sourceId, batchSize: 500 }],
    });
    const deadline1 = Date.now() + opts.timeout * 1000;
    await waitForPlans(0, opts.count, deadline1);
    const settled = await waitForVersion(client, sampleOf(keys, 200), `${runId}-v1`, deadline1);
    if (settled.pending) throw new Error(`${settled.pending} sampled employees never planned with v1`);
    if (ldap) {
      const expected = opts.count;
      const deadline = Date.now() + opts.timeout * 1000;
      while ((await grants(db, sourceId, `${runId}-v1`, staticGroup)) < expected && Date.now() < deadline)
        await sleep(2000);
    }
    console.log(`  ${opts.count} employees in place in ${secs(Date.now() - t)}`);

    // The apply, through the CLI as an admin runs it.
    const cpu0 = cpuSecondsOf(worker.pid);
    const plansBefore = (await plansCounted()) ?? 0;
    t = Date.now();
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, 'bin/tenure.js'),
        'rules',
        'apply',
        v2,
        '--no-wait',
        '--json',
        '--batch-size',
        String(opts.batchSize),
        '--reason',
        'benchmark',
      ],
      { env: { ...env, TENURE_OPERATOR: 'benchmark' }, cwd: ROOT },
    );
    const { workflowId } = JSON.parse(stdout) as { workflowId: string };
    const handle = client.workflow.getHandle(workflowId);
    let signalling = 0;
    let signalledAt = 0;
    let killedAt = 0;
    for (;;) {
      const p = (await handle.query(rulesApplyProgressQuery).catch(() => undefined)) as RulesApplyProgress | undefined;
      if (p?.phase === 'signal' && !signalling) signalling = Date.now();
      if (opts.kill && !killedAt && p && p.signalled > 0 && p.phase === 'signal') {
        console.log(`  SIGKILL to worker ${worker.pid} at ${p.signalled} of ${p.total} signalled`);
        worker.child.kill('SIGKILL');
        await worker.exited;
        killedAt = Date.now();
        worker = await start();
      }
      if (p?.phase === 'done') {
        signalledAt = Date.now();
        break;
      }
      if (p && p.phase !== 'signal' && p.phase !== 'preview' && p.phase !== 'activate')
        throw new Error(`apply ended in phase ${p.phase}`);
      if (Date.now() - t > opts.timeout * 1000) throw new Error('the apply did not finish in time');
      await sleep(250);
    }
    // After a kill the counts of the dead worker are gone: then every employee is queried instead.
    let counted: { done: number; at: number } | undefined;
    if (!killedAt) counted = await waitForPlans(plansBefore, opts.count, t + opts.timeout * 1000);
    const checked = killedAt ? keys : sampleOf(keys, 200);
    const reached = await waitForVersion(client, checked, `${runId}-v2`, t + opts.timeout * 1000);
    if (counted) reached.at = Math.max(counted.at, reached.at);
    let grantsAt = reached.at;
    const expectedGrants = persons.filter((p) => p.departmentCode === departmentCodes[0]).length;
    let granted = 0;
    if (ldap) {
      for (;;) {
        granted = await grants(db, sourceId, `${runId}-v2`, extraGroup);
        if (granted >= expectedGrants || Date.now() - t > opts.timeout * 1000) break;
        await sleep(1000);
      }
      grantsAt = Date.now();
    }
    const mem = memoryOf(worker.pid);
    const cpu = cpuSecondsOf(worker.pid) - (killedAt ? 0 : cpu0);
    const total = reached.at - t;
    console.log(`Results (N=${opts.count}; load average now ${loadavg()[0]!.toFixed(1)} on 2 cores)`);
    console.log(`  preview + activate   ${secs(signalling - t)} (CLI start to the first signal batch)`);
    console.log(`  signalled            ${opts.count} in ${secs(signalledAt - t)} from the CLI start`);
    console.log(
      `  re-evaluated         ${counted ? `${Math.min(counted.done, opts.count)} plans counted, ` : ''}` +
        `${checked.length - reached.pending}/${checked.length} ${counted ? 'sampled ' : ''}planning with v2 after ${secs(total)}` +
        ` → ${fmtRate(rate(opts.count, total))} employees/s`,
    );
    if (ldap)
      console.log(
        `  directory            ${granted}/${expectedGrants} group grants of v2 done after ${secs(grantsAt - t)}`,
      );
    if (killedAt)
      console.log(`  worker killed        ${secs(killedAt - t)} after the CLI start; a new worker finished the apply`);
    console.log(
      `  worker               RSS ${((mem?.rssKb ?? NaN) / 1024).toFixed(0)} MiB (peak ${((mem?.hwmKb ?? NaN) / 1024).toFixed(0)} MiB), ` +
        `CPU ${cpu.toFixed(1)} s${killedAt ? ' (the replacement worker only)' : ' during the apply'}`,
    );
    exit =
      reached.pending === 0 && (!counted || counted.done >= opts.count) && (!ldap || granted === expectedGrants)
        ? 0
        : 1;
  } catch (err) {
    console.error(`benchmark failed: ${(err as Error).message}`);
  } finally {
    console.log('Cleaning up');
    const t = Date.now();
    await eachLimited(keys, 8, (k) =>
      client.workflow
        .getHandle(employeeWorkflowId(k))
        .terminate('benchmark finished')
        .then(() => undefined),
    );
    for (const w of workers) await stopWorker(w);
    if (ldap) {
      const { searchEntries } = await ldap.search(baseDN, {
        scope: 'sub',
        filter: `(&(objectClass=user)(|(employeeID=${escapeFilterValue(sourceId)}*)(employeeID=${escapeFilterValue(keyPrefix)}*)))`,
        attributes: ['dn'],
        paged: { pageSize: 1000 },
      });
      for (const e of searchEntries) await delIgnoringMissing(ldap, e.dn);
      for (const g of [staticGroup, extraGroup]) await delIgnoringMissing(ldap, `${rdn('CN', g)},${groupsOU}`);
      await ldap.unbind().catch(() => undefined);
    }
    console.log(`  done in ${secs(Date.now() - t)}`);
    await db.end().catch(() => undefined);
    await client.connection.close().catch(() => undefined);
  }
  return exit;
}

/** Grants of `group` recorded in the audit log for the run's source under rules `version`. */
async function grants(db: pg.Pool, sourceId: string, version: string, group: string): Promise<number> {
  const r = await db.query<{ n: string }>(
    `select count(distinct person_key)::text as n from audit_log
      where person_key like $1 and action = 'grantPermission' and outcome <> 'failed'
        and details->>'group' = $2 and cause like $3`,
    [`${sourceId}:%`, group, `%rules ${version}%`],
  );
  return Number(r.rows[0]?.n ?? 0);
}

process.exitCode = await main();
