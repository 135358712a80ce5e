/**
 * Provisioning benchmark (issue 3 item 10): N new employees from an HR export file into Samba AD
 * through the whole stack (file source → pollSource → employee workflows → AD worker), then the raw
 * ldapts rate of the same directory writes without Tenure, and the ratio of the two.
 *
 *   set -a; . .run/demo/services.env; set +a
 *   node --import tsx scripts/bench/provision.ts [--count 1000] [--enable-after 5] [--timeout S] ...
 *
 * See scripts/bench/README.md for what it prints. Everything it creates is removed at the end
 * (accounts, groups, the raw OU) and the employee workflows it started are terminated; the vault
 * rows (audit log, snapshot, reservations) of the run's source stay, as they would in production.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { Attribute, Change, Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { EMPLOYEE_WORKFLOW_TYPE, POLL_WORKFLOW_TYPE, type PollSummary } from '../../common/messages.js';
import { AD_TASK_QUEUE, LIFECYCLE_TASK_QUEUE } from '../../common/task-queues.js';
import { escapeFilterValue, rdn } from '../../connectors/ldap-escape.js';
import { FileSource } from '../../connectors/sources/file.js';
import { generatePassword, unicodePwd } from '../../connectors/targets/ad/password.js';
import { employeeWorkflowId } from '../../domain/model.js';
import { displayName, familyDisplayName } from '../../domain/naming.js';
import { connectClient } from '../../workers/temporal-connection.js';
import { loadWorkflowBundle } from '../../workers/workflow-bundle.js';
import { DEFAULT_TARGET_CONCURRENCY } from '../../workers/tenure-workers.js';
import { SingleChangeProbe, type ProbeMeasurement } from './probe.js';
import {
  ROOT,
  ZONE,
  addIgnoringExists,
  boundLdap,
  clock,
  countUsers,
  cpuSecondsOf,
  csvOf,
  delIgnoringMissing,
  eachLimited,
  fmtRate,
  ldapError,
  makePersons,
  memoryOf,
  need,
  percentile,
  rate,
  rulesOf,
  secs,
  serverCpuSeconds,
  sleep,
  startWorker,
  tail,
  stopWorker,
  waitForWorker,
  wallClock,
  type BenchPerson,
  type WorkerProcess,
} from './stack.js';

/** Time the worker gets from spawn to "[worker] running" before the poll is due (bundle prebuilt). */
const WORKER_START_BUDGET_MS = 20_000;

// ------------------------------------------------------------------ options

