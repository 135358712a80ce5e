/**
 * Fault suite: provisioning through an outage of each part of the stack, counted in the directory.
 *
 *   set -a; . .run/test/services.env; set +a      # or the demo's; the cluster: also cluster.env
 *   node --import tsx scripts/faults/run.ts SCENARIO [--count N] [--temporal dev|cluster]
 *
 * Scenarios (see scripts/faults/README.md):
 *   temporal-stop     N hires wait on their enable timer; the Temporal server is stopped for 60 s
 *                     across the enable moment; after the restart every timer fires.
 *   postgres-restart  N hires; PostgreSQL is stopped and started while they are being provisioned.
 *   samba-down        N hires; Samba AD is down for 5 minutes in the middle of the load.
 *   worker-kill       N hires (default 2,000); the worker is SIGKILLed three times during the load.
 * Each ends with the count of duplicate, missing, still-disabled and wrongly-grouped accounts; the exit
 * code is 0 only when all four are 0. Everything the run created is removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { POLL_WORKFLOW_TYPE } from '../../common/messages.js';
import { escapeFilterValue, rdn } from '../../connectors/ldap-escape.js';
import { employeeWorkflowId } from '../../domain/model.js';
import { connectClient } from '../../workers/temporal-connection.js';
import {
  ROOT,
  addIgnoringExists,
  boundLdap,
  csvOf,
  delIgnoringMissing,
  eachLimited,
  makePersons,
  need,
  rulesOf,
  secs,
  sleep,
  startWorker,
  stopWorker,
  waitForWorker,
  wallClock,
  type BenchPerson,
  type WorkerProcess,
} from '../bench/stack.js';

const SCENARIOS = ['temporal-stop', 'postgres-restart', 'samba-down', 'worker-kill'] as const;
type Scenario = (typeof SCENARIOS)[number];
const DEFAULT_COUNT: Record<Scenario, number> = {
  'temporal-stop': 200,
  'postgres-restart': 500,
  'samba-down': 200,
  'worker-kill': 2000,
};
const STATIC_GROUP = 'fault-staff';
const DEPARTMENTS = ['FA', 'FB', 'FC', 'FD'];

interface Census {
  present: number;
  duplicates: number;
  missing: number;
  disabled: number;
  wrongGroups: number;
}

function parseOptions(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      count: { type: 'string' },
      temporal: { type: 'string', default: 'dev' },
      timeout: { type: 'string', default: '1800' },
    },
  });
  const scenario = positionals[0] as Scenario;
  if (!SCENARIOS.includes(scenario)) throw new Error(`scenario must be one of ${SCENARIOS.join(', ')}`);
  const count = values.count ? Number(values.count) : DEFAULT_COUNT[scenario];
  if (!Number.isInteger(count) || count < 1 || count > 20_000) throw new Error('--count must be 1..20000');
  const temporal = values.temporal === 'cluster' ? 'temporal-cluster' : 'temporal';
  return { scenario, count, temporalService: temporal, timeoutMs: Number(values.timeout) * 1000 };
}

/** Stops or starts one of the project's services, for the environment the run uses. */
function service(name: string, action: 'start' | 'stop'): void {
  const t = Date.now();
  const r = spawnSync('bash', [join(ROOT, `scripts/services/${name}.sh`), action], {
    cwd: ROOT,
    env: process.env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${name} ${action} failed:\n${r.stderr}`);
  console.log(`  ${clockNow()} ${name} ${action === 'stop' ? 'stopped' : 'started'} (${secs(Date.now() - t)})`);
}

const clockNow = () => new Date().toISOString().slice(11, 19);

/** Every account of the run, by employeeID prefix, wherever it is in the directory. */
async function census(keyPrefix: string, persons: readonly BenchPerson[]): Promise<Census> {
  const ldap = await boundLdap();
  try {
    const { searchEntries } = await ldap.search(need('AD_BASE_DN'), {
      scope: 'sub',
      filter: `(&(objectClass=user)(employeeID=${escapeFilterValue(keyPrefix)}*))`,
      attributes: ['employeeID', 'userAccountControl', 'memberOf'],
      paged: { pageSize: 1000 },
    });
    const byKey = new Map<string, { uac: number; groups: string[] }[]>();
    for (const e of searchEntries) {
      const groups = ([] as string[])
        .concat((e.memberOf as string[] | string | undefined) ?? [])
        .map((d) => /^CN=([^,]+)/.exec(d)?.[1] ?? d)
        .sort();
      const id = String(e.employeeID);
      byKey.set(id, [...(byKey.get(id) ?? []), { uac: Number(e.userAccountControl), groups }]);
    }
    let duplicates = 0;
    let missing = 0;
    let disabled = 0;
    let wrongGroups = 0;
    for (const p of persons) {
      const accounts = byKey.get(p.key) ?? [];
      if (accounts.length === 0) missing++;
      if (accounts.length > 1) duplicates += accounts.length - 1;
      const a = accounts[0];
      if (!a) continue;
      if (a.uac & 2) disabled++;
      const want = [STATIC_GROUP, `dept-${p.departmentCode}`].sort();
      if (a.groups.join() !== want.join()) wrongGroups++;
    }
    return { present: byKey.size, duplicates, missing, disabled, wrongGroups };
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

const converged = (c: Census) => c.missing === 0 && c.duplicates === 0 && c.disabled === 0 && c.wrongGroups === 0;
const describe = (c: Census) =>
  `${c.present} present, ${c.duplicates} duplicate, ${c.missing} missing, ${c.disabled} disabled, ${c.wrongGroups} with wrong groups`;

/** Reads the census until `ok` holds or the time is up; a read that fails (directory down) is retried. */
async function waitFor(
  what: string,
  read: () => Promise<Census>,
  ok: (c: Census) => boolean,
  timeoutMs: number,
): Promise<Census | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: Census | undefined;
  let lastPrinted = 0;
  while (Date.now() < deadline) {
    last = await read().catch(() => last);
    if (last && ok(last)) return last;
    if (Date.now() - lastPrinted > 30_000) {
      console.log(`  ${clockNow()} waiting for ${what}: ${last ? describe(last) : 'directory not answering'}`);
      lastPrinted = Date.now();
    }
    await sleep(2000);
  }
  return last;
}

async function cleanup(client: Client, sourceId: string, keyPrefix: string, persons: readonly BenchPerson[]) {
  await eachLimited(persons, 8, async (p) => {
    await client.workflow.getHandle(employeeWorkflowId(`${sourceId}:${p.key}`)).terminate('fault run finished');
  });
  const ldap = await boundLdap();
  try {
    const { searchEntries } = await ldap.search(need('AD_BASE_DN'), {
      scope: 'sub',
      filter: `(&(objectClass=user)(employeeID=${escapeFilterValue(keyPrefix)}*))`,
      attributes: ['dn'],
      paged: { pageSize: 1000 },
    });
    for (const e of searchEntries) await delIgnoringMissing(ldap, e.dn);
    const groupsOU = process.env.AD_GROUPS_OU ?? `OU=Groups,OU=Tenure,${need('AD_BASE_DN')}`;
    for (const g of [STATIC_GROUP, ...DEPARTMENTS.map((d) => `dept-${d}`)])
      await delIgnoringMissing(ldap, `${rdn('CN', g)},${groupsOU}`);
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const runId = Date.now().toString(36).slice(-5);
  const sourceId = `f${runId}`;
  const keyPrefix = `F${runId}`.toUpperCase();
  const dir = mkdtempSync(join(tmpdir(), 'tenure-fault-'));
  // temporal-stop: the enable moment lies in the outage, so the timers are due while the server is down.
  const enableAfterS = opts.scenario === 'temporal-stop' ? 150 + Math.ceil(opts.count / 10) : -3600;
  const enableAt = Math.floor((Date.now() + enableAfterS * 1000) / 1000) * 1000;
  const enable = wallClock(enableAt);
  const persons = makePersons({ count: opts.count, keyPrefix, startDate: enable.date, departmentCodes: DEPARTMENTS });
  writeFileSync(join(dir, 'hr-export.csv'), csvOf(persons));
  writeFileSync(
    join(dir, 'rules.yaml'),
    rulesOf({ version: `fault-${runId}`, enableAt: enable.time, staticGroup: STATIC_GROUP }),
  );
  console.log(
    `Fault run ${opts.scenario}: ${opts.count} hires, source ${sourceId}, Temporal at ${need('TEMPORAL_ADDRESS')} ` +
      `(${opts.temporalService}), enable moment ${enable.date} ${enable.time}`,
  );

  const ldap = await boundLdap();
  const groupsOU = process.env.AD_GROUPS_OU ?? `OU=Groups,OU=Tenure,${need('AD_BASE_DN')}`;
  await addIgnoringExists(ldap, `${rdn('CN', STATIC_GROUP)},${groupsOU}`, {
    objectClass: ['top', 'group'],
    sAMAccountName: STATIC_GROUP,
    groupType: '-2147483646',
  });
  await ldap.unbind();

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TENURE_RULES_FILE: join(dir, 'rules.yaml'),
    TENURE_FILE_SOURCE: join(dir, 'hr-export.csv'),
    TENURE_FILE_SOURCE_ID: sourceId,
    // A fault run, not a go-live: the source's first poll goes through without approval.
    TENURE_FILE_SOURCE_THRESHOLDS: JSON.stringify({ firstPoll: 'accept' }),
    TENURE_TASK_QUEUE: `tenure-fault-${sourceId}`,
    TENURE_SCHEDULES: 'off',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: '9',
    SMTP_FROM: 'tenure@tenure.test',
  };
  if (!env.TENURE_ENCRYPTION_KEYS) env.TENURE_PAYLOADS_PLAINTEXT = '1';
  let workerNo = 0;
  const newWorker = async (): Promise<WorkerProcess> => {
    const w = startWorker(env, join(dir, `worker-${++workerNo}.log`));
    await waitForWorker(w, 120_000);
    return w;
  };
  let worker = await newWorker();
  const client = await connectClient();
  const read = () => census(keyPrefix, persons);
  let result: Census | undefined;
  let faultEndedAt = NaN;
  try {
    await client.workflow.start(POLL_WORKFLOW_TYPE, {
      taskQueue: env.TENURE_TASK_QUEUE!,
      workflowId: `poll-${sourceId}-fault`,
      args: [{ sourceId, batchSize: 50 }],
    });
    const part = (share: number) => (c: Census) => c.present >= Math.ceil(opts.count * share);

    if (opts.scenario === 'temporal-stop') {
      const created = await waitFor('every account created (disabled)', read, part(1), opts.timeoutMs);
      if (!created || created.present < opts.count) throw new Error('not every account was created before the stop');
      console.log(`  ${clockNow()} all ${opts.count} accounts created; enable timers pending`);
      await sleep(enableAt - 30_000 - Date.now());
      service(opts.temporalService, 'stop');
      await sleep(60_000);
      service(opts.temporalService, 'start');
      faultEndedAt = Date.now();
      console.log(`  enable moment was ${secs(faultEndedAt - enableAt)} before the restart`);
    } else if (opts.scenario === 'postgres-restart') {
      await waitFor('a fifth of the accounts', read, part(0.2), opts.timeoutMs);
      service('postgres', 'stop');
      await sleep(5000);
      service('postgres', 'start');
      faultEndedAt = Date.now();
    } else if (opts.scenario === 'samba-down') {
      await waitFor('a fifth of the accounts', read, part(0.2), opts.timeoutMs);
      service('samba', 'stop');
      await sleep(300_000);
      service('samba', 'start');
      faultEndedAt = Date.now();
    } else {
      for (const share of [0.25, 0.5, 0.75]) {
        const c = await waitFor(`${share * 100}% of the accounts`, read, part(share), opts.timeoutMs);
        worker.child.kill('SIGKILL');
        await worker.exited;
        console.log(`  ${clockNow()} worker SIGKILLed at ${c?.present ?? '?'} accounts`);
        worker = await newWorker();
      }
      faultEndedAt = Date.now();
    }
    result = await waitFor('every account enabled with its groups', read, converged, opts.timeoutMs);
    console.log(`  converged ${secs(Date.now() - faultEndedAt)} after the fault ended`);
  } catch (err) {
    console.error(`fault run failed: ${(err as Error).message}`);
  } finally {
    await stopWorker(worker);
    result ??= await read().catch(() => undefined);
    console.log(
      `Result ${opts.scenario}: ${result ? describe(result) : 'no census'} (total ${secs(Date.now() - started)})`,
    );
    await cleanup(client, sourceId, keyPrefix, persons).catch((e) =>
      console.error(`cleanup failed: ${(e as Error).message}`),
    );
    await client.connection.close().catch(() => undefined);
  }
  return result && converged(result) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`fault run failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