export interface BenchOptions {
  count: number;
  /** Seconds from the poll start to the enable moment in the rules file (0 or less: already passed). */
  enableAfter: number;
  /** Seconds without any create or enable before the measurement is called stalled. */
  stall: number;
  /** Seconds the Tenure measurement may take (poll start to last enable) before it is cut off. */
  timeout: number;
  /** Seconds the raw ldapts run may take. */
  rawTimeout: number;
  departments: number;
  /** Signals per signalChanges batch of the poll workflow. */
  batchSize: number;
  /** TENURE_AD_MAX_CONCURRENT for the worker; undefined = the worker's default. */
  adConcurrency?: number;
  skipRaw: boolean;
  /** Start even when another worker seems to poll Tenure's task queues. */
  force: boolean;
  /** The single-change probe (scripts/bench/probe.ts): during the load and with idle queues. */
  probe: boolean;
  /** Where the bench's worker serves /metrics (the LDAP operation counts are read from it). */
  metricsPort: number;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string', default: '1000' },
      'enable-after': { type: 'string', default: '5' },
      stall: { type: 'string', default: '30' },
      timeout: { type: 'string' },
      'raw-timeout': { type: 'string' },
      departments: { type: 'string', default: '8' },
      'batch-size': { type: 'string', default: '500' },
      'ad-concurrency': { type: 'string' },
      'skip-raw': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'no-probe': { type: 'boolean', default: false },
      'metrics-port': { type: 'string', default: '19464' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(readFileSync(join(ROOT, 'scripts/bench/README.md'), 'utf8'));
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number ${min}..${max}`);
    return n;
  };
  const count = int('count', values.count, 1, 100_000);
  return {
    count,
    enableAfter: int('enable-after', values['enable-after'], -3600, 3600),
    stall: int('stall', values.stall, 5, 3600),
    timeout: values.timeout ? int('timeout', values.timeout, 5, 86_400) : Math.ceil(60 + count * 0.3),
    rawTimeout: values['raw-timeout']
      ? int('raw-timeout', values['raw-timeout'], 5, 86_400)
      : Math.ceil(30 + count * 0.15),
    departments: int('departments', values.departments, 1, 500),
    batchSize: int('batch-size', values['batch-size'], 1, 10_000),
    adConcurrency: values['ad-concurrency'] ? int('ad-concurrency', values['ad-concurrency'], 1, 64) : undefined,
    skipRaw: values['skip-raw'],
    force: values.force,
    probe: !values['no-probe'],
    metricsPort: int('metrics-port', values['metrics-port'], 1024, 65535),
  };
}

// ------------------------------------------------------------------ Temporal

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Pollers seen on Tenure's task queues in the last two minutes that are not known to be dead
 * (a worker identity is `<pid>@<host>`: a pid on this host that no longer runs is a stale entry).
 */
async function otherPollers(client: Client, namespace: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of [LIFECYCLE_TASK_QUEUE, AD_TASK_QUEUE]) {
    for (const taskQueueType of [1, 2]) {
      const r = await client.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name, kind: 1 },
        taskQueueType,
      });
      for (const p of r.pollers ?? []) {
        const at = Number(p.lastAccessTime?.seconds?.toString() ?? 0) * 1000;
        if (Date.now() - at > 120_000) continue;
        const m = /^(\d+)@(.+)$/.exec(p.identity ?? '');
        if (m && m[2] === hostname() && !pidAlive(Number(m[1]))) continue;
        found.push(`${p.identity ?? '?'} on ${name} (${taskQueueType === 1 ? 'workflows' : 'activities'})`);
      }
    }
  }
  return [...new Set(found)];
}

/** Workflow start time (= the signal-with-start) of the run's employee workflows, by workflow id. */
async function employeeStartTimes(client: Client, sourceId: string, limit: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const query = `WorkflowType = '${EMPLOYEE_WORKFLOW_TYPE}' AND SourceId = '${sourceId}'`;
  for await (const wf of client.workflow.list({ query, pageSize: 1000 })) {
    out.set(wf.workflowId, wf.startTime.getTime());
    if (out.size >= limit) break;
  }
  return out;
}

// ------------------------------------------------------------------ the run

interface TenureFigures {
  pollStart: number;
  enableMoment: number;
  pollSummary?: PollSummary;
  pollDoneAt?: number;
  created: number;
  enabled: number;
  failedAudit: number;
  firstEnable?: number;
  lastEnable?: number;
  lastCreate?: number;
  latencies: number[];
  createLatencies: number[];
  signalSource: string;
  timedOut: boolean;
  /** Persons never enabled when the run stalled (no create or enable for --stall seconds). */
  stalled?: number;
  abortedBy?: string;
  peakRssKb?: number;
  readyHwmKb?: number;
  maxSampledRssKb: number;
  workerCpuS?: number;
  /** CPU seconds of each server during the measurement (Temporal, Samba, PostgreSQL). */
  serverCpuS?: Record<string, number>;
  /** LDAP operations the worker's AD connector sent during the measurement, by operation. */
  ldapOps?: Record<string, number>;
  probes: ProbeMeasurement[];
  probeError?: string;
}

interface RawFigures {
  done: number;
  ms: number;
  /** Milliseconds spent per operation kind. */
  opMs: Record<'add' | 'password' | 'enable' | 'groups', number>;
  timedOut: boolean;
  error?: string;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const started = Date.now();
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'AD_URL', 'AD_BIND_DN', 'AD_BIND_PASSWORD', 'AD_BASE_DN'])
    need(k);
  const baseDN = need('AD_BASE_DN');
  const groupsOU = process.env.AD_GROUPS_OU || `OU=Groups,OU=Tenure,${baseDN}`;
  const upnSuffix = process.env.AD_UPN_SUFFIX || 'tenure.test';
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';

  const runId = `${Date.now().toString(36).slice(-3)}${Math.floor(Math.random() * 36 ** 3)
    .toString(36)
    .padStart(3, '0')}`;
  const sourceId = `bench${runId}`;
  const keyPrefix = `b${runId}`;
  const staticGroup = `bench-${runId}-all`;
  const departmentCodes = Array.from({ length: opts.departments }, (_, i) => `B${runId.toUpperCase()}${i + 1}`);
  const rawOU = `OU=Bench-${runId},OU=Tenure,${baseDN}`;
  const dir = mkdtempSync(join(tmpdir(), `tenure-bench-${runId}-`));

  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    console.log('\ninterrupted: stopping the measurement, then cleaning up (Ctrl-C again to quit at once)');
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  console.log(`Tenure provisioning benchmark: run ${runId}, N=${opts.count}, source ${sourceId}, files in ${dir}`);

  const client = await connectClient();
  const db = new pg.Pool({ connectionString: need('DATABASE_URL'), max: 3 });
  // Samba drops an idle bound connection during a long run: the raw part and the cleanup each
  // bind a connection of their own (boundLdap) instead of reusing this one.
  const ldap = await boundLdap();
  let worker: WorkerProcess | undefined;
  let memTimer: NodeJS.Timeout | undefined;
  const figures: TenureFigures = {
    pollStart: NaN,
    enableMoment: NaN,
    created: 0,
    enabled: 0,
    failedAudit: 0,
    latencies: [],
    createLatencies: [],
    signalSource: 'workflow start time (visibility)',
    timedOut: false,
    maxSampledRssKb: 0,
    probes: [],
  };
  let raw: RawFigures | undefined;
  const persons: BenchPerson[] = [];
  let usersBefore = NaN;

  try {
    if (!opts.force) {
      const others = await otherPollers(client, namespace);
      if (others.length) {
        throw new Error(
          `another worker polls Tenure's task queues on ${process.env.TEMPORAL_ADDRESS} (${others.join('; ')}); ` +
            `stop it (bash scripts/demo.sh stop) or pass --force`,
        );
      }
    }
    usersBefore = await countUsers(ldap, baseDN).catch(() => NaN);

    // The workflow bundle is built here once, so the worker starts in seconds and its peak RSS is
    // that of a production worker with a prebuilt bundle (TENURE_WORKFLOW_BUNDLE), not of webpack.
    let t = Date.now();
    const bundle = await loadWorkflowBundle({});
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);
    console.log(`  workflow bundle built in ${secs(Date.now() - t)}`);

    await addIgnoringExists(ldap, `${rdn('CN', staticGroup)},${groupsOU}`, {
      objectClass: ['top', 'group'],
      sAMAccountName: staticGroup,
      groupType: '-2147483646',
      description: 'Tenure benchmark (static group, created up front)',
    });

    // The enable moment: the worker's start budget plus --enable-after from now; the poll starts
    // --enable-after seconds before it.
    const enableMoment = Math.ceil((Date.now() + WORKER_START_BUDGET_MS + opts.enableAfter * 1000) / 1000) * 1000;
    const pollAt = enableMoment - opts.enableAfter * 1000;
    const wall = wallClock(enableMoment);
    figures.enableMoment = enableMoment;
    persons.push(...makePersons({ count: opts.count, keyPrefix, startDate: wall.date, departmentCodes }));
    const exportPath = join(dir, 'hr-export.csv');
    const rulesPath = join(dir, 'rules.yaml');
    writeFileSync(exportPath, csvOf(persons));
    writeFileSync(rulesPath, rulesOf({ version: `bench-${runId}`, enableAt: wall.time, staticGroup }));
    const probe = opts.probe
      ? new SingleChangeProbe({ dir, runId, startDate: wall.date, departmentCodes, baseDN })
      : undefined;
    const check = await new FileSource({ id: sourceId, path: exportPath }).fetchAll();
    if (check.errors.length || check.persons.length !== opts.count) {
      throw new Error(
        `generated export is not clean: ${check.persons.length} persons, ${check.errors.length} errors ` +
          `(first: line ${check.errors[0]?.line} ${check.errors[0]?.field}: ${check.errors[0]?.reason})`,
      );
    }

    t = Date.now();
    worker = startWorker(
      {
        ...process.env,
        TENURE_RULES_FILE: rulesPath,
        TENURE_FILE_SOURCE: exportPath,
        TENURE_FILE_SOURCE_ID: sourceId,
        TENURE_SCHEDULES: 'off',
        // The bench measures provisioning, not the go-live approval.
        TENURE_FILE_SOURCE_THRESHOLDS: '{"firstPoll":"accept"}',
        TENURE_WORKFLOW_BUNDLE: bundlePath,
        // Measured without encryption unless keys are in the environment.
        TENURE_PAYLOADS_PLAINTEXT: '1',
        ...(opts.adConcurrency ? { TENURE_AD_MAX_CONCURRENT: String(opts.adConcurrency) } : {}),
        TENURE_METRICS_PORT: String(opts.metricsPort),
        // The probe's source sits next to the load's; employeeID stays the bare key for both.
        ...(probe ? { TENURE_CONFIG_FILE: probe.configPath, TENURE_CORRELATION: 'bare' } : {}),
        // Nobody has a manager, so no mail is sent; the mailer still wants a configuration.
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: '9',
        SMTP_FROM: 'Tenure benchmark <tenure@tenure.test>',
      },
      join(dir, 'worker.log'),
    );
    const w = worker;
    await waitForWorker(w, WORKER_START_BUDGET_MS + 60_000);
    figures.readyHwmKb = memoryOf(w.pid)?.hwmKb;
    console.log(
      `  worker pid ${w.pid} ready in ${secs(Date.now() - t)} (AD concurrency ${opts.adConcurrency ?? process.env.TENURE_AD_MAX_CONCURRENT ?? `${DEFAULT_TARGET_CONCURRENCY.directory} (default)`}), ` +
        `RSS peak so far ${((figures.readyHwmKb ?? NaN) / 1024).toFixed(0)} MiB; log ${w.log}`,
    );
    memTimer = setInterval(() => {
      const m = memoryOf(w.pid);
      if (m && m.rssKb > figures.maxSampledRssKb) figures.maxSampledRssKb = m.rssKb;
    }, 250);
    if (probe) {
      t = Date.now();
      await probe.hire(client, ldap);
      console.log(`  probe person hired through source ${probe.sourceId} in ${secs(Date.now() - t)}`);
    }
    const probeLdap = probe ? await boundLdap() : undefined;
    let duringLoad: Promise<void> | undefined;
    const cpuBefore = cpuSecondsOf(w.pid);
    const serversBefore = serverCpuSeconds();
    const ldapBefore = await ldapOperationsOf(opts.metricsPort);

    await sleep(pollAt - Date.now());
    figures.pollStart = Date.now();
    const poll = await client.workflow.start(POLL_WORKFLOW_TYPE, {
      taskQueue: LIFECYCLE_TASK_QUEUE,
      workflowId: `poll-${sourceId}-bench`,
      args: [{ sourceId, batchSize: opts.batchSize }],
    });
    let pollError: unknown;
    poll
      .result()
      .then((s: PollSummary) => {
        figures.pollSummary = s;
        figures.pollDoneAt = Date.now();
      })
      .catch((err: unknown) => {
        pollError = err;
      });
    console.log(
      `  poll started ${clock(figures.pollStart)} UTC; enable moment ${wall.time} ${ZONE} ` +
        `(+${secs(enableMoment - figures.pollStart)}); time limit ${opts.timeout} s`,
    );

    // Progress from the audit log until everyone is enabled or the time is up.
    const deadline = figures.pollStart + opts.timeout * 1000;
    const like = `${sourceId}:%`;
    let lastPrint = 0;
    let lastProgress = -1;
    let lastChange = Date.now();
    for (;;) {
      const { rows } = await db.query<{ created: number; enabled: number; failed: number }>(
        `select count(*) filter (where action = 'create' and outcome = 'success')::int as created,
                count(*) filter (where action = 'enable' and outcome = 'success')::int as enabled,
                count(*) filter (where outcome = 'failed')::int as failed
           from audit_log where person_key like $1`,
        [like],
      );
      const r = rows[0]!;
      figures.created = r.created;
      figures.enabled = r.enabled;
      figures.failedAudit = r.failed;
      const now = Date.now();
      if (now - lastPrint >= 5000 || r.enabled >= opts.count) {
        lastPrint = now;
        const signalled = figures.pollSummary ? figures.pollSummary.signalled : '…';
        console.log(
          `  +${secs(now - figures.pollStart).padStart(7)}  signalled ${signalled}  created ${r.created}  ` +
            `enabled ${r.enabled}/${opts.count}${r.failed ? `  failed audit rows ${r.failed}` : ''}`,
        );
      }
      if (probe && probeLdap && !duringLoad && r.enabled >= opts.count / 3) {
        console.log(`  probe: a single change polled now (${r.enabled}/${opts.count} enabled)`);
        duringLoad = probe
          .measure(client, probeLdap, 'during the load', r.enabled)
          .then((m) => void figures.probes.push(m))
          .catch((err: unknown) => void (figures.probeError = (err as Error).message));
      }
      if (r.enabled >= opts.count) break;
      if (r.created + r.enabled !== lastProgress) {
        lastProgress = r.created + r.enabled;
        lastChange = now;
      } else if (figures.pollSummary && now > enableMoment && now - lastChange > opts.stall * 1000) {
        // Nothing created or enabled for a while after the poll and the enable moment: the rest
        // is not slow but waiting for nothing (see "stalled" in scripts/bench/README.md).
        figures.stalled = opts.count - r.enabled;
        break;
      }
      if (now > deadline) {
        figures.timedOut = true;
        break;
      }
      if (abort.signal.aborted) {
        figures.abortedBy = 'interrupted';
        break;
      }
      if (pollError) {
        figures.abortedBy = `poll failed: ${(pollError as Error).message}`;
        break;
      }
      if (w.exitCode() !== undefined) {
        figures.abortedBy = `worker exited (${w.exitCode()}): ${tail(w.log, 5)}`;
        break;
      }
      await sleep(1000);
    }
    const measuredUntil = Date.now();
    const ldapAfter = await ldapOperationsOf(opts.metricsPort);
    if (ldapBefore && ldapAfter)
      figures.ldapOps = Object.fromEntries(Object.entries(ldapAfter).map(([op, n]) => [op, n - (ldapBefore[op] ?? 0)]));
    figures.peakRssKb = memoryOf(w.pid)?.hwmKb;
    figures.workerCpuS = cpuSecondsOf(w.pid) - cpuBefore;
    const serversAfter = serverCpuSeconds();
    figures.serverCpuS = Object.fromEntries(
      Object.entries(serversAfter)
        .filter(([name]) => serversBefore[name] !== undefined)
        .map(([name, s]) => [name, s - serversBefore[name]!]),
    );
    clearInterval(memTimer);

    // Per-person figures.
    const { rows: audit } = await db.query<{ person_key: string; action: string; at: Date }>(
      `select person_key, action, min(at) as at from audit_log
        where person_key like $1 and outcome = 'success' and action in ('create', 'enable')
        group by person_key, action`,
      [like],
    );
    const enabledAt = new Map<string, number>();
    const createdAt = new Map<string, number>();
    for (const a of audit) (a.action === 'enable' ? enabledAt : createdAt).set(a.person_key, a.at.getTime());
    let starts = await employeeStartTimes(client, sourceId, opts.count).catch(() => new Map<string, number>());
    if (starts.size < enabledAt.size) {
      // Visibility lags or is unavailable: the vault's signalled_at (per signal batch) instead.
      const { rows: sig } = await db.query<{ person_key: string; signalled_at: Date }>(
        `select c.person_key, c.signalled_at from poll_changes c join source_polls p on p.id = c.poll_id
          where p.source = $1 and c.signalled_at is not null`,
        [sourceId],
      );
      starts = new Map(sig.map((s) => [employeeWorkflowId(s.person_key), s.signalled_at.getTime()]));
      figures.signalSource = 'poll_changes.signalled_at (per signal batch)';
    }
    for (const [key, at] of enabledAt) {
      const s = starts.get(employeeWorkflowId(key));
      if (s !== undefined) figures.latencies.push(at - s);
    }
    for (const [key, at] of createdAt) {
      const s = starts.get(employeeWorkflowId(key));
      if (s !== undefined) figures.createLatencies.push(at - s);
    }
    figures.latencies.sort((a, b) => a - b);
    figures.createLatencies.sort((a, b) => a - b);
    const enables = [...enabledAt.values()];
    figures.firstEnable = enables.length ? Math.min(...enables) : undefined;
    figures.lastEnable = enables.length ? Math.max(...enables) : undefined;
    const creates = [...createdAt.values()];
    figures.lastCreate = creates.length ? Math.max(...creates) : undefined;
    // Cut off by time or interrupted: the rate over the time spent. Stalled: the rate of those
    // enabled up to the last enable (the others were waiting for nothing, see the README).
    if (figures.enabled < opts.count && !figures.stalled) figures.lastEnable = measuredUntil;

    if (probe && probeLdap) {
      await duringLoad;
      await probe
        .measure(client, probeLdap, 'idle queues')
        .then((m) => void figures.probes.push(m))
        .catch((err: unknown) => void (figures.probeError ??= (err as Error).message));
      await client.workflow
        .getHandle(employeeWorkflowId(probe.personKey))
        .terminate('benchmark finished')
        .catch(() => undefined);
      await probeLdap.unbind().catch(() => undefined);
    }

    // Stop the Tenure side before the raw run, so both have the directory to themselves.
    await terminateEmployees(client, sourceId, persons);
    await client.workflow
      .getHandle(`poll-${sourceId}-bench`)
      .terminate('benchmark finished')
      .catch(() => undefined);
    await stopWorker(w);

    if (!opts.skipRaw && !abort.signal.aborted) {
      const rawLdap = await boundLdap();
      try {
        raw = await rawRun(rawLdap, {
          persons,
          rawOU,
          upnSuffix,
          departmentCodes,
          runId,
          timeoutMs: opts.rawTimeout * 1000,
          signal: abort.signal,
        });
      } finally {
        await rawLdap.unbind().catch(() => undefined);
      }
    }
  } catch (err) {
    console.error(`benchmark failed: ${(err as Error).message}`);
    figures.abortedBy ??= (err as Error).message.split('\n')[0];
  } finally {
    if (memTimer) clearInterval(memTimer);
    report(opts, figures, raw, usersBefore);
    console.log('Cleaning up');
    if (persons.length) await terminateEmployees(client, sourceId, persons);
    if (worker) await stopWorker(worker);
    await ldap.unbind().catch(() => undefined);
    // Deleting a group of 10,000 members takes Samba longer than the usual 15 s operation limit
    // (the cleanup of a 10,000 run lost its connection on it): ten minutes per operation here.
    const cleanupLdap = await boundLdap(600_000).catch((err) => {
      console.error(`  cleanup failed: cannot bind: ${ldapError(err)}`);
      return undefined;
    });
    if (cleanupLdap) {
      await cleanup(cleanupLdap, {
        baseDN,
        groupsOU,
        keyPrefixes: [keyPrefix, `p${runId}`],
        staticGroup,
        departmentCodes,
        rawOU,
      }).catch((err) => console.error(`  cleanup failed: ${ldapError(err)}`));
      await cleanupLdap.unbind().catch(() => undefined);
    }
    await db.end().catch(() => undefined);
    await client.connection.close().catch(() => undefined);
    console.log(`Done in ${secs(Date.now() - started)}`);
  }
  const complete = figures.enabled >= opts.count && !figures.abortedBy && (opts.skipRaw || raw?.done === opts.count);
  return complete ? 0 : 1;
}

async function terminateEmployees(client: Client, sourceId: string, persons: readonly BenchPerson[]): Promise<void> {
  const t = Date.now();
  let terminated = 0;
  await eachLimited(persons, 8, async (p) => {
    await client.workflow.getHandle(employeeWorkflowId(`${sourceId}:${p.key}`)).terminate('benchmark finished');
    terminated++;
  });
  if (terminated) console.log(`  terminated ${terminated} employee workflows in ${secs(Date.now() - t)}`);
}

// ------------------------------------------------------------------ raw ldapts

async function rawRun(
  ldap: LdapClient,
  o: {
    persons: readonly BenchPerson[];
    rawOU: string;
    upnSuffix: string;
    departmentCodes: string[];
    runId: string;
    timeoutMs: number;
    signal: AbortSignal;
  },
): Promise<RawFigures> {
  console.log(`Raw ldapts: the same ${o.persons.length} persons in ${o.rawOU}, one at a time`);
  await addIgnoringExists(ldap, o.rawOU, {
    objectClass: ['top', 'organizationalUnit'],
    description: 'Tenure benchmark (raw ldapts run)',
  });
  const groupDN = (name: string) => `${rdn('CN', name)},${o.rawOU}`;
  const group = (name: string) =>
    addIgnoringExists(ldap, groupDN(name), {
      objectClass: ['top', 'group'],
      sAMAccountName: name,
      groupType: '-2147483646',
    });
  const staticName = `raw-${o.runId}-all`;
  await group(staticName);
  for (const code of o.departmentCodes) await group(`raw-dept-${code}`);

  const start = Date.now();
  const deadline = start + o.timeoutMs;
  let done = 0;
  let lastPrint = start;
  const opMs = { add: 0, password: 0, enable: 0, groups: 0 };
  let t = 0;
  const lap = (k: keyof typeof opMs) => {
    const now = performance.now();
    opMs[k] += now - t;
    t = now;
  };
  for (const p of o.persons) {
    if (Date.now() > deadline) return { done, ms: Date.now() - start, opMs, timedOut: true };
    if (o.signal.aborted) return { done, ms: Date.now() - start, opMs, timedOut: false, error: 'interrupted' };
    const display = displayName(p.name);
    const cn = Array.from(`${display} (${p.key})`).slice(0, 64).join('');
    const dn = `${rdn('CN', cn)},${o.rawOU}`;
    const sam = `r${p.key}`;
    const pw = generatePassword({ length: 24, avoid: [sam, display] });
    try {
      t = performance.now();
      await ldap.add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn,
        sAMAccountName: sam,
        userPrincipalName: `${sam}@${o.upnSuffix}`,
        displayName: display,
        givenName: p.name.nickName,
        sn: familyDisplayName(p.name),
        mail: `${sam}@${o.upnSuffix}`,
        proxyAddresses: [`SMTP:${sam}@${o.upnSuffix}`],
        employeeID: sam,
        title: p.title[1],
        department: p.departmentName,
        company: 'Tenure Zorg',
        physicalDeliveryOfficeName: p.location,
        userAccountControl: '514',
      });
      lap('add');
      await ldap.modify(
        dn,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(pw)] }),
        }),
      );
      lap('password');
      await ldap.modify(
        dn,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
        }),
      );
      lap('enable');
      for (const g of [staticName, `raw-dept-${p.departmentCode}`]) {
        await ldap.modify(
          groupDN(g),
          new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }),
        );
      }
      lap('groups');
    } catch (err) {
      return { done, ms: Date.now() - start, opMs, timedOut: false, error: `${p.key}: ${ldapError(err)}` };
    }
    done++;
    if (Date.now() - lastPrint >= 5000) {
      lastPrint = Date.now();
      console.log(`  +${secs(lastPrint - start).padStart(7)}  ${done}/${o.persons.length}`);
    }
  }
  return { done, ms: Date.now() - start, opMs, timedOut: false };
}

// ------------------------------------------------------------------ cleanup

async function cleanup(
  ldap: LdapClient,
  o: {
    baseDN: string;
    groupsOU: string;
    keyPrefixes: string[];
    staticGroup: string;
    departmentCodes: string[];
    rawOU: string;
  },
): Promise<void> {
  const t = Date.now();
  // Groups first: a user's deletion rewrites every group it is a member of, and a group holding
  // 10,000 members makes that slow (the cleanup of a 10,000 run took over ten minutes the other way round).
  let groups = 0;
  for (const name of [o.staticGroup, ...o.departmentCodes.map((c) => `dept-${c}`)]) {
    if (await delIgnoringMissing(ldap, `${rdn('CN', name)},${o.groupsOU}`)) groups++;
  }
  // The raw run's OU and everything in it, its groups first.
  let rawDeleted = 0;
  try {
    const { searchEntries: inRaw } = await ldap.search(o.rawOU, {
      scope: 'one',
      filter: '(objectClass=*)',
      attributes: ['objectClass'],
      paged: { pageSize: 1000 },
    });
    const isGroup = (e: Record<string, unknown>) => ([] as unknown[]).concat(e['objectClass'] ?? []).includes('group');
    const groupsFirst = [...inRaw.filter((e) => isGroup(e)), ...inRaw.filter((e) => !isGroup(e))];
    for (const e of groupsFirst) if (await delIgnoringMissing(ldap, e.dn)) rawDeleted++;
    await delIgnoringMissing(ldap, o.rawOU);
  } catch (err) {
    if ((err as { code?: number }).code !== 32) throw err;
  }
  // Tenure's accounts: wherever they are (location OUs, the disabled OU), by the run's employeeID prefixes.
  let deleted = 0;
  for (const prefix of o.keyPrefixes) {
    const { searchEntries: mine } = await ldap.search(o.baseDN, {
      scope: 'sub',
      filter: `(&(objectClass=user)(employeeID=${escapeFilterValue(prefix)}*))`,
      attributes: ['dn'],
      paged: { pageSize: 1000 },
    });
    for (const e of mine) if (await delIgnoringMissing(ldap, e.dn)) deleted++;
  }
  console.log(
    `  deleted ${deleted} Tenure accounts, ${groups} groups, ${rawDeleted} raw objects and the raw OU in ${secs(Date.now() - t)}`,
  );
}

// ------------------------------------------------------------------ report

/** The worker's tenure_ldap_operations_total for target ad, by operation; undefined when unreadable. */
async function ldapOperationsOf(port: number): Promise<Record<string, number> | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^tenure_ldap_operations_total\{([^}]*)\} (\S+)$/gm)) {
      const labels = m[1]!;
      const op = /operation="([^"]+)"/.exec(labels)?.[1];
      if (op && /target="ad"/.test(labels)) out[op] = (out[op] ?? 0) + Number(m[2]);
    }
    return out;
  } catch {
    return undefined;
  }
}

function perOp(raw: RawFigures, k: keyof RawFigures['opMs']): string {
  return raw.done ? `${(raw.opMs[k] / raw.done).toFixed(1)} ms` : 'n/a';
}

function report(opts: BenchOptions, f: TenureFigures, raw: RawFigures | undefined, usersBefore: number): void {
  const n = opts.count;
  const e2eMs = (f.lastEnable ?? NaN) - f.pollStart;
  const tenureRate = rate(f.enabled, e2eMs);
  const rawRate = raw ? rate(raw.done, raw.ms) : NaN;
  const mib = (kb: number | undefined) =>
    kb === undefined || !Number.isFinite(kb) ? 'n/a' : `${(kb / 1024).toFixed(0)} MiB`;
  const lines = [
    '',
    `Results (N=${n}; directory held ${Number.isFinite(usersBefore) ? usersBefore : '?'} users before the run; ` +
      `load average now ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${availableParallelism()} cores)`,
  ];
  if (f.abortedBy) lines.push(`  STOPPED EARLY: ${f.abortedBy}`);
  if (f.timedOut) lines.push(`  TIME LIMIT (${opts.timeout} s) reached: figures below are partial`);
  if (f.stalled)
    lines.push(
      `  STALLED: ${f.stalled} persons created but never enabled (no progress for ${opts.stall} s after the enable ` +
        `moment); the rate below is that of the ${f.enabled} enabled ones`,
    );
  if (Number.isFinite(f.pollStart)) {
    const ps = f.pollSummary;
    lines.push(
      `  poll          ${ps ? `${ps.outcome}, ${ps.added} added, ${ps.signalled} signalled in ${secs((f.pollDoneAt ?? NaN) - f.pollStart)}` : 'not finished'}`,
      `  enable moment +${secs(f.enableMoment - f.pollStart)} after the poll start`,
      `  Tenure        ${f.enabled}/${n} enabled (${f.created} created${f.failedAudit ? `, ${f.failedAudit} failed audit rows` : ''}) ` +
        `in ${secs(e2eMs)} from the poll start → ${fmtRate(tenureRate)} persons/s end to end`,
      `                all created after ${secs((f.lastCreate ?? NaN) - f.pollStart)}; first enable +${secs((f.firstEnable ?? NaN) - f.pollStart)}`,
      `  latency       signal → enabled: p50 ${secs(percentile(f.latencies, 50))}, p95 ${secs(percentile(f.latencies, 95))}, ` +
        `max ${secs(f.latencies.at(-1) ?? NaN)} (${f.latencies.length} persons; signal = ${f.signalSource})`,
      `                signal → created: p50 ${secs(percentile(f.createLatencies, 50))}, p95 ${secs(percentile(f.createLatencies, 95))}`,
      `  worker        peak RSS (VmHWM) ${mib(f.peakRssKb)} (${mib(f.readyHwmKb)} at ready; max sampled VmRSS ${mib(f.maxSampledRssKb || undefined)}); ` +
        `CPU ${Number.isFinite(f.workerCpuS ?? NaN) ? `${f.workerCpuS!.toFixed(1)} s` : 'n/a'} during the measurement`,
      `  servers CPU   ${
        Object.entries(f.serverCpuS ?? {})
          .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
          .join(', ') || 'n/a'
      } during the measurement (share of the wall time: ${Object.entries({
        worker: f.workerCpuS ?? NaN,
        ...f.serverCpuS,
      })
        .map(
          ([name, s]) =>
            `${name} ${Number.isFinite(s) && e2eMs > 0 ? `${((100_000 * s) / e2eMs).toFixed(0)} %` : 'n/a'}`,
        )
        .join(', ')})`,
    );
  }
  if (f.ldapOps && f.enabled > 0) {
    const per = (n: number) => (n / f.enabled).toFixed(2);
    const ops = f.ldapOps;
    const writes = (ops.add ?? 0) + (ops.modify ?? 0) + (ops.modifyDN ?? 0) + (ops.del ?? 0);
    lines.push(
      `  LDAP ops      per person: ${per(ops.search ?? 0)} searches, ${per(writes)} writes (add ${per(ops.add ?? 0)}, modify ${per(ops.modify ?? 0)}), ` +
        `${per(ops.bind ?? 0)} binds (tenure_ldap_operations_total, ${f.enabled} persons)`,
    );
  }
  for (const p of f.probes)
    lines.push(
      `  single change ${p.label}${p.loadEnabledAt !== undefined ? ` (${p.loadEnabledAt}/${n} enabled)` : ''}: ` +
        `poll start → in AD ${secs(p.totalMs)} (the poll itself ${secs(p.pollMs)})`,
    );
  if (f.probeError) lines.push(`  single change FAILED: ${f.probeError}`);
  if (raw) {
    lines.push(
      `  raw ldapts    ${raw.done}/${n} persons (add disabled, unicodePwd, enable, 2 group adds) in ${secs(raw.ms)} → ` +
        `${fmtRate(rawRate)} persons/s sequential${raw.timedOut ? ` (TIME LIMIT ${opts.rawTimeout} s)` : ''}${raw.error ? ` (stopped: ${raw.error})` : ''}`,
      `                per person: add ${perOp(raw, 'add')}, unicodePwd ${perOp(raw, 'password')}, ` +
        `enable ${perOp(raw, 'enable')}, 2 group adds ${perOp(raw, 'groups')}`,
      `  ratio         Tenure / raw = ${Number.isFinite(tenureRate / rawRate) ? (tenureRate / rawRate).toFixed(2) : 'n/a'}`,
    );
  } else if (opts.skipRaw) lines.push('  raw ldapts    skipped (--skip-raw)');
  console.log(lines.join('\n'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`benchmark failed: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
